import { cli } from './cli';
import { cold } from './cold';
import { fanout } from './fanout';
import { live } from './live';
import { prepared } from './prepared';
import { read } from './read';
import { rest } from './rest';
import { scaling } from './scaling';
import type { Scenario } from './scenario';
import { start } from './start';
import { tokencache } from './tokencache';
import { write } from './write';

/** Every scenario, in the order a run measures them (within each phase). */
export const SCENARIOS: readonly Scenario[] = [read, prepared, tokencache, rest, scaling, write, live, cold, start, cli, fanout];

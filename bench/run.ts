import 'reflect-metadata';

import { Command, InvalidArgumentError } from 'commander';

import { replot } from './output';
import { SCENARIO_NAMES, type Options, type ScenarioName } from './plan';
import { runBench } from './runner';

/*
 * `npm run bench -- [--quick] [--embedded] [--only=read,rest,…] [--profile | --heap-profile] [--experiments] [--plot]`
 * `node dist/bench/run.js --replot` redraws bench/results.svg from bench/results.json.
 *
 * Starts the real server in this process beside a framework-free baseline
 * doing the same work, seeds data through the services, drives both with
 * autocannon from a child process (so this process's CPU is server CPU), and
 * times the built product's start-up and CLI as separate processes. See
 * bench/README.md.
 */

function scenarioList(value: string): ReadonlySet<ScenarioName> {
  const wanted = value.split(',').filter(Boolean);
  for (const w of wanted) {
    if (!(SCENARIO_NAMES as readonly string[]).includes(w)) throw new InvalidArgumentError(`unknown scenario ${w} (${SCENARIO_NAMES.join(', ')})`);
  }
  return new Set(wanted as ScenarioName[]);
}

const program = new Command('bench')
  .description('Secretspace against a framework-free baseline, in the same process and run')
  .option('--quick', 'every scenario, short runs (about a minute)')
  .option('--embedded', 'on the embedded PGlite (a temporary DATA_DIR) instead of PostgreSQL')
  .option('--only <scenarios>', `comma-separated subset of ${SCENARIO_NAMES.join(',')} (writes bench/profiles/results.partial.json)`, scenarioList)
  .option('--profile', 'a CPU profile of each measured window → bench/profiles/')
  .option('--heap-profile', 'an allocation profile of each measured window → bench/profiles/')
  .option('--experiments', 'add the rows of bench/experiments/ (layers of the stack, decryption variants)')
  .option('--plot', 'redraw the tracked bench/results.svg from this run')
  .option('--replot', 'only redraw bench/results.svg from bench/results.json, measuring nothing')
  .showHelpAfterError();

async function main(): Promise<void> {
  const flags = program.parse().opts<{
    quick?: true;
    embedded?: true;
    only?: ReadonlySet<ScenarioName>;
    profile?: true;
    heapProfile?: true;
    experiments?: true;
    plot?: true;
    replot?: true;
  }>();
  if (flags.replot) return replot();
  const options: Options = {
    quick: flags.quick === true,
    embedded: flags.embedded === true,
    only: flags.only ?? new Set(SCENARIO_NAMES),
    profile: flags.profile === true,
    heapProfile: flags.heapProfile === true,
    experiments: flags.experiments === true,
    plot: flags.plot === true,
  };
  await runBench(options);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});

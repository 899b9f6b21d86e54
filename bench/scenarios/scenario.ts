import type { ScenarioName } from '../plan';
import type { BenchSession } from '../session';

/*
 * A scenario: a file under bench/scenarios/ that adds rows to the session's
 * results. `prepare` seeds what it needs and returns the measurement; the
 * runner prepares every serving scenario before the first one measures, so
 * seeding never overlaps a measured window.
 */
export interface Scenario {
  /** What --only selects it by. */
  readonly name: ScenarioName;
  /** `serving`: against the in-process server and baseline; `stopped`: after they stop (restarts, new processes). */
  readonly phase: 'serving' | 'stopped';
  prepare(session: BenchSession): Promise<() => Promise<void>>;
}

export const json = { 'content-type': 'application/json' } as const;
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
export const gqlBody = (query: string, variables: Record<string, unknown>) => JSON.stringify({ query, variables });

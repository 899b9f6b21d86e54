/*
 * What a run measures and for how long: the scenario names `--only` accepts,
 * the options of the command line, and the two plans (full and --quick).
 */

export const SCENARIO_NAMES = ['read', 'prepared', 'tokencache', 'rest', 'scaling', 'write', 'live', 'cold', 'start', 'cli', 'fanout'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface Options {
  readonly quick: boolean;
  readonly embedded: boolean;
  readonly only: ReadonlySet<ScenarioName>;
  /** A CPU profile of each measured window → bench/profiles/. */
  readonly profile: boolean;
  /** An allocation profile (V8 sampling heap profiler) of each measured window instead. */
  readonly heapProfile: boolean;
  /** The extra rows of bench/experiments/ (layers of the stack, decryption variants). */
  readonly experiments: boolean;
  /** Redraw the tracked bench/results.svg from this run. */
  readonly plot: boolean;
}

export interface Plan {
  readonly warmupSec: number;
  readonly durationSec: number;
  readonly sizes: readonly number[];
  readonly restSize: number;
  readonly coldEnvironments: number;
  readonly readConnections: number;
  readonly listConnections: number;
  readonly writeConnections: number;
  /** Fewer completed requests than this in the planned duration: measure by count instead. */
  readonly minRequests: number;
  /** Warm-up of a slow (seconds per request) scenario: this many requests per connection. */
  readonly slowWarmupPerConnection: number;
  /** Spawns per database of the start-up rows, and runs of the CLI row. */
  readonly processRuns: number;
  /** Fan-out (scenario 9): subscriptions, the server processes they are spread over, the writer's rate and how long it writes. */
  readonly fanoutSubscriptions: number;
  readonly fanoutInstances: number;
  /** Writes per second of each fan-out row; the first is the target's (200), the others show the trend. */
  readonly fanoutRates: readonly number[];
  readonly fanoutSec: number;
}

export const FULL: Plan = {
  warmupSec: 3,
  durationSec: 10,
  sizes: [10, 100, 1000, 5000],
  restSize: 50,
  coldEnvironments: 20,
  readConnections: 10,
  listConnections: 2,
  writeConnections: 10,
  minRequests: 12,
  slowWarmupPerConnection: 2,
  processRuns: 3,
  fanoutSubscriptions: 1000,
  fanoutInstances: 2,
  fanoutRates: [200, 20],
  fanoutSec: 10,
};

export const QUICK: Plan = { ...FULL, warmupSec: 0.5, durationSec: 1.5, coldEnvironments: 5, minRequests: 4, slowWarmupPerConnection: 1, processRuns: 1, fanoutSec: 3 };

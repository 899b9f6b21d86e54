import { openBenchDatabase, type BenchDatabase } from '../database';
import { log } from '../log';
import { runCli } from '../processes';
import type { ScenarioResult } from '../report';
import { mean, percentile } from '../stats';
import type { Scenario } from './scenario';

/*
 * Scenario 8: `npm run cli -- token list` on a built tree, i.e. `node
 * dist/src/cli/index.js token list` from spawn to exit, against a temporary
 * PostgreSQL database. A first command (`token create`, untimed) migrates the
 * database and leaves a token for the list to print.
 */

const ID = 'cli-token-list';
const LABEL = 'npm run cli -- token list (PostgreSQL, wall time)';
const TOKEN_NAME = 'bench-cli';

export const cli: Scenario = {
  name: 'cli',
  phase: 'stopped',
  async prepare(session) {
    return async () => {
      let database: BenchDatabase;
      try {
        database = await openBenchDatabase({ embedded: false, databaseUrl: undefined });
      } catch (error) {
        const why = `n/a (no database: ${(error as Error).message})`;
        log(`${ID}: ${why}`);
        session.results.push({ id: ID, scenario: 8, label: `${LABEL}: ${why}`, errors: 0, peakRssMb: Number.NaN, notes: why, extra: { unavailable: why } });
        return;
      }
      const env = { ...database.env, LOCAL_MASTER_KEYS: session.env.LOCAL_MASTER_KEYS };
      const times: number[] = [];
      const problems: string[] = [];
      let setupMs: number | undefined;
      try {
        const created = await runCli(['token', 'create', '--role', 'ADMIN', '--name', TOKEN_NAME], env);
        setupMs = created.wallMs;
        if (created.code !== 0) problems.push(`token create exited with ${created.code}: ${created.stderr.slice(0, 300)}`);
        for (let run = 0; run < session.plan.processRuns && problems.length === 0; run++) {
          const listed = await runCli(['token', 'list'], env);
          if (listed.code !== 0) problems.push(`token list exited with ${listed.code}: ${listed.stderr.slice(0, 300)}`);
          else if (!listed.stdout.includes(JSON.stringify(TOKEN_NAME))) problems.push('token list did not print the token created');
          else times.push(listed.wallMs);
        }
      } finally {
        await database.dispose().catch(() => undefined);
      }
      for (const problem of problems) log(`${ID}: ${problem}`);
      log(`${ID}: ${times.map((ms) => ms.toFixed(0)).join(', ')} ms`);
      const row: ScenarioResult = {
        id: ID,
        scenario: 8,
        label: LABEL,
        requests: times.length,
        p50: percentile(times, 50),
        p99: percentile(times, 99),
        mean: mean(times),
        errors: problems.length,
        peakRssMb: Number.NaN,
        notes: `token list ${times.map((ms) => ms.toFixed(0)).join(', ')} ms; first command on the fresh database (token create, migrations) ${setupMs?.toFixed(0)} ms${problems.length ? `; failed: ${problems.join('; ')}` : ''}`,
        extra: { wallMs: times, setupMs },
      };
      session.results.push(row);
    };
  },
};

import { openBenchDatabase, type BenchDatabase } from '../database';
import { log } from '../log';
import { startServerProcess } from '../processes';
import type { ScenarioResult } from '../report';
import { mean, percentile } from '../stats';
import { peakRssMbOf } from '../system';
import type { Scenario } from './scenario';

/*
 * Scenario 7: `npm start` on a built tree, i.e. `node dist/src/main.js`
 * spawned from scratch, timed to its first 200 on /healthz: on a temporary
 * DATA_DIR (the embedded quick start: database created, key generated) and on
 * a temporary PostgreSQL database (DATABASE_URL, LOCAL_MASTER_KEYS). Each run
 * starts on a fresh database (migrations included), then restarts on it
 * once; p50/p99 are the fresh starts, the restarts are in the notes.
 */

interface Target {
  readonly id: string;
  readonly label: string;
  open(): Promise<BenchDatabase>;
  env(database: BenchDatabase): Record<string, string>;
}

async function measureStarts(target: Target, runs: number): Promise<ScenarioResult> {
  const fresh: number[] = [];
  const restarts: number[] = [];
  const problems: string[] = [];
  let peakRssMb = 0;
  for (let run = 0; run < runs; run++) {
    let database: BenchDatabase;
    try {
      database = await target.open();
    } catch (error) {
      const why = `n/a (no database: ${(error as Error).message})`;
      log(`${target.id}: ${why}`);
      return { id: target.id, scenario: 7, label: `${target.label}: ${why}`, errors: 0, peakRssMb: Number.NaN, notes: why, extra: { unavailable: why } };
    }
    try {
      for (const times of [fresh, restarts]) {
        const server = await startServerProcess(target.env(database));
        times.push(server.readyMs);
        peakRssMb = Math.max(peakRssMb, peakRssMbOf(server.pid) ?? 0);
        await server.stop();
      }
    } catch (error) {
      problems.push((error as Error).message.slice(0, 300));
      log(`${target.id}: ${(error as Error).message}`);
    } finally {
      await database.dispose().catch(() => undefined);
    }
  }
  log(`${target.id}: spawn → /healthz 200 in ${fresh.map((ms) => ms.toFixed(0)).join(', ')} ms (fresh), ${restarts.map((ms) => ms.toFixed(0)).join(', ')} ms (restart)`);
  return {
    id: target.id,
    scenario: 7,
    label: target.label,
    requests: fresh.length,
    p50: percentile(fresh, 50),
    p99: percentile(fresh, 99),
    mean: mean(fresh),
    errors: problems.length,
    peakRssMb: peakRssMb || Number.NaN,
    notes: `spawn → /healthz 200: fresh database ${fresh.map((ms) => ms.toFixed(0)).join(', ')} ms; restart ${restarts.map((ms) => ms.toFixed(0)).join(', ')} ms${problems.length ? `; failed: ${problems.join('; ')}` : ''}`,
    extra: { freshStartMs: fresh, restartMs: restarts, restartP50Ms: percentile(restarts, 50) },
  };
}

export const start: Scenario = {
  name: 'start',
  phase: 'stopped',
  async prepare(session) {
    const targets: Target[] = [
      {
        id: 'start-embedded',
        label: 'npm start → /healthz 200, embedded (fresh DATA_DIR)',
        open: () => openBenchDatabase({ embedded: true, databaseUrl: undefined }),
        env: (database) => database.env,
      },
      {
        id: 'start-postgres',
        label: 'npm start → /healthz 200, PostgreSQL (fresh database)',
        open: () => openBenchDatabase({ embedded: false, databaseUrl: undefined }),
        env: (database) => ({ ...database.env, LOCAL_MASTER_KEYS: session.env.LOCAL_MASTER_KEYS }),
      },
    ];
    return async () => {
      for (const target of targets) session.results.push(await measureStarts(target, session.plan.processRuns));
    };
  },
};

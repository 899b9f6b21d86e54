import { startTestApp, type TestApp } from '../support/app';
import {
  brokenOutagePromises,
  newLoadReport,
  prepareLoadFixture,
  runLoad,
  summarize,
  verifyLoad,
  type Failure,
  type LoadFixture,
  type OutageWindow as Window,
} from '../support/mixed-load';
import { startPgCluster, type PgCluster } from '../support/pg-cluster';
import { untilReady } from '../support/readiness';

/*
 * Real PostgreSQL outages under a 32-connection mixed load (DESIGN §4, §15),
 * on a private cluster: stopped for several seconds and started again three
 * times in a row (a clean stop, a crash, a clean stop), then every server
 * connection killed with pg_terminate_backend three times. During each
 * outage the only failure is 503 SERVICE_UNAVAILABLE, GraphQL and REST
 * alike; within 2 s of PostgreSQL being back every request succeeds again,
 * in the same process; afterwards every acknowledged write is stored at its
 * acknowledged version. OUTAGE_SECONDS sets each stop's length (CI: 3;
 * FAULTS_FULL=1: 8).
 */

const WORKERS = 32;
const OUTAGE_MS = Number(process.env.OUTAGE_SECONDS ?? (process.env.FAULTS_FULL === '1' ? 8 : 3)) * 1000;
const RECOVERY_MS = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let cluster: PgCluster;
let app: TestApp;
let fixture: LoadFixture;
beforeAll(async () => {
  cluster = await startPgCluster();
  const url = await cluster.createDatabase('outage');
  app = await startTestApp({ database: { url, drop: async () => undefined }, env: { DB_POOL_SIZE: '16' } });
  fixture = await prepareLoadFixture(app.url, 'outage');
});
afterAll(async () => {
  await app?.close();
  await cluster?.remove();
});

const brokenPromises = (failures: readonly Failure[], windows: readonly Window[]) => brokenOutagePromises(failures, windows, RECOVERY_MS);

let runs = 0;

/** The server's "unexpected error" log lines (each is a 500 somewhere), by error type and message. */
const unexpectedErrors = () =>
  app.logs
    .filter((line) => line.includes('"unexpected error"'))
    .map((line) => {
      const { err } = JSON.parse(line) as { err?: { type?: string; message?: string } };
      return `${err?.type}: ${err?.message}`;
    });

/** Runs the load while `faults` runs; then checks failures against the windows it recorded. */
async function underLoad(faults: (windows: Window[]) => Promise<void>) {
  const report = newLoadReport();
  const windows: Window[] = [];
  const done = (async () => {
    await sleep(1500); // warm: every worker has written
    await faults(windows);
    await sleep(RECOVERY_MS + 1000); // and runs on after the last recovery
  })();
  await runLoad({ targets: [app.url], workers: WORKERS, fixture, until: done, report, prefix: `R${++runs}W` });
  await done;
  return { report, windows };
}

it('PostgreSQL stopped for seconds, three times: only 503 meanwhile, recovered within 2 s, no acknowledged write lost', async () => {
  const { report, windows } = await underLoad(async (windows) => {
    for (const mode of ['fast', 'immediate', 'fast'] as const) {
      const window: Window = { what: `stop -m ${mode}`, from: Date.now(), back: Infinity };
      windows.push(window);
      await cluster.stop(mode);
      await sleep(OUTAGE_MS);
      await cluster.start();
      window.back = Date.now();
      await sleep(RECOVERY_MS + 1000);
    }
  });

  expect(summarize(brokenPromises(report.failures, windows))).toEqual({});
  expect(unexpectedErrors()).toEqual([]);
  for (const w of windows) {
    const during = report.failures.filter((f) => f.at >= w.from && f.at <= w.back + RECOVERY_MS);
    expect({ outage: w.what, graphql: during.some((f) => !f.op.startsWith('rest')), rest: during.some((f) => f.op.startsWith('rest')) }).toEqual(
      { outage: w.what, graphql: true, rest: true },
    ); // the outage was felt on both surfaces
  }
  expect(report.succeeded).toBeGreaterThan(WORKERS * 10);
  expect(await verifyLoad(app.url, fixture, report)).toEqual([]);
  expect((await untilReady(app)).status).toBe(200);
}, 120_000);

it('every server connection killed with pg_terminate_backend, three times: only 503, recovered within 2 s, nothing lost', async () => {
  let killed = 0;
  const { report, windows } = await underLoad(async (windows) => {
    for (let round = 0; round < 3; round++) {
      const window: Window = { what: `terminate #${round + 1}`, from: Date.now(), back: Infinity };
      windows.push(window);
      killed += await cluster.terminateBackends('secretspace');
      window.back = Date.now();
      await sleep(RECOVERY_MS + 1000);
    }
  });

  expect(killed).toBeGreaterThanOrEqual(3);
  expect(summarize(brokenPromises(report.failures, windows))).toEqual({});
  expect(unexpectedErrors()).toEqual([]);
  expect(await verifyLoad(app.url, fixture, report)).toEqual([]);
}, 120_000);

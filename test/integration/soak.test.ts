import { TEST_MASTER_KEYS } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { residentBytes, startInstances, type Instances } from '../support/instances';
import { newLoadReport, prepareLoadFixture, runLoad, summarize, verifyLoad } from '../support/mixed-load';

/*
 * Resource bounds (issue 14): one server process under a steady mixed load
 * for SOAK_SECONDS (`npm run test:soak`: 600), its resident memory sampled
 * every few seconds. After the warm-up (the first fifth, at least 30 s),
 * the mean of the last minute may exceed the mean of the minute after
 * warm-up by less than 10 %. Not run by `npm test` unless SOAK_SECONDS is set.
 */

const SECONDS = Number(process.env.SOAK_SECONDS ?? 0);
const WORKERS = Number(process.env.SOAK_WORKERS ?? 16);
const SAMPLE_MS = 2000;
const soak = SECONDS > 0 ? it : it.skip;

let database: TestDatabase;
let instances: Instances;
beforeAll(async () => {
  if (!SECONDS) return;
  database = await createTestDatabase();
  instances = await startInstances(1, { DATABASE_URL: database.url, LOCAL_MASTER_KEYS: TEST_MASTER_KEYS });
});
afterAll(async () => {
  await instances?.stop();
  await database?.drop();
});

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

soak(`${SECONDS} s of steady load: RSS grows less than 10 % after warm-up`, async () => {
  const fixture = await prepareLoadFixture(instances.urls[0], 'soak');
  const pid = instances.all[0].process.child.pid!;
  const started = Date.now();
  const deadline = started + SECONDS * 1000;
  const samples: { at: number; rss: number }[] = [];
  const sampler = setInterval(() => samples.push({ at: Date.now() - started, rss: residentBytes(pid) }), SAMPLE_MS);
  const report = newLoadReport();
  try {
    await runLoad({ targets: instances.urls, workers: WORKERS, fixture, until: deadline, report });
  } finally {
    clearInterval(sampler);
  }

  const warmup = Math.max(30_000, SECONDS * 200);
  const window = Math.min(60_000, (SECONDS * 1000 - warmup) / 2);
  const baseline = samples.filter((s) => s.at >= warmup && s.at < warmup + window).map((s) => s.rss);
  const final = samples.filter((s) => s.at >= SECONDS * 1000 - window).map((s) => s.rss);
  const growth = mean(final) / mean(baseline) - 1;
  const peak = Math.max(...samples.map((s) => s.rss));
  process.stdout.write(
    `soak: ${SECONDS} s, ${WORKERS} workers, ${report.requests} requests (${Math.round(report.requests / SECONDS)}/s), ` +
      `RSS first ${mb(samples[0].rss)}, after warm-up ${mb(mean(baseline))}, last minute ${mb(mean(final))}, peak ${mb(peak)}, ` +
      `growth ${(growth * 100).toFixed(1)} %\n`,
  );

  expect(summarize(report.failures)).toEqual({});
  expect(await verifyLoad(instances.urls[0], fixture, report)).toEqual([]);
  expect(baseline.length).toBeGreaterThan(3);
  expect(growth).toBeLessThan(0.1);
}, (SECONDS + 120) * 1000);

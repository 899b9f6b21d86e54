import 'reflect-metadata';

process.env.METADATA_SERVER_DETECTION = 'none';

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { AccessPolicy } from '../src/modules/access/access-policy';
import { startTestApp, TEST_MASTER_KEYS, type TestApp } from '../test/support/app';
import { createTestDatabase, type TestDatabase } from '../test/support/database';
import { startFakeKms, type FakeKms } from '../test/support/fake-kms';

/*
 * What `keys rewrap` and `keys rotate-environment` cost, against the fake KMS
 * on loopback (real gRPC, real client) and the test PostgreSQL:
 *   - rewrap of 100 environment keys (10,000 secrets over 100 environments),
 *     KMS answering at once or after 50 ms, 1 or 8 keys in parallel, and the
 *     second (no-op) run; once more through the compiled CLI;
 *   - the first read after a restart (KMS calls, time);
 *   - rotate-environment of one environment with 10,000 secrets.
 *
 * Build and run (needs PostgreSQL as for `npm test`; `npm run build` first for the CLI row):
 *   npx tsc -p bench/tsconfig.rotation.json && node dist/bench-rotation/bench/rotation.js
 * Prints a Markdown table on stdout (progress as JSON lines on stderr) and
 * writes the rows to dist/bench-rotation/results.json.
 */

const CLI = path.join(__dirname, '..', '..', '..', 'dist', 'src', 'cli', 'index.js');
const ENVIRONMENTS = 100;
const SECRETS_PER_ENVIRONMENT = 100;
const SECRETS_IN_ONE = 10_000;

type Row = Record<string, string | number>;
const rows: Row[] = [];
const record = (row: Row) => {
  rows.push(row);
  process.stderr.write(`${JSON.stringify(row)}\n`);
};

const kmsEnv = (kms: FakeKms) => ({
  CIPHER_PROVIDER: 'gcp-kms',
  GCP_KMS_KEY_NAME: kms.keyName,
  GCP_KMS_ENDPOINT: kms.endpoint,
  LOG_LEVEL: 'warn',
});

async function timed<T>(run: () => Promise<T>): Promise<[T, number]> {
  const started = process.hrtime.bigint();
  const result = await run();
  return [result, Number((process.hrtime.bigint() - started) / 1_000_000n)];
}

async function seed(app: TestApp, environmentId: string, count: number) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await app.container.secrets.upsert(AccessPolicy.system, { environmentId, name: `S${i}`, value: `bench value ${i}` });
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

/** A new primary version makes every environment key stale again; counters start from zero. */
function newPrimary(kms: FakeKms, latencyMs: number) {
  kms.setPrimaryVersion(kms.addVersion());
  kms.reset();
  kms.setLatency(latencyMs);
}

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: 'pipe' });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.resume();
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout })));
}

async function rewrapBench(kms: FakeKms, database: TestDatabase) {
  const app = await startTestApp({ database, keepDatabase: true, env: kmsEnv(kms) });
  const [, seedMs] = await timed(async () => {
    for (let e = 0; e < ENVIRONMENTS; e++) {
      const env = await app.container.environments.create(AccessPolicy.system, { name: `bench-${e}` });
      await seed(app, env.id, SECRETS_PER_ENVIRONMENT);
    }
  });
  record({ what: `seed ${ENVIRONMENTS * SECRETS_PER_ENVIRONMENT} secrets / ${ENVIRONMENTS} environments`, ms: seedMs });

  const rotation = app.container.keys;
  for (const latencyMs of [0, 50]) {
    for (const concurrency of [1, 8]) {
      newPrimary(kms, latencyMs);
      const [result, ms] = await timed(() => rotation.rewrapAll(AccessPolicy.system, { concurrency }));
      record({ what: 'keys rewrap', latencyMs, concurrency, ms, rewrapped: result.rewrapped, ...kms.calls });
    }
    kms.reset();
    kms.setLatency(latencyMs);
    const [noop, ms] = await timed(() => rotation.rewrapAll(AccessPolicy.system));
    record({ what: 'keys rewrap (again: no-op)', latencyMs, concurrency: 8, ms, rewrapped: noop.rewrapped, ...kms.calls });
  }
  await app.close();

  newPrimary(kms, 50);
  const [cli, cliMs] = await timed(() =>
    runCli(['keys', 'rewrap', '--json'], { ...kmsEnv(kms), DATABASE_URL: database.url, LOCAL_MASTER_KEYS: TEST_MASTER_KEYS }),
  );
  const rewrapped = cli.code === 0 ? JSON.parse(cli.stdout).rewrapped : `exit ${cli.code}`;
  record({ what: 'CLI keys rewrap (process wall time)', latencyMs: 50, concurrency: 8, ms: cliMs, rewrapped, ...kms.calls });

  // a restarted server: the first read of one environment (100 values), then 20 concurrent cold ones elsewhere
  kms.reset();
  kms.setLatency(50);
  const reader = await startTestApp({ database, keepDatabase: true, env: kmsEnv(kms) });
  const [first, second] = await reader.sql<{ id: string }>(`SELECT id FROM environment ORDER BY name LIMIT 2`);
  for (const [label, env, parallel] of [
    ['first read after restart', first.id, 1],
    ['20 concurrent cold reads', second.id, 20],
  ] as const) {
    const token = await reader.listener(env);
    const before = { ...kms.calls };
    const [, ms] = await timed(() =>
      Promise.all(
        Array.from({ length: parallel }, () =>
          reader.gql(`query($e: ID) { effectiveSecrets(environmentId: $e) { value } }`, { e: env }, token),
        ),
      ),
    );
    record({ what: label, latencyMs: 50, ms, decrypt: kms.calls.decrypt - before.decrypt, encrypt: kms.calls.encrypt - before.encrypt });
  }
  await reader.close();
}

async function rotationBench(kms: FakeKms, database: TestDatabase) {
  kms.reset();
  const seeding = await startTestApp({ database, keepDatabase: true, env: kmsEnv(kms) });
  const env = await seeding.container.environments.create(AccessPolicy.system, { name: 'rotation-bench' });
  const [, seedMs] = await timed(() => seed(seeding, env.id, SECRETS_IN_ONE));
  record({ what: `seed ${SECRETS_IN_ONE} secrets / 1 environment`, ms: seedMs });
  await seeding.close();

  for (const batchSize of [100, 500, 2000]) {
    // a fresh process each time, as the CLI would be: its key cache starts empty
    const app = await startTestApp({ database, keepDatabase: true, env: kmsEnv(kms) });
    kms.reset();
    kms.setLatency(50);
    const rotation = app.container.keys;
    const [result, ms] = await timed(() => rotation.rotateEnvironment(AccessPolicy.system, env.id, { batchSize, retireDelayMs: 0 }));
    record({ what: 'keys rotate-environment', latencyMs: 50, batchSize, ms, dataKeys: result.rewrappedDataKeys, ...kms.calls });
    await app.close();
  }
}

async function main() {
  const kms = await startFakeKms();
  const databases = [await createTestDatabase(), await createTestDatabase()];
  try {
    await rewrapBench(kms, databases[0]);
    await rotationBench(kms, databases[1]);
  } finally {
    await Promise.all(databases.map((d) => d.drop()));
    await kms.stop();
  }
  writeFileSync(path.join(__dirname, '..', 'results.json'), `${JSON.stringify(rows, null, 2)}\n`);
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  process.stdout.write(`| ${columns.join(' | ')} |\n| ${columns.map(() => '---').join(' | ')} |\n`);
  for (const row of rows) process.stdout.write(`| ${columns.map((c) => row[c] ?? '').join(' | ')} |\n`);
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});

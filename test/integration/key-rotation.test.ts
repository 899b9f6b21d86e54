import { Client } from 'pg';

import { sealValue } from '../../src/crypto/envelope';
import { startTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import {
  auditCount,
  createEnvironmentViaService,
  environmentKeyRows,
  expectAllValues,
  readValues,
  readWhile,
  rotationOf,
  seedSecrets,
  valueFor,
} from '../support/keys';
import { createSpace, upsertSecret } from '../support/operations';

/*
 * `keys rotate-environment` through KeyRotationService, on the local
 * provider: a new environment-key version, every DEK re-wrapped to it in
 * batches, the old version deleted, values never re-encrypted; resumable,
 * and harmless to readers and writers of a running server.
 */

let database: TestDatabase;
let app: TestApp;

beforeAll(async () => {
  database = await createTestDatabase();
  app = await startTestApp({ database, keepDatabase: true });
});
afterAll(async () => {
  await app?.close();
  await database?.drop();
});

const secretRows = (environmentId: string) =>
  app.sql<{ id: string; key_version: number; wrapped_dek: Buffer; ciphertext: Buffer; version: number; updated_at: Date }>(
    `SELECT id, key_version, wrapped_dek, ciphertext, version, updated_at FROM secret WHERE environment_id = $1 ORDER BY id`,
    [environmentId],
  );

it('moves every data key to a new version, deletes the old one, and leaves values and their ciphertext alone', async () => {
  const env = await createEnvironmentViaService(app, 'rotate-me');
  const other = await createEnvironmentViaService(app, 'bystander');
  const names = await seedSecrets(app, env, 30);
  const space = await createSpace(app, env, 'space');
  await seedSecrets(app, env, 5, { spaceId: space, prefix: 'SPACE_' });
  const otherNames = await seedSecrets(app, other, 5);
  const before = await secretRows(env);
  const otherBefore = await app.sql(`SELECT * FROM secret WHERE environment_id = $1 ORDER BY id`, [other]);
  const progress: number[] = [];

  const result = await rotationOf(app).rotateEnvironment(env, {
    batchSize: 7,
    retireDelayMs: 0,
    onProgress: (p) => progress.push(p.done),
  });

  expect(result).toEqual({ environmentId: env, keyVersion: 2, resumed: false, rewrappedDataKeys: 35, retiredVersions: [1] });
  expect(progress).toEqual([0, 7, 14, 21, 28, 35]);
  const after = await secretRows(env);
  expect(after).toHaveLength(35);
  for (const [i, row] of after.entries()) {
    expect(row.key_version).toBe(2);
    expect(row.wrapped_dek.readUInt32BE(1)).toBe(2); // the blob's own header agrees
    expect(row.wrapped_dek.equals(before[i].wrapped_dek)).toBe(false);
    // a rotation is not a write: the value's ciphertext, version and timestamp stay
    expect(row.ciphertext.equals(before[i].ciphertext)).toBe(true);
    expect([row.version, row.updated_at]).toEqual([before[i].version, before[i].updated_at]);
  }
  expect((await environmentKeyRows(app, env)).map((k) => k.version)).toEqual([2]);
  expect((await app.sql(`SELECT current_key_version FROM environment WHERE id = $1`, [env]))[0].current_key_version).toBe(2);
  expect(await app.sql(`SELECT * FROM secret WHERE environment_id = $1 ORDER BY id`, [other])).toEqual(otherBefore);

  await expectAllValues(app, env, names);
  expect([...(await readValues(app, env, space)).entries()].filter(([n]) => n.startsWith('SPACE_'))).toHaveLength(5);
  // a server with a cold cache reads them too
  const fresh = await startTestApp({ database, keepDatabase: true });
  try {
    await expectAllValues(fresh, env, names);
    await expectAllValues(fresh, other, otherNames);
    expect((await readValues(fresh, env, space)).get('SPACE_00003')).toBe(valueFor(space, 'SPACE_00003'));
  } finally {
    await fresh.close();
  }

  const status = await rotationOf(app).status();
  expect(status.environments.find((e) => e.environmentId === env)).toEqual({
    environmentId: env,
    name: 'rotate-me',
    currentKeyVersion: 2,
    keyVersions: [2],
    dataKeys: [{ keyVersion: 2, count: 35 }],
    rotationInProgress: false,
  });
  expect(await auditCount(app, 'KEY_REWRAPPED', env)).toBe(1);
  expect(await auditCount(app, 'KEY_REWRAPPED', other)).toBe(0);

  // again: another version, the same way
  const again = await rotationOf(app).rotateEnvironment(env, { retireDelayMs: 0 });
  expect(again).toMatchObject({ keyVersion: 3, resumed: false, rewrappedDataKeys: 35, retiredVersions: [2] });
  await expectAllValues(app, env, names);
  expect(await auditCount(app, 'KEY_REWRAPPED', env)).toBe(2);
});

it('rotates an environment without secrets, and refuses unknown or malformed ids', async () => {
  const env = await createEnvironmentViaService(app, 'empty');
  await expect(rotationOf(app).rotateEnvironment(env, { retireDelayMs: 0 })).resolves.toMatchObject({
    keyVersion: 2,
    rewrappedDataKeys: 0,
    retiredVersions: [1],
  });
  await expect(rotationOf(app).rotateEnvironment('8d3c7a4e-0000-4000-8000-000000000000')).rejects.toMatchObject({
    code: 'NOT_FOUND',
  });
  await expect(rotationOf(app).rotateEnvironment('nope')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
});

it('resumes an interrupted rotation instead of starting another one', async () => {
  const env = await createEnvironmentViaService(app, 'interrupted');
  const names = await seedSecrets(app, env, 40);
  const interrupt = new Error('operator pressed ctrl-c');

  await expect(
    rotationOf(app).rotateEnvironment(env, {
      batchSize: 10,
      onProgress: ({ done }) => {
        if (done > 0) throw interrupt;
      },
    }),
  ).rejects.toBe(interrupt);

  // half-way: both versions stored, the first batch moved, values readable
  const status = (await rotationOf(app).status()).environments.find((e) => e.environmentId === env)!;
  expect(status).toMatchObject({
    currentKeyVersion: 2,
    keyVersions: [1, 2],
    dataKeys: [
      { keyVersion: 1, count: 30 },
      { keyVersion: 2, count: 10 },
    ],
    rotationInProgress: true,
  });
  await expectAllValues(app, env, names);
  // new writes already use the new version
  await upsertSecret(app, { environmentId: env, name: 'WRITTEN_MID_ROTATION', value: 'mid' });
  const [written] = await app.sql(`SELECT key_version FROM secret WHERE environment_id = $1 AND name = $2`, [
    env,
    'WRITTEN_MID_ROTATION',
  ]);
  expect(written.key_version).toBe(2);

  const resumed = await rotationOf(app).rotateEnvironment(env, { batchSize: 10, retireDelayMs: 0 });
  expect(resumed).toEqual({ environmentId: env, keyVersion: 2, resumed: true, rewrappedDataKeys: 30, retiredVersions: [1] });
  expect((await environmentKeyRows(app, env)).map((k) => k.version)).toEqual([2]);
  expect(await app.sql(`SELECT DISTINCT key_version FROM secret WHERE environment_id = $1`, [env])).toEqual([
    { key_version: 2 },
  ]);
  expect((await readValues(app, env)).get('WRITTEN_MID_ROTATION')).toBe('mid');
  const values = await readValues(app, env);
  expect(values.size).toBe(names.length + 1);
  for (const name of names) expect(values.get(name)).toBe(valueFor(env, name));
  expect(await auditCount(app, 'KEY_REWRAPPED', env)).toBe(1);
});

it('two rotations started together make one new version and share the work', async () => {
  const env = await createEnvironmentViaService(app, 'twice-at-once');
  const names = await seedSecrets(app, env, 60);
  const rotation = rotationOf(app);
  const [a, b] = await Promise.all([
    rotation.rotateEnvironment(env, { batchSize: 5, retireDelayMs: 0 }),
    rotation.rotateEnvironment(env, { batchSize: 5, retireDelayMs: 0 }),
  ]);
  expect([a.keyVersion, b.keyVersion]).toEqual([2, 2]);
  expect(a.rewrappedDataKeys + b.rewrappedDataKeys).toBe(60);
  expect([...a.retiredVersions, ...b.retiredVersions]).toEqual([1]);
  expect((await environmentKeyRows(app, env)).map((k) => k.version)).toEqual([2]);
  expect(await auditCount(app, 'KEY_REWRAPPED', env)).toBe(1);
  await expectAllValues(app, env, names);
});

it('waits out a row held by a writer, and picks it up again when that write lands on the old version', async () => {
  const env = await createEnvironmentViaService(app, 'held-row');
  const names = await seedSecrets(app, env, 20);
  const [held] = await app.sql(`SELECT id, name, version FROM secret WHERE environment_id = $1 AND name = $2`, [env, names[0]]);
  // a server's write in flight: it locked the row and sealed under version 1, the current one when it began
  const writer = new Client({ connectionString: database.url });
  await writer.connect();
  let progress = 0;
  let rotation: Promise<unknown> | undefined;
  try {
    await writer.query('BEGIN');
    await writer.query(`SELECT id FROM secret WHERE id = $1 FOR UPDATE`, [held.id]);
    rotation = rotationOf(app).rotateEnvironment(env, { batchSize: 5, retireDelayMs: 0, onProgress: (p) => (progress = p.done) });
    for (let waited = 0; progress < 19; waited += 20) {
      if (waited > 5_000) throw new Error(`the rotation stalled at ${progress} behind the held row`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    // the rotation is still waiting: version 1 cannot go while the held row may use it
    expect((await environmentKeyRows(app, env)).map((k) => k.version)).toEqual([1, 2]);

    const owner = { secretId: held.id, environmentId: env, spaceId: null, name: held.name, version: held.version + 1 };
    const sealed = sealValue('written during the rotation', owner, await app.container.keyring.key(env, 1), 1);
    await writer.query(
      `UPDATE secret SET version = $2, key_version = 1, wrapped_dek = $3, ciphertext = $4, updated_at = now() WHERE id = $1`,
      [held.id, owner.version, sealed.wrappedDek, sealed.ciphertext],
    );
    await writer.query('COMMIT');
  } finally {
    await writer.query('ROLLBACK').catch(() => undefined);
    await writer.end();
  }
  await expect(rotation).resolves.toMatchObject({ keyVersion: 2, rewrappedDataKeys: 20, retiredVersions: [1] });
  expect(await app.sql(`SELECT DISTINCT key_version FROM secret WHERE environment_id = $1`, [env])).toEqual([{ key_version: 2 }]);
  const values = await readValues(app, env);
  expect(values.get(names[0])).toBe('written during the rotation');
  for (const name of names.slice(1)) expect(values.get(name)).toBe(valueFor(env, name));
});

it('serves every read and write while a rotation runs under a server with a short key cache', async () => {
  const database2 = await createTestDatabase();
  // a 20 ms cache makes the server load (and unwrap) environment keys over and over during the rotation
  const busy = await startTestApp({ database: database2, env: { ENVIRONMENT_KEY_CACHE_TTL_MS: '20' } });
  try {
    const env = await createEnvironmentViaService(busy, 'busy');
    const names = await seedSecrets(busy, env, 1500, { parallel: 10 });
    const token = await busy.listener(env);
    const written = new Map<string, string>();
    const inFlight = new Set<string>();
    let writes = 0;

    const rotation = rotationOf(busy).rotateEnvironment(env, { batchSize: 25 });
    const read = async () => {
      const name = names[Math.floor(Math.random() * names.length)];
      /* A write of the same name may commit while this read is in flight: either side of it is right, nothing else. */
      const before = written.get(name) ?? valueFor(env, name);
      const response = await busy.gql(`query($n: String!) { secret(name: $n) { value } }`, { n: name }, token);
      const after = written.get(name) ?? valueFor(env, name);
      const value = response.data?.secret?.value;
      if (value !== before && value !== after && !inFlight.has(`${name}\u0000${value}`)) throw new Error(JSON.stringify(response.errors ?? response.data));
    };
    const write = async () => {
      const name = names[Math.floor(Math.random() * 100)];
      const value = `rewritten ${writes++}`;
      inFlight.add(`${name}\u0000${value}`); // committed before its answer arrives, and readable from then on
      await upsertSecret(busy, { environmentId: env, name, value });
      written.set(name, value);
    };
    const [reads, writesRun] = await Promise.all([readWhile(rotation, read, 4), readWhile(rotation, write, 2)]);
    const result = await rotation;

    expect(reads.failures).toEqual([]);
    expect(writesRun.failures).toEqual([]);
    expect(reads.reads).toBeGreaterThan(50);
    expect(writesRun.reads).toBeGreaterThan(10);
    expect(result.keyVersion).toBe(2);
    expect(await busy.sql(`SELECT DISTINCT key_version FROM secret WHERE environment_id = $1`, [env])).toEqual([
      { key_version: 2 },
    ]);
    expect((await environmentKeyRows(busy, env)).map((k) => k.version)).toEqual([2]);
    const values = await readValues(busy, env);
    for (const name of names) expect(values.get(name)).toBe(written.get(name) ?? valueFor(env, name));
  } finally {
    await busy.close();
  }
});

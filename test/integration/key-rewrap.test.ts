process.env.METADATA_SERVER_DETECTION = 'none';

import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { decodeEnvironmentKeyBlob, unwrapEnvironmentKey } from '../../src/crypto/envelope';
import { startTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startFakeKms, type FakeKms } from '../support/fake-kms';
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
import { createSpace } from '../support/operations';

/*
 * `keys rewrap` through KeyRotationService against the fake KMS: a new
 * primary CryptoKeyVersion, a migration local → gcp-kms → local, concurrent
 * runs, and a server serving reads throughout. Only environment_key rows
 * change; every value stays readable.
 */

let kms: FakeKms;
const databases: TestDatabase[] = [];
const apps: TestApp[] = [];

beforeAll(async () => {
  kms = await startFakeKms();
});
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close().catch(() => undefined)));
  await Promise.all(databases.map((d) => d.drop()));
  await kms.stop();
});

const kmsSettings = () => ({ GCP_KMS_KEY_NAME: kms.keyName, GCP_KMS_ENDPOINT: kms.endpoint });
/* No local key anywhere: a DATA_DIR of its own, so not even a generated key file can be found. */
const withoutLocalKeys = () => ({ LOCAL_MASTER_KEYS: '', DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'secretspace-')) });

async function app(database: TestDatabase, env: Record<string, string>): Promise<TestApp> {
  const started = await startTestApp({ database, keepDatabase: true, env });
  apps.push(started);
  return started;
}

async function database(): Promise<TestDatabase> {
  const created = await createTestDatabase();
  databases.push(created);
  return created;
}

async function close(...toClose: TestApp[]) {
  for (const a of toClose) {
    apps.splice(apps.indexOf(a), 1);
    await a.close();
  }
}

it('moves every environment key to a new primary KMS version, once: the second run re-wraps nothing', async () => {
  const db = await database();
  const first = await app(db, { CIPHER_PROVIDER: 'gcp-kms', ...kmsSettings() });
  const seeded = new Map<string, string[]>();
  for (let i = 0; i < 4; i++) {
    const env = await createEnvironmentViaService(first, `kms-${i}`);
    seeded.set(env, await seedSecrets(first, env, 5));
  }
  // one environment mid-rotation, so it has two key versions to move
  const [rotating] = seeded.keys();
  await expect(
    rotationOf(first).rotateEnvironment(rotating, {
      batchSize: 2,
      onProgress: ({ done }) => {
        if (done > 0) throw new Error('interrupted');
      },
    }),
  ).rejects.toThrow('interrupted');
  const before = await environmentKeyRows(first);
  expect(before).toHaveLength(5);
  const oldRef = kms.versionName(kms.primaryVersion);
  for (const row of before) expect(row.key_ref).toBe(oldRef);

  kms.setPrimaryVersion(kms.addVersion());
  const newRef = kms.versionName(kms.primaryVersion);
  kms.reset();
  const result = await rotationOf(first).rewrapAll();

  expect(result).toEqual({
    providerId: 'gcp-kms',
    keyRef: newRef,
    environmentKeys: 5,
    rewrapped: 5,
    alreadyCurrent: 0,
    changedConcurrently: 0,
  });
  // one probe Encrypt to learn the primary, then one Decrypt and one Encrypt per key
  expect(kms.calls).toEqual({ encrypt: 6, decrypt: 5 });
  const after = await environmentKeyRows(first);
  for (const [i, row] of after.entries()) {
    expect([row.provider_id, row.key_ref]).toEqual(['gcp-kms', newRef]);
    expect(decodeEnvironmentKeyBlob(row.wrapped_key)).toMatchObject({ providerId: 'gcp-kms', keyRef: newRef });
    expect(row.wrapped_key.equals(before[i].wrapped_key)).toBe(false);
    // the same environment key inside; and KMS still opens the blob made by the old version
    const viaOld = await unwrapEnvironmentKey(first.container.registry, before[i].wrapped_key, row.environment_id, row.version);
    const viaNew = await unwrapEnvironmentKey(first.container.registry, row.wrapped_key, row.environment_id, row.version);
    expect(viaNew.equals(viaOld)).toBe(true);
  }
  expect(await auditCount(first, 'KEY_REWRAPPED')).toBe(5);

  // a server with nothing cached reads every value through the new blobs
  const fresh = await app(db, { CIPHER_PROVIDER: 'gcp-kms', ...kmsSettings(), ...withoutLocalKeys() });
  for (const [env, names] of seeded) await expectAllValues(fresh, env, names);

  kms.reset();
  const again = await rotationOf(first).rewrapAll();
  expect(again).toMatchObject({ rewrapped: 0, alreadyCurrent: 5, changedConcurrently: 0 });
  expect(kms.calls).toEqual({ encrypt: 1, decrypt: 0 });
  expect(await environmentKeyRows(first)).toEqual(after);
  expect(await auditCount(first, 'KEY_REWRAPPED')).toBe(5);

  // the interrupted rotation still finishes over the re-wrapped keys
  await expect(rotationOf(first).rotateEnvironment(rotating, { retireDelayMs: 0 })).resolves.toMatchObject({ resumed: true });
  await expectAllValues(fresh, rotating, seeded.get(rotating)!);
  await close(first, fresh);
});

it('migrates local → gcp-kms → local with every value readable throughout', async () => {
  const db = await database();
  // local active, KMS configured too: `keys rewrap --provider gcp-kms`
  const local = await app(db, { CIPHER_PROVIDER: 'local', ...kmsSettings() });
  const seeded = new Map<string, { names: string[]; space: string }>();
  for (let i = 0; i < 3; i++) {
    const env = await createEnvironmentViaService(local, `migrating-${i}`);
    const names = await seedSecrets(local, env, 6);
    const space = await createSpace(local, env, 'space');
    await seedSecrets(local, env, 2, { spaceId: space, prefix: 'SPACE_' });
    seeded.set(env, { names, space });
  }
  const everyValueReadable = async (reader: TestApp) => {
    for (const [env, { names, space }] of seeded) {
      await expectAllValues(reader, env, names);
      expect((await readValues(reader, env, space)).get('SPACE_00001')).toBe(valueFor(space, 'SPACE_00001'));
    }
  };
  expect(new Set((await environmentKeyRows(local)).map((k) => k.provider_id))).toEqual(new Set(['local']));

  const toKms = await rotationOf(local).rewrapAll({ providerId: 'gcp-kms' });
  expect(toKms).toMatchObject({ providerId: 'gcp-kms', keyRef: kms.versionName(kms.primaryVersion), rewrapped: 3 });
  for (const row of await environmentKeyRows(local)) {
    expect([row.provider_id, row.key_ref]).toEqual(['gcp-kms', kms.versionName(kms.primaryVersion)]);
    expect(decodeEnvironmentKeyBlob(row.wrapped_key).providerId).toBe('gcp-kms');
  }
  await everyValueReadable(local);
  // gcp-kms active with the local keys still configured, and with no local key at all
  const kmsWithLocal = await app(db, { CIPHER_PROVIDER: 'gcp-kms', ...kmsSettings() });
  await everyValueReadable(kmsWithLocal);
  const kmsOnly = await app(db, { CIPHER_PROVIDER: 'gcp-kms', ...kmsSettings(), ...withoutLocalKeys() });
  await everyValueReadable(kmsOnly);
  // going back needs the local keys: a process without them says so
  await expect(rotationOf(kmsOnly).rewrapAll({ providerId: 'local' })).rejects.toMatchObject({
    code: 'BAD_USER_INPUT',
    message: expect.stringContaining("'local' is not configured"),
  });

  const toLocal = await rotationOf(kmsWithLocal).rewrapAll({ providerId: 'local' });
  expect(toLocal).toMatchObject({ providerId: 'local', keyRef: 'test-1', rewrapped: 3 });
  for (const row of await environmentKeyRows(local)) expect([row.provider_id, row.key_ref]).toEqual(['local', 'test-1']);
  await everyValueReadable(kmsWithLocal);
  // and a plain local server, with no KMS settings at all, reads everything
  const localOnly = await app(db, { CIPHER_PROVIDER: 'local' });
  expect(localOnly.container.registry.ids()).toEqual(['local']);
  await everyValueReadable(localOnly);
  await expect(rotationOf(localOnly).rewrapAll()).resolves.toMatchObject({ rewrapped: 0, alreadyCurrent: 3 });
  expect(await auditCount(local, 'KEY_REWRAPPED')).toBe(6);
  await close(local, kmsWithLocal, kmsOnly, localOnly);
});

it('serves every read while two rewrap runs race each other; each key moves exactly once', async () => {
  const db = await database();
  // a 20 ms key cache: the server keeps loading blobs and calling KMS while they are being replaced
  const server = await app(db, { CIPHER_PROVIDER: 'gcp-kms', ...kmsSettings(), ENVIRONMENT_KEY_CACHE_TTL_MS: '20' });
  const environments: { env: string; names: string[]; token: string }[] = [];
  for (let i = 0; i < 20; i++) {
    const env = await createEnvironmentViaService(server, `busy-${i}`);
    environments.push({ env, names: await seedSecrets(server, env, 10), token: await server.listener(env) });
  }
  kms.setPrimaryVersion(kms.addVersion());
  kms.setLatency(30);
  const rotation = rotationOf(server);
  const runs = Promise.all([rotation.rewrapAll({ concurrency: 1 }), rotation.rewrapAll({ concurrency: 2 })]);
  const read = async () => {
    const { env, names, token } = environments[Math.floor(Math.random() * environments.length)];
    const response = await server.gql(`query($e: ID) { effectiveSecrets(environmentId: $e) { name value } }`, { e: env }, token);
    const values = response.data?.effectiveSecrets as { name: string; value: string }[] | undefined;
    if (values?.length !== names.length || values.some((s) => s.value !== valueFor(env, s.name))) {
      throw new Error(JSON.stringify(response.errors));
    }
  };
  const { reads, failures } = await readWhile(runs, read, 4);
  const [a, b] = await runs;
  kms.setLatency(0);

  expect(failures).toEqual([]);
  expect(reads).toBeGreaterThan(10);
  expect(a.rewrapped + b.rewrapped).toBe(20);
  expect(await auditCount(server, 'KEY_REWRAPPED')).toBe(20);
  for (const row of await environmentKeyRows(server)) expect(row.key_ref).toBe(kms.versionName(kms.primaryVersion));
  await close(server);
});

process.env.METADATA_SERVER_DETECTION = 'none';

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { TEST_MASTER_KEYS, startTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startFakeKms } from '../support/fake-kms';
import { createEnvironmentViaService, environmentKeyRows, expectAllValues, seedSecrets, valueFor } from '../support/keys';

/*
 * The compiled CLI (`npm test` builds dist first) run as a real process
 * against a database a running server also uses: keys status, rewrap onto a
 * new local master key, rotate-environment. Its output carries counts, ids
 * and key references only, never a value or key material.
 */

const CLI = path.join(__dirname, '..', '..', 'dist', 'src', 'cli', 'index.js');
const NEW_KEY = Buffer.alloc(32, 9);
/* A new primary local key first; the old one stays listed so existing blobs still open. */
const ROTATED_KEYS = `test-2:${NEW_KEY.toString('base64')},${TEST_MASTER_KEYS}`;
/* The server was told about the new key before the rewrap (step one of a rollout), but still wraps with the old one. */
const SERVER_KEYS = `${TEST_MASTER_KEYS},test-2:${NEW_KEY.toString('base64')}`;

let database: TestDatabase;
let server: TestApp;
let env: string;
let other: string;
let names: string[];
const outputs: string[] = [];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], masterKeys = ROTATED_KEYS, env: Record<string, string> = {}): Promise<Run> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH, DATABASE_URL: database.url, LOCAL_MASTER_KEYS: masterKeys, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) =>
    child.once('close', (code) => {
      outputs.push(stdout, stderr);
      resolve({ code, stdout, stderr });
    }),
  );
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  database = await createTestDatabase();
  server = await startTestApp({ database, keepDatabase: true, env: { LOCAL_MASTER_KEYS: SERVER_KEYS } });
  env = await createEnvironmentViaService(server, 'cli-rotated');
  other = await createEnvironmentViaService(server, 'cli-other');
  names = await seedSecrets(server, env, 30);
  await seedSecrets(server, other, 4);
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
});

it('reports, re-wraps and rotates from the command line without printing a value or a key', async () => {
  const status = await cli(['keys', 'status', '--json'], TEST_MASTER_KEYS);
  expect(status.code).toBe(0);
  const parsed = JSON.parse(status.stdout);
  expect(parsed).toMatchObject({
    activeProviderId: 'local',
    primaryKeyRef: 'test-1',
    environmentKeys: [{ providerId: 'local', keyRef: 'test-1', count: 2 }],
  });
  expect(parsed.environments.find((e: any) => e.environmentId === env)).toEqual({
    environmentId: env,
    name: 'cli-rotated',
    currentKeyVersion: 1,
    keyVersions: [1],
    dataKeys: [{ keyVersion: 1, count: 30 }],
    rotationInProgress: false,
  });

  const rewrap = await cli(['keys', 'rewrap', '--json']);
  expect(rewrap.code).toBe(0);
  expect(JSON.parse(rewrap.stdout)).toEqual({
    providerId: 'local',
    keyRef: 'test-2',
    environmentKeys: 2,
    rewrapped: 2,
    alreadyCurrent: 0,
    changedConcurrently: 0,
  });
  expect(rewrap.stderr).toContain('environment keys: 2/2'); // plain progress lines: stderr is not a terminal
  expect((await environmentKeyRows(server)).map((k) => k.key_ref)).toEqual(['test-2', 'test-2']);

  const again = await cli(['keys', 'rewrap']);
  expect([again.code, again.stdout]).toEqual([0, 're-wrapped 0 of 2 environment keys under local test-2 (2 already there)\n']);

  const rotate = await cli(['keys', 'rotate-environment', env, '--batch-size', '7']);
  expect(rotate.code).toBe(0);
  expect(rotate.stdout).toBe(`environment ${env}: key version 2; 30 data keys re-wrapped; retired version(s) 1\n`);
  expect(rotate.stderr).toContain('data keys: 30/30');

  const text = await cli(['keys', 'status']);
  expect(text.code).toBe(0);
  expect(text.stdout).toContain('active provider: local (wraps with test-2)');
  expect(text.stdout).toMatch(/\s2 {2}local {2}test-2\n/);
  expect(text.stdout).toContain(`${env}  "cli-rotated"  current v2  v2: 30`);
  expect(text.stdout).not.toContain('rotation in progress');

  // the running server reads on (it knows both keys); a server started with the new order reads everything too
  await expectAllValues(server, env, names);
  const restarted = await startTestApp({ database, keepDatabase: true, env: { LOCAL_MASTER_KEYS: ROTATED_KEYS } });
  try {
    await expectAllValues(restarted, env, names);
    const envKeys = await Promise.all([
      restarted.container.keyring.key(env, 2),
      restarted.container.keyring.key(other, 1),
    ]);
    const forbidden = [
      ...names.map((n) => valueFor(env, n)),
      NEW_KEY.toString('base64'),
      TEST_MASTER_KEYS.split(':')[1],
      ...envKeys.flatMap((k) => [k.toString('base64'), k.toString('hex'), k.toString('base64url')]),
      ...(await environmentKeyRows(server)).map((k) => k.wrapped_key.toString('hex')),
    ];
    for (const output of outputs) for (const secret of forbidden) expect(output).not.toContain(secret);
  } finally {
    await restarted.close();
  }
});

it('explains what it cannot do and exits non-zero', async () => {
  const notAnId = await cli(['keys', 'rotate-environment', 'not-a-uuid']);
  expect([notAnId.code, notAnId.stdout]).toEqual([1, '']);
  expect(notAnId.stderr).toContain('[BAD_USER_INPUT]');

  const unconfigured = await cli(['keys', 'rewrap', '--provider', 'gcp-kms']);
  expect(unconfigured.code).toBe(1);
  expect(unconfigured.stderr).toContain("cipher provider 'gcp-kms' is not configured here (configured: local)");

  const badBatch = await cli(['keys', 'rotate-environment', env, '--batch-size', '0']);
  expect(badBatch.code).not.toBe(0);
  expect(badBatch.stderr).toContain('must be a positive integer');

  // a master key that cannot open the blobs: the run stops, nothing changes
  const before = await environmentKeyRows(server);
  const wrongKeys = await cli(['keys', 'rewrap'], `test-3:${Buffer.alloc(32, 1).toString('base64')}`);
  expect(wrongKeys.code).toBe(1);
  expect(wrongKeys.stderr).toMatch(
    /environment [0-9a-f-]{36} key version [12]: local master key 'test-2' is not configured \[DECRYPTION_FAILED\]/,
  );
  expect(await environmentKeyRows(server)).toEqual(before);
});

it('migrates to gcp-kms and back from the command line', async () => {
  const kms = await startFakeKms();
  const kmsEnv = { GCP_KMS_KEY_NAME: kms.keyName, GCP_KMS_ENDPOINT: kms.endpoint, METADATA_SERVER_DETECTION: 'none' };
  try {
    const toKms = await cli(['keys', 'rewrap', '--provider', 'gcp-kms', '--json'], ROTATED_KEYS, kmsEnv);
    expect(toKms.code).toBe(0);
    expect(JSON.parse(toKms.stdout)).toMatchObject({ providerId: 'gcp-kms', keyRef: kms.versionName(1), rewrapped: 2 });
    expect(kms.calls).toEqual({ encrypt: 3, decrypt: 0 }); // a probe, then one wrap per key
    expect(new Set((await environmentKeyRows(server)).map((k) => k.provider_id))).toEqual(new Set(['gcp-kms']));

    const onKms = await startTestApp({
      database,
      keepDatabase: true,
      // no local key at all: only KMS can open the keys now
      env: { CIPHER_PROVIDER: 'gcp-kms', ...kmsEnv, LOCAL_MASTER_KEYS: '', DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'ss-')) },
    });
    try {
      await expectAllValues(onKms, env, names);
    } finally {
      await onKms.close();
    }

    const back = await cli(['keys', 'rewrap', '--provider', 'local'], ROTATED_KEYS, { CIPHER_PROVIDER: 'gcp-kms', ...kmsEnv });
    expect(back.code).toBe(0);
    expect(back.stdout).toBe('re-wrapped 2 of 2 environment keys under local test-2 (0 already there)\n');
    const onLocal = await startTestApp({ database, keepDatabase: true, env: { LOCAL_MASTER_KEYS: ROTATED_KEYS } });
    try {
      await expectAllValues(onLocal, env, names);
    } finally {
      await onLocal.close();
    }
  } finally {
    await kms.stop();
  }
  for (const output of outputs) for (const name of names) expect(output).not.toContain(valueFor(env, name));
});

process.env.METADATA_SERVER_DETECTION = 'none';

import { startTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startFakeKms, type FakeKms } from '../support/fake-kms';
import { createEnvironmentViaService, seedSecrets, valueFor } from '../support/keys';
import { dataOf } from '../support/operations';

/*
 * DESIGN §5/§9: one KMS call per environment per cache period per instance.
 * A KMS that answers in 50 ms; 1,000 secrets in one environment; every
 * restart starts with an empty key cache. Calls are counted on the fake.
 */

let kms: FakeKms;
let database: TestDatabase;
let names: string[];
let env: string;
const SECRETS = 1_000;

const kmsServer = () =>
  startTestApp({
    database,
    keepDatabase: true,
    env: {
      CIPHER_PROVIDER: 'gcp-kms',
      GCP_KMS_KEY_NAME: kms.keyName,
      GCP_KMS_ENDPOINT: kms.endpoint,
      // this suite counts calls, not deadlines: a starved CI machine must not turn one slow Decrypt into a failure
      GCP_KMS_TIMEOUT_MS: '30000',
    },
  });

async function readAll(app: TestApp, token: string) {
  const response = await app.gql(
    `query($e: ID) { effectiveSecrets(environmentId: $e) { name value } }`,
    { e: env },
    token,
  );
  const values = dataOf(response).effectiveSecrets as { name: string; value: string }[];
  expect(values).toHaveLength(SECRETS);
  for (const { name, value } of values) if (value !== valueFor(env, name)) throw new Error(`wrong value for ${name}`);
}

const callsSince = (before: { encrypt: number; decrypt: number }) => ({
  encrypt: kms.calls.encrypt - before.encrypt,
  decrypt: kms.calls.decrypt - before.decrypt,
});

beforeAll(async () => {
  kms = await startFakeKms({ latencyMs: 50 });
  database = await createTestDatabase();
  const seeding = await kmsServer();
  try {
    env = await createEnvironmentViaService(seeding, 'economy');
    names = await seedSecrets(seeding, env, SECRETS, { parallel: 10 });
    // creating the environment wrapped its key once; the writes reused the key this process made
    expect(kms.calls).toEqual({ encrypt: 1, decrypt: 0 });
  } finally {
    await seeding.close();
  }
});
afterAll(async () => {
  await database?.drop();
  await kms?.stop();
});

it('the first read of 1,000 values after a restart makes one Decrypt; later reads make none', async () => {
  const server = await kmsServer();
  try {
    const token = await server.listener(env);
    const before = { ...kms.calls };
    await readAll(server, token);
    expect(callsSince(before)).toEqual({ encrypt: 0, decrypt: 1 });

    await readAll(server, token);
    for (const name of names.slice(0, 20)) {
      const response = await server.gql(`query($n: String!) { secret(name: $n) { value } }`, { n: name }, token);
      expect(dataOf(response).secret.value).toBe(valueFor(env, name));
    }
    expect(callsSince(before)).toEqual({ encrypt: 0, decrypt: 1 });
  } finally {
    await server.close();
  }
});

it('20 concurrent cold requests for the same environment share one Decrypt', async () => {
  const server = await kmsServer();
  try {
    const token = await server.listener(env);
    const before = { ...kms.calls };
    await Promise.all(Array.from({ length: 20 }, () => readAll(server, token)));
    expect(callsSince(before)).toEqual({ encrypt: 0, decrypt: 1 });
  } finally {
    await server.close();
  }
});

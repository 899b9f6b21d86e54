process.env.METADATA_SERVER_DETECTION = 'none';

import { startTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startFakeKms, type FakeKms } from '../support/fake-kms';
import { createEnvironmentViaService, readValues, seedSecrets, valueFor } from '../support/keys';
import { UPSERT, errorCode } from '../support/operations';

/*
 * DESIGN §5: with KMS down, a write that needs it fails with
 * KEY_PROVIDER_UNAVAILABLE and leaves the database as it was; reads whose
 * environment key is already cached go on; /readyz names the provider.
 */

let kms: FakeKms;
let database: TestDatabase;
let server: TestApp | undefined;

beforeAll(async () => {
  kms = await startFakeKms();
  database = await createTestDatabase();
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
  await kms?.stop().catch(() => undefined);
});

/* Every row of every table, except token last-used stamps (bumped by any authenticated request). */
async function fingerprint(app: TestApp): Promise<string> {
  const tables = await app.sql<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'api_token' ORDER BY 1`,
  );
  const parts: string[] = [];
  for (const { table_name } of tables) {
    const [{ digest, n }] = await app.sql(
      `SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) AS digest, count(*)::int AS n FROM "${table_name}" t`,
    );
    parts.push(`${table_name}:${n}:${digest}`);
  }
  const tokens = await app.sql(`SELECT id, name, role, environment_id, space_id, revoked_at FROM api_token ORDER BY id`);
  return `${parts.join('|')}|api_token:${JSON.stringify(tokens)}`;
}

const readyz = async (app: TestApp) => {
  const response = await fetch(`${app.url}/readyz`);
  return [response.status, await response.json()];
};

it('fails writes cleanly, keeps cached reads going, and reports readiness while KMS is out', async () => {
  const kmsEnv = { CIPHER_PROVIDER: 'gcp-kms', GCP_KMS_KEY_NAME: kms.keyName, GCP_KMS_ENDPOINT: kms.endpoint };
  const seeding = await startTestApp({ database, keepDatabase: true, env: kmsEnv });
  const cached = await createEnvironmentViaService(seeding, 'cached');
  const cold = await createEnvironmentViaService(seeding, 'cold');
  const cachedNames = await seedSecrets(seeding, cached, 3);
  await seedSecrets(seeding, cold, 3);
  await seeding.close();

  // a restarted server: only the environment it has read since holds a cached key
  server = await startTestApp({ database, keepDatabase: true, env: kmsEnv });
  expect(await readyz(server)).toEqual([200, { status: 'ready' }]);
  const coldToken = await server.listener(cold);
  expect((await readValues(server, cached)).get(cachedNames[0])).toBe(valueFor(cached, cachedNames[0]));

  kms.failNext('UNAVAILABLE', 10_000);
  const unchanged = await fingerprint(server);
  const write = await server.gql(UPSERT, { input: { environmentId: cold, name: 'NEW', value: 'never stored' } });
  expect(errorCode(write)).toBe('KEY_PROVIDER_UNAVAILABLE');
  const overwrite = await server.gql(UPSERT, { input: { environmentId: cold, name: 'SECRET_00000', value: 'never stored' } });
  expect(errorCode(overwrite)).toBe('KEY_PROVIDER_UNAVAILABLE');
  const create = await server.gql(`mutation { createEnvironment(input: { name: "during the outage" }) { id } }`);
  expect(errorCode(create)).toBe('KEY_PROVIDER_UNAVAILABLE');
  expect(await fingerprint(server)).toBe(unchanged);
  expect(kms.calls.encrypt + kms.calls.decrypt).toBeGreaterThan(1); // the calls were really tried (and retried)

  // reads whose key is cached still work; one that needs KMS says why it cannot
  const values = await readValues(server, cached);
  for (const name of cachedNames) expect(values.get(name)).toBe(valueFor(cached, name));
  const coldRead = await server.gql(`{ effectiveSecrets { name value } }`, undefined, coldToken);
  expect(coldRead.errors?.[0].extensions?.code).toBe('KEY_PROVIDER_UNAVAILABLE');
  expect(JSON.stringify([write, overwrite, create, coldRead, server.logs])).not.toContain('never stored');

  // KMS back: the same write goes through
  kms.reset();
  const retried = await server.gql(UPSERT, { input: { environmentId: cold, name: 'AFTER', value: 'stored' } });
  expect(retried.errors).toBeUndefined();

  // KMS gone altogether: readiness names it (once its 10 s probe cache has lapsed), cached reads go on
  await kms.stop();
  let ready = await readyz(server);
  for (const deadline = Date.now() + 20_000; ready[0] === 200 && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    ready = await readyz(server);
  }
  expect(ready).toEqual([503, { status: 'unavailable', failing: ['cipherProvider:gcp-kms'] }]);
  expect((await readValues(server, cached)).get(cachedNames[1])).toBe(valueFor(cached, cachedNames[1]));
  const before = await fingerprint(server);
  const started = Date.now();
  const stopped = await server.gql(`mutation { createEnvironment(input: { name: "kms stopped" }) { id } }`);
  expect(errorCode(stopped)).toBe('KEY_PROVIDER_UNAVAILABLE');
  expect(Date.now() - started).toBeLessThan(15_000);
  expect(await fingerprint(server)).toBe(before);
});

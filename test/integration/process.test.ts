import { createTestDatabase, type TestDatabase } from '../support/database';
import { TEST_MASTER_KEYS } from '../support/app';
import { freePort, gqlAt, startServerProcess } from '../support/server-process';
import { until } from '../support/until';

/* main.ts as operators run it: settings errors, readiness, graceful SIGTERM. */

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database?.drop());

it('drains in-flight requests on SIGTERM and exits 0', async () => {
  const server = await startServerProcess({ DATABASE_URL: database.url, LOCAL_MASTER_KEYS: TEST_MASTER_KEYS }, await freePort());
  const env = (await gqlAt(server.url, `mutation { createEnvironment(input: { name: "drain" }) { id } }`)).data.createEnvironment.id;
  const { Client } = await import('pg');
  const client = new Client({ connectionString: database.url });
  await client.connect();
  // Hold every write inside the server (its INSERT waits on this lock), so requests are provably in
  // flight when SIGTERM arrives, however slowly this machine gets them there.
  await client.query(`BEGIN; LOCK TABLE secret IN EXCLUSIVE MODE`);
  const inFlight = Array.from({ length: 30 }, (_, i) =>
    gqlAt(server.url, `mutation($i: UpsertSecretInput!) { upsertSecret(input: $i) { version } }`, {
      i: { environmentId: env, name: `N${i}`, value: 'x'.repeat(60_000) },
    }),
  );
  await until('a write waits on the lock', async () => (await waitingOnLock(client)) >= 1, 10_000);
  const exit = server.stop('SIGTERM');
  await until('the server drains', () => server.output().includes('draining in-flight requests'), 10_000);
  await client.query('COMMIT');
  const results = await Promise.allSettled(inFlight);
  expect({ exit: await exit, output: server.output().slice(-3000) }).toEqual({ exit: 0, output: expect.any(String) });
  // Each request either completed (200, written) or was turned away before any work (503 while
  // closing, or a refused connection). None was written without its answer reaching the client.
  const outcomes = results.map((r) => (r.status === 'rejected' ? 'refused' : r.value.status === 200 ? 'written' : String(r.value.status)));
  expect(outcomes.filter((o) => !['written', 'refused', '503'].includes(o))).toEqual([]);
  expect(outcomes).toContain('written');
  const { rows } = await client.query(`SELECT count(*)::int AS n FROM secret`);
  await client.end();
  expect(rows[0].n).toBe(outcomes.filter((o) => o === 'written').length);
  expect(server.output()).toContain('draining in-flight requests');
  expect(server.output()).toContain('"msg":"stopped"');
});

/** Backends of other sessions waiting for a lock (the server's writes behind the test's LOCK TABLE). */
async function waitingOnLock(client: { query(sql: string): Promise<{ rows: Array<{ n: number }> }> }): Promise<number> {
  const { rows } = await client.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
  );
  return rows[0].n;
}

it('exits with a clear message on bad settings', async () => {
  const attempt = startServerProcess({ DATABASE_URL: database.url, PORT: '99999' }, 99999);
  await expect(attempt).rejects.toThrow(/PORT/);
  await expect(startServerProcess({ DATABASE_URL: database.url }, await freePort())).rejects.toThrow(
    /LOCAL_MASTER_KEYS: the local cipher provider with an external DATABASE_URL needs/,
  );
});

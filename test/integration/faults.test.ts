import { TEST_MASTER_KEYS, startTestApp } from '../support/app';
import { ADMIN_DATABASE_URL, createTestDatabase } from '../support/database';
import { createEnvironment, dataOf, upsertSecret } from '../support/operations';
import { failingBesidesEvents, readiness, untilReady } from '../support/readiness';
import { startTcpProxy } from '../support/tcp-proxy';

/*
 * The database goes away under a running server (connections reset, new
 * ones refused, as in a restart) and comes back: requests fail with a clear
 * SERVICE_UNAVAILABLE meanwhile, never a 500 or a hang, and succeed again
 * afterwards without restarting the server.
 */

it('survives a database restart without a process restart', async () => {
  const database = await createTestDatabase();
  const target = new URL(ADMIN_DATABASE_URL);
  const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
  const viaProxy = new URL(database.url);
  viaProxy.host = `127.0.0.1:${proxy.port}`;
  const app = await startTestApp({
    database: { url: viaProxy.toString(), drop: database.drop },
    env: { LOCAL_MASTER_KEYS: TEST_MASTER_KEYS },
  });
  try {
    const env = await createEnvironment(app, 'faults');
    await upsertSecret(app, { environmentId: env, name: 'KEPT', value: 'kept-value-1234' });
    const reader = await app.listener(env);

    await proxy.cut();
    const during = await Promise.all([
      app.gql(`{ secret(name: "KEPT") { value } }`, {}, reader),
      app.gql(`mutation($e: ID!) { upsertSecret(input: { environmentId: $e, name: "LOST", value: "x" }) { id } }`, { e: env }),
      fetch(`${app.url}/v1/secrets?environmentId=${env}`, { headers: { authorization: `Bearer ${reader}` } }).then(async (r) => ({
        status: r.status,
        ...((await r.json()) as object),
      })) as Promise<any>,
    ]);
    for (const res of during) {
      expect(res.status).toBe(503);
      const code = res.errors[0].extensions?.code ?? res.errors[0].code;
      expect(code).toBe('SERVICE_UNAVAILABLE');
      expect(JSON.stringify(res)).not.toContain('kept-value');
    }
    const ready = await readiness(app);
    expect([ready.status, ready.body.status, failingBesidesEvents(ready)]).toEqual([503, 'unavailable', ['database']]);
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);

    await proxy.restore();
    const after = await app.gql(`{ secret(name: "KEPT") { value } }`, {}, reader);
    expect(dataOf(after).secret.value).toBe('kept-value-1234');
    const write = await app.gql(`mutation($e: ID!) { upsertSecret(input: { environmentId: $e, name: "AFTER", value: "y" }) { version } }`, { e: env });
    expect(dataOf(write).upsertSecret.version).toBe(1);
    expect(await app.sql(`SELECT name FROM secret ORDER BY name`)).toEqual([{ name: 'AFTER' }, { name: 'KEPT' }]);
    expect((await untilReady(app)).status).toBe(200);
  } finally {
    await app.close();
    await proxy.close();
  }
});

import { Client } from 'pg';

import { startTestApp } from '../support/app';
import { ADMIN_DATABASE_URL, createTestDatabase } from '../support/database';
import { failingBesidesEvents, readiness, untilReady } from '../support/readiness';

it('/healthz answers 200; /readyz 200 while the database answers and 503 naming it when it does not', async () => {
  const database = await createTestDatabase();
  const app = await startTestApp({ database, keepDatabase: true });
  try {
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${app.url}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready' }]);

    // Take the database away underneath the running server.
    const admin = new Client({ connectionString: ADMIN_DATABASE_URL });
    await admin.connect();
    const name = new URL(database.url).pathname.slice(1);
    await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [name]);
    try {
      const down = await readiness(app);
      expect([down.status, down.body.status, failingBesidesEvents(down)]).toEqual([503, 'unavailable', ['database']]);
      expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
      const query = await app.gql(`{ environments { id } }`);
      expect([query.status, query.errors?.[0].extensions?.code]).toEqual([503, 'SERVICE_UNAVAILABLE']);
    } finally {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    // and it recovers without a restart (the listening connection after its reconnect backoff)
    expect(await untilReady(app)).toEqual({ status: 200, body: { status: 'ready' } });
    expect((await app.gql(`{ environments { id } }`)).errors).toBeUndefined();
  } finally {
    await app.close().catch(() => undefined);
    await database.drop();
  }
});

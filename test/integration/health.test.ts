import { Client } from 'pg';

import { startTestApp } from '../support/app';
import { ADMIN_DATABASE_URL, createTestDatabase } from '../support/database';

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
      const down = await fetch(`${app.url}/readyz`);
      expect([down.status, await down.json()]).toEqual([503, { status: 'unavailable', failing: ['database'] }]);
      expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
      const query = await app.gql(`{ environments { id } }`);
      expect([query.status, query.errors?.[0].extensions?.code]).toEqual([503, 'SERVICE_UNAVAILABLE']);
    } finally {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    // and it recovers without a restart
    await new Promise((r) => setTimeout(r, 100));
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
    expect((await app.gql(`{ environments { id } }`)).errors).toBeUndefined();
  } finally {
    await app.close().catch(() => undefined);
    await database.drop();
  }
});

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { freePort, gqlAt, startServerProcess } from '../support/server-process';

/*
 * PGlite behind pglite-socket is one backend: named prepared statements
 * outlive the pool connection that made them. The pool closes a connection
 * idle for 10 s; the next request opens a new one to the same backend and
 * must not trip over the statements ("prepared statement … already exists").
 */
it('answers after the embedded pool replaced an idle connection', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ss-embedded-reconnect-'));
  const server = await startServerProcess({ DATA_DIR: dir }, await freePort());
  try {
    expect((await gqlAt(server.url, `{ viewer { role } }`)).data).toEqual({ viewer: { role: 'ADMIN' } });
    await new Promise((resolve) => setTimeout(resolve, 11_500)); // pg-pool's idleTimeoutMillis is 10 s
    expect(await gqlAt(server.url, `{ viewer { role } }`)).toMatchObject({ status: 200, data: { viewer: { role: 'ADMIN' } } });
  } finally {
    expect(await server.stop('SIGTERM')).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  }
});

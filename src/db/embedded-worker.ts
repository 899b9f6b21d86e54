import { isMainThread, parentPort, workerData } from 'node:worker_threads';

import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

import { seedFromTemplate } from './embedded-template';

/*
 * The embedded database's own thread (src/db/embedded.ts starts it):
 * PGlite runs PostgreSQL as WebAssembly on the thread that calls it, so
 * here its start (a new cluster's copy from the template, then PGlite's
 * own, each a few hundred ms) overlaps the server loading its code, and
 * its queries run beside the event loop rather than on it.
 */

export interface EmbeddedWorkerData {
  readonly secretspaceEmbedded: true;
  readonly pgdata: string;
  readonly socketPath: string;
  readonly maxConnections: number;
}

export type EmbeddedWorkerMessage = { readonly type: 'ready' } | { readonly type: 'failed'; readonly message: string } | { readonly type: 'stopped' };

/*
 * PGlite is one backend in single-user mode with PostgreSQL's default 128 MB
 * of shared buffers: setting up that shared memory was 0.3–0.4 s of its
 * 1.1 s start. 32 MB of buffers (the files under them are in the OS's page
 * cache too) start it in ~0.7 s. (Fewer connection slots made no measurable
 * difference, and would shrink the lock table that queries over every audit
 * partition need.)
 */
const START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=32MB'];

/** Opens the cluster (a new one copied from the build's template) and serves it on the socket; returns its stop. */
export async function serveEmbedded(pgdata: string, socketPath: string, maxConnections: number): Promise<() => Promise<void>> {
  seedFromTemplate(pgdata);
  /*
   * Measured, not understood: PGlite's start runs about half a second
   * without yielding, and when no timer was pending meanwhile, this
   * thread's event loop then sat idle for 0.2–0.25 s before it accepted the
   * server's first connection. A timer pending during the start avoids
   * the stall.
   */
  const hold = setTimeout(() => undefined, 60_000);
  let db: PGlite;
  try {
    db = await PGlite.create(pgdata, { startParams: START_PARAMS });
  } finally {
    clearTimeout(hold);
  }
  try {
    const server = new PGLiteSocketServer({ db, path: socketPath, maxConnections });
    await server.start();
    return async () => {
      await server.stop();
      await db.close();
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}

if (!isMainThread && parentPort && (workerData as EmbeddedWorkerData | undefined)?.secretspaceEmbedded) {
  const port = parentPort;
  const { pgdata, socketPath, maxConnections } = workerData as EmbeddedWorkerData;
  const post = (message: EmbeddedWorkerMessage) => port.postMessage(message);
  serveEmbedded(pgdata, socketPath, maxConnections).then(
    (stop) => {
      port.once('message', () => {
        stop().then(
          () => {
            post({ type: 'stopped' });
            port.close();
          },
          (error: unknown) => post({ type: 'failed', message: (error as Error).message }),
        );
      });
      post({ type: 'ready' });
    },
    (error: unknown) => post({ type: 'failed', message: (error as Error).message }),
  );
}

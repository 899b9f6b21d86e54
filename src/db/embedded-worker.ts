import { isMainThread, parentPort, workerData } from 'node:worker_threads';

import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/*
 * The embedded database's own thread (src/db/embedded.ts starts it):
 * PGlite runs PostgreSQL as WebAssembly on the thread that calls it, so
 * here its start (a second or two) overlaps the server loading its code,
 * and its queries run beside the event loop rather than on it.
 */

export interface EmbeddedWorkerData {
  readonly secretspaceEmbedded: true;
  readonly pgdata: string;
  readonly socketPath: string;
  readonly maxConnections: number;
}

export type EmbeddedWorkerMessage = { readonly type: 'ready' } | { readonly type: 'failed'; readonly message: string } | { readonly type: 'stopped' };

/** Opens the cluster and serves it on the socket; returns its stop. */
export async function serveEmbedded(pgdata: string, socketPath: string, maxConnections: number): Promise<() => Promise<void>> {
  const db = await PGlite.create(pgdata);
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

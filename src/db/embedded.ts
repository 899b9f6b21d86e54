import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Worker } from 'node:worker_threads';

import type { EmbeddedWorkerData, EmbeddedWorkerMessage } from './embedded-worker';
import { preparePrivateDirectory, restrictTree } from './private-directory';

/*
 * The embedded default: PGlite (PostgreSQL compiled to WASM) keeps its files
 * in DATA_DIR and is served over a Unix socket to the ordinary `pg` driver,
 * so the embedded and external databases share one code path. The socket
 * lives in a 0700 directory so other local users cannot reach the database.
 * PGlite runs in a worker thread of its own (embedded-worker.ts); where
 * that file is not compiled JavaScript (the TypeScript test runner) it runs
 * on this thread instead.
 */

const SOCKET_PORT = 5432;
/* Only the server: a second client (even psql) would interleave with it. */
export const EMBEDDED_CONNECTIONS = 1;
const MAX_SOCKET_PATH = 100;

export interface EmbeddedDatabase {
  /** Where `pg` connects: a socket directory and the port in the socket's name. */
  readonly host: string;
  readonly port: number;
  stop(): Promise<void>;
}

export async function startEmbeddedDatabase(dataDir: string, maxConnections: number): Promise<EmbeddedDatabase> {
  preparePrivateDirectory(dataDir);
  const releaseLock = acquireDirectoryLock(path.join(dataDir, 'secretspace.lock'));
  let socketDir = path.join(dataDir, 'socket');
  let temporarySocketDir = false;
  if (path.join(socketDir, `.s.PGSQL.${SOCKET_PORT}`).length > MAX_SOCKET_PATH) {
    socketDir = mkdtempSync(path.join(os.tmpdir(), 'secretspace-'));
    temporarySocketDir = true;
  }
  mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  const socketPath = path.join(socketDir, `.s.PGSQL.${SOCKET_PORT}`);
  rmSync(socketPath, { force: true });

  try {
    const pgdata = path.join(dataDir, 'pgdata');
    const stopDatabase = await serve({ secretspaceEmbedded: true, pgdata, socketPath, maxConnections });
    restrictTree(dataDir);
    return {
      host: socketDir,
      port: SOCKET_PORT,
      async stop() {
        await stopDatabase();
        restrictTree(dataDir);
        rmSync(temporarySocketDir ? socketDir : socketPath, { recursive: true, force: true });
        releaseLock();
      },
    };
  } catch (error) {
    releaseLock();
    throw error;
  }
}

const WORKER_FILE = path.join(__dirname, 'embedded-worker.js');

/** Starts PGlite and its socket server (in a worker when compiled); resolves when it accepts connections, to its stop. */
async function serve(data: EmbeddedWorkerData): Promise<() => Promise<void>> {
  if (!existsSync(WORKER_FILE)) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only where no worker can run it
    const { serveEmbedded } = require('./embedded-worker') as typeof import('./embedded-worker');
    return serveEmbedded(data.pgdata, data.socketPath, data.maxConnections);
  }
  const worker = new Worker(WORKER_FILE, { workerData: data });
  let stopping = false;
  const next = () =>
    new Promise<EmbeddedWorkerMessage>((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`the embedded database stopped (worker exit ${code})`));
      worker.once('exit', onExit);
      worker.once('error', reject);
      worker.once('message', (message: EmbeddedWorkerMessage) => {
        worker.off('exit', onExit).off('error', reject);
        resolve(message);
      });
    });
  const failed = (message: EmbeddedWorkerMessage) => message.type === 'failed' && new Error(message.message);
  const started = await next().catch(async (error: unknown) => {
    await worker.terminate();
    throw error;
  });
  const startError = failed(started);
  if (startError) {
    await worker.terminate();
    throw startError;
  }
  /* The database is the server's: if its thread dies, so does the server (as it would with PGlite on this thread). */
  worker.once('exit', (code) => {
    if (stopping) return;
    process.stderr.write(`secretspace: the embedded database stopped unexpectedly (worker exit ${code})\n`);
    process.exit(1);
  });
  worker.on('error', (error) => {
    if (stopping) return;
    process.stderr.write(`secretspace: the embedded database failed: ${error.message}\n`);
    process.exit(1);
  });
  return async () => {
    stopping = true;
    const stopped = next();
    worker.postMessage({ type: 'stop' });
    const stopError = failed(await stopped);
    await worker.terminate();
    if (stopError) throw stopError;
  };
}

/** One process per data directory: PGlite's files must not be opened twice. */
function acquireDirectoryLock(lockFile: string): () => void {
  try {
    writeFileSync(lockFile, String(process.pid), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const holder = Number(readFileSync(lockFile, 'utf8'));
    if (holder && holder !== process.pid && isAlive(holder)) {
      throw new Error(`the embedded database in ${path.dirname(lockFile)} is in use by process ${holder}`);
    }
    writeFileSync(lockFile, String(process.pid), { mode: 0o600 });
  }
  return () => rmSync(lockFile, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

import { preparePrivateDirectory, restrictTree } from './private-directory';

/*
 * The embedded default: PGlite (PostgreSQL compiled to WASM) keeps its files
 * in DATA_DIR and is served over a Unix socket to the ordinary `pg` driver,
 * so the embedded and external databases share one code path. The socket
 * lives in a 0700 directory so other local users cannot reach the database.
 */

const SOCKET_PORT = 5432;
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
    const db = await PGlite.create(path.join(dataDir, 'pgdata'));
    restrictTree(dataDir);
    const server = new PGLiteSocketServer({ db, path: socketPath, maxConnections });
    await server.start();
    return {
      host: socketDir,
      port: SOCKET_PORT,
      async stop() {
        await server.stop();
        await db.close();
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

import { execFile, spawnSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { Client } from 'pg';

import { freePort } from './server-process';

/*
 * A private PostgreSQL cluster for tests that stop, kill or restart
 * PostgreSQL (the shared one on :5432 must never be touched): initdb into a
 * temporary directory as the `postgres` user, pg_ctl on a free loopback
 * port, trust authentication, and removal afterwards. A process exit stops
 * clusters a test left running.
 */

const run = promisify(execFile);

/** The newest installed PostgreSQL's binaries (PG_BIN overrides). */
export function postgresBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  if (!versions.length) throw new Error('no PostgreSQL under /usr/lib/postgresql; set PG_BIN');
  return path.join(root, versions[0], 'bin');
}

interface SystemUser {
  readonly uid: number;
  readonly gid: number;
}

/** Running as root, PostgreSQL's tools must run as `postgres` (they refuse root); otherwise as ourselves. */
function postgresUser(): SystemUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const result = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error('running as root needs a postgres user for initdb');
  return { uid: Number(result.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** argv that runs `command` as the PostgreSQL user (setpriv execs, so signals reach the program itself). */
export function asPostgres(command: string, args: readonly string[]): [string, string[]] {
  const user = postgresUser();
  if (!user) return [command, [...args]];
  return ['setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--', command, ...args]];
}

/** A directory the PostgreSQL user owns (mode 0700). */
export function postgresOwnedTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const user = postgresUser();
  if (user) chownSync(dir, user.uid, user.gid);
  return dir;
}

export interface PgCluster {
  readonly port: number;
  readonly dataDir: string;
  /** A URL for one database of the cluster (default `postgres`). */
  url(database?: string): string;
  /** Creates a database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** `pg_ctl stop`: fast (clean, rolls back open transactions) or immediate (a crash; recovery at the next start). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  readonly running: boolean;
  /** pg_terminate_backend of every client backend except our own; resolves with how many. */
  terminateBackends(applicationName?: string): Promise<number>;
  /** A statement on a short-lived connection (to `postgres` unless a database is named). */
  sql<T = Record<string, unknown>>(text: string, params?: unknown[], database?: string): Promise<T[]>;
  /** The server log, for failure messages. */
  log(): string;
  /** Stops the cluster (immediately) and deletes its files. */
  remove(): Promise<void>;
}

export interface PgClusterOptions {
  /** postgresql.conf settings added to the defaults below. */
  readonly settings?: Record<string, string | number>;
}

const running = new Set<string>();
process.once('exit', () => {
  for (const dataDir of running) {
    const [command, args] = asPostgres(path.join(postgresBin(), 'pg_ctl'), ['stop', '-D', dataDir, '-m', 'immediate']);
    spawnSync(command, args, { stdio: 'ignore' });
  }
});

export async function startPgCluster(options: PgClusterOptions = {}): Promise<PgCluster> {
  const bin = postgresBin();
  const base = postgresOwnedTempDir('ss-pg-');
  const dataDir = path.join(base, 'data');
  const logFile = path.join(base, 'postgres.log');
  const port = await freePort();
  const tool = async (name: string, args: string[]) => {
    const [command, argv] = asPostgres(path.join(bin, name), args);
    try {
      return await run(command, argv, { encoding: 'utf8' });
    } catch (error) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '';
      throw new Error(`${name} ${args.join(' ')} failed: ${(error as Error).message}\n${log}`);
    }
  };

  await tool('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const settings: Record<string, string | number> = {
    port,
    listen_addresses: "'127.0.0.1'",
    unix_socket_directories: `'${base}'`,
    max_connections: 200,
    // nothing here survives the machine: commits need not reach the disk (a crash of PostgreSQL itself still
    // loses nothing, since WAL is written to the kernel at commit)
    fsync: 'off',
    full_page_writes: 'off',
    shared_buffers: "'32MB'",
    log_min_messages: 'warning',
    log_connections: 'off',
    ...options.settings,
  };
  appendFileSync(
    path.join(dataDir, 'postgresql.conf'),
    Object.entries(settings)
      .map(([key, value]) => `${key} = ${value}\n`)
      .join(''),
  );

  let isRunning = false;
  const cluster: PgCluster = {
    port,
    dataDir,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async createDatabase(name) {
      await cluster.sql(`CREATE DATABASE "${name}"`);
      return cluster.url(name);
    },
    async start() {
      await tool('pg_ctl', ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60']);
      isRunning = true;
      running.add(dataDir);
    },
    async stop(mode = 'fast') {
      await tool('pg_ctl', ['stop', '-D', dataDir, '-m', mode, '-w', '-t', '60']);
      isRunning = false;
      running.delete(dataDir);
    },
    get running() {
      return isRunning;
    },
    async terminateBackends(applicationName) {
      const rows = await cluster.sql<{ n: number }>(
        `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
          WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
            AND ($1::text IS NULL OR application_name = $1)`,
        [applicationName ?? null],
      );
      return rows[0].n;
    },
    async sql(text, params, database) {
      const client = new Client({ connectionString: cluster.url(database) });
      await client.connect();
      try {
        return (await client.query(text, params)).rows;
      } finally {
        await client.end();
      }
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    async remove() {
      if (isRunning) await cluster.stop('immediate').catch(() => undefined);
      rmSync(base, { recursive: true, force: true });
    },
  };
  await cluster.start();
  return cluster;
}

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { Client } from 'pg';

import { asPostgres, postgresOwnedTempDir } from './pg-cluster';
import { freePort } from './server-process';

/*
 * Debian's PgBouncer (1.18: no prepared statements in transaction mode) in
 * front of a PostgreSQL, as deployments at scale run it. Every database
 * name is forwarded to the target; trust authentication as `postgres`.
 * Install with `apt-get install -y pgbouncer` (.ci/run does).
 */

export const PGBOUNCER = process.env.PGBOUNCER ?? '/usr/sbin/pgbouncer';

export function pgbouncerInstalled(): boolean {
  return existsSync(PGBOUNCER) && spawnSync(PGBOUNCER, ['--version']).status === 0;
}

export interface PgBouncer {
  readonly port: number;
  /** A URL for a database behind the pooler. */
  url(database: string): string;
  /** Statistics from the admin console: SHOW POOLS, SHOW STATS, … */
  show<T = Record<string, unknown>>(what: 'POOLS' | 'STATS' | 'SERVERS' | 'CLIENTS'): Promise<T[]>;
  log(): string;
  stop(): Promise<void>;
}

export interface PgBouncerOptions {
  readonly targetPort: number;
  readonly poolMode?: 'session' | 'transaction' | 'statement';
  /** Server connections per (database, user): fewer than the clients, so transactions really move between backends. */
  readonly poolSize?: number;
  readonly maxClientConnections?: number;
}

export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  const dir = postgresOwnedTempDir('ss-pgbouncer-');
  const port = await freePort();
  const logFile = path.join(dir, 'pgbouncer.log');
  const ini = path.join(dir, 'pgbouncer.ini');
  const users = path.join(dir, 'userlist.txt');
  writeFileSync(users, '"postgres" ""\n', { mode: 0o644 });
  writeFileSync(
    ini,
    [
      '[databases]',
      `* = host=127.0.0.1 port=${options.targetPort}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${users}`,
      'admin_users = postgres',
      `pool_mode = ${options.poolMode ?? 'transaction'}`,
      `default_pool_size = ${options.poolSize ?? 8}`,
      `max_client_conn = ${options.maxClientConnections ?? 500}`,
      'max_db_connections = 0',
      'server_login_retry = 1',
      'ignore_startup_parameters = extra_float_digits',
      `logfile = ${logFile}`,
      'log_connections = 0',
      'log_disconnections = 0',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const [command, args] = asPostgres(PGBOUNCER, [ini]);
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const url = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '') + stderr;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited with ${child.exitCode}:\n${log()}`);
    const client = new Client({ connectionString: url('pgbouncer') });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SHOW VERSION'); // without parameters pg uses the simple protocol, all the console speaks
      await client.end();
      break;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`pgbouncer did not start: ${(error as Error).message}\n${log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  return {
    port,
    url,
    async show(what) {
      const client = new Client({ connectionString: url('pgbouncer') });
      await client.connect();
      try {
        return (await client.query(`SHOW ${what}`)).rows;
      } finally {
        await client.end();
      }
    },
    log,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

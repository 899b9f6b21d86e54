import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { Client } from 'pg';

/*
 * Where the bench runs: the DATABASE_URL it is given (left in place, only the
 * bench's own environments are deleted), a throwaway database on the local
 * PostgreSQL (dropped at the end), or the embedded PGlite in a temporary
 * DATA_DIR (removed at the end).
 */

export const LOCAL_ADMIN_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export type DatabaseKind = 'external' | 'throwaway' | 'embedded';

export interface BenchDatabase {
  readonly kind: DatabaseKind;
  /** Settings for loadConfig: DATABASE_URL, or DATA_DIR for the embedded database. */
  readonly env: Record<string, string>;
  /** Human-readable, never with a password. */
  readonly description: string;
  /** The database, when it is a PostgreSQL server this process can reach with its own pool. */
  readonly url: string | undefined;
  dispose(): Promise<void>;
}

async function withClient<T>(url: string, run: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

const redact = (url: string) => {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
};

export async function openBenchDatabase(options: { embedded: boolean; databaseUrl: string | undefined }): Promise<BenchDatabase> {
  if (options.embedded) {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'secretspace-bench-'));
    return {
      kind: 'embedded',
      env: { DATA_DIR: dataDir },
      description: `embedded PGlite in ${dataDir}`,
      url: undefined,
      dispose: () => rm(dataDir, { recursive: true, force: true }),
    };
  }
  if (options.databaseUrl) {
    return {
      kind: 'external',
      env: { DATABASE_URL: options.databaseUrl },
      description: `DATABASE_URL ${redact(options.databaseUrl)}`,
      url: options.databaseUrl,
      dispose: async () => undefined,
    };
  }
  const name = `secretspace_bench_${randomBytes(6).toString('hex')}`;
  await withClient(LOCAL_ADMIN_URL, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(LOCAL_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    kind: 'throwaway',
    env: { DATABASE_URL: url.toString() },
    description: `throwaway database ${name} on ${url.host}`,
    url: url.toString(),
    dispose: () => withClient(LOCAL_ADMIN_URL, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

import type { Pool } from 'pg';
import { DataSource, MigrationExecutor } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

import type { Config } from '../config';
import { entities } from '../entities';
import type { Logger } from '../logger';
import { migrations } from '../migrations';
import { EMBEDDED_CONNECTIONS, startEmbeddedDatabase, type EmbeddedDatabase } from './embedded';
import { PooledClient } from './pg-client';
import { QueryObserver } from './query-observer';
import { preparedQueries, type PreparedQueries } from './statements';

export interface Database {
  readonly dataSource: DataSource;
  readonly observer: QueryObserver;
  /** Named prepared statements on the same pool, for the hot reads. */
  readonly prepared: PreparedQueries;
  /** Resolves when a trivial statement round-trips. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

interface Connection {
  readonly url?: string;
  readonly host?: string;
  readonly port?: number;
}

export function createDataSource(connection: Connection, poolSize: number, observer?: QueryObserver): DataSource {
  return new DataSource({
    type: 'postgres',
    ...(connection.url
      ? { url: connection.url }
      : { host: connection.host, port: connection.port, username: 'postgres', database: 'postgres' }),
    entities,
    migrations,
    migrationsTableName: 'migrations',
    synchronize: false,
    migrationsRun: false,
    installExtensions: false,
    uuidExtension: 'pgcrypto',
    applicationName: 'secretspace',
    logger: observer,
    maxQueryExecutionTime: 1000,
    extra: { max: poolSize, connectionTimeoutMillis: 5000, Client: PooledClient },
  });
}


const MIGRATION_LOCK = 7_304_121_950; // any constant shared by every instance

/** Opens the configured database (starting the embedded one if needed) and migrates it. */
export interface OpenOptions {
  /** The embedded database, already starting (main.ts starts it before loading the rest of the server). */
  readonly embedded?: Promise<EmbeddedDatabase>;
}

export async function openDatabase(config: Config, logger: Logger, options: OpenOptions = {}): Promise<Database> {
  let embedded: EmbeddedDatabase | undefined;
  let poolSize = config.dbPoolSize;
  if (config.embedded) {
    /*
     * PGlite is one backend. pglite-socket 0.2 multiplexes connections per
     * protocol message, so two clients' Parse/Bind/Execute sequences can
     * interleave ("portal does not exist"). One connection keeps every
     * statement and transaction whole; PGlite could not run two at once anyway.
     */
    poolSize = 1;
    embedded = await (options.embedded ?? startEmbeddedDatabase(config.dataDir, EMBEDDED_CONNECTIONS));
    logger.info({ dataDir: config.dataDir }, 'embedded database started');
  }
  const observer = new QueryObserver(logger);
  const dataSource = createDataSource(
    embedded ? { host: embedded.host, port: embedded.port } : { url: config.databaseUrl },
    poolSize,
    observer,
  );
  try {
    await dataSource.initialize();
    if (embedded) forgetStatementsOnReconnect(dataSource);
    await migrate(dataSource, !embedded);
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded?.stop();
    throw error;
  }
  return {
    dataSource,
    observer,
    prepared: preparedQueries(dataSource, observer, config.dbPreparedStatements),
    async ping() {
      await dataSource.query('SELECT 1');
    },
    async close() {
      await dataSource.destroy();
      await embedded?.stop();
    },
  };
}

/**
 * Runs pending migrations; with a shared server, all in one transaction that
 * first takes a transaction-scoped advisory lock, so instances starting
 * together take turns. A session-level lock would not hold behind a pooler
 * in transaction mode, where each transaction may run on another backend.
 */
async function migrate(dataSource: DataSource, shared: boolean): Promise<void> {
  if (await upToDate(dataSource)) return;
  if (!shared) {
    await dataSource.runMigrations({ transaction: 'each' });
    return;
  }
  const runner = dataSource.createQueryRunner();
  try {
    await runner.startTransaction();
    await runner.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    const executor = new MigrationExecutor(dataSource, runner);
    executor.transaction = 'all'; // joins the transaction already open, so the lock covers every step
    await executor.executePendingMigrations();
    await runner.commitTransaction();
  } catch (error) {
    if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
    throw error;
  } finally {
    await runner.release();
  }
}

/**
 * Whether every migration this build knows is recorded: one statement,
 * where TypeORM's own check first reads information_schema (0.15 s of a
 * restart of the embedded database). Anything else — no table yet, an
 * older schema — goes the full way, under the lock.
 */
async function upToDate(dataSource: DataSource): Promise<boolean> {
  try {
    const rows: { name: string }[] = await dataSource.query('SELECT name FROM migrations');
    const recorded = new Set(rows.map((r) => r.name));
    return migrations.every((m) => recorded.has(m.name));
  } catch {
    return false; // no migrations table: a new database
  }
}

/**
 * PGlite is one backend behind pglite-socket: named prepared statements
 * outlive the socket connection that prepared them. When the pool opens a
 * new connection (after an error, or an idle close), pg believes nothing is
 * prepared and the next Parse fails with "prepared statement … already
 * exists". A new connection therefore starts by forgetting them; the pg
 * client queues this before whatever the pool hands it out for.
 */
function forgetStatementsOnReconnect(dataSource: DataSource): void {
  const pool = (dataSource.driver as PostgresDriver).master as Pool;
  pool.on('connect', (client) => {
    client.query('DEALLOCATE ALL').catch(() => undefined); // a dead connection fails its next query anyway
  });
}

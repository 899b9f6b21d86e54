import type { Pool } from 'pg';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

import { createDataSource } from '../../src/db/database';
import { createTestDatabase } from '../support/database';

/*
 * pg-pool removes its own error listener when it hands a connection out,
 * and TypeORM attaches one only a microtask later; PostgreSQL's FATAL
 * message (pg_terminate_backend, a shutdown) arriving in that gap was an
 * 'error' event with no listener: an uncaught exception that ended the
 * server (found by pg-outage.test.ts). Every pooled connection now keeps a
 * listener of its own.
 */

it('a connection handed out by the pool does not throw when it fails before its new owner listens', async () => {
  const database = await createTestDatabase();
  const dataSource = createDataSource({ url: database.url }, 2);
  await dataSource.initialize();
  try {
    const pool = (dataSource.driver as PostgresDriver).master as Pool;
    const client = await pool.connect();
    const listeners = client.listenerCount('error'); // its own only: the pool's idle listener is gone
    let thrown: unknown;
    try {
      client.emit('error', new Error('terminating connection due to administrator command'));
    } catch (error) {
      thrown = error;
    }
    client.release(true);
    expect({ listeners, thrown }).toEqual({ listeners: 1, thrown: undefined });
    expect(await dataSource.query('SELECT 1 AS one')).toEqual([{ one: 1 }]); // the pool goes on with a new connection
  } finally {
    await dataSource.destroy();
    await database.drop();
  }
});

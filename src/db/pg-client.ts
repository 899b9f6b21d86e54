import { Client, type ClientConfig } from 'pg';

/**
 * The pg client every pooled connection is made of. pg-pool hands a client
 * to a waiting TypeORM query runner synchronously, and TypeORM attaches its
 * error listener a microtask later; a FATAL message that arrives in the same
 * TCP read (pg_terminate_backend, a PostgreSQL shutdown) is emitted in that
 * gap to no listener, and an 'error' event with no listener throws: an
 * uncaught exception that ends the process. A listener of its own keeps the
 * client from throwing; the pool and TypeORM still hear of the error when
 * theirs are attached, and the next statement on the dead connection fails
 * as a connection failure (503), which releases it.
 */
export class PooledClient extends Client {
  constructor(config?: string | ClientConfig) {
    super(config);
    this.on('error', () => undefined);
  }
}

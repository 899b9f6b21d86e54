import { createHash } from 'node:crypto';

import type { Pool } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import type { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';

import type { QueryObserver } from './query-observer';

/** What repositories need: TypeORM's DataSource and EntityManager both fit, and so does `preparedQueries`. */
export interface Queryable {
  query(sql: string, parameters?: unknown[]): Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * The hot statements (token lookup, a listener's read, the read audit) run
 * as named prepared statements on TypeORM's own pg pool: PostgreSQL parses
 * and plans each once per connection instead of once per call, which the
 * benchmark measured at a third to a fifth of those statements' database
 * CPU. The name is derived from the text, so callers just pass SQL.
 * Transactions and everything else go through TypeORM.
 *
 * A pooler in transaction mode (PgBouncer < 1.21) does not keep named
 * statements across transactions: with `named` false (DB_PREPARED_STATEMENTS=false)
 * the same statements run unnamed, parsed on every call.
 */
export interface PreparedQueries extends Queryable {
  /** The same, on the connection of a TypeORM transaction (so the statements join it). */
  in(manager: EntityManager): Queryable;
}

export function preparedQueries(dataSource: DataSource, observer: QueryObserver, named = true): PreparedQueries {
  const pool = (dataSource.driver as PostgresDriver).master as Pool;
  const names = new Map<string, string>();
  const nameOf = (text: string) => {
    let name = names.get(text);
    if (!name) {
      name = `ss_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
      names.set(text, name);
    }
    return name;
  };
  const on = (client: () => Promise<Pick<Pool, 'query'>> | Pick<Pool, 'query'>): Queryable => ({
    async query(text, values = []) {
      observer.logQuery(text);
      const result = await (await client()).query(named ? { name: nameOf(text), text, values } : { text, values });
      return result.rows;
    },
  });
  return Object.assign(on(() => pool), {
    in(manager: EntityManager): Queryable {
      /* Precondition: only a manager bound to a transaction has a connection of its own. */
      const runner = manager.queryRunner as PostgresQueryRunner | undefined;
      if (!runner?.isTransactionActive) throw new Error('prepared statements in a transaction need its manager');
      // the transaction's own, already connected; `manager` tells the audit sink which transaction a record waits for
      return Object.assign(on(() => runner.connect() as Promise<Pool>), { manager });
    },
  });
}

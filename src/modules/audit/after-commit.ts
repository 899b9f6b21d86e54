import type { DataSource, EntityManager, EntitySubscriberInterface, QueryRunner } from 'typeorm';
import type { TransactionCommitEvent } from 'typeorm/subscriber/event/TransactionCommitEvent';
import type { TransactionRollbackEvent } from 'typeorm/subscriber/event/TransactionRollbackEvent';

import type { Queryable } from '../../db/statements';

interface Pending<T> {
  readonly depth: number;
  readonly items: readonly T[];
}

/**
 * Runs a callback with what a transaction produced once that transaction
 * has committed (at once for a statement outside a transaction), and drops
 * it when the transaction rolls back: the audit sink must never show a
 * record the database does not have. Hooks TypeORM's transaction events.
 */
export class AfterCommit<T> implements EntitySubscriberInterface {
  private readonly pending = new WeakMap<QueryRunner, Pending<T>[]>();

  constructor(
    db: DataSource,
    private readonly run: (items: readonly T[]) => void,
  ) {
    db.subscribers.push(this);
  }

  /** `db` is what the statement ran on: a DataSource, an EntityManager, or prepared statements `in(manager)`. */
  add(db: Queryable, items: readonly T[]): void {
    const runner = transactionOf(db);
    if (!runner) return this.run(items);
    const list = this.pending.get(runner) ?? [];
    list.push({ depth: depthOf(runner), items });
    this.pending.set(runner, list);
  }

  afterTransactionCommit(event: TransactionCommitEvent): void {
    const runner = event.queryRunner;
    if (runner.isTransactionActive) return; // a savepoint released: its records now belong to the outer transaction
    const list = this.pending.get(runner);
    if (!list) return;
    this.pending.delete(runner);
    this.run(list.flatMap((p) => p.items));
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    const runner = event.queryRunner;
    const list = this.pending.get(runner);
    if (!list) return;
    if (!runner.isTransactionActive) return void this.pending.delete(runner);
    const depth = depthOf(runner); // rolled back to a savepoint: what was added inside it is gone
    this.pending.set(runner, list.filter((p) => p.depth <= depth));
  }
}

function transactionOf(db: Queryable): QueryRunner | undefined {
  const manager = ((db as { manager?: EntityManager }).manager ?? db) as Partial<EntityManager>;
  const runner = manager.queryRunner;
  return runner?.isTransactionActive ? runner : undefined;
}

/* TypeORM keeps the savepoint depth protected; it is what tells a savepoint's rollback from the transaction's. */
const depthOf = (runner: QueryRunner): number => (runner as unknown as { transactionDepth: number }).transactionDepth;

import type { Queryable } from '../../db/statements';
import { isRetryableConflict } from '../../db/pg-errors';
import type { AuditRecord } from './audit-record';
import { SINK_COLUMNS, type AuditSinkRow } from './audit-sink';

/*
 * AUDIT_READS=coalesce. The reads of one (token, secret, version) in one
 * window of AUDIT_COALESCE_SECONDS (aligned to the epoch, so every instance
 * agrees) are counted in one row of audit_read_window, a small mutable
 * staging table: the read's own group-committed statement upserts it
 * (count = count + n), so a read is durable before its answer, exactly as
 * with one row per read. A timer then moves each closed window into one
 * append-only audit_event row (count, first_at, last_at) and deletes the
 * staged row in the same statement. Rows of audit_event are never updated.
 *
 * Exactness under concurrency: an increment lands either in a staged row
 * before it is moved (the move locks the row; a concurrent increment waits
 * for it, then finds the row gone and stages a new one, which the next move
 * picks up) or in a new staged row; no read is counted twice or lost. Moves
 * skip rows another transaction holds (SKIP LOCKED), so several instances
 * share the work and a move never waits for a read. Increments are sorted
 * by key, so two instances' increments do not deadlock each other.
 */

const windowStart = (param: string) => `to_timestamp(floor(extract(epoch FROM now()) / ${param}) * ${param})`;

const STAGE = `
  INSERT INTO audit_read_window AS w
    (window_start, first_at, last_at, token_id, secret_id, environment_id, space_id, secret_version, count, shard, source,
     secret_name, actor_id)
  SELECT ${windowStart('$2::int')}, now(), now(), r."tokenId", r."secretId", r."environmentId", r."spaceId",
         r."secretVersion", count(*)::int, $3::smallint, r.source, r."secretName", r."actorId"
    FROM jsonb_to_recordset($1::jsonb) AS r (
      "tokenId" uuid, "secretId" uuid, "environmentId" uuid, "spaceId" uuid, "secretVersion" int,
      source varchar, "secretName" text, "actorId" text)
   GROUP BY r."tokenId", r."secretId", r."secretVersion", r."environmentId", r."spaceId", r.source, r."secretName", r."actorId"
   ORDER BY r."tokenId", r."secretId", r."secretVersion"
  ON CONFLICT ON CONSTRAINT audit_read_window_key DO UPDATE
     SET count = w.count + excluded.count, last_at = greatest(w.last_at, excluded.last_at)`;

const MOVE_BATCH = 10_000;

const move = (returning: boolean) => `
  WITH picked AS (
    SELECT ctid FROM audit_read_window
     WHERE window_start < ${windowStart('$1::int')}
     ORDER BY window_start
     LIMIT ${MOVE_BATCH}
     FOR UPDATE SKIP LOCKED
  ), moved AS (
    DELETE FROM audit_read_window WHERE ctid = ANY (ARRAY (SELECT ctid FROM picked)) RETURNING *
  )
  INSERT INTO audit_event
    (at, id, action, token_id, environment_id, space_id, secret_id, secret_name, secret_version, source, actor_id,
     count, first_at, last_at)
  SELECT max(m.last_at), gen_random_uuid(), 'SECRET_READ', m.token_id, m.environment_id, m.space_id, m.secret_id,
         m.secret_name, m.secret_version, m.source, m.actor_id, sum(m.count), min(m.first_at), max(m.last_at)
    FROM moved m
   GROUP BY m.window_start, m.token_id, m.secret_id, m.secret_version, m.environment_id, m.space_id, m.secret_name,
            m.source, m.actor_id
   ORDER BY min(m.first_at), m.token_id, m.secret_id, m.secret_version
  ${returning ? `RETURNING ${SINK_COLUMNS}` : 'RETURNING 1'}`;

const STAGE_ATTEMPTS = 3;
/*
 * A hot key's concurrent increments would queue on one row lock, each
 * waiting for the previous commit: each in-flight statement of an instance
 * takes the next of SHARDS rows (from a random start per instance, so
 * instances rarely share one), and the move sums the shards into one row.
 */
const SHARDS = 16;

export class ReadCoalescer {
  private readonly moveSql: string;
  private nextShard = Math.floor(Math.random() * SHARDS);

  constructor(
    private readonly db: Queryable,
    private readonly windowSeconds: number,
    private readonly sink?: (rows: readonly AuditSinkRow[]) => void,
  ) {
    this.moveSql = move(Boolean(sink));
  }

  /** Counts the reads in their window; resolves once the count is durable. */
  async stage(records: readonly AuditRecord[], db: Queryable): Promise<void> {
    const json = JSON.stringify(records);
    const shard = this.nextShard++ % SHARDS;
    for (let attempt = 1; ; attempt++) {
      try {
        await db.query(STAGE, [json, this.windowSeconds, shard]);
        return;
      } catch (error) {
        // a deadlock with a statement that locks the same rows in another order (a hand-run one): the count is not applied, retry
        if (!isRetryableConflict(error) || attempt >= STAGE_ATTEMPTS) throw error;
      }
    }
  }

  /** Moves every closed window into audit_event; returns the rows written. */
  async rollup(): Promise<number> {
    let total = 0;
    for (;;) {
      const rows: AuditSinkRow[] = await this.db.query(this.moveSql, [this.windowSeconds]);
      total += rows.length;
      if (this.sink && rows.length) this.sink(rows);
      if (rows.length < MOVE_BATCH) return total;
    }
  }
}

import { BACKGROUND } from '../../db/query-observer';
import type { Queryable } from '../../db/statements';
import type { FeedPosition } from '../feed-cursor';

/*
 * The delivery state of every webhook lives on its own row (DESIGN §13):
 * `position` is the last feed position it has handled (delivered, given up
 * on, or not for it), `attempt` the attempts made so far at the first event
 * after it, `next_attempt_at` when the next may be made, and a lease
 * (`lease_owner` until `lease_until`) says which instance is working on it.
 *
 * Every statement here runs on its own, outside any transaction: a lease is
 * committed before the HTTP call and no row lock outlives its statement, so
 * a slow receiver holds neither a pooled connection nor the change feed's
 * horizon. Every write after the claim is guarded by `lease_owner`: an
 * instance that lost its lease (it expired, or the webhook was deleted)
 * changes nothing and records nothing.
 */

export interface ClaimedWebhook {
  readonly id: string;
  readonly environmentId: string;
  readonly spaceId: string | null;
  readonly url: string;
  readonly topics: readonly string[];
  readonly wrappedDek: Buffer;
  readonly sealedSecret: Buffer;
  readonly position: FeedPosition;
  readonly attempt: number;
}

interface ClaimRow {
  id: string;
  environment_id: string;
  space_id: string | null;
  url: string;
  topics: string[];
  wrapped_dek: Buffer;
  sealed_secret: Buffer;
  position_xid: string;
  position_seq: string;
  attempt: number;
}

/*
 * $1 owner, $2 lease ms, $3 how many. Due: its next attempt time has come,
 * nobody holds a live lease, and a change of its environment waits after
 * its position below the horizon (whether it is for this webhook is the
 * worker's to decide; rows that are not move the position on).
 */
const CLAIM_SQL = `${BACKGROUND}
  UPDATE webhook w SET lease_owner = $1, lease_until = now() + $2 * interval '1 millisecond'
   WHERE w.id IN (
     SELECT d.id FROM webhook d
      WHERE d.next_attempt_at <= now() AND (d.lease_until IS NULL OR d.lease_until < now())
        AND EXISTS (
          SELECT 1 FROM audit_event a
           WHERE a.xid IS NOT NULL AND a.environment_id = d.environment_id AND a.topic IS NOT NULL
             AND (a.xid, a.seq) > (d.position_xid, d.position_seq)
             AND a.xid < pg_snapshot_xmin(pg_current_snapshot()))
      ORDER BY d.next_attempt_at
      LIMIT $3
      FOR UPDATE SKIP LOCKED)
  RETURNING w.id, w.environment_id, w.space_id, w.url, w.topics, w.wrapped_dek, w.sealed_secret,
            w.position_xid::text AS position_xid, w.position_seq::text AS position_seq, w.attempt`;

/** $1 id, $2 owner, $3 lease ms: still ours, for another lease period (before each attempt). */
const RENEW_SQL = `${BACKGROUND}
  UPDATE webhook SET lease_until = now() + $3 * interval '1 millisecond'
   WHERE id = $1 AND lease_owner = $2 RETURNING id`;

/** $1 id, $2 owner, $3 xid, $4 seq: every row up to here handled, none of them for this webhook. */
const SKIP_SQL = `${BACKGROUND}
  UPDATE webhook SET position_xid = $3::xid8, position_seq = $4::bigint, attempt = 0
   WHERE id = $1 AND lease_owner = $2`;

/**
 * $1 id, $2 owner, $3 xid, $4 seq (the new position: the event's, or where
 * it was when a retry is due), $5 attempt count kept, $6 ms until the next
 * attempt, then the delivery entry: $7 entry id, $8 event cursor, $9 attempt
 * number, $10 status, $11 error, $12 delivered. One statement: the entry is
 * written exactly when the state moves, and neither when the lease is lost.
 */
const SETTLE_SQL = `${BACKGROUND}
  WITH settled AS (
    UPDATE webhook SET position_xid = $3::xid8, position_seq = $4::bigint, attempt = $5,
                       next_attempt_at = now() + $6 * interval '1 millisecond',
                       lease_owner = CASE WHEN $6 > 0 THEN NULL ELSE lease_owner END,
                       lease_until = CASE WHEN $6 > 0 THEN NULL ELSE lease_until END
     WHERE id = $1 AND lease_owner = $2
    RETURNING id)
  INSERT INTO webhook_delivery (id, webhook_id, event_cursor, attempt, status, error, delivered_at)
  SELECT $7, settled.id, $8, $9, $10, $11, CASE WHEN $12 THEN now() END FROM settled
  RETURNING id`;

/** $1 id, $2 owner. */
const RELEASE_SQL = `${BACKGROUND}
  UPDATE webhook SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2`;

export interface Settlement {
  readonly position: FeedPosition;
  /** Attempts made at the event after `position` (0 once it is delivered or given up on). */
  readonly attempt: number;
  /** 0: carry on with the next event now; more: release the lease and wait this long. */
  readonly waitMs: number;
  readonly entry: {
    readonly id: string;
    readonly eventCursor: string;
    readonly attempt: number;
    readonly status: number | null;
    readonly error: string | null;
    readonly delivered: boolean;
  };
}

export class WebhookQueue {
  constructor(
    private readonly db: Queryable,
    private readonly owner: string,
    private readonly leaseMs: number,
  ) {}

  async claim(limit: number): Promise<ClaimedWebhook[]> {
    const rows: ClaimRow[] = await this.db.query(CLAIM_SQL, [this.owner, this.leaseMs, limit]);
    return rows.map((r) => ({
      id: r.id,
      environmentId: r.environment_id,
      spaceId: r.space_id,
      url: r.url,
      topics: r.topics,
      wrappedDek: r.wrapped_dek,
      sealedSecret: r.sealed_secret,
      position: { xid: r.position_xid, seq: r.position_seq },
      attempt: r.attempt,
    }));
  }

  /** False when the lease is gone: the webhook was deleted, or another instance took over. */
  async renew(id: string): Promise<boolean> {
    return (await this.db.query(RENEW_SQL, [id, this.owner, this.leaseMs])).length === 1;
  }

  async skip(id: string, position: FeedPosition): Promise<void> {
    await this.db.query(SKIP_SQL, [id, this.owner, position.xid, position.seq]);
  }

  /** False when the lease was lost before the outcome could be recorded (the other holder delivers again). */
  async settle(id: string, s: Settlement): Promise<boolean> {
    const e = s.entry;
    const rows = await this.db.query(SETTLE_SQL, [
      id,
      this.owner,
      s.position.xid,
      s.position.seq,
      s.attempt,
      s.waitMs,
      e.id,
      e.eventCursor,
      e.attempt,
      e.status,
      e.error,
      e.delivered,
    ]);
    return rows.length === 1;
  }

  async release(id: string): Promise<void> {
    await this.db.query(RELEASE_SQL, [id, this.owner]);
  }
}

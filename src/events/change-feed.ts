import { BACKGROUND } from '../db/query-observer';
import type { Queryable } from '../db/statements';
import { FEED_START, type FeedPosition } from './feed-cursor';
import type { FeedRow } from './secret-event';

/*
 * The change feed reads the audit log, never a queue of its own (DESIGN §12).
 * A seq is taken before commit, so "seq > last" would skip a row whose
 * transaction commits late. Instead rows are read in (xid, seq) order and
 * only below pg_snapshot_xmin(pg_current_snapshot()): every transaction with
 * a smaller id has finished, so no row can appear behind a position once it
 * has been read. The price: one long-running writing transaction anywhere in
 * the cluster holds delivery back until it ends.
 *
 * Every statement uses the partial index (xid, seq) WHERE xid IS NOT NULL
 * (value reads have no xid and are not in it). They order by the table's
 * columns, qualified: a bare `xid` in ORDER BY would name the output column
 * `xid::text AS xid`, and text orders '10' before '9' (and scans every
 * change row to sort them).
 */

const COLUMNS = `xid AS feed_xid, seq AS feed_seq, xid::text AS xid, seq::text AS seq, at, action, token_id AS "tokenId",
  environment_id AS "environmentId", space_id AS "spaceId", actor_id AS "actorId", secret_id AS "secretId",
  secret_name AS "secretName", secret_version AS "secretVersion", affected_space_ids AS "affectedSpaceIds", topic,
  subject_token_id AS "subjectTokenId"`;

/**
 * $1 xid, $2 seq (read after this position), $3 page size. Also answers
 * whether committed change rows wait above the horizon (`held`): their
 * transactions finished after an older one that is still running, and the
 * feed must look again once that one ends, notification or not.
 */
export const FEED_TAIL_SQL = `${BACKGROUND}
  SELECT page.*, held.held
    FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin) horizon
   CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM audit_event WHERE xid IS NOT NULL AND xid >= horizon.xmin) AS held) held
    LEFT JOIN LATERAL (
      SELECT ${COLUMNS} FROM audit_event
       WHERE xid IS NOT NULL AND (xid, seq) > ($1::xid8, $2::bigint) AND xid < horizon.xmin
       ORDER BY audit_event.xid, audit_event.seq LIMIT $3) page ON true
   ORDER BY page.feed_xid, page.feed_seq`;

/** $1 xid, $2 seq, $3 page size, $4 environment id: one environment's rows, for a replay. */
export const FEED_REPLAY_SQL = `
  SELECT ${COLUMNS} FROM audit_event
   WHERE xid IS NOT NULL AND environment_id = $4 AND (xid, seq) > ($1::xid8, $2::bigint)
     AND xid < pg_snapshot_xmin(pg_current_snapshot())
   ORDER BY audit_event.xid, audit_event.seq LIMIT $3`;

/** The newest position below the horizon: where a new feed starts. */
export const FEED_HEAD_SQL = `${BACKGROUND}
  SELECT xid::text AS xid, seq::text AS seq FROM audit_event
   WHERE xid IS NOT NULL AND xid < pg_snapshot_xmin(pg_current_snapshot())
   ORDER BY audit_event.xid DESC, audit_event.seq DESC LIMIT 1`;

export interface TailPage {
  readonly rows: FeedRow[];
  /** Committed change rows wait behind a transaction still running: read again soon. */
  readonly held: boolean;
}

type RawRow = FeedRow & { feed_xid?: unknown; feed_seq?: unknown; held?: boolean };

const strip = ({ feed_xid: _x, feed_seq: _s, held: _h, ...row }: RawRow): FeedRow => row;

export class ChangeFeed {
  constructor(private readonly db: Queryable) {}

  async head(): Promise<FeedPosition> {
    const rows: FeedPosition[] = await this.db.query(FEED_HEAD_SQL);
    return rows[0] ?? FEED_START;
  }

  async tail(after: FeedPosition, limit: number): Promise<TailPage> {
    const rows: RawRow[] = await this.db.query(FEED_TAIL_SQL, [after.xid, after.seq, limit]);
    return { rows: rows.filter((r) => r.xid !== null).map(strip), held: rows[0]?.held ?? false };
  }

  async replay(after: FeedPosition, environmentId: string, limit: number): Promise<FeedRow[]> {
    const rows: RawRow[] = await this.db.query(FEED_REPLAY_SQL, [after.xid, after.seq, limit, environmentId]);
    return rows.map(strip);
  }

  /** How many rows of the environment follow the position, counting at most `limit + 1`. */
  async countAfter(after: FeedPosition, environmentId: string, limit: number): Promise<number> {
    const rows: { n: number }[] = await this.db.query(
      `SELECT count(*)::int AS n FROM (
         SELECT 1 FROM audit_event
          WHERE xid IS NOT NULL AND environment_id = $3 AND (xid, seq) > ($1::xid8, $2::bigint) LIMIT $4) behind`,
      [after.xid, after.seq, environmentId, limit + 1],
    );
    return rows[0].n;
  }

  /** Whether a change row sits at exactly this position (a cursor we issued, not yet dropped by retention). */
  async exists(position: FeedPosition): Promise<boolean> {
    const rows: { found: boolean }[] = await this.db.query(
      `SELECT EXISTS (SELECT 1 FROM audit_event WHERE xid IS NOT NULL AND xid = $1::xid8 AND seq = $2::bigint) AS found`,
      [position.xid, position.seq],
    );
    return rows[0].found;
  }
}

import { BadUserInputError } from '../../errors';
import type { Queryable } from '../../db/statements';

/*
 * auditEvents cursors are base64url("audit:<seq>"). A seq is a PostgreSQL
 * bigint: anything outside 1..2^63-1 is refused here, before it reaches SQL.
 */

const MAX_BIGINT = 2n ** 63n - 1n;

export const encodeAuditCursor = (seq: string): string => Buffer.from(`audit:${seq}`).toString('base64url');

export function decodeAuditCursor(cursor: string, field = 'after'): string {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^audit:([1-9]\d{0,18})$/.exec(decoded);
  if (!match || BigInt(match[1]) > MAX_BIGINT) {
    throw new BadUserInputError(field, `${field} is not a cursor returned by auditEvents`);
  }
  return match[1];
}

/**
 * Refuses a cursor that points at or below the newest row retention has
 * dropped: resuming from it would silently skip rows. Call it after reading
 * the page: the boundary only grows, so a cursor still fresh then was fresh
 * for the read too. The change feed's cursors use the same check on their seq.
 */
export async function assertCursorNotExpired(db: Queryable, seq: string, field = 'after'): Promise<void> {
  const rows: { expired: boolean }[] = await db.query(
    `SELECT EXISTS (SELECT 1 FROM audit_retention WHERE dropped_through_seq >= $1::bigint) AS expired`,
    [seq],
  );
  if (rows[0]?.expired) {
    throw new BadUserInputError(field, `cursor expired: the events after it are past audit retention; start again without ${field}`);
  }
}

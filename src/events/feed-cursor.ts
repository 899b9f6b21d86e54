import { BadUserInputError } from '../errors';

/*
 * A position in the change feed: the writing transaction's id (xid8) and the
 * row's seq, the feed's order (DESIGN §12). Cursors are
 * base64url("event:<xid>:<seq>"); both parts are PostgreSQL bigints in range,
 * checked here before they reach SQL.
 */

export interface FeedPosition {
  /** pg_current_xact_id() of the change's transaction, in decimal. */
  readonly xid: string;
  readonly seq: string;
}

const MAX_BIGINT = 2n ** 63n - 1n;
const PATTERN = /^event:(0|[1-9]\d{0,19}):([1-9]\d{0,18})$/;

export const encodeFeedCursor = (position: FeedPosition): string =>
  Buffer.from(`event:${position.xid}:${position.seq}`).toString('base64url');

export function decodeFeedCursor(cursor: string, field = 'after'): FeedPosition {
  const match = PATTERN.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  /* xid8 is unsigned 64-bit, but every real one is far below 2^63 (epoch << 32 | xid). */
  if (!match || BigInt(match[1]) > MAX_BIGINT || BigInt(match[2]) > MAX_BIGINT) {
    throw new BadUserInputError(field, `${field} is not a cursor returned by secretEvents`);
  }
  return { xid: match[1], seq: match[2] };
}

/** Feed order: by transaction id, then seq. Negative when a comes first. */
export function compareFeedPositions(a: FeedPosition, b: FeedPosition): number {
  return compareDecimal(a.xid, b.xid) || compareDecimal(a.seq, b.seq);
}

/* Both parts are decimals without leading zeros (PostgreSQL's output, and the cursor pattern): the shorter is smaller, else the text orders them. */
function compareDecimal(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a === b ? 0 : a < b ? -1 : 1;
}

/** Before every real row. */
export const FEED_START: FeedPosition = Object.freeze({ xid: '0', seq: '0' });

import type { AuditAction } from '../entities';
import { encodeFeedCursor, type FeedPosition } from './feed-cursor';

/** One change row of the audit log as the feed reads it (audit_event rows with a transaction id). */
export interface FeedRow extends FeedPosition {
  readonly at: Date;
  readonly action: string;
  readonly tokenId: string | null;
  readonly environmentId: string | null;
  readonly spaceId: string | null;
  readonly actorId: string | null;
  readonly secretId: string | null;
  readonly secretName: string | null;
  readonly secretVersion: number | null;
  readonly affectedSpaceIds: string[] | null;
  /** Set on every secret change (whatever its action): what makes a row a SecretEvent. */
  readonly topic: string | null;
  readonly subjectTokenId: string | null;
}

/** DESIGN §12's SecretEvent: names, ids and versions, never a value. */
export interface SecretEvent {
  readonly cursor: string;
  readonly topic: string;
  readonly action: AuditAction;
  readonly at: Date;
  readonly tokenId: string | null;
  readonly environmentId: string;
  readonly spaceId: string | null;
  readonly actorId: string | null;
  readonly secretId: string;
  readonly name: string;
  readonly version: number;
  readonly affectedSpaceIds: readonly string[];
  /** Whether the writer listed affectedSpaceIds (every writer since the ChangeTopics migration does). */
  readonly affectedKnown: boolean;
}

/**
 * A row as a SecretEvent, or undefined when it is not a secret change. Any
 * action with a topic is one, so new actions (rollback, restore, destroy)
 * flow through without a change here.
 */
export function secretEventOf(row: FeedRow): SecretEvent | undefined {
  if (!row.topic || !row.environmentId || !row.secretId || row.secretName === null || row.secretVersion === null) return undefined;
  return {
    cursor: encodeFeedCursor(row),
    topic: row.topic,
    action: row.action as AuditAction,
    at: row.at,
    tokenId: row.tokenId,
    environmentId: row.environmentId,
    spaceId: row.spaceId,
    actorId: row.actorId,
    secretId: row.secretId,
    name: row.secretName,
    version: row.secretVersion,
    affectedSpaceIds: row.affectedSpaceIds ?? (row.spaceId ? [row.spaceId] : []),
    affectedKnown: row.affectedSpaceIds !== null,
  };
}

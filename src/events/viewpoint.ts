import { AuditAction } from '../entities';
import type { SecretEvent } from './secret-event';

/**
 * Where a subscriber looks from: an environment, optionally one of its
 * spaces, optionally one actor (the (environmentId, spaceId, actorId) of a
 * `secretEvents` subscription, after a listener's binding is applied).
 */
export interface Viewpoint {
  readonly environmentId: string;
  readonly spaceId: string | null;
  readonly actorId: string | null;
}

/**
 * Whether an event belongs to what a viewpoint sees (DESIGN §12). The one
 * rule of delivery, for every subscriber on every instance:
 *
 * - another environment's event: never;
 * - the environment alone, no actor: every change in it — environment and
 *   space rows, shared and personal;
 * - the environment alone, actor A: every shared change in it, and A's
 *   personal ones (not another actor's);
 * - a space S: shared changes whose `affectedSpaceIds` include S (its own
 *   rows, and environment rows it does not override), and, with actor A,
 *   A's personal changes that affect S. Without an actor a space sees no
 *   personal row (only shared secrets resolve without one).
 *
 * A shared change reaches a space subscriber naming an actor even where the
 * actor's personal value shadows it: the subscriber learns that a name may
 * resolve differently, which is never wrong, only sometimes unnecessary.
 * Rows whose writer did not list affected spaces (none since the
 * ChangeTopics migration) count as affecting every space for an environment
 * row and their own space for a space row.
 */
export function isVisibleFrom(viewpoint: Viewpoint, event: SecretEvent): boolean {
  if (event.environmentId !== viewpoint.environmentId) return false;
  if (event.actorId !== null && viewpoint.actorId !== null && event.actorId !== viewpoint.actorId) return false;
  if (viewpoint.spaceId === null) return true;
  if (event.actorId !== null && viewpoint.actorId === null) return false;
  if (!event.affectedKnown && event.spaceId === null) return true;
  return event.affectedSpaceIds.includes(viewpoint.spaceId);
}

/** What a change row ended: a deleted environment or space ends every subscription looking from it. */
export interface Ending {
  readonly action: string;
  readonly environmentId: string | null;
  readonly spaceId: string | null;
}

export function isEndOf(viewpoint: Viewpoint, row: Ending): boolean {
  if (row.environmentId !== viewpoint.environmentId) return false;
  if (row.action === AuditAction.ENVIRONMENT_DELETED) return true;
  return row.action === AuditAction.SPACE_DELETED && viewpoint.spaceId !== null && row.spaceId === viewpoint.spaceId;
}

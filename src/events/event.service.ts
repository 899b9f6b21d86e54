import { BadUserInputError, ForbiddenError, NotFoundError } from '../errors';
import type { Queryable } from '../db/statements';
import { Capability, type AccessPolicy } from '../modules/access/access-policy';
import { assertCursorNotExpired } from '../modules/audit/audit-cursor';
import { findPlacement } from '../modules/secret/secret.repository';
import { checkOptional, idSchema } from '../modules/validation';
import type { ChangeFeed } from './change-feed';
import { itemFor, type FanOut } from './fan-out';
import { decodeFeedCursor, type FeedPosition } from './feed-cursor';
import { LiveSubscription, type ReplayPage } from './live-subscription';
import type { SecretEvent } from './secret-event';
import { TooManySubscriptionsError } from './subscription-errors';
import type { Viewpoint } from './viewpoint';

export interface SubscribeCommand {
  readonly environmentId?: unknown;
  readonly spaceId?: unknown;
  readonly actorId?: unknown;
  readonly after?: unknown;
}

export interface SubscribeOptions {
  /** The consumer fell more than maxQueue events behind: the transport drops its connection. */
  readonly onOverflow: () => void;
  /** A live event had to wait (the consumer was busy or its socket full): the transport checks what it holds unsent. */
  readonly onQueued?: () => void;
}

export interface EventLimits {
  readonly maxSubscriptions: number;
  readonly maxSubscriptionsPerToken: number;
  readonly maxReplay: number;
  readonly maxQueue: number;
}

interface Deps {
  readonly db: Queryable;
  readonly feed: ChangeFeed;
  readonly fanOut: FanOut;
}

const REPLAY_PAGE = 500;
/* DESIGN §10's actor ids: 1-128 printable ASCII characters without spaces. */
const ACTOR_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * `secretEvents` (DESIGN §12), transport aside: who may subscribe where,
 * the bounds, and each subscriber's stream — replayed from the log after a
 * cursor, then live from this instance's one feed reader.
 */
export class EventService {
  private readonly perToken = new Map<string, number>();

  constructor(
    private readonly deps: Deps,
    private readonly limits: EventLimits,
  ) {}

  /**
   * Any caller may subscribe inside its reach, with the same argument rules
   * as the queries: ADMIN names an environment or a space; a LISTENER's
   * arguments default to its binding and anything outside it is FORBIDDEN
   * (whether or not it exists). Unknown ids are NOT_FOUND (FORBIDDEN for a
   * listener), a space outside the named environment BAD_USER_INPUT; a
   * cursor not ours, or more than maxReplay changes behind,
   * BAD_USER_INPUT; one older than audit retention "cursor expired".
   */
  async subscribe(caller: AccessPolicy, command: SubscribeCommand, options: SubscribeOptions): Promise<AsyncIterableIterator<SecretEvent>> {
    caller.assert(Capability.READ);
    const viewpoint = await this.viewpointOf(caller, command);
    const after = command.after === undefined || command.after === null ? undefined : decodeFeedCursor(String(command.after));
    if (after) await this.checkCursor(after, viewpoint.environmentId);

    const tokenKey = caller.principal.tokenId ?? '';
    const held = this.perToken.get(tokenKey) ?? 0;
    if (held >= this.limits.maxSubscriptionsPerToken) throw new TooManySubscriptionsError('token', this.limits.maxSubscriptionsPerToken);
    if (this.deps.fanOut.size >= this.limits.maxSubscriptions) throw new TooManySubscriptionsError('instance', this.limits.maxSubscriptions);
    this.perToken.set(tokenKey, held + 1);

    let remove = () => {};
    const subscription = new LiveSubscription({
      viewpoint,
      maxQueue: this.limits.maxQueue,
      replay: after ? (from) => this.replayPage(viewpoint, from) : undefined,
      onOverflow: options.onOverflow,
      onQueued: options.onQueued,
      onClose: () => {
        remove();
        const n = (this.perToken.get(tokenKey) ?? 1) - 1;
        if (n <= 0) this.perToken.delete(tokenKey);
        else this.perToken.set(tokenKey, n);
      },
    });
    remove = this.deps.fanOut.add(subscription);
    try {
      subscription.begin(after ?? (await this.deps.feed.head())); // without a cursor: live from acceptance, nothing before it
    } catch (error) {
      await subscription.return();
      throw error;
    }
    return subscription;
  }

  /** The arguments as a viewpoint, with a listener's binding applied and the placement checked. */
  private async viewpointOf(caller: AccessPolicy, command: SubscribeCommand): Promise<Viewpoint> {
    const bound = caller.bindArgs({ environmentId: command.environmentId, spaceId: command.spaceId });
    const environmentId = checkOptional(idSchema, 'environmentId', bound.environmentId) ?? null;
    const spaceId = checkOptional(idSchema, 'spaceId', bound.spaceId) ?? null;
    const actorId = command.actorId === undefined || command.actorId === null ? null : command.actorId;
    if (actorId !== null && (typeof actorId !== 'string' || !ACTOR_ID.test(actorId))) {
      throw new BadUserInputError('actorId', 'actorId must be 1-128 printable ASCII characters without spaces');
    }
    if (!environmentId && !spaceId) throw new BadUserInputError('environmentId', 'environmentId or spaceId is required');
    const row = await findPlacement(this.deps.db, environmentId, spaceId);
    const hidden = !caller.isAdmin;
    if (!row && hidden) throw new ForbiddenError('outside this token’s reach');
    if (!row) throw spaceId ? new NotFoundError('space', 'spaceId') : new NotFoundError('environment', 'environmentId');
    if (!caller.canSee({ environmentId: row.environment_id, spaceId: row.space_id })) throw new ForbiddenError('outside this token’s reach');
    if (environmentId && row.environment_id !== environmentId) {
      throw new BadUserInputError('spaceId', 'spaceId does not belong to environmentId');
    }
    return { environmentId: row.environment_id, spaceId: row.space_id, actorId };
  }

  private async checkCursor(after: FeedPosition, environmentId: string): Promise<void> {
    await assertCursorNotExpired(this.deps.db, after.seq);
    if (!(await this.deps.feed.exists(after))) {
      throw new BadUserInputError('after', 'after is not a cursor returned by secretEvents');
    }
    const behind = await this.deps.feed.countAfter(after, environmentId, this.limits.maxReplay);
    if (behind > this.limits.maxReplay) {
      throw new BadUserInputError(
        'after',
        `after is more than ${this.limits.maxReplay} changes behind (EVENTS_MAX_REPLAY); start again without after`,
      );
    }
  }

  private async replayPage(viewpoint: Viewpoint, from: FeedPosition): Promise<ReplayPage> {
    const rows = await this.deps.feed.replay(from, viewpoint.environmentId, REPLAY_PAGE);
    const items = rows.flatMap((row) => itemFor(viewpoint, row) ?? []);
    const last = rows.at(-1);
    return { items, through: last ? { xid: last.xid, seq: last.seq } : from, done: rows.length < REPLAY_PAGE };
  }
}

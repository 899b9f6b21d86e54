import type { Logger } from '../logger';
import type { FeedItem, LiveSubscription } from './live-subscription';
import type { FeedPosition } from './feed-cursor';
import { secretEventOf, type FeedRow, type SecretEvent } from './secret-event';
import { isEndOf, isVisibleFrom, type Viewpoint } from './viewpoint';

/** A row of the feed as what one viewpoint sees of it: an event, its end, or nothing. */
export function itemFor(viewpoint: Viewpoint, row: FeedRow): FeedItem | undefined {
  return seenFrom(viewpoint, row, { xid: row.xid, seq: row.seq }, secretEventOf(row));
}

/* One row's item, from the row's position and event computed once for every viewpoint. */
function seenFrom(viewpoint: Viewpoint, row: FeedRow, position: FeedPosition, event: SecretEvent | undefined): FeedItem | undefined {
  if (event) return isVisibleFrom(viewpoint, event) ? { position, event } : undefined;
  return isEndOf(viewpoint, row) ? { position, end: true } : undefined;
}

/**
 * This instance's subscribers, by environment (an event concerns one), and
 * the delivery of each feed row to those that see it. A row becomes one
 * event object, handed to every subscriber that sees it: the transport
 * executes and serialises an event once per operation shape, not once per
 * subscriber (graphql/shared-subscribe.ts), and recognises it by identity.
 */
export class FanOut {
  private readonly byEnvironment = new Map<string, Set<LiveSubscription>>();
  private total = 0;

  constructor(private readonly logger: Logger) {}

  get size(): number {
    return this.total;
  }

  add(subscription: LiveSubscription): () => void {
    const environmentId = subscription.viewpoint.environmentId;
    let set = this.byEnvironment.get(environmentId);
    if (!set) this.byEnvironment.set(environmentId, (set = new Set()));
    set.add(subscription);
    this.total += 1;
    return () => {
      if (!set.delete(subscription)) return;
      this.total -= 1;
      if (set.size === 0 && this.byEnvironment.get(environmentId) === set) this.byEnvironment.delete(environmentId);
    };
  }

  deliver(row: FeedRow): void {
    if (!row.environmentId) return;
    const set = this.byEnvironment.get(row.environmentId);
    if (!set) return;
    const position = { xid: row.xid, seq: row.seq };
    const event = secretEventOf(row);
    for (const subscription of [...set]) {
      try {
        const item = seenFrom(subscription.viewpoint, row, position, event);
        if (item) subscription.offer(item);
      } catch (error) {
        this.logger.error({ err: error }, 'delivering a change event failed');
        subscription.fail(error);
      }
    }
  }
}

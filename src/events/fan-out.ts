import type { Logger } from '../logger';
import type { FeedItem, LiveSubscription } from './live-subscription';
import { secretEventOf, type FeedRow } from './secret-event';
import { isEndOf, isVisibleFrom, type Viewpoint } from './viewpoint';

/** A row of the feed as what one viewpoint sees of it: an event, its end, or nothing. */
export function itemFor(viewpoint: Viewpoint, row: FeedRow): FeedItem | undefined {
  const position = { xid: row.xid, seq: row.seq };
  const event = secretEventOf(row);
  if (event) return isVisibleFrom(viewpoint, event) ? { position, event } : undefined;
  return isEndOf(viewpoint, row) ? { position, end: true } : undefined;
}

/**
 * This instance's subscribers, by environment (an event concerns one), and
 * the delivery of each feed row to those that see it.
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
    for (const subscription of [...set]) {
      try {
        const item = itemFor(subscription.viewpoint, row);
        if (item) subscription.offer(item);
      } catch (error) {
        this.logger.error({ err: error }, 'delivering a change event failed');
        subscription.fail(error);
      }
    }
  }
}

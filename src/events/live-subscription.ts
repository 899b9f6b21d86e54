import { compareFeedPositions, type FeedPosition } from './feed-cursor';
import type { SecretEvent } from './secret-event';
import type { Viewpoint } from './viewpoint';

/** One step of the feed for one subscriber: an event it sees, or the end of its environment or space. */
export type FeedItem =
  | { readonly position: FeedPosition; readonly event: SecretEvent }
  | { readonly position: FeedPosition; readonly end: true };

export interface ReplayPage {
  /** The items of the page this subscriber sees. */
  readonly items: FeedItem[];
  /** The position the page was read through (its last row, seen or not). */
  readonly through: FeedPosition;
  /** The page reached the horizon: switch to the live feed. */
  readonly done: boolean;
}

export interface LiveSubscriptionOptions {
  readonly viewpoint: Viewpoint;
  /**
   * Live events waiting for the consumer (or held while replaying) beyond
   * this drop the subscriber. What the consumer pulled itself — a replay
   * page, and at the switch the held events — does not count against it.
   */
  readonly maxQueue: number;
  /** Reads the next page of the log after a position, while replaying; undefined: no replay. */
  readonly replay?: (after: FeedPosition) => Promise<ReplayPage>;
  /** Called once when the consumer falls too far behind; the transport drops the connection. */
  readonly onOverflow: () => void;
  /** Called when a live event is queued rather than handed to the consumer at once. */
  readonly onQueued?: () => void;
  /** Called once when the subscription ends, however it ends. */
  readonly onClose: () => void;
}

type Waiter = { resolve: (result: IteratorResult<SecretEvent>) => void; reject: (error: unknown) => void };

const DONE: IteratorResult<SecretEvent> = Object.freeze({ done: true, value: undefined });

/**
 * A subscriber's stream. With a cursor it first replays the log after that
 * cursor, a page at a time as the consumer reads (so a replay never runs
 * ahead of its reader), while live items from the instance's feed are held;
 * then it switches to the held items and the live feed, skipping any item at
 * or before the last one it delivered. The live feed and the replay read
 * the same log in the same order, so the switch has no gap and no
 * duplicate. Without a cursor it is live from where begin() puts it.
 */
export class LiveSubscription implements AsyncIterableIterator<SecretEvent> {
  readonly viewpoint: Viewpoint;
  private last?: FeedPosition;
  /** How far the replay has read the log (seen or not). */
  private replayedThrough?: FeedPosition;
  private replaying: boolean;
  private readonly held: FeedItem[] = [];
  private readonly queue: SecretEvent[] = [];
  /** How many events at the front of the queue the consumer pulled (replayed, or held until the switch): bounded by a page and by maxQueue. */
  private pulled = 0;
  private ending = false;
  private closed = false;
  private failure?: unknown;
  private waiter?: Waiter;
  private replayRead?: Promise<void>;
  private push?: (event: SecretEvent) => boolean;

  constructor(private readonly options: LiveSubscriptionOptions) {
    this.viewpoint = options.viewpoint;
    this.replaying = true; // live items are held until begin() says where delivery starts
  }

  /**
   * Delivery starts strictly after `position` (the cursor, or the feed's
   * head at acceptance). Called once, after the subscription was added to
   * the fan-out, so nothing committed after the position can slip past.
   */
  begin(position: FeedPosition): void {
    this.last = position;
    this.replayedThrough = position;
    if (this.options.replay) return;
    this.replaying = false;
    for (const item of this.held.splice(0)) this.accept(item);
  }

  /** A live item from the instance's feed, in feed order. */
  offer(item: FeedItem): void {
    if (this.closed || this.ending) return;
    if (this.replaying) {
      this.held.push(item);
      if (this.held.length > this.options.maxQueue) this.overflow();
      return;
    }
    this.accept(item);
  }

  /** Ends the stream with an error (after nothing more is delivered). */
  fail(error: unknown): void {
    if (this.closed) return;
    this.failure = error;
    this.queue.length = 0;
    this.pulled = 0;
    this.ending = true;
    this.settle();
  }

  /**
   * While the consumer waits in next() with nothing queued, a live event
   * goes to `push` instead; one it does not take is queued as usual. So
   * nothing overtakes a queued event, and what is queued still counts
   * against maxQueue. (The transport's shared subscribe registers it:
   * graphql/shared-subscribe.ts, Pushable.)
   */
  pushTo(push: (event: SecretEvent) => boolean): void {
    this.push = push;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<SecretEvent>> {
    for (;;) {
      if (this.closed) return DONE;
      const event = this.queue.shift();
      if (event) {
        if (this.pulled > 0) this.pulled -= 1;
        return { done: false, value: event };
      }
      if (this.failure !== undefined) {
        const failure = this.failure;
        this.close();
        throw failure;
      }
      if (this.ending) {
        this.close();
        return DONE;
      }
      if (this.replaying) {
        try {
          await (this.replayRead ??= this.readReplayPage().finally(() => (this.replayRead = undefined)));
        } catch (error) {
          this.close(); // the transport forgets a failed operation without calling return()
          throw error;
        }
        continue;
      }
      return new Promise<IteratorResult<SecretEvent>>((resolve, reject) => {
        this.waiter = { resolve, reject };
      });
    }
  }

  async return(): Promise<IteratorResult<SecretEvent>> {
    this.close();
    return DONE;
  }

  async throw(error?: unknown): Promise<IteratorResult<SecretEvent>> {
    this.close();
    throw error;
  }

  private async readReplayPage(): Promise<void> {
    const page = await this.options.replay!(this.replayedThrough!);
    this.replayedThrough = page.through;
    for (const item of page.items) this.accept(item, true);
    if (!page.done || this.ending) return;
    this.replaying = false;
    const held = this.held.splice(0);
    for (const item of held) this.accept(item, true);
  }

  private accept(item: FeedItem, pulled = false): void {
    if (this.ending || this.closed) return;
    if (this.last && compareFeedPositions(item.position, this.last) <= 0) return; // already delivered
    this.last = item.position;
    if ('end' in item) this.ending = true;
    else {
      if (this.waiter && this.queue.length === 0 && !this.replaying && this.push?.(item.event)) return;
      this.queue.push(item.event);
      if (pulled) this.pulled += 1;
      else if (this.queue.length - this.pulled > this.options.maxQueue) return this.overflow();
      else this.options.onQueued?.();
    }
    this.settle();
  }

  /** Wakes a consumer waiting in next(). */
  private settle(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    this.waiter = undefined;
    this.next().then(waiter.resolve, waiter.reject);
  }

  private overflow(): void {
    if (this.closed) return;
    this.options.onOverflow();
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.pulled = 0;
    this.held.length = 0;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve(DONE);
    this.options.onClose();
  }
}

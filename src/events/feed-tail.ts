import type { Logger } from '../logger';
import type { ChangeFeed } from './change-feed';
import type { FeedPosition } from './feed-cursor';
import type { FeedRow } from './secret-event';

export interface FeedTailOptions {
  /** Read the feed at least this often, notification or not (EVENTS_POLL_MS). */
  readonly pollMs: number;
  /** Read it at most once per this interval (EVENTS_BATCH_MS): a stream of writes goes out in batches. */
  readonly batchMs?: number;
  readonly pageSize?: number;
}

const DEFAULT_PAGE = 500;
/* While rows wait behind a running transaction, look again soon, backing off to the poll interval. */
const HELD_FIRST_RETRY_MS = 20;

/**
 * The one reader of the change feed on an instance. It keeps the position it
 * has delivered up to and hands every row after it, in feed order, to
 * `deliver` (the fan-out to this instance's subscribers, and the caches'
 * invalidations). It reads when woken (a notification, a reconnect), every
 * `pollMs` regardless, and again shortly while committed rows wait behind
 * an older transaction that is still running. Reads never overlap: a wake
 * during a read makes one more read after it. Reads start at most once per
 * `batchMs`: a lone write is read at once, a steady stream of them in
 * batches, so that a subscriber gets one socket write per batch rather than
 * one per event (at 200 writes/s, a write per 20 ms batch instead of four).
 */
export class FeedTail {
  private position?: FeedPosition;
  private reading?: Promise<void>;
  private again = false;
  private pollTimer?: NodeJS.Timeout;
  private heldTimer?: NodeJS.Timeout;
  private heldDelay = HELD_FIRST_RETRY_MS;
  private batchTimer?: NodeJS.Timeout;
  private lastReadAt = -Infinity;
  private failing = false;
  private stopped = false;
  private readonly pageSize: number;

  constructor(
    private readonly feed: ChangeFeed,
    private readonly deliver: (row: FeedRow) => void,
    private readonly options: FeedTailOptions,
    private readonly logger: Logger,
  ) {
    this.pageSize = options.pageSize ?? DEFAULT_PAGE;
  }

  /** Where delivery stands: every row up to here has been handed over. */
  get delivered(): FeedPosition | undefined {
    return this.position;
  }

  /** Starts at the newest row below the horizon: subscribers without a cursor get what comes after. */
  async start(): Promise<void> {
    this.stopped = false;
    this.position = await this.feed.head();
    this.pollTimer = setInterval(() => this.wake(), this.options.pollMs);
    this.pollTimer.unref();
  }

  wake(): void {
    if (this.stopped || !this.position) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    if (this.batchTimer) return;
    const wait = this.lastReadAt + (this.options.batchMs ?? 0) - performance.now();
    if (wait > 0) {
      this.batchTimer = setTimeout(() => {
        this.batchTimer = undefined;
        this.wake();
      }, wait);
      return;
    }
    this.lastReadAt = performance.now();
    this.reading = this.readAll().finally(() => {
      this.reading = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.heldTimer);
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    await this.reading;
  }

  private async readAll(): Promise<void> {
    try {
      for (;;) {
        const page = await this.feed.tail(this.position!, this.pageSize);
        for (const row of page.rows) {
          this.position = { xid: row.xid, seq: row.seq };
          this.deliver(row);
        }
        if (page.rows.length === this.pageSize && !this.stopped) continue;
        this.scheduleHeld(page.held);
        break;
      }
      if (this.failing) this.logger.info('change feed readable again');
      this.failing = false;
    } catch (error) {
      /* The next poll or notification tries again from the same position: nothing is skipped. */
      if (!this.failing) this.logger.warn({ err: { message: (error as Error).message } }, 'change feed read failed; retrying');
      this.failing = true;
    }
  }

  private scheduleHeld(held: boolean): void {
    clearTimeout(this.heldTimer);
    if (!held || this.stopped) {
      this.heldDelay = HELD_FIRST_RETRY_MS;
      return;
    }
    this.heldTimer = setTimeout(() => this.wake(), this.heldDelay);
    this.heldTimer.unref();
    this.heldDelay = Math.min(this.heldDelay * 2, this.options.pollMs);
  }
}

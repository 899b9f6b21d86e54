import type { BusMessage } from './bus-message';

/** What a component learns from the bus. */
export interface BusListener {
  message?(message: BusMessage): void;
  /**
   * The listening connection is up (again). Whatever was sent while it was
   * down is lost: flush what notifications keep valid, and catch up from the log.
   */
  connected?(): void;
  /** Notifications stop arriving: stop trusting what they keep valid. */
  disconnected?(): void;
}

/**
 * One channel between every instance on a database (DESIGN §12): wake-ups
 * and invalidations, never a value. PostgreSQL LISTEN/NOTIFY, or an
 * in-process bus on the embedded database (one process owns it).
 */
export interface EventBus {
  /** Sends after the write has committed (never inside it); coalesced per turn of the event loop; never throws. */
  publish(message: BusMessage): void;
  /** Returns an unsubscribe function. */
  listen(listener: BusListener): () => void;
  /** Starts listening (only servers do; the CLI only publishes). Resolves after the first attempt, up or not. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Notifications are arriving now: caches they invalidate may be used. */
  readonly listening: boolean;
  /** Whether the bus has a connection to report on /readyz (the in-process bus has none). */
  readonly external: boolean;
}

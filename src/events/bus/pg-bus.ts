import { Client } from 'pg';

import { BACKGROUND } from '../../db/query-observer';
import type { Queryable } from '../../db/statements';
import type { Logger } from '../../logger';
import type { BusListener, EventBus } from './bus';
import { decodeBusMessage, encodeBusMessage, mergeMessages, type BusMessage } from './bus-message';

export const BUS_CHANNEL = 'secretspace_events';

export interface PgBusOptions {
  /** The listening connection's URL (DATABASE_LISTEN_URL, else DATABASE_URL). */
  readonly listenUrl: string;
  /** Where notifications are sent from: the server's pool (a pooler in transaction mode is fine for NOTIFY). */
  readonly notifier: Queryable;
  readonly logger: Logger;
  /** How often the listening connection proves it is alive (a half-open TCP connection says nothing). */
  readonly healthCheckMs?: number;
}

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;
const HEALTH_TIMEOUT_MS = 5_000;

/**
 * LISTEN/NOTIFY on one channel. Publishing is a plain `pg_notify` on the pool
 * once the write has committed: NOTIFY inside the write's transaction would
 * take the global notification lock at its commit and serialise every
 * writer. Messages of one turn of the event loop go out as one notification.
 *
 * Listening needs a session of its own, so it is a dedicated pg Client
 * (DATABASE_LISTEN_URL gives it a direct path past a transaction pooler). It
 * reconnects by itself with capped exponential backoff and jitter; listeners
 * hear `disconnected` at once and `connected` after every (re)connection, as
 * notifications sent meanwhile are lost. A periodic `SELECT 1` finds a
 * connection that died without a word.
 */
export class PgBus implements EventBus {
  readonly external = true;
  private readonly listeners = new Set<BusListener>();
  private pending?: BusMessage;
  private client?: Client;
  private up = false;
  private stopped = true;
  private attempts = 0;
  private reconnectTimer?: NodeJS.Timeout;
  private healthTimer?: NodeJS.Timeout;
  private everConnected = false;

  constructor(private readonly options: PgBusOptions) {}

  get listening(): boolean {
    return this.up;
  }

  publish(message: BusMessage): void {
    if (this.pending) {
      this.pending = mergeMessages(this.pending, message);
      return;
    }
    this.pending = message;
    setImmediate(() => void this.flush());
  }

  listen(listener: BusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
    const every = this.options.healthCheckMs ?? 5_000;
    this.healthTimer = setInterval(() => void this.checkHealth(), every);
    this.healthTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.healthTimer);
    const client = this.client;
    this.client = undefined;
    this.setDown();
    await client?.end().catch(() => undefined);
  }

  private async flush(): Promise<void> {
    const message = this.pending;
    this.pending = undefined;
    if (!message) return;
    for (const payload of encodeBusMessage(message)) {
      try {
        await this.options.notifier.query(`${BACKGROUND}SELECT pg_notify($1, $2)`, [BUS_CHANNEL, payload]);
      } catch (error) {
        /* Other instances learn it from the log instead (polling), a little later. */
        this.options.logger.warn({ err: { message: (error as Error).message } }, 'change notification not sent; instances will find the change by polling');
      }
    }
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({ connectionString: this.options.listenUrl, application_name: 'secretspace-listen', keepAlive: true });
    this.client = client;
    const lost = () => this.lost(client);
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (n) => {
      if (n.channel !== BUS_CHANNEL || this.client !== client) return;
      const message = decodeBusMessage(n.payload ?? '');
      for (const listener of this.listeners) listener.message?.(message);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${BUS_CHANNEL}`);
    } catch (error) {
      if (this.client === client) {
        this.options.logger.warn({ err: { message: (error as Error).message }, attempt: this.attempts + 1 }, 'listening connection could not connect; retrying');
        this.lost(client);
      }
      return;
    }
    if (this.client !== client) return; // stopped or replaced meanwhile
    this.attempts = 0;
    this.up = true;
    this.options.logger.info(this.everConnected ? 'listening connection reconnected; caches flushed, catching up from the log' : 'listening for change notifications');
    this.everConnected = true;
    for (const listener of this.listeners) listener.connected?.();
  }

  private lost(client: Client): void {
    if (this.client !== client) return; // an old connection's late events
    this.client = undefined;
    client.removeAllListeners('notification');
    client.end().catch(() => undefined);
    if (this.up) this.options.logger.warn('listening connection lost; reconnecting (token cache off meanwhile)');
    this.setDown();
    if (this.stopped) return;
    const backoff = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** this.attempts);
    this.attempts += 1;
    this.reconnectTimer = setTimeout(() => void this.connect(), backoff / 2 + Math.random() * (backoff / 2));
    this.reconnectTimer.unref();
  }

  private setDown(): void {
    if (!this.up) return;
    this.up = false;
    for (const listener of this.listeners) listener.disconnected?.();
  }

  private async checkHealth(): Promise<void> {
    const client = this.client;
    if (!client || !this.up) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.query('SELECT 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('listening connection did not answer')), HEALTH_TIMEOUT_MS);
        }),
      ]);
    } catch {
      this.lost(client);
    } finally {
      clearTimeout(timer);
    }
  }
}

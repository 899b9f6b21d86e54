import { randomUUID } from 'node:crypto';

import type { WebhookConfig } from '../../config';
import type { EnvironmentKeyring } from '../../crypto/keyring';
import type { Queryable } from '../../db/statements';
import type { Logger } from '../../logger';
import { nextRetry, type RetryPolicy } from '../../modules/webhook/backoff';
import { signingSecretOwner } from '../../modules/webhook/signing-secret';
import type { HostLookup } from '../../modules/webhook/url-guard';
import { ChangeFeed } from '../change-feed';
import type { FeedPosition } from '../feed-cursor';
import { secretEventOf, type SecretEvent } from '../secret-event';
import { isVisibleFrom } from '../viewpoint';
import { deliverOnce, type DeliveryResult } from './deliver';
import { webhookHeaders } from './headers';
import { WebhookQueue, type ClaimedWebhook } from './webhook-queue';

export interface WebhookWorkerOptions extends WebhookConfig {
  /** How host names are resolved for the address check (the system resolver by default). */
  readonly lookup?: HostLookup;
}

interface Deps {
  /** Plain pg rows for every statement (UPDATE … RETURNING too): the prepared-statement path, not TypeORM's query. */
  readonly db: Queryable;
  readonly keyring: Pick<EnvironmentKeyring, 'open'>;
  readonly logger: Logger;
}

/* Feed rows read per step while looking for a webhook's next event. */
const PAGE = 200;

/**
 * The JSON body of a delivery: the SecretEvent exactly as the subscription
 * serves it (DESIGN §13), no more. Never a value: the event has none.
 */
export function secretEventBody(event: SecretEvent): string {
  return JSON.stringify({
    cursor: event.cursor,
    topic: event.topic,
    action: event.action,
    at: event.at.toISOString(),
    tokenId: event.tokenId,
    environmentId: event.environmentId,
    spaceId: event.spaceId,
    actorId: event.actorId,
    secretId: event.secretId,
    name: event.name,
    version: event.version,
    affectedSpaceIds: event.affectedSpaceIds,
  });
}

/**
 * Delivers webhooks from the change feed (DESIGN §13), at least once and in
 * order per webhook, sharing the work with every other instance.
 *
 * Each turn claims due webhooks with a lease committed before any HTTP call
 * (webhook-queue.ts), then works through each one's events one at a time:
 * the first change after its position that a subscription to its scope
 * would see, with one of its topics, is POSTed, signed afresh per attempt;
 * the outcome and the new position are recorded together, only while the
 * lease holds. A failure waits its backoff with the lease released, so any
 * instance may make the next attempt; the last failure records the event as
 * failed and moves on. An instance that dies mid-delivery leaves a lease
 * that expires, and whoever claims the webhook next sends that event again,
 * with the same Secretspace-Event-Id.
 */
export class WebhookWorker {
  private readonly owner = randomUUID();
  private readonly queue: WebhookQueue;
  private readonly feed: ChangeFeed;
  private readonly retry: RetryPolicy;
  /** The webhooks this instance holds a lease on, and their work. */
  private readonly working = new Map<string, Promise<void>>();
  private turn?: Promise<void>;
  private again = false;
  private timer?: NodeJS.Timeout;
  private stopped = true;
  private failing = false;

  constructor(
    private readonly deps: Deps,
    private readonly options: WebhookWorkerOptions,
  ) {
    /* A lease outlives the attempt it covers with room to record the outcome; it is renewed before each attempt. */
    this.queue = new WebhookQueue(deps.db, this.owner, 2 * options.timeoutMs + 5_000);
    this.feed = new ChangeFeed(deps.db);
    this.retry = { baseMs: options.retryBaseMs, maxAttempts: options.maxAttempts };
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.wake(), this.options.pollMs);
    this.timer.unref();
    this.wake();
  }

  /** Something committed (or a retry may be due): look for work now. Turns never overlap. */
  wake(): void {
    if (this.stopped) return;
    if (this.turn) {
      this.again = true;
      return;
    }
    this.turn = this.claimAndWork().finally(() => {
      this.turn = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  /** Stops claiming and waits for the attempts in flight to be recorded (at most WEBHOOK_TIMEOUT_MS). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.turn;
    await Promise.all(this.working.values());
  }

  private async claimAndWork(): Promise<void> {
    const free = this.options.concurrency - this.working.size;
    if (free <= 0) return;
    let claimed: ClaimedWebhook[];
    try {
      claimed = await this.queue.claim(free);
      if (this.failing) this.logger.info('webhook deliveries resumed');
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.logger.warn({ err: { message: (error as Error).message } }, 'looking for webhook deliveries failed; retrying');
      this.failing = true;
      return;
    }
    /* Webhooks are worked on beside each other and beside later turns; each one's own events strictly in order. */
    for (const webhook of claimed) {
      const work = this.work(webhook)
        .catch((error: unknown) => {
          this.logger.warn({ webhookId: webhook.id, err: { message: (error as Error).message } }, 'webhook delivery interrupted; the lease will expire and it is tried again');
        })
        .finally(() => {
          this.working.delete(webhook.id);
          if (!this.stopped) this.wake();
        });
      this.working.set(webhook.id, work);
    }
  }

  private get logger(): Logger {
    return this.deps.logger;
  }

  /** One webhook's events in order, while it holds the lease and has due events. */
  private async work(webhook: ClaimedWebhook): Promise<void> {
    let position = webhook.position;
    let attempt = webhook.attempt;
    let secret: string | undefined;
    for (;;) {
      if (this.stopped) return this.queue.release(webhook.id);
      const next = await this.nextEvent(webhook, position);
      if (!next.event) {
        if (next.through !== position) await this.queue.skip(webhook.id, next.through);
        if (next.more) {
          position = next.through;
          attempt = 0;
          continue;
        }
        return this.queue.release(webhook.id);
      }
      if (next.skipped) {
        /* The rows before the event are not for this webhook: the attempt count belongs to the event after them. */
        await this.queue.skip(webhook.id, next.skipped);
        position = next.skipped;
        attempt = 0;
      }
      if (!(await this.queue.renew(webhook.id))) return; // deleted, or taken over
      secret ??= await this.signingSecret(webhook);
      const event = next.event;
      const n = attempt + 1;
      const result = await this.attempt(webhook, secret, event);
      const eventPosition: FeedPosition = { xid: next.eventRow!.xid, seq: next.eventRow!.seq };
      const entry = { id: randomUUID(), eventCursor: event.cursor, attempt: n, status: result.status ?? null, delivered: result.ok };
      if (result.ok) {
        if (!(await this.queue.settle(webhook.id, { position: eventPosition, attempt: 0, waitMs: 0, entry: { ...entry, error: null } }))) return;
        position = eventPosition;
        attempt = 0;
        continue;
      }
      const decision = nextRetry(n, this.retry);
      if (decision.retry) {
        await this.queue.settle(webhook.id, { position, attempt: n, waitMs: Math.max(1, decision.delayMs), entry: { ...entry, error: result.error ?? 'failed' } });
        return; // released: the next attempt is due after the backoff, on whichever instance claims it
      }
      const error = `${result.error ?? 'failed'}; gave up after ${n} attempts`;
      this.logger.warn({ webhookId: webhook.id, attempts: n, reason: result.error }, 'webhook delivery failed for good; moving on');
      if (!(await this.queue.settle(webhook.id, { position: eventPosition, attempt: 0, waitMs: 0, entry: { ...entry, error } }))) return;
      position = eventPosition;
      attempt = 0;
    }
  }

  /**
   * The first event after `from` this webhook is sent, if any: what a
   * subscription to its environment (or space) sees, among its topics.
   * `skipped` is the last row before it, `through` how far the read got.
   */
  private async nextEvent(webhook: ClaimedWebhook, from: FeedPosition) {
    const viewpoint = { environmentId: webhook.environmentId, spaceId: webhook.spaceId, actorId: null };
    const rows = await this.feed.replay(from, webhook.environmentId, PAGE);
    let skipped: FeedPosition | undefined;
    for (const row of rows) {
      const event = secretEventOf(row);
      if (event && webhook.topics.includes(event.topic) && isVisibleFrom(viewpoint, event)) {
        return { event, eventRow: row, skipped, through: from, more: false };
      }
      skipped = { xid: row.xid, seq: row.seq };
    }
    return { event: undefined, eventRow: undefined, skipped: undefined, through: skipped ?? from, more: rows.length === PAGE };
  }

  private async signingSecret(webhook: ClaimedWebhook): Promise<string> {
    /* The data key names its environment key version (rotation re-wraps it in place). */
    return this.deps.keyring.open({ wrappedDek: webhook.wrappedDek, ciphertext: webhook.sealedSecret }, signingSecretOwner(webhook));
  }

  private attempt(webhook: ClaimedWebhook, secret: string, event: SecretEvent): Promise<DeliveryResult> {
    const body = secretEventBody(event);
    return deliverOnce({
      url: webhook.url,
      body,
      headers: webhookHeaders({ eventId: event.cursor, signingSecret: secret, body, attemptAt: Math.floor(Date.now() / 1000) }),
      timeoutMs: this.options.timeoutMs,
      allowPrivateNetworks: this.options.allowPrivateNetworks,
      lookup: this.options.lookup,
    });
  }
}

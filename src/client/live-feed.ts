// Types of graphql-ws/client, for every build that compiles this file (the bench lists its entry files, not src/client).
// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- an ambient module declaration cannot be imported
/// <reference path="./graphql-ws-client.d.ts" />
import type { Client } from 'graphql-ws/client';

import { SecretEventsDocument, type SecretEventsSubscription, type SecretEventsSubscriptionVariables } from './generated/graphql';
import type { Lease } from './request-cache';

/*
 * Live mode (DESIGN §12): one `secretEvents` subscription per view (an
 * environmentId, spaceId, actorId triple the client has read from) over one
 * graphql-ws socket. Each event names a name that may resolve differently
 * in that view now; the client drops what it cached for it.
 *
 * A read takes a lease when its load starts. The lease holds while the
 * socket is up and the view's subscription is the same unbroken chain it
 * was then, and only if the chain had been accepted by the server: every
 * later change to the name is then certain to arrive as an event.
 *
 * - A chain starts with a subscription without a cursor, which the server
 *   starts live from the moment it accepts it. The protocol does not
 *   acknowledge a subscription, so the chain counts as accepted at its
 *   first event, or settleMs after it was sent on an acknowledged socket.
 * - It goes on across reconnects: graphql-ws sends the subscription again,
 *   and its variables read the last cursor when sent (`after`), so the
 *   server replays what happened meanwhile. A view without a cursor cannot
 *   resume: it starts a new chain and its cache is dropped.
 * - While the socket is down no lease holds: answers live by the TTL.
 * - Close codes 4403 (the token no longer holds) and 4401 are final:
 *   graphql-ws would retry 4403, this client stops live mode instead.
 *
 * Nothing here keeps a process alive: timers are unref'd, and so is the
 * default (`ws`) socket. graphql-ws and ws load on first use, so a client
 * without live mode loads neither.
 */

export type LiveState = 'idle' | 'connecting' | 'live' | 'down' | 'closed';

export interface LiveStateDetail {
  /** The WebSocket close code, when a close caused the change. */
  readonly code?: number;
  readonly reason?: string;
}

/** A WebSocket class: `ws`'s, or a platform's global one. */
export type WebSocketClass = new (url: string, protocols?: string | string[]) => unknown;

export interface LiveOptions {
  /** Default: `ws` (Node 20 has no global WebSocket), with its socket unref'd. */
  readonly webSocketImpl?: WebSocketClass;
  /** A new subscription counts as accepted this long after it was sent, if no event came sooner. Default 1000. */
  readonly settleMs?: number;
  /** Reconnect backoff: the first wait, doubling (with jitter) up to reconnectMaxMs. Defaults 500 and 30000. */
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
  /** At most this many views are subscribed; reads in further views live by the TTL alone. Default 50. */
  readonly maxViews?: number;
  /** Told of every change of liveState(); exceptions it throws are ignored. */
  readonly onStateChange?: (state: LiveState, detail: LiveStateDetail) => void;
}

export interface ViewScope {
  readonly environmentId: string | null;
  readonly spaceId: string | null;
  readonly actorId: string | null;
}

export interface LiveFeedOptions extends LiveOptions {
  /** The GraphQL endpoint (http or https); the socket goes to the same URL as ws or wss. */
  readonly endpoint: string;
  readonly token: string;
  /** Bounds the WebSocket handshake of the default implementation. */
  readonly handshakeTimeoutMs: number;
  /** `name` may resolve differently in the view now. */
  readonly onChange: (viewKey: string, name: string) => void;
  /** Anything in the view may have changed unseen. */
  readonly onReset: (viewKey: string) => void;
}

/* 4403: the token is revoked, expired or gone (the server's word); 4401: the protocol's Unauthorized. */
const FINAL_CLOSE_CODES = new Set([4401, 4403]);
/* A view these refuse is not retried: asking again gets the same answer. */
const FINAL_VIEW_CODES = new Set(['FORBIDDEN', 'UNAUTHENTICATED', 'NOT_FOUND']);
const CLOSED = 3;
const CLOSE_WAIT_MS = 2000;

interface SocketLike {
  readonly readyState: number;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'close', listener: () => void): void;
  terminate?(): void;
}

type Timer = ReturnType<typeof setTimeout>;

class LiveView {
  /** The last event's cursor: where a resubscription resumes. */
  cursor?: string;
  /** Counts chains: a lease of an earlier one no longer holds. */
  chain = 0;
  accepted = false;
  /** starting: graphql-ws is loading; waiting: retrying after a refusal; failed: refused for good; ended: its environment or space is gone. */
  state: 'starting' | 'active' | 'waiting' | 'failed' | 'ended' = 'starting';
  /** It was sent on an acknowledged socket: a reconnect sends it again. */
  sent = false;
  /** Callbacks of an earlier subscription of this view are ignored. */
  generation = 0;
  failures = 0;
  unsubscribe?: () => void;
  acceptTimer?: Timer;
  retryTimer?: Timer;

  constructor(
    readonly key: string,
    readonly scope: ViewScope,
  ) {}
}

export class LiveFeed {
  private readonly views = new Map<string, LiveView>();
  private readonly sockets = new Set<SocketLike>();
  private readonly wakers = new Set<() => void>();
  private client?: Client;
  private loading?: Promise<void>;
  private connected = false;
  private stopped = false;
  private current: LiveState = 'idle';
  private readonly settleMs: number;
  private readonly reconnectMinMs: number;
  private readonly reconnectMaxMs: number;
  private readonly maxViews: number;

  constructor(private readonly options: LiveFeedOptions) {
    this.settleMs = nonNegative('settleMs', options.settleMs ?? 1000);
    this.reconnectMinMs = positive('reconnectMinMs', options.reconnectMinMs ?? 500);
    this.reconnectMaxMs = Math.max(this.reconnectMinMs, positive('reconnectMaxMs', options.reconnectMaxMs ?? 30_000));
    this.maxViews = nonNegative('maxViews', options.maxViews ?? 50);
    if (options.webSocketImpl !== undefined && typeof options.webSocketImpl !== 'function') {
      throw new TypeError('createSecretsClient: live.webSocketImpl must be a WebSocket class');
    }
  }

  get state(): LiveState {
    return this.current;
  }

  /** The view a read is in, subscribed on first sight; undefined when it cannot be live (closed, too many views). */
  watch(key: string, scope: ViewScope): LiveView | undefined {
    if (this.stopped) return undefined;
    const known = this.views.get(key);
    if (known) return known;
    if (this.views.size >= this.maxViews) return undefined;
    const view = new LiveView(key, scope);
    this.views.set(key, view);
    if (this.client) this.subscribe(view);
    else void this.load();
    return view;
  }

  /** What a load starting now in this view may count on; undefined: the TTL alone. */
  lease(view: LiveView): Lease | undefined {
    if (!view.accepted || this.stopped) return undefined;
    const chain = view.chain;
    return { valid: () => this.connected && !this.stopped && view.state === 'active' && view.chain === chain };
  }

  /** Ends live mode: unsubscribes, closes the socket, and resolves once it is closed. */
  async close(): Promise<void> {
    this.stop({ reason: 'closed by the client' });
    await this.loading;
    const open = [...this.sockets].filter((socket) => socket.readyState !== CLOSED);
    for (const socket of open) socket.close(1000, 'Normal Closure');
    await Promise.all(open.map((socket) => closedWithin(socket, CLOSE_WAIT_MS)));
    for (const socket of open) if (socket.readyState !== CLOSED) socket.terminate?.();
  }

  private load(): Promise<void> {
    this.loading ??= this.createClient().then(
      (client) => {
        if (!client) return;
        this.client = client;
        for (const view of this.views.values()) if (view.state === 'starting') this.subscribe(view);
      },
      (error: unknown) => this.stop({ reason: `live mode is unavailable: ${error instanceof Error ? error.message : String(error)}` }),
    );
    return this.loading;
  }

  private async createClient(): Promise<Client | undefined> {
    const [{ createClient }, WebSocketImpl] = await Promise.all([
      import('graphql-ws/client'),
      this.options.webSocketImpl ?? nodeWebSocket(this.options.handshakeTimeoutMs),
    ]);
    if (this.stopped) return undefined;
    return createClient({
      url: this.options.endpoint.replace(/^http/, 'ws'),
      connectionParams: { authorization: `Bearer ${this.options.token}` },
      webSocketImpl: this.tracking(WebSocketImpl),
      lazy: true,
      retryAttempts: Infinity,
      retryWait: (retries) => this.pause(backoff(retries, this.reconnectMinMs, this.reconnectMaxMs)),
      shouldRetry: (reason) => !this.stopped && !FINAL_CLOSE_CODES.has(closeDetail(reason).code ?? 0),
      on: {
        connecting: () => {
          if (this.current === 'idle') this.setState('connecting');
        },
        connected: () => this.onConnected(),
        closed: (event) => this.onClosed(event),
      },
    });
  }

  /* Every socket graphql-ws opens, so that close() can close and await it whatever state it is in. */
  private tracking(Base: WebSocketClass): WebSocketClass {
    const sockets = this.sockets;
    return class TrackedWebSocket extends (Base as new (url: string, protocols?: string | string[]) => SocketLike) {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols);
        sockets.add(this);
        this.addEventListener('close', () => sockets.delete(this));
      }
    };
  }

  private onConnected(): void {
    this.connected = true;
    for (const view of this.views.values()) {
      if (view.state !== 'active') continue;
      if (view.sent && view.cursor === undefined) this.reset(view); // resent without `after`: whatever happened meanwhile is unknown
      view.sent = true;
      if (!view.accepted) this.armAccept(view);
    }
    this.setState('live');
  }

  private onClosed(event: unknown): void {
    this.connected = false;
    for (const view of this.views.values()) clearTimeout(view.acceptTimer);
    if (this.stopped) return;
    const detail = closeDetail(event);
    if (FINAL_CLOSE_CODES.has(detail.code ?? 0)) return this.stop(detail);
    const active = [...this.views.values()].some((view) => view.state === 'active');
    this.setState(active ? 'down' : 'idle', detail);
  }

  private subscribe(view: LiveView): void {
    const client = this.client;
    if (!client || this.stopped) return;
    const generation = ++view.generation;
    const current = () => generation === view.generation;
    view.state = 'active';
    const variables: SecretEventsSubscriptionVariables = {
      environmentId: view.scope.environmentId,
      spaceId: view.scope.spaceId,
      actorId: view.scope.actorId,
      // Read when graphql-ws serialises the message, on every (re)send: a resubscription resumes after the last event.
      get after() {
        return view.cursor ?? null;
      },
    };
    view.unsubscribe = client.subscribe<SecretEventsSubscription>(
      { query: SecretEventsDocument.toString(), variables },
      {
        next: (result) => {
          if (current()) this.received(view, result);
        },
        error: (error) => {
          if (current()) this.refused(view, error);
        },
        complete: () => {
          if (current()) this.ended(view);
        },
      },
    );
    if (this.connected) {
      view.sent = true;
      if (!view.accepted) this.armAccept(view);
    }
  }

  private received(view: LiveView, result: { data?: SecretEventsSubscription | null; errors?: readonly unknown[] }): void {
    if (result.errors?.length) return this.refused(view, result.errors);
    const event = result.data?.secretEvents;
    if (!event) return;
    view.cursor = event.cursor;
    view.failures = 0;
    clearTimeout(view.acceptTimer);
    view.accepted = true;
    this.options.onChange(view.key, event.name);
  }

  /** The server refused the view's subscription (GraphQL errors), or graphql-ws gave up on the connection (anything else). */
  private refused(view: LiveView, error: unknown): void {
    this.detach(view);
    if (!Array.isArray(error)) return this.stop(closeDetail(error));
    const codes = new Set(error.map((e: { extensions?: { code?: unknown } } | undefined) => e?.extensions?.code));
    if (view.cursor !== undefined && codes.has('BAD_USER_INPUT')) {
      view.cursor = undefined; // expired, or too far behind to replay: start again without it
      return this.resubscribe(view);
    }
    if ([...codes].some((code) => typeof code === 'string' && FINAL_VIEW_CODES.has(code))) {
      view.state = 'failed';
      return;
    }
    view.state = 'waiting'; // RATE_LIMITED and the like: later
    view.retryTimer = unref(setTimeout(() => this.resubscribe(view), backoff(view.failures++, this.reconnectMinMs, this.reconnectMaxMs)));
  }

  /** The server completed the subscription: its environment or space was deleted. */
  private ended(view: LiveView): void {
    this.detach(view);
    view.state = 'ended';
    this.reset(view);
  }

  private resubscribe(view: LiveView): void {
    if (this.stopped) return;
    if (view.cursor === undefined) this.reset(view);
    this.subscribe(view);
  }

  /** A new chain: leases of the old one lapse, and what the view cached is dropped. */
  private reset(view: LiveView): void {
    view.chain += 1;
    view.accepted = false;
    clearTimeout(view.acceptTimer);
    this.options.onReset(view.key);
  }

  private armAccept(view: LiveView): void {
    clearTimeout(view.acceptTimer);
    const { chain, generation } = view;
    view.acceptTimer = unref(
      setTimeout(() => {
        if (this.connected && view.chain === chain && view.generation === generation) view.accepted = true;
      }, this.settleMs),
    );
  }

  private detach(view: LiveView): void {
    view.generation += 1;
    clearTimeout(view.acceptTimer);
    clearTimeout(view.retryTimer);
    const unsubscribe = view.unsubscribe;
    view.unsubscribe = undefined;
    unsubscribe?.();
  }

  /** Live mode ends for good; reads go on by the TTL. */
  private stop(detail: LiveStateDetail): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const view of this.views.values()) {
      this.detach(view);
      if (view.state === 'active' || view.state === 'waiting' || view.state === 'starting') view.state = 'ended';
    }
    for (const wake of [...this.wakers]) wake();
    const client = this.client;
    if (client) void Promise.resolve().then(() => client.dispose()).catch(() => undefined);
    this.setState('closed', detail);
  }

  /** graphql-ws's wait before a reconnect: an unref'd timer, cut short by stop(). */
  private pause(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = unref(setTimeout(done, ms));
      this.wakers.add(done);
    });
  }

  private setState(state: LiveState, detail: LiveStateDetail = {}): void {
    if (this.current === state) return;
    this.current = state;
    try {
      this.options.onStateChange?.(state, detail);
    } catch {
      // a logging callback must not break the feed
    }
  }
}

/** `ws`, loaded on first use, with a bounded handshake and its socket unref'd (it must not keep a listener's process alive). */
async function nodeWebSocket(handshakeTimeoutMs: number): Promise<WebSocketClass> {
  const { default: WebSocket } = await import('ws');
  return class NodeWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { handshakeTimeout: handshakeTimeoutMs });
      this.once('upgrade', (response) => response.socket.unref());
    }
  };
}

function closeDetail(reason: unknown): LiveStateDetail {
  if (typeof reason === 'object' && reason !== null && 'code' in reason && typeof reason.code === 'number') {
    return { code: reason.code, reason: 'reason' in reason && typeof reason.reason === 'string' ? reason.reason : undefined };
  }
  return { reason: reason instanceof Error ? reason.message : undefined };
}

function closedWithin(socket: SocketLike, ms: number): Promise<void> {
  if (socket.readyState === CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = unref(setTimeout(resolve, ms));
    socket.addEventListener('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function backoff(attempt: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, minMs * 2 ** attempt) * (0.5 + Math.random() / 2);
}

function unref(timer: Timer): Timer {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}

function positive(name: string, value: number): number {
  if (!(value > 0)) throw new TypeError(`createSecretsClient: live.${name} must be positive`);
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!(value >= 0)) throw new TypeError(`createSecretsClient: live.${name} must not be negative`);
  return value;
}

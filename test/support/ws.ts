import WebSocket from 'ws';

import { ADMIN_TOKEN } from './app';

/*
 * A bare graphql-transport-ws client for tests: it speaks the protocol
 * itself (connection_init, subscribe, next/error/complete), so a test sees
 * every raw frame the server sent and the exact close code.
 */

export const SECRET_EVENT_FIELDS = 'cursor topic action at tokenId environmentId spaceId actorId secretId name version affectedSpaceIds';

export interface SecretEventResult {
  cursor: string;
  topic: string;
  action: string;
  at: string;
  tokenId: string | null;
  environmentId: string;
  spaceId: string | null;
  actorId: string | null;
  secretId: string;
  name: string;
  version: number;
  affectedSpaceIds: string[];
}

export interface Stream {
  readonly events: SecretEventResult[];
  /** GraphQL errors: from an `error` message, or a `next` that carried errors. */
  readonly errors: { message: string; extensions?: Record<string, unknown> }[];
  readonly completed: boolean;
  /** Resolves once `n` events arrived (or rejects after timeoutMs, listing what did). */
  waitFor(n: number, timeoutMs?: number): Promise<SecretEventResult[]>;
  /** Resolves when the stream ends: complete, error, or the socket closing. */
  ended(timeoutMs?: number): Promise<void>;
  /** Tells the server this subscription is done. */
  stop(): void;
}

export interface Session {
  readonly socket: WebSocket;
  /** Every text frame the server sent, as received. */
  readonly frames: string[];
  /** Resolves with the close code and reason once the socket closes. */
  readonly closed: Promise<{ code: number; reason: string }>;
  subscribe(variables?: Record<string, unknown>, query?: string): Stream;
  close(): Promise<void>;
}

export interface SessionOptions {
  /** Sent as connectionParams.authorization `Bearer <token>`; null: none. Default: the admin. */
  readonly token?: string | null;
  /** Headers of the upgrade request (Cookie, Origin, …). */
  readonly headers?: Record<string, string>;
  /** Ms to wait for connection_ack; the session rejects with the close code otherwise. */
  readonly ackTimeoutMs?: number;
  /** false: leave the server's WebSocket pings unanswered (a peer that went silent). Default: answered. */
  readonly autoPong?: boolean;
}

export const SECRET_EVENTS_QUERY = `subscription($environmentId: ID, $spaceId: ID, $actorId: String, $after: String) {
  secretEvents(environmentId: $environmentId, spaceId: $spaceId, actorId: $actorId, after: $after) { ${SECRET_EVENT_FIELDS} }
}`;

/** Connects and waits for connection_ack; rejects with `{ code, reason }` when the server closes instead. */
export async function openSession(baseUrl: string, options: SessionOptions = {}): Promise<Session> {
  const url = `${baseUrl.replace(/^http/, 'ws')}/graphql`;
  const socket = new WebSocket(url, 'graphql-transport-ws', { headers: options.headers, autoPong: options.autoPong ?? true });
  const frames: string[] = [];
  const streams = new Map<string, StreamState>();
  let nextId = 1;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.on('close', (code, reason) => {
      for (const state of streams.values()) state.end();
      resolve({ code, reason: String(reason) });
    });
  });
  socket.on('error', () => undefined);

  const acked = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no connection_ack')), options.ackTimeoutMs ?? 5000);
    socket.on('message', (data) => {
      const text = String(data);
      frames.push(text);
      const message = JSON.parse(text) as { type: string; id?: string; payload?: any };
      if (message.type === 'connection_ack') {
        clearTimeout(timer);
        resolve();
      } else if (message.type === 'ping') socket.send(JSON.stringify({ type: 'pong' }));
      else if (message.id) streams.get(message.id)?.receive(message);
    });
    void closed.then((close) => {
      clearTimeout(timer);
      reject(close);
    });
  });
  socket.on('open', () => {
    const token = options.token === undefined ? ADMIN_TOKEN : options.token;
    socket.send(JSON.stringify({ type: 'connection_init', payload: token === null ? {} : { authorization: `Bearer ${token}` } }));
  });
  await acked;

  return {
    socket,
    frames,
    closed,
    subscribe(variables = {}, query = SECRET_EVENTS_QUERY) {
      const id = String(nextId++);
      const state = new StreamState(() => {
        if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ id, type: 'complete' }));
      });
      streams.set(id, state);
      socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
      return state;
    },
    async close() {
      if (socket.readyState === socket.CLOSED) return;
      socket.close(1000);
      await closed;
    },
  };
}

class StreamState implements Stream {
  readonly events: SecretEventResult[] = [];
  readonly errors: { message: string; extensions?: Record<string, unknown> }[] = [];
  completed = false;
  private done = false;
  private readonly watchers = new Set<() => void>();

  constructor(readonly stop: () => void) {}

  receive(message: { type: string; payload?: any }): void {
    if (message.type === 'next') {
      if (message.payload?.errors) this.errors.push(...message.payload.errors);
      if (message.payload?.data?.secretEvents) this.events.push(message.payload.data.secretEvents);
    } else if (message.type === 'error') {
      this.errors.push(...(message.payload ?? []));
      this.end();
    } else if (message.type === 'complete') {
      this.completed = true;
      this.end();
    }
    this.notify();
  }

  end(): void {
    this.done = true;
    this.notify();
  }

  waitFor(n: number, timeoutMs = 5000): Promise<SecretEventResult[]> {
    return this.until(() => this.events.length >= n, timeoutMs, () => `waited for ${n} events, got ${this.events.length}: ${JSON.stringify(this.events.map((e) => `${e.name}@${e.version}`))} ${JSON.stringify(this.errors)}`).then(
      () => this.events.slice(0, n),
    );
  }

  ended(timeoutMs = 5000): Promise<void> {
    return this.until(() => this.done, timeoutMs, () => 'the stream did not end');
  }

  private until(ready: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!ready()) return;
        clearTimeout(timer);
        this.watchers.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.watchers.delete(check);
        reject(new Error(describe()));
      }, timeoutMs);
      this.watchers.add(check);
    });
  }

  private notify(): void {
    for (const watcher of [...this.watchers]) watcher();
  }
}

import { stringifyDocument } from '@urql/core';
import { createContext, useContext } from 'react';
import { createClient as createSocket } from 'graphql-ws';

import { SecretEventsDocument, type SecretEventsSubscription, type SecretEventsSubscriptionVariables } from '../gql/graphql';

/** Close codes after which retrying cannot help: the session is gone (DESIGN §12). */
const FINAL_CLOSE_CODES = new Set([4401, 4403]);
/* A tab left open through a server restart or a network drop keeps trying, but no faster than every 30 s. */
const MAX_RETRY_WAIT_MS = 30_000;
/* Moving from one live page to the next keeps the socket rather than closing and reopening it. */
const LAZY_CLOSE_MS = 3_000;

export interface LiveScope {
  readonly environmentId?: string;
  readonly spaceId?: string;
  readonly actorId?: string;
}

/** `connecting`: not yet open; `live`: subscribed; `paused`: the socket dropped and is reconnecting. */
export type WatchStatus = 'connecting' | 'live' | 'paused';

export interface WatchHandlers {
  /** An event for the scope arrived, or the socket came back after a drop: what the page shows may differ now. */
  changed(): void;
  status(status: WatchStatus): void;
  /** The subscription is over: without an error, the server completed it (its environment or space was deleted). */
  ended(error?: unknown): void;
}

export interface LiveFeed {
  /** Subscribes to the scope's change events until the returned function is called. */
  watch(scope: LiveScope, handlers: WatchHandlers): () => void;
  dispose(): void;
}

interface Watch {
  interrupted: boolean;
  readonly handlers: WatchHandlers;
}

/**
 * The session's one graphql-ws socket, authenticated like every other
 * request by the session cookie on its upgrade (same origin, so the
 * browser sends the cookie and the server checks Origin); no
 * connectionParams, so no token ever passes through script.
 *
 * It resumes: each watch remembers the cursor of the last event it saw and
 * graphql-ws re-sends the same subscribe payload on every reconnect, now
 * with `after: cursor`, so the server replays what was missed (DESIGN §12:
 * gap-free and duplicate-free). On a reconnect every interrupted watch
 * also reports one change, so its page refetches: a watch that saw no
 * event yet has no cursor to resume from. Lost connections are retried for
 * as long as a page watches (capped backoff); 4401/4403 end the session.
 */
export function createLiveFeed(onSessionEnded: () => void): LiveFeed {
  const watches = new Set<Watch>();
  let open = false;
  let disposed = false;

  const socket = createSocket({
    url: `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/graphql`,
    lazy: true,
    lazyCloseTimeout: LAZY_CLOSE_MS,
    retryAttempts: Infinity,
    retryWait: (retries) => wait(Math.min(1000 * 2 ** retries, MAX_RETRY_WAIT_MS) + 300 + Math.random() * 2700),
    shouldRetry: (event) => !(isCloseEvent(event) && FINAL_CLOSE_CODES.has(event.code)),
    on: {
      connected: () => {
        open = true;
        for (const watch of watches) {
          if (watch.interrupted) watch.handlers.changed();
          watch.interrupted = false;
          watch.handlers.status('live');
        }
      },
      closed: (event) => {
        open = false;
        if (disposed) return;
        if (isCloseEvent(event) && FINAL_CLOSE_CODES.has(event.code)) return onSessionEnded();
        for (const watch of watches) {
          watch.interrupted = true;
          watch.handlers.status('paused');
        }
      },
    },
  });

  return {
    watch(scope, handlers) {
      const watch: Watch = { interrupted: false, handlers };
      let done = false;
      const finish = (error?: unknown) => {
        if (done || disposed) return;
        done = true;
        watches.delete(watch);
        handlers.ended(error);
      };
      /* graphql-ws serialises this object again on each reconnect: `after` moves with the events. */
      const variables: SecretEventsSubscriptionVariables = { ...scope };
      const payload = { query: stringifyDocument(SecretEventsDocument), variables };
      watches.add(watch);
      handlers.status(open ? 'live' : 'connecting');
      const unsubscribe = socket.subscribe<SecretEventsSubscription>(payload, {
        next: (result) => {
          if (done || !result.data) return;
          variables.after = result.data.secretEvents.cursor;
          handlers.changed();
        },
        error: (error) => finish(error ?? new Error('live updates failed')),
        complete: () => finish(),
      });
      return () => {
        done = true; // graphql-ws completes the sink on unsubscribe too: that is not the server's doing
        watches.delete(watch);
        unsubscribe();
      };
    },
    dispose() {
      disposed = true; // a session's pages go with it: no ended() from its teardown
      watches.clear();
      void socket.dispose();
    },
  };
}

export const LiveFeedContext = createContext<LiveFeed | null>(null);

export function useLiveFeed(): LiveFeed {
  const feed = useContext(LiveFeedContext);
  if (!feed) throw new Error('useLiveFeed outside SessionProvider');
  return feed;
}

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function isCloseEvent(event: unknown): event is CloseEvent {
  return typeof event === 'object' && event !== null && 'code' in event && typeof (event as CloseEvent).code === 'number';
}

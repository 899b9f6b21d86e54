import { Client, cacheExchange, fetchExchange, mapExchange, subscriptionExchange } from '@urql/core';
import { createClient as createSocket, type Client as Socket } from 'graphql-ws';

import { isUnauthenticated } from './errors';

/** Close codes after which retrying cannot help: the session is gone (DESIGN §12). */
const FINAL_CLOSE_CODES = new Set([4401, 4403]);

export interface ApiClient {
  readonly client: Client;
  dispose(): void;
}

/**
 * One urql client per session: signing in or out builds a new one, so no
 * cached answer outlives the session that fetched it. Requests carry only
 * the session cookie (same origin); the socket authenticates with the same
 * cookie on its upgrade. Queries go as POST: the server's CSRF prevention
 * and Origin check apply to cookie-authenticated requests, and browsers
 * send Origin on POST.
 */
export function createApiClient(onSessionEnded: () => void): ApiClient {
  const socket: Socket = createSocket({
    url: `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/graphql`,
    lazy: true,
    retryAttempts: 8,
    shouldRetry: (event) => !(isCloseEvent(event) && FINAL_CLOSE_CODES.has(event.code)),
    on: {
      closed: (event) => {
        if (isCloseEvent(event) && FINAL_CLOSE_CODES.has(event.code)) onSessionEnded();
      },
    },
  });

  const client = new Client({
    url: '/graphql',
    preferGetMethod: false,
    requestPolicy: 'cache-and-network',
    fetchOptions: { credentials: 'same-origin' },
    exchanges: [
      mapExchange({
        onError(error, operation) {
          if (operation.context.signingIn) return; // a wrong admin token is the sign-in form's business
          if (isUnauthenticated(error)) onSessionEnded();
        },
      }),
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const payload = { ...request, query: request.query ?? '' };
          return {
            subscribe(sink) {
              return { unsubscribe: socket.subscribe(payload, sink) };
            },
          };
        },
      }),
    ],
  });

  return { client, dispose: () => void socket.dispose() };
}

function isCloseEvent(event: unknown): event is CloseEvent {
  return typeof event === 'object' && event !== null && 'code' in event && typeof (event as CloseEvent).code === 'number';
}

/**
 * A client without a cache, for bulk writes (an .env import): each answer
 * would otherwise invalidate and refetch the page's list once per name.
 * The page refetches once when the batch is done.
 */
export function createPlainClient(): Client {
  return new Client({ url: '/graphql', preferGetMethod: false, fetchOptions: { credentials: 'same-origin' }, exchanges: [fetchExchange] });
}

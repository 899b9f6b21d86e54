import { Client, cacheExchange, fetchExchange, mapExchange } from '@urql/core';

import { isUnauthenticated } from './errors';
import { createLiveFeed, type LiveFeed } from './live';

export interface ApiClient {
  readonly client: Client;
  /** Change events over graphql-ws (./live.ts). */
  readonly live: LiveFeed;
  dispose(): void;
}

/**
 * One urql client per session: signing in or out builds a new one, so no
 * cached answer outlives the session that fetched it. Requests carry only
 * the session cookie (same origin); the live feed's socket authenticates
 * with the same cookie on its upgrade. Queries go as POST: the server's
 * CSRF prevention and Origin check apply to cookie-authenticated requests,
 * and browsers send Origin on POST.
 */
export function createApiClient(onSessionEnded: () => void): ApiClient {
  const live = createLiveFeed(onSessionEnded);
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
    ],
  });

  return { client, live, dispose: () => live.dispose() };
}

/**
 * A client without a cache, for bulk writes (an .env import): each answer
 * would otherwise invalidate and refetch the page's list once per name.
 * The page refetches once when the batch is done.
 */
export function createPlainClient(): Client {
  return new Client({ url: '/graphql', preferGetMethod: false, fetchOptions: { credentials: 'same-origin' }, exchanges: [fetchExchange] });
}

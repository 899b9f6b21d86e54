import type { ApolloServerPlugin } from '@apollo/server';

import { ErrorCode } from './errors';

/**
 * One outage, one status (DESIGN §4): an answer that carries
 * SERVICE_UNAVAILABLE is HTTP 503, also when the failure came from a field
 * resolver, which GraphQL would otherwise answer with 200 and partial data.
 */
export function outageStatusPlugin<TContext extends object>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single') return;
          const errors = response.body.singleResult.errors ?? [];
          if (errors.some((error) => error.extensions?.code === ErrorCode.SERVICE_UNAVAILABLE)) response.http.status = 503;
        },
      };
    },
  };
}

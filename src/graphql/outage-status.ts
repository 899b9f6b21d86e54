import type { ApolloServerPlugin } from '@apollo/server';

import { ErrorCode } from '../errors';

/**
 * One outage, one status: an answer carrying SERVICE_UNAVAILABLE is HTTP
 * 503, as REST's is. A resolver that meets a dead database would otherwise
 * leave Apollo's 200 in place, and a client or load balancer that looks at
 * the status would take it for success.
 */
export function outageStatusPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single') return;
          const errors = response.body.singleResult.errors ?? [];
          if (errors.some((e) => e.extensions?.code === ErrorCode.SERVICE_UNAVAILABLE)) response.http.status = 503;
        },
      };
    },
  };
}

import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';

import { isConnectionFailure } from './db/pg-errors';
import { ErrorCode, ServiceUnavailableError } from './errors';
import type { Logger } from './logger';
import type { Context } from './modules/context';

/**
 * Writes the request's value reads to the audit log, in one statement,
 * before the response leaves. If that write fails the values are withheld:
 * a read that cannot be audited is not served.
 */
export function readAuditPlugin(logger: Logger): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response }) {
          if (!contextValue.readAudit || contextValue.readAudit.size === 0) return;
          try {
            await contextValue.readAudit.flush();
          } catch (error) {
            const outage = isConnectionFailure(error); // the database went away: retry later, like any outage
            logger.error({ err: error }, 'audit write failed; response withheld');
            response.http.status = outage ? 503 : 500;
            response.body = {
              kind: 'single',
              singleResult: {
                errors: [
                  outage
                    ? new GraphQLError(new ServiceUnavailableError().message, { extensions: { code: ErrorCode.SERVICE_UNAVAILABLE } })
                    : new GraphQLError('Internal server error', { extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } }),
                ],
              },
            };
          }
        },
      };
    },
  };
}

/** Requests without a valid token are refused before any operation runs: 401 with code UNAUTHENTICATED. */
export function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401 } } });
}

/** The token could not be checked because the database is down: 503, retry later. */
export function serviceUnavailable(): GraphQLError {
  return new GraphQLError('the database is unavailable; retry later', {
    extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, http: { status: 503 } },
  });
}

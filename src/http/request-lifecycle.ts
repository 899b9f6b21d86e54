import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import type { Logger } from '../logger';
import type { Credentials, RequestContext, SessionCookie } from '../modules/request/request-context';
import type { RequestContexts } from '../modules/request/request-contexts';
import { graphqlErrorBody, restErrorBody, toClientError, type ClientError } from './errors';

/** The admin UI's session: an ADMIN token in an HttpOnly, SameSite=Strict cookie. */
export const SESSION_COOKIE = 'secretspace_session';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set for every authenticated API request (GraphQL and /v1) before its body is read. */
    secretspace?: RequestContext;
  }
}

/**
 * Which API a route belongs to; undefined for routes without credentials
 * (health, UI assets, unknown paths). GraphQL is Apollo's one route; a REST
 * route says so in its config (`{ config: { api: 'rest' } }`).
 */
type Api = 'graphql' | 'rest';
const apiOf = (request: FastifyRequest): Api | undefined => {
  if (request.routeOptions.url === '/graphql') return 'graphql';
  return (request.routeOptions.config as { api?: Api } | undefined)?.api === 'rest' ? 'rest' : undefined;
};

const bodyFor = (api: Api, error: ClientError) => (api === 'rest' ? restErrorBody(error) : graphqlErrorBody(error));

/**
 * The HTTP side of the one request lifecycle (modules/request/request-context.ts),
 * as three hooks around every GraphQL and REST route, so no route can skip it:
 * - onRequest: authenticate before the body is read (an unauthenticated
 *   megabyte of JSON costs nothing), and attach the context;
 * - onSend: the answer leaves only once its read-audit records are durable
 *   (and within its bounds); otherwise it is replaced by an error;
 * - onResponse / onRequestAbort: free the request's slot.
 */
export async function registerRequestLifecycle(app: FastifyInstance, requests: RequestContexts, logger: Logger): Promise<void> {
  await app.register(fastifyCookie);
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const api = apiOf(request);
    if (!api) return;
    try {
      const context = await requests.open(credentialsOf(request), sessionCookie(request, reply));
      request.secretspace = context;
      /* A client gone while it was being authenticated gets no onRequestAbort any more: the response's end frees the slot, whatever happens. */
      if (request.raw.destroyed) requests.release(context);
      else reply.raw.once('close', () => requests.release(context));
    } catch (error) {
      const clientError = toClientError(error, logger);
      return reply.code(clientError.status).type('application/json').send(bodyFor(api, clientError));
    }
  });

  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload) => {
    const context = request.secretspace;
    if (!context) return payload;
    try {
      await requests.finish(context);
      return payload;
    } catch (error) {
      /* A read that cannot be audited, or a request over its bounds, is not served: the answer is withheld whole. */
      const clientError = toClientError(error, logger);
      if (clientError.status >= 500) logger.error('audit write failed; answer withheld');
      reply.code(clientError.status).type('application/json');
      return JSON.stringify(bodyFor(apiOf(request) ?? 'graphql', clientError));
    }
  });

  const release = async (request: FastifyRequest) => {
    if (request.secretspace) requests.release(request.secretspace);
  };
  app.addHook('onResponse', release);
  app.addHook('onRequestAbort', release);
}

/** What credentials are read from: a Fastify request, or a WebSocket upgrade request (graphql/subscriptions.ts). */
export interface CredentialSource {
  readonly protocol: 'http' | 'https';
  readonly headers: { readonly host?: string; readonly origin?: string; readonly authorization?: string };
  readonly cookies: Record<string, string | undefined>;
}

/** This server's own origin as the request reached it, to compare with the Origin a browser sends. */
export const ownOrigin = (request: Pick<CredentialSource, 'protocol' | 'headers'>) => `${request.protocol}://${request.headers.host ?? ''}`;

export function credentialsOf(request: CredentialSource): Credentials {
  return {
    authorization: request.headers.authorization,
    sessionToken: request.cookies[SESSION_COOKIE],
    sameOrigin: request.headers.origin !== undefined && request.headers.origin === ownOrigin(request),
  };
}

function sessionCookie(request: FastifyRequest, reply: FastifyReply): SessionCookie {
  const options = { httpOnly: true, sameSite: 'strict' as const, path: '/', secure: request.protocol === 'https' };
  return {
    set: (token, expiresAt) => void reply.setCookie(SESSION_COOKIE, token, { ...options, expires: expiresAt }),
    clear: () => void reply.clearCookie(SESSION_COOKIE, options),
  };
}

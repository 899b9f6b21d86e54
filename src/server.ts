import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import fastifyApollo, { fastifyApolloDrainPlugin } from '@as-integrations/fastify';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';

import type { Container } from './container';
import { isAppError } from './errors';
import { createErrorFormatter } from './graphql-errors';
import { registerJsonParser, toClientError } from './http';
import { secretsRoutes } from './rest/secrets.routes';
import { isConnectionFailure } from './db/pg-errors';
import { readAuditPlugin, serviceUnavailable, unauthenticated } from './graphql-plugins';
import { outageStatusPlugin } from './graphql-outage-status';
import type { Context } from './modules/context';

const READINESS_TIMEOUT_MS = 3000;

/**
 * Builds the HTTP app (GraphQL, health routes). It never listens: main.ts
 * does, and tests reuse it on an ephemeral port.
 */
export async function buildServer(container: Container): Promise<FastifyInstance> {
  const { config, logger } = container;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.maxBodyBytes,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });

  registerJsonParser(app);
  /* Errors outside a route's own handling (body parsing, limits) in GraphQL's shape; /v1 has its own. */
  app.setErrorHandler((error, _request, reply) => {
    const clientError = toClientError(error, logger);
    return reply
      .code(clientError.status)
      .send({ errors: [{ message: clientError.message, extensions: { code: clientError.code } }] });
  });

  const armor = new ApolloArmor(graphqlLimits(config.production)).protect();
  const apollo = new ApolloServer<Context>({
    schema: container.schema,
    validationRules: armor.validationRules,
    // graphql-js's own token limit: a parse error (400), where armor's limit throws from a plugin (500)
    parseOptions: { maxTokens: GRAPHQL_MAX_TOKENS },
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    introspection: config.introspection,
    includeStacktraceInErrorResponses: false,
    // main.ts owns signals: it drains Fastify, which stops Apollo through the drain plugin.
    stopOnTerminationSignals: false,
    hideSchemaDetailsFromClientErrors: config.production,
    formatError: createErrorFormatter(logger),
    logger,
    plugins: [
      // Secrets are never HTTP-cacheable, and per-field cache hints wrap every resolver (measurable per value).
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ...armor.plugins,
      fastifyApolloDrainPlugin(app),
      readAuditPlugin(logger),
      outageStatusPlugin(),
      config.production && !config.introspection
        ? ApolloServerPluginLandingPageDisabled()
        : ApolloServerPluginLandingPageLocalDefault({ footer: false, embed: false }),
    ],
  });
  await apollo.start();

  await app.register(fastifyApollo(apollo), {
    context: async (request) => {
      try {
        return await container.authenticate(request.headers.authorization);
      } catch (error) {
        if (isAppError(error)) throw unauthenticated(error.message);
        if (isConnectionFailure(error)) throw serviceUnavailable();
        throw error;
      }
    },
  });

  /* Draining: answers still in flight close their keep-alive connection, so close() can finish. */
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });

  app.addHook('onResponse', async (request, reply) => {
    logger.debug(
      { method: request.method, url: request.routeOptions.url, status: reply.statusCode, ms: reply.elapsedTime },
      'request',
    );
  });

  await app.register(secretsRoutes, { prefix: '/v1', container });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const failing: string[] = [];
    await Promise.all([
      withTimeout(container.database.ping()).catch(() => failing.push('database')),
      withTimeout(container.registry.active.check()).catch(() => failing.push(`cipherProvider:${container.registry.active.id}`)),
    ]);
    if (failing.length) return reply.code(503).send({ status: 'unavailable', failing: failing.sort() });
    return { status: 'ready' };
  });

  return app;
}

/** graphql-js's parser limit on tokens per document. */
export const GRAPHQL_MAX_TOKENS = 2000;

/**
 * Query limits (graphql-armor). The deepest useful query of this schema,
 * environments → spaces → effectiveSecrets → secret → space → environment
 * → name, is 7 levels; aliases make an alias bomb of 100 effectiveSecrets
 * impossible. Field suggestions are hidden in production.
 */
export const graphqlLimits = (production: boolean) => ({
  maxDepth: { n: 10 },
  maxAliases: { n: 15 },
  maxDirectives: { n: 20 },
  maxTokens: { enabled: false }, // see parseOptions.maxTokens
  costLimit: { maxCost: 5000 },
  blockFieldSuggestion: { enabled: production },
});

function withTimeout<T>(promise: Promise<T>, ms = READINESS_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

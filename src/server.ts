import fastifyApollo, { fastifyApolloDrainPlugin } from '@as-integrations/fastify';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';

import type { Container } from './container';
import { createApolloServer } from './graphql/apollo';
import { registerSubscriptions } from './graphql/subscriptions';
import { secretsRoutes } from './rest/secrets.routes';
import { graphqlErrorBody, toClientError } from './http/errors';
import { healthRoutes } from './http/health.routes';
import { registerJsonParser } from './http/json-parser';
import { registerRequestLifecycle } from './http/request-lifecycle';
import { uiAssets } from './http/ui-assets';

/**
 * Builds the HTTP app: GraphQL, the Flatfile-compatible REST routes and the
 * health routes, all behind one request lifecycle. It never listens: main.ts
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
    // HEAD must not run a GET's work (a decryption, an audit row): routes that want HEAD say so
    exposeHeadRoutes: false,
  });

  registerJsonParser(app);
  /* Errors outside a route's own handling (body parsing, limits) in GraphQL's shape; /v1 has its own. */
  app.setErrorHandler((error, _request, reply) => {
    const clientError = toClientError(error, logger);
    return reply.code(clientError.status).send(graphqlErrorBody(clientError));
  });
  await registerRequestLifecycle(app, container.requests, logger);

  const apollo = createApolloServer(container.schema, config, logger, [fastifyApolloDrainPlugin(app)]);
  await apollo.start();
  await app.register(fastifyApollo(apollo), {
    // authenticated by the request lifecycle before the body was read
    context: async (request) => request.secretspace!,
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
  await app.register(healthRoutes, { container });
  await app.register(uiAssets);

  /* Subscriptions on the same port and path; the change feed, the bus and webhook deliveries run while the server does. */
  registerSubscriptions(app, container);
  await container.events.start();
  container.webhookWorker.start();
  app.addHook('onClose', async () => {
    await container.webhookWorker.stop();
    await container.events.stop();
  });
  return app;
}

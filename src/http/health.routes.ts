import type { FastifyInstance } from 'fastify';

import type { Container } from '../container';

const READINESS_TIMEOUT_MS = 3000;

/** `/healthz` (alive) and `/readyz` (the database, the active cipher provider and the change notifications answer). No credentials. */
export async function healthRoutes(app: FastifyInstance, { container }: { container: Container }): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const failing: string[] = [];
    await Promise.all([
      withTimeout(container.database.ping()).catch(() => failing.push('database')),
      withTimeout(container.registry.active.check()).catch(() => failing.push(`cipherProvider:${container.registry.active.id}`)),
    ]);
    /* Without the listening connection instances miss invalidations (the token cache is off) and events arrive by polling only. */
    if (!container.events.ready) failing.push('events');
    if (failing.length) return reply.code(503).send({ status: 'unavailable', failing: failing.sort() });
    return { status: 'ready' };
  });
}

function withTimeout<T>(promise: Promise<T>, ms = READINESS_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

import { existsSync } from 'node:fs';
import path from 'node:path';

import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

/*
 * The admin UI (DESIGN §14): the files `npm run build` writes to dist/ui,
 * served at `/`, with every other GET that a browser navigates to answered
 * by index.html so each screen's URL can be reloaded and linked. Hashed
 * assets are cached for a year; index.html is revalidated every time, so
 * a new build takes effect on the next load.
 */

export interface UiAssetsOptions {
  /** The built UI; by default dist/ui of this checkout. */
  readonly root?: string;
}

/** Paths that belong to the API, never to the UI, even when a browser asks for HTML. */
const API_PATH = /^\/(graphql|v1|healthz|readyz)(\/|$)/;
const ONE_YEAR = 'public, max-age=31536000, immutable';
/** A Host header as it may appear in a CSP source: host or [v6], optional port. */
const HOST = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;

/** dist/ui beside the compiled server (dist/src/http → dist/ui) or beside the sources (src/http → dist/ui). */
function defaultRoot(): string | undefined {
  return [path.resolve(__dirname, '..', '..', 'ui'), path.resolve(__dirname, '..', '..', 'dist', 'ui')].find((dir) =>
    existsSync(path.join(dir, 'index.html')),
  );
}

/**
 * No inline script or style, no other origin: the bundle needs nothing
 * else, so an injected tag or a framing page gets nothing. The socket for
 * live updates goes to this same host (ws: and wss:, as 'self' does not
 * cover them in every browser).
 */
function securityHeaders(request: FastifyRequest, reply: FastifyReply): void {
  const host = HOST.test(request.headers.host ?? '') ? request.headers.host! : undefined;
  const sockets = host ? ` ws://${host} wss://${host}` : '';
  reply.header(
    'content-security-policy',
    [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      "font-src 'self'",
      `connect-src 'self'${sockets}`,
      "manifest-src 'self'",
      "base-uri 'none'",
      "form-action 'self'",
      "frame-ancestors 'none'",
    ].join('; '),
  );
  reply.header('x-frame-options', 'DENY');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('x-content-type-options', 'nosniff');
  reply.header('cross-origin-opener-policy', 'same-origin');
}

export const uiAssets: FastifyPluginAsync<UiAssetsOptions> = async (app, options) => {
  const root = options.root ?? defaultRoot();

  app.addHook('onSend', async (request, reply) => securityHeaders(request, reply));

  if (!root) {
    app.log.warn('the admin UI is not built (run `npm run build`); / answers 503');
    app.get('/', async (_request, reply) =>
      reply.code(503).type('text/plain').send('The admin UI is not built. Run `npm run build`, then restart.'),
    );
    return;
  }

  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    // One route per built file (read at start-up) instead of a catch-all, so the SPA fallback below can own the rest.
    wildcard: false,
    index: false,
    cacheControl: false,
    setHeaders: (response, file) => {
      response.setHeader('cache-control', file.includes(`${path.sep}assets${path.sep}`) ? ONE_YEAR : 'no-cache');
    },
  });

  const fallback = async (request: FastifyRequest, reply: FastifyReply) => {
    const pathname = request.url.split('?')[0]!;
    const wantsPage = (request.headers.accept ?? '').includes('text/html');
    if (API_PATH.test(pathname) || !wantsPage) return reply.callNotFound();
    return reply.header('cache-control', 'no-cache').sendFile('index.html');
  };
  app.get('/', fallback);
  app.get('/*', fallback);
};

import net from 'node:net';

import Fastify from 'fastify';

import { registerRequestLifecycle } from '../../src/http/request-lifecycle';
import { createLogger } from '../../src/logger';
import type { RequestContext } from '../../src/modules/request/request-context';
import type { RequestContexts } from '../../src/modules/request/request-contexts';

/*
 * A client that leaves while its token is still being checked (a slow
 * lookup) never gets onRequestAbort: its request's slot must still be freed
 * once it is gone, or it would count against its token and hold back the
 * read audit's group commit forever.
 */

it('frees the slot of a request whose client left during authentication', async () => {
  let authenticated!: () => void;
  const released: RequestContext[] = [];
  const context = { access: {}, reads: {} } as unknown as RequestContext;
  const requests = {
    open: () => new Promise<RequestContext>((resolve) => (authenticated = () => resolve(context))),
    finish: async () => undefined,
    release: (c: RequestContext) => void released.push(c),
  } as unknown as RequestContexts;

  const app = Fastify();
  await registerRequestLifecycle(app, requests, createLogger('silent'));
  app.post('/v1/echo', { config: { api: 'rest' } }, async () => ({ ok: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const { port } = app.server.address() as net.AddressInfo;
    const client = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));
    client.write('POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":');
    await new Promise((resolve) => setTimeout(resolve, 100)); // the hook is waiting in open()
    client.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100)); // the server has seen the client go
    authenticated();
    for (let i = 0; i < 50 && released.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(released).toEqual([context]);
  } finally {
    await app.close();
  }
});

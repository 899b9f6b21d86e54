import http from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Endpoint } from '../measure';
import { bearer, gqlBody, json } from '../scenarios/scenario';
import type { BenchSession } from '../session';

/*
 * --experiments: the stack layer by layer, each as a ratio to
 * `baseline-read`: node:http doing nothing, Fastify's /healthz, and GraphQL
 * `{ __typename }` with a LISTENER token (Fastify + Apollo + the token
 * lookup). Their finding (Apollo's and type-graphql's per-request pipeline
 * is most of what a read costs beyond its statements) is in README.md's
 * performance section.
 */

async function startNoop(): Promise<{ endpoint: Endpoint; close(): Promise<void> }> {
  const body = JSON.stringify({ status: 'ok' });
  const server = http.createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: { url: `http://127.0.0.1:${port}`, statements: () => 0 },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function measureLayers(session: BenchSession): Promise<void> {
  const { measurer, product } = session.live;
  const connections = session.plan.readConnections;
  const { token } = await session.readScope();
  const noop = await startNoop();
  try {
    await measurer.measure({
      id: 'baseline-noop',
      scenario: 1,
      label: 'experiment: node:http, no work',
      ratioTo: 'baseline-read',
      endpoint: noop.endpoint,
      job: { method: 'GET', path: '/noop', headers: {}, connections, expectIncludes: '"ok"' },
    });
  } finally {
    await noop.close();
  }
  await measurer.measure({
    id: 'fastify-healthz',
    scenario: 1,
    label: 'experiment: Fastify GET /healthz, no work',
    ratioTo: 'baseline-read',
    endpoint: product,
    job: { method: 'GET', path: '/healthz', headers: {}, connections, expectIncludes: '"ok"' },
  });
  await measurer.measure({
    id: 'graphql-typename',
    scenario: 1,
    label: 'experiment: GraphQL { __typename }, LISTENER (token lookup)',
    ratioTo: 'baseline-read',
    endpoint: product,
    job: { method: 'POST', path: '/graphql', headers: { ...json, ...bearer(token) }, body: gqlBody('query T { __typename }', {}), connections, expectIncludes: '"Query"' },
  });
}

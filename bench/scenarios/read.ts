import { log } from '../log';
import { checkRead } from '../measure';
import { startServer } from '../server';
import type { BenchSession } from '../session';
import { bearer, gqlBody, json, type Scenario } from './scenario';

/*
 * Scenarios 1 and 2: one name of the 50-secret scope, read by a LISTENER,
 * names cycling over all 50: the baseline's one statement and one value,
 * the baseline doing the product's statements of an audited read one request
 * at a time, and GraphQL `secret(name, spaceId) { value source }`.
 */

export const READ = 'query Read($n: String!, $s: ID) { secret(name: $n, spaceId: $s) { value source } }';

export const read: Scenario = {
  name: 'read',
  phase: 'serving',
  async prepare(session) {
    const scope = await session.readScope();
    return async () => {
      const { measurer, product, floor } = session.live;
      const { plan } = session;
      const names = [...scope.expected.keys()];
      const { environmentId, spaceId, token, expected } = scope;
      const check = checkRead(expected, (b) => b?.data?.secret?.value);
      await measurer.measure({
        id: 'baseline-read',
        scenario: 1,
        label: 'baseline: node:http + pg, 1 statement, 1 decrypt',
        endpoint: floor,
        job: { method: 'GET', path: `/secret?name={{pick}}&environmentId=${environmentId}&spaceId=${spaceId}`, picks: names, headers: {}, connections: plan.readConnections, expectIncludes: '"value"' },
        check,
      });
      /* The id is kept from when the product ran a fourth statement (the scope on its own). */
      await measurer.measure({
        id: 'baseline-read-4stmt',
        scenario: 1,
        label: 'baseline + token lookup and audit row (the product’s 3 statements)',
        ratioTo: 'baseline-read',
        endpoint: floor,
        job: { method: 'GET', path: `/secret-audited?name={{pick}}&spaceId=${spaceId}`, picks: names, headers: bearer(token), connections: plan.readConnections, expectIncludes: '"value"' },
        check,
      });
      await measurer.measure({
        id: 'graphql-read',
        scenario: 2,
        label: 'GraphQL secret(name, spaceId), LISTENER',
        ratioTo: 'baseline-read',
        endpoint: product,
        job: { method: 'POST', path: '/graphql', headers: { ...json, ...bearer(token) }, body: gqlBody(READ, { n: '{{pick}}', s: spaceId }), picks: names, connections: plan.readConnections, expectIncludes: '"value"' },
        check,
      });
    };
  },
};

export interface ReadVariant {
  readonly id: string;
  readonly label: string;
  /** Settings of the second server, over the session's. */
  readonly env: Record<string, string>;
  /** Why it cannot be measured here (the row says so instead), or undefined. */
  readonly unavailable?: string;
}

/**
 * Scenario 2's listener read again, on a second in-process server with some
 * settings changed (same database, same data), as a ratio to `graphql-read`.
 */
export async function measureReadVariant(session: BenchSession, variant: ReadVariant): Promise<void> {
  const { id, label, unavailable: why } = variant;
  if (why) {
    log(`${id}: ${why}`);
    session.results.push({ id, scenario: 2, label: `${label}: ${why}`, errors: 0, peakRssMb: Number.NaN, ratioTo: 'graphql-read', notes: why, extra: { unavailable: why } });
    return;
  }
  const { spaceId, token, expected } = await session.readScope();
  const server = await startServer({ ...session.env, ...variant.env });
  try {
    const observer = server.container.database.observer;
    await session.live.measurer.measure({
      id,
      scenario: 2,
      label,
      ratioTo: 'graphql-read',
      endpoint: { url: server.url, statements: () => observer.statements },
      job: {
        method: 'POST',
        path: '/graphql',
        headers: { ...json, ...bearer(token) },
        body: gqlBody(READ, { n: '{{pick}}', s: spaceId }),
        picks: [...expected.keys()],
        connections: session.plan.readConnections,
        expectIncludes: '"value"',
      },
      check: checkRead(expected, (b) => b?.data?.secret?.value),
    });
  } finally {
    await server.close();
  }
}

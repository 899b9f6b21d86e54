import { log } from '../log';
import { checkRead } from '../measure';
import { startServer } from '../server';
import { READ } from './read';
import { bearer, gqlBody, json, type Scenario } from './scenario';

/*
 * The token cache (issue 12): the listener read of scenario 2 again, on a
 * second in-process server with TOKEN_CACHE_TTL_MS=0 (every request looks
 * its token up; lookups are still batched across concurrent requests), as
 * a ratio to `graphql-read`, whose server caches lookups while change
 * notifications arrive. The verdict quotes statements per read before
 * (cache off) and after (cache on). n/a with --embedded (one server per
 * DATA_DIR).
 */

const ID = 'graphql-read-uncached';
const LABEL = 'GraphQL secret(name, spaceId), LISTENER, TOKEN_CACHE_TTL_MS=0';

export const tokencache: Scenario = {
  name: 'tokencache',
  phase: 'serving',
  async prepare(session) {
    const scope = await session.readScope();
    return async () => {
      if (session.database.kind === 'embedded') {
        const why = 'n/a (embedded database: one server at a time)';
        log(`${ID}: ${why}`);
        session.results.push({ id: ID, scenario: 2, label: `${LABEL}: ${why}`, errors: 0, peakRssMb: Number.NaN, ratioTo: 'graphql-read', notes: why, extra: { unavailable: why } });
        return;
      }
      const uncached = await startServer({ ...session.env, TOKEN_CACHE_TTL_MS: '0' });
      try {
        const observer = uncached.container.database.observer;
        const { spaceId, token, expected } = scope;
        await session.live.measurer.measure({
          id: ID,
          scenario: 2,
          label: LABEL,
          ratioTo: 'graphql-read',
          endpoint: { url: uncached.url, statements: () => observer.statements },
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
        await uncached.close();
      }
    };
  },
};

import { isDeepStrictEqual } from 'node:util';

import { loadConfig } from '../../src/config';
import { log } from '../log';
import { checkRead } from '../measure';
import { startServer } from '../server';
import { READ } from './read';
import { bearer, gqlBody, json, type Scenario } from './scenario';

/*
 * Named against unnamed prepared statements: the listener read of scenario
 * 2 again, on a second in-process server with DB_PREPARED_STATEMENTS=false
 * (same database, same data), as a ratio to `graphql-read`. When loadConfig
 * rejects the setting or ignores it (the config comes out the same), the
 * row says so instead of measuring the same thing twice.
 */

export const SETTING = 'DB_PREPARED_STATEMENTS';
const ID = 'graphql-read-unnamed';
const LABEL = `GraphQL secret(name, spaceId), LISTENER, ${SETTING}=false`;

/** Why the setting cannot be measured here, or undefined when it can. */
export function unavailable(env: Record<string, string>, embedded: boolean): string | undefined {
  if (embedded) return 'n/a (embedded database: one server at a time)';
  try {
    if (isDeepStrictEqual(loadConfig({ ...env, [SETTING]: 'false' }), loadConfig(env))) return 'n/a (setting not available)';
  } catch {
    return 'n/a (setting not available)';
  }
  return undefined;
}

export const prepared: Scenario = {
  name: 'prepared',
  phase: 'serving',
  async prepare(session) {
    const scope = await session.readScope();
    return async () => {
      const why = unavailable(session.env, session.database.kind === 'embedded');
      if (why) {
        log(`${ID}: ${why}`);
        session.results.push({ id: ID, scenario: 2, label: `${LABEL}: ${why}`, errors: 0, peakRssMb: Number.NaN, ratioTo: 'graphql-read', notes: why, extra: { unavailable: why } });
        return;
      }
      const unnamed = await startServer({ ...session.env, [SETTING]: 'false' });
      try {
        const observer = unnamed.container.database.observer;
        const { spaceId, token, expected } = scope;
        await session.live.measurer.measure({
          id: ID,
          scenario: 2,
          label: LABEL,
          ratioTo: 'graphql-read',
          endpoint: { url: unnamed.url, statements: () => observer.statements },
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
        await unnamed.close();
      }
    };
  },
};

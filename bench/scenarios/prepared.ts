import { isDeepStrictEqual } from 'node:util';

import { loadConfig } from '../../src/config';
import { measureReadVariant } from './read';
import type { Scenario } from './scenario';

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
    await session.readScope();
    return () =>
      measureReadVariant(session, {
        id: ID,
        label: LABEL,
        env: { [SETTING]: 'false' },
        unavailable: unavailable(session.env, session.database.kind === 'embedded'),
      });
  },
};

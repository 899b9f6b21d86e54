import { measureReadVariant } from './read';
import type { Scenario } from './scenario';

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
    await session.readScope();
    return () =>
      measureReadVariant(session, {
        id: ID,
        label: LABEL,
        env: { TOKEN_CACHE_TTL_MS: '0' },
        unavailable: session.database.kind === 'embedded' ? 'n/a (embedded database: one server at a time)' : undefined,
      });
  },
};

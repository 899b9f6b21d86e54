import { checkList } from '../measure';
import type { SeededScope } from '../seed';
import { bearer, gqlBody, json, type Scenario } from './scenario';

/* Scenario 4: `effectiveSecrets(spaceId) { name value source }` as the list grows (10, 100, 1,000, 5,000), against the baseline's list. */

const LIST = 'query List($s: ID) { effectiveSecrets(spaceId: $s) { name value source } }';

export const scaling: Scenario = {
  name: 'scaling',
  phase: 'serving',
  async prepare(session) {
    const scopes = new Map<number, SeededScope>();
    for (const size of session.plan.sizes) scopes.set(size, await session.seed(`bench ${session.runTag} list ${size}`, size, true));
    return async () => {
      const { measurer, product, floor } = session.live;
      const connections = session.plan.listConnections;
      for (const [size, { environmentId, spaceId, token, expected }] of scopes) {
        await measurer.measure({
          id: `baseline-list-${size}`,
          scenario: 4,
          label: `baseline: effective list of ${size}`,
          secrets: size,
          slow: size >= 1000,
          endpoint: floor,
          job: { method: 'GET', path: `/list?environmentId=${environmentId}&spaceId=${spaceId}`, headers: {}, connections, expectIncludes: '"value"' },
          check: checkList(expected, (b) => b?.data),
        });
        await measurer.measure({
          id: `graphql-list-${size}`,
          scenario: 4,
          label: `GraphQL effectiveSecrets, ${size} secrets`,
          secrets: size,
          slow: size >= 1000,
          ratioTo: `baseline-list-${size}`,
          endpoint: product,
          job: { method: 'POST', path: '/graphql', headers: { ...json, ...bearer(token) }, body: gqlBody(LIST, { s: spaceId }), connections, expectIncludes: '"effectiveSecrets"' },
          check: checkList(expected, (b) => b?.data?.effectiveSecrets),
        });
      }
    };
  },
};

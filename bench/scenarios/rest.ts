import { checkList } from '../measure';
import { bearer, type Scenario } from './scenario';

/* Scenario 3: the Flatfile-compatible list of a space with 50 effective secrets (5 overridden, 2 space-only). */
export const rest: Scenario = {
  name: 'rest',
  phase: 'serving',
  async prepare(session) {
    const scope = await session.readScope();
    return async () => {
      const { measurer, product, floor } = session.live;
      const { restSize, readConnections } = session.plan;
      const { environmentId, spaceId, token, expected } = scope;
      const check = checkList(expected, (b) => b?.data);
      await measurer.measure({
        id: `baseline-list-${restSize}`,
        scenario: 3,
        label: `baseline: effective list of ${restSize}`,
        secrets: restSize,
        endpoint: floor,
        job: { method: 'GET', path: `/list?environmentId=${environmentId}&spaceId=${spaceId}`, headers: {}, connections: readConnections, expectIncludes: '"value"' },
        check,
      });
      await measurer.measure({
        id: `rest-${restSize}`,
        scenario: 3,
        label: `REST GET /v1/secrets (${restSize} effective)`,
        secrets: restSize,
        ratioTo: `baseline-list-${restSize}`,
        endpoint: product,
        job: { method: 'GET', path: `/v1/secrets?environmentId=${environmentId}&spaceId=${spaceId}`, headers: bearer(token), connections: readConnections, expectIncludes: '"value"' },
        check,
      });
    };
  },
};

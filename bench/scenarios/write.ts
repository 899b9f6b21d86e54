import { AccessPolicy } from '../../src/modules/access/access-policy';
import { checkVersion } from '../measure';
import { bearer, gqlBody, json, type Scenario } from './scenario';

/*
 * Scenario 6: `upsertSecret` with an ADMIN token, a new name per request
 * (inserts) and one name for all (updates contending for one row lock),
 * each against the baseline doing the same writes (bench/baseline.ts /write).
 */

const UPSERT = 'mutation Upsert($i: UpsertSecretInput!) { upsertSecret(input: $i) { id version } }';
const WRITE_VALUE = 'w'.repeat(48);

export const write: Scenario = {
  name: 'write',
  phase: 'serving',
  async prepare(session) {
    const { container } = session.live.server;
    const environmentId = (await container.environments.create(AccessPolicy.system, { name: `bench ${session.runTag} write` })).id;
    session.createdEnvironments.push(environmentId);
    return async () => {
      const { measurer, product, floor } = session.live;
      const connections = session.plan.writeConnections;
      const e = environmentId;
      const admin = { ...json, ...bearer(session.adminToken) };
      const baselineVersion = checkVersion((b) => b?.data?.version);
      const upsertVersion = checkVersion((b) => b?.data?.upsertSecret?.version);
      let job = 0;
      const tag = () => `${session.runTag}_${job++}`;
      await measurer.measure({
        id: 'baseline-write-distinct',
        scenario: 6,
        label: 'baseline write: new name each (tx: lock, seal, insert, audit)',
        endpoint: floor,
        job: { method: 'POST', path: `/write?environmentId=${e}&name=BASE_${tag()}_{{seq}}`, headers: {}, body: WRITE_VALUE, connections, expectIncludes: '"version"' },
        check: baselineVersion,
      });
      await measurer.measure({
        id: 'graphql-upsert-distinct',
        scenario: 6,
        label: 'GraphQL upsertSecret, new name each, ADMIN',
        ratioTo: 'baseline-write-distinct',
        endpoint: product,
        job: { method: 'POST', path: '/graphql', headers: admin, body: gqlBody(UPSERT, { i: { environmentId: e, name: `GQL_${tag()}_{{seq}}`, value: WRITE_VALUE } }), connections, expectIncludes: '"upsertSecret"' },
        check: upsertVersion,
      });
      await measurer.measure({
        id: 'baseline-write-same',
        scenario: 6,
        label: 'baseline write: one name (row lock contended)',
        endpoint: floor,
        job: { method: 'POST', path: `/write?environmentId=${e}&name=BASE_SAME`, headers: {}, body: WRITE_VALUE, connections, expectIncludes: '"version"' },
        check: baselineVersion,
      });
      await measurer.measure({
        id: 'graphql-upsert-same',
        scenario: 6,
        label: 'GraphQL upsertSecret, one name, ADMIN',
        ratioTo: 'baseline-write-same',
        endpoint: product,
        job: { method: 'POST', path: '/graphql', headers: admin, body: gqlBody(UPSERT, { i: { environmentId: e, name: 'GQL_SAME', value: WRITE_VALUE } }), connections, expectIncludes: '"upsertSecret"' },
        check: upsertVersion,
      });
    };
  },
};

import { randomUUID } from 'node:crypto';

import fc from 'fast-check';

import {
  findPlacementAndSecretsByName,
  findPlacementsAndSecretsByNames,
  type NameRead,
  type PlacedSecrets,
} from '../../src/modules/secret/secret.repository';
import { fuzzSettings } from '../support/arbitraries';
import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/until';
import { createEnvironment, createSpace, dataOf, upsertSecret } from '../support/operations';

/*
 * Listener reads of one name are batched across requests under load
 * (src/modules/secret/name-reads.ts). The batch statement must find for
 * every read exactly what the single-read statement finds alone (property,
 * against PostgreSQL, over overrides, personal values, deleted rows, other
 * environments' spaces and unknown ids), and concurrent GraphQL reads must
 * answer as the same reads do one at a time, with fewer statements than
 * reads.
 */

const ACTORS = [null, 'us_ag_1', 'us_ag_2'] as const;
const NAMES = ['SHARED', 'OVERRIDDEN', 'PERSONAL', 'SPACE_ONLY', 'DELETED', 'MISSING'] as const;

let app: TestApp;
let envs: string[];
let spaces: string[][];

beforeAll(async () => {
  app = await startTestApp();
  envs = [await createEnvironment(app, 'batched-a'), await createEnvironment(app, 'batched-b')];
  spaces = [];
  for (const [e, env] of envs.entries()) {
    const own = [await createSpace(app, env, `a-${e}`), await createSpace(app, env, `b-${e}`)];
    spaces.push(own);
    const put = (name: string, value: string, spaceId?: string, actorId?: string) =>
      upsertSecret(app, { environmentId: env, spaceId, name, value, actorId } as never);
    await put('SHARED', `shared-${e}`);
    await put('OVERRIDDEN', `env-${e}`);
    await put('OVERRIDDEN', `space-${e}`, own[0]);
    await put('PERSONAL', `shared-personal-${e}`);
    await put('PERSONAL', `ea1-${e}`, undefined, 'us_ag_1');
    await put('PERSONAL', `sa2-${e}`, own[1], 'us_ag_2');
    await put('SPACE_ONLY', `only-${e}`, own[1]);
    const doomed = await put('DELETED', `gone-${e}`);
    expect(dataOf(await app.gql(`mutation($id: ID!) { deleteSecret(id: $id) }`, { id: doomed.id })).deleteSecret).toBe(doomed.id);
  }
});
afterAll(() => app?.close());

const comparable = ({ placement, secrets }: PlacedSecrets) => ({
  placement: placement ?? null,
  secrets: secrets.map((s) => `${s.id}@${s.version}`).sort(),
});

it('the batch statement finds, for every read, what the read finds alone', async () => {
  const unknown = randomUUID();
  const environment = fc.constantFrom<string | null>(envs[0], envs[1], unknown, null);
  const space = fc.constantFrom<string | null>(...spaces[0], ...spaces[1], unknown, null);
  const nameRead: fc.Arbitrary<NameRead> = fc.record({
    environmentId: environment,
    spaceId: space,
    name: fc.constantFrom(...NAMES),
    actorId: fc.constantFrom(...ACTORS),
  });
  const db = app.container.database.prepared;
  let nonEmpty = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(nameRead, { minLength: 2, maxLength: 40 }), async (reads) => {
      const together = await findPlacementsAndSecretsByNames(db, reads);
      const alone = await Promise.all(reads.map((r) => findPlacementAndSecretsByName(db, r)));
      expect(together.map(comparable)).toEqual(alone.map(comparable));
      nonEmpty += alone.filter((a) => a.secrets.length > 0).length;
    }),
    fuzzSettings('batched-reads'),
  );
  expect(nonEmpty).toBeGreaterThan(0); // the property compared found rows, not only empty answers
});

const READ = `query($n: String!, $s: ID, $a: String) {
  secret(name: $n, spaceId: $s, actorId: $a) { value source actorId secret { id version scope } }
}`;

it('concurrent GraphQL reads answer as the same reads one at a time, sharing statements', async () => {
  const readers = await Promise.all(envs.map((env) => app.listener(env)));
  const asks: { as: string; vars: Record<string, unknown> }[] = [];
  for (let i = 0; i < 90; i++) {
    const e = i % 2;
    const s = [spaces[e][0], spaces[e][1], spaces[1 - e][0], null][i % 4]; // another environment's space: FORBIDDEN
    asks.push({ as: readers[e], vars: { n: NAMES[i % NAMES.length], s, a: ACTORS[i % 3] } });
  }
  const sequential = [];
  for (const { as, vars } of asks) sequential.push(await app.gql(READ, vars, as));
  expect(sequential.filter((r) => r.data?.secret?.value).length).toBeGreaterThan(20);
  expect(new Set(sequential.map((r) => r.errors?.[0]?.extensions?.code ?? 'OK'))).toEqual(
    new Set(['OK', 'FORBIDDEN', 'SECRET_NOT_FOUND']),
  );

  /*
   * Every read is held inside the server until all 90 have asked for their rows: the first read's
   * statement waits on the test's lock, the others queue behind it (resolve() asks synchronously, so
   * once it has been called 90 times every read is waiting), however slowly the requests arrive.
   */
  const observer = app.container.database.observer;
  const resolve = jest.spyOn(app.container.secrets, 'resolve');
  await app.sql('BEGIN');
  await app.sql('LOCK TABLE secret IN ACCESS EXCLUSIVE MODE');
  const before = observer.statements;
  const answers = Promise.all(asks.map(({ as, vars }) => app.gql(READ, vars, as)));
  await until('every read has asked', () => resolve.mock.calls.length === asks.length, 20_000);
  await app.sql('COMMIT');
  const concurrent = await answers;
  const statements = observer.statements - before;
  resolve.mockRestore();
  expect(concurrent).toEqual(sequential);
  // the one held read, then all the others in one statement (at most 256 per statement); the audit
  // records in few inserts; the token lookups are cached
  expect(statements).toBeLessThan(10);
});

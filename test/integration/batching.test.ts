import { startTestApp, type TestApp } from '../support/app';
import { createEnvironment, createSpace, dataOf, upsertSecret } from '../support/operations';

/*
 * DESIGN §3: the statement count of a request does not grow with the number
 * of spaces or secrets it returns. Counted with the server's own query
 * observer (every statement TypeORM sends).
 */

let app: TestApp;

beforeAll(async () => {
  // token lookups uncached, so every request's statements are counted whole (events-coherence.test.ts counts the cache)
  app = await startTestApp({ env: { TOKEN_CACHE_TTL_MS: '0' } });
});
afterAll(() => app?.close());

async function seed(name: string, spaces: number, secretsPerSpace: number): Promise<string> {
  const env = await createEnvironment(app, name);
  for (let i = 0; i < 5; i++) await upsertSecret(app, { environmentId: env, name: `ENV_${i}`, value: `e${i}` });
  for (let s = 0; s < spaces; s++) {
    const space = await createSpace(app, env, `space-${String(s).padStart(2, '0')}`);
    for (let i = 0; i < secretsPerSpace; i++) {
      await upsertSecret(app, { environmentId: env, spaceId: space, name: i % 2 ? `ENV_${i}` : `OWN_${i}`, value: `s${s}-${i}` });
    }
  }
  return env;
}

const NESTED = `query($id: ID!) {
  environment(id: $id) {
    name
    secrets { name value space { id } environment { id } }
    spaces {
      name
      environment { id name }
      secrets { name value }
      effectiveSecrets { name value source secret { id version scope space { id name } environment { id } } overrides { id value } }
    }
  }
}`;

async function statementsFor(query: string, variables: Record<string, unknown>, as?: string) {
  const observer = app.container.database.observer;
  const before = observer.statements;
  const res = await app.gql(query, variables, as);
  const count = observer.statements - before;
  return { res, count };
}

it('20 spaces with effective secrets cost the same statements as 2', async () => {
  const small = await seed('batch-small', 2, 4);
  const large = await seed('batch-large', 20, 6);
  const [smallReader, largeReader] = [await app.listener(small), await app.listener(large)];
  // warm the environment-key caches and the tokens' last-used stamps so both runs measure the same work
  await app.gql(NESTED, { id: small }, smallReader);
  await app.gql(NESTED, { id: large }, largeReader);

  const a = await statementsFor(NESTED, { id: small }, smallReader);
  const b = await statementsFor(NESTED, { id: large }, largeReader);
  expect(b.res.errors).toBeUndefined();
  expect(dataOf(b.res).environment.spaces).toHaveLength(20);
  expect(dataOf(b.res).environment.spaces[19].effectiveSecrets.length).toBeGreaterThan(5);
  expect(b.count).toBe(a.count);
  // token lookup, environment, spaces, the environment's secrets, every space's secrets (one batch),
  // one audit insert for every value read
  expect(b.count).toBe(6);
});

it('listing every environment with spaces and effective secrets stays constant', async () => {
  const query = `{ environments { id spaces { id effectiveSecrets { name source secret { version } } } effectiveSecrets { name } } }`;
  await app.gql(query);
  const first = await statementsFor(query, {});
  await seed('batch-more', 5, 3);
  await app.gql(query); // the new environment's key is cached by its creation; warm anyway
  const second = await statementsFor(query, {});
  expect(first.res.errors).toBeUndefined();
  expect(second.res.errors).toBeUndefined();
  expect(second.count).toBe(first.count);
});

it('after a restart, one read of many spaces fetches the environment key once', async () => {
  const database = await import('../support/database');
  const db = await database.createTestDatabase();
  const seeding = await startTestApp({ database: db, keepDatabase: true });
  const env = await createEnvironment(seeding, 'cold');
  for (let s = 0; s < 4; s++) {
    const space = await createSpace(seeding, env, `s${s}`);
    await upsertSecret(seeding, { environmentId: env, spaceId: space, name: 'X', value: `x${s}` });
  }
  const reader = await seeding.listener(env);
  await seeding.gql(`{ viewer { id } }`, {}, reader); // stamp lastUsedAt now, so the cold read below does not
  await seeding.close();
  const cold = await startTestApp({ database: db, env: { TOKEN_CACHE_TTL_MS: '0' } });
  try {
    const observer = cold.container.database.observer;
    const before = observer.statements;
    const res = await cold.gql(`query($id: ID!) { environment(id: $id) { spaces { effectiveSecrets { value } } } }`, { id: env }, reader);
    expect(dataOf(res).environment.spaces.map((s: any) => s.effectiveSecrets[0].value)).toEqual(['x0', 'x1', 'x2', 'x3']);
    // token, environment, spaces, secrets, one environment_key read, one audit insert
    expect(observer.statements - before).toBe(6);
  } finally {
    await cold.close();
  }
});

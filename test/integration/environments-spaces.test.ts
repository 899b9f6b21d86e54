import { startTestApp, type TestApp } from '../support/app';
import { createEnvironment, createSpace, dataOf, databaseFingerprint, errorCode, upsertSecret } from '../support/operations';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

describe('environments', () => {
  it('creates, lists sorted by name, reads and deletes', async () => {
    const b = await createEnvironment(app, 'env-b');
    const a = await createEnvironment(app, 'env-a');
    const list = dataOf(await app.gql(`{ environments { id name createdAt updatedAt } }`)).environments;
    expect(list.map((e: { name: string }) => e.name)).toEqual(expect.arrayContaining(['env-a', 'env-b']));
    const names = list.map((e: { name: string }) => e.name);
    expect(names).toEqual([...names].sort());
    const one = dataOf(await app.gql(`query($id: ID!) { environment(id: $id) { id name } }`, { id: a })).environment;
    expect(one).toEqual({ id: a, name: 'env-a' });

    expect(dataOf(await app.gql(`mutation($id: ID!) { deleteEnvironment(id: $id) }`, { id: b })).deleteEnvironment).toBe(b);
    expect(dataOf(await app.gql(`query($id: ID!) { environment(id: $id) { id } }`, { id: b })).environment).toBeNull();
  });

  it('a deleted environment’s keys leave the keyring at once, data keys with them', async () => {
    const env = await createEnvironment(app, 'env-forgotten');
    await upsertSecret(app, { environmentId: env, name: 'A', value: 'forget me' });
    const read = await app.gql(`query($e: ID!) { secret(name: "A", environmentId: $e) { value } }`, { e: env }, await app.listener(env));
    expect(dataOf(read).secret.value).toBe('forget me'); // its environment key and data key are cached now
    const forget = jest.spyOn(app.container.keyring, 'forgetEnvironment');
    try {
      await app.gql(`mutation($id: ID!) { deleteEnvironment(id: $id) }`, { id: env });
      expect(forget).toHaveBeenCalledWith(env);
    } finally {
      forget.mockRestore();
    }
  });

  it('answers null for an unknown id and BAD_USER_INPUT for a malformed one', async () => {
    const missing = await app.gql(`{ environment(id: "00000000-0000-4000-8000-000000000000") { id } }`);
    expect(dataOf(missing).environment).toBeNull();
    const malformed = await app.gql(`{ environment(id: "not-a-uuid") { id } }`);
    expect(errorCode(malformed)).toBe('BAD_USER_INPUT');
    expect(malformed.errors![0].extensions?.field).toBe('id');
  });

  it('refuses a duplicate name with NAME_CONFLICT and writes nothing', async () => {
    await createEnvironment(app, 'dup');
    const before = await databaseFingerprint(app);
    const res = await app.gql(`mutation { createEnvironment(input: { name: "dup" }) { id } }`);
    expect(errorCode(res)).toBe('NAME_CONFLICT');
    expect(await databaseFingerprint(app)).toBe(before);
  });

  it.each([
    ['empty', ''],
    ['129 characters', 'e'.repeat(129)],
    ['a control character', 'bad\u0007name'],
    ['leading whitespace', ' lead'],
    ['trailing whitespace', 'trail '],
  ])('rejects a name that is %s with BAD_USER_INPUT on field name', async (_label, name) => {
    const before = await databaseFingerprint(app);
    const res = await app.gql(`mutation($name: String!) { createEnvironment(input: { name: $name }) { id } }`, { name });
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0].extensions?.field).toBe('name');
    expect(await databaseFingerprint(app)).toBe(before);
  });

  it('deleting an unknown environment is NOT_FOUND', async () => {
    const res = await app.gql(`mutation { deleteEnvironment(id: "00000000-0000-4000-8000-000000000000") }`);
    expect(errorCode(res)).toBe('NOT_FOUND');
  });
});

describe('spaces', () => {
  it('creates spaces listed under their environment, each name unique within it', async () => {
    const env = await createEnvironment(app, 'spaces-env');
    const other = await createEnvironment(app, 'spaces-other');
    const s2 = await createSpace(app, env, 'zeta');
    const s1 = await createSpace(app, env, 'alpha');
    await createSpace(app, other, 'alpha'); // same name, other environment: allowed

    const res = dataOf(
      await app.gql(`query($id: ID!) { environment(id: $id) { spaces { id name environment { id } } } }`, { id: env }),
    );
    expect(res.environment.spaces).toEqual([
      { id: s1, name: 'alpha', environment: { id: env } },
      { id: s2, name: 'zeta', environment: { id: env } },
    ]);
    const dup = await app.gql(`mutation($e: ID!) { createSpace(input: { environmentId: $e, name: "alpha" }) { id } }`, { e: env });
    expect(errorCode(dup)).toBe('NAME_CONFLICT');
    const space = dataOf(await app.gql(`query($id: ID!) { space(id: $id) { name environmentId } }`, { id: s1 })).space;
    expect(space).toEqual({ name: 'alpha', environmentId: env });
  });

  it('creating a space in an unknown environment is NOT_FOUND and writes nothing', async () => {
    const before = await databaseFingerprint(app);
    const res = await app.gql(`mutation { createSpace(input: { environmentId: "00000000-0000-4000-8000-000000000000", name: "x" }) { id } }`);
    expect(errorCode(res)).toBe('NOT_FOUND');
    expect(res.errors![0].extensions?.field).toBe('environmentId');
    expect(await databaseFingerprint(app)).toBe(before);
  });

  it('rejects a bad space name with BAD_USER_INPUT', async () => {
    const env = await createEnvironment(app, 'spaces-bad-name');
    const res = await app.gql(`mutation($e: ID!) { createSpace(input: { environmentId: $e, name: "" }) { id } }`, { e: env });
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0].extensions?.field).toBe('name');
  });
});

describe('cascade deletes', () => {
  it('deleting a space removes its overrides and keeps the environment secrets', async () => {
    const env = await createEnvironment(app, 'cascade-space');
    const space = await createSpace(app, env, 's');
    await upsertSecret(app, { environmentId: env, name: 'A', value: 'env-a' });
    await upsertSecret(app, { environmentId: env, spaceId: space, name: 'A', value: 'space-a' });
    await app.gql(`mutation($id: ID!) { deleteSpace(id: $id) }`, { id: space });
    const rows = await app.sql(`SELECT space_id FROM secret WHERE environment_id = $1`, [env]);
    expect(rows).toEqual([{ space_id: null }]);
    expect(dataOf(await app.gql(`query($id: ID!) { space(id: $id) { id } }`, { id: space })).space).toBeNull();
  });

  it('deleting an environment removes its spaces, secrets and keys', async () => {
    const env = await createEnvironment(app, 'cascade-env');
    const space = await createSpace(app, env, 's');
    await upsertSecret(app, { environmentId: env, name: 'A', value: 'env-a' });
    await upsertSecret(app, { environmentId: env, spaceId: space, name: 'B', value: 'space-b' });
    await app.gql(`mutation($id: ID!) { deleteEnvironment(id: $id) }`, { id: env });
    for (const table of ['space', 'secret', 'environment_key']) {
      expect(await app.sql(`SELECT 1 FROM ${table} WHERE environment_id = $1`, [env])).toEqual([]);
    }
  });
});

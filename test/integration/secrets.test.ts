import { startTestApp, type TestApp } from '../support/app';
import {
  UPSERT,
  createEnvironment,
  createSpace,
  dataOf,
  databaseFingerprint,
  errorCode,
  upsertSecret,
} from '../support/operations';

let app: TestApp;
let env: string;
let space: string;
let otherEnvSpace: string;

beforeAll(async () => {
  app = await startTestApp();
  env = await createEnvironment(app, 'secrets');
  space = await createSpace(app, env, 'main');
  otherEnvSpace = await createSpace(app, await createEnvironment(app, 'secrets-other'), 'elsewhere');
});
afterAll(() => app?.close());

/** Values are read with a LISTENER token of the environment: ADMIN tokens never read them. */
const valueOf = async (name: string, scope: { environmentId: string; spaceId?: string }) =>
  dataOf(
    await app.gql(
      `query($name: String!, $e: ID, $s: ID) { secret(name: $name, environmentId: $e, spaceId: $s) { value } }`,
      { name, e: scope.environmentId, s: scope.spaceId },
      await app.listener(scope.environmentId),
    ),
  ).secret.value;

describe('upsertSecret', () => {
  it('creates at version 1 and grows the version on every write, even of the same value', async () => {
    const first = await upsertSecret(app, { environmentId: env, name: 'API_KEY', value: 'one' });
    expect(first).toMatchObject({ name: 'API_KEY', version: 1, scope: 'ENVIRONMENT' });
    const second = await upsertSecret(app, { environmentId: env, name: 'API_KEY', value: 'one' });
    const third = await upsertSecret(app, { environmentId: env, name: 'API_KEY', value: 'two' });
    expect([second.id, third.id]).toEqual([first.id, first.id]);
    expect([second.version, third.version]).toEqual([2, 3]);
    expect(await valueOf('API_KEY', { environmentId: env })).toBe('two');
    expect(await app.sql(`SELECT count(*)::int AS n FROM secret WHERE name = 'API_KEY'`)).toEqual([{ n: 1 }]);
  });

  it('keeps names case-sensitive and allows spaces and punctuation', async () => {
    await upsertSecret(app, { environmentId: env, name: 'token', value: 'lower' });
    await upsertSecret(app, { environmentId: env, name: 'TOKEN', value: 'upper' });
    await upsertSecret(app, { environmentId: env, name: 'slack: bot/token-v2.prod', value: 'punct' });
    expect(await valueOf('token', { environmentId: env })).toBe('lower');
    expect(await valueOf('TOKEN', { environmentId: env })).toBe('upper');
    expect(await valueOf('slack: bot/token-v2.prod', { environmentId: env })).toBe('punct');
  });

  it('stores a 1,024-character name (4 KB of UTF-8) and a 64 KiB value', async () => {
    const name = '🔑'.repeat(1024);
    const value = 'v'.repeat(64 * 1024);
    const written = await upsertSecret(app, { environmentId: env, name, value });
    expect(written.name).toBe(name);
    expect(await valueOf(name, { environmentId: env })).toBe(value);
  });

  it('round-trips multi-byte UTF-8 values exactly', async () => {
    const value = 'pässwörd 🔐 \u0000 \n end';
    await upsertSecret(app, { environmentId: env, name: 'UNICODE', value });
    expect(await valueOf('UNICODE', { environmentId: env })).toBe(value);
  });

  it('writes a space-level override with scope SPACE', async () => {
    const written = await upsertSecret(app, { environmentId: env, spaceId: space, name: 'API_KEY', value: 'space' });
    expect(written).toMatchObject({ version: 1, scope: 'SPACE' });
    const res = dataOf(await app.gql(`query($id: ID!) { space(id: $id) { secrets { name space { id } environment { id } } } }`, { id: space }));
    expect(res.space.secrets).toEqual([{ name: 'API_KEY', space: { id: space }, environment: { id: env } }]);
  });
});

describe('check-and-set', () => {
  it('expectedVersion 0 creates only', async () => {
    const created = await upsertSecret(app, { environmentId: env, name: 'CAS', value: 'a', expectedVersion: 0 });
    expect(created.version).toBe(1);
    const before = await databaseFingerprint(app);
    const res = await app.gql(UPSERT, { input: { environmentId: env, name: 'CAS', value: 'b', expectedVersion: 0 } });
    expect(errorCode(res)).toBe('VERSION_CONFLICT');
    expect(res.errors![0].extensions).toMatchObject({ expectedVersion: 0, currentVersion: 1 });
    expect(await databaseFingerprint(app)).toBe(before);
  });

  it('applies a write only at the expected version', async () => {
    await upsertSecret(app, { environmentId: env, name: 'CAS2', value: 'a' });
    const ok = await upsertSecret(app, { environmentId: env, name: 'CAS2', value: 'b', expectedVersion: 1 });
    expect(ok.version).toBe(2);
    const before = await databaseFingerprint(app);
    const stale = await app.gql(UPSERT, { input: { environmentId: env, name: 'CAS2', value: 'c', expectedVersion: 1 } });
    expect(errorCode(stale)).toBe('VERSION_CONFLICT');
    expect(await databaseFingerprint(app)).toBe(before);
    expect(await valueOf('CAS2', { environmentId: env })).toBe('b');
  });

  it('a positive expectedVersion on a missing secret is VERSION_CONFLICT and creates nothing', async () => {
    const before = await databaseFingerprint(app);
    const res = await app.gql(UPSERT, { input: { environmentId: env, name: 'NEVER', value: 'x', expectedVersion: 3 } });
    expect(errorCode(res)).toBe('VERSION_CONFLICT');
    expect(await databaseFingerprint(app)).toBe(before);
  });
});

describe('validation', () => {
  const cases: [string, string, string, () => Record<string, unknown>][] = [
    ['empty name', 'BAD_USER_INPUT', 'name', () => ({ environmentId: env, name: '', value: 'v' })],
    ['1,025-character name', 'BAD_USER_INPUT', 'name', () => ({ environmentId: env, name: 'n'.repeat(1025), value: 'v' })],
    ['name with a control character', 'BAD_USER_INPUT', 'name', () => ({ environmentId: env, name: 'A\nB', value: 'v' })],
    ['name with DEL', 'BAD_USER_INPUT', 'name', () => ({ environmentId: env, name: 'A\u007fB', value: 'v' })],
    ['name with leading whitespace', 'BAD_USER_INPUT', 'name', () => ({ environmentId: env, name: ' A', value: 'v' })],
    ['name with trailing whitespace', 'BAD_USER_INPUT', 'name', () => ({ environmentId: env, name: 'A\t', value: 'v' })],
    ['name with a lone surrogate', 'BAD_USER_INPUT', 'name', () => ({ environmentId: env, name: 'A\ud800', value: 'v' })],
    ['empty value', 'BAD_USER_INPUT', 'value', () => ({ environmentId: env, name: 'A', value: '' })],
    ['value of 64 KiB + 1', 'BAD_USER_INPUT', 'value', () => ({ environmentId: env, name: 'A', value: 'x'.repeat(65537) })],
    ['value of 64 KiB + 1 in multi-byte characters', 'BAD_USER_INPUT', 'value', () => ({ environmentId: env, name: 'A', value: 'é'.repeat(32768) + 'x' })],
    ['negative expectedVersion', 'BAD_USER_INPUT', 'expectedVersion', () => ({ environmentId: env, name: 'A', value: 'v', expectedVersion: -1 })],
    ['malformed environmentId', 'BAD_USER_INPUT', 'environmentId', () => ({ environmentId: 'nope', name: 'A', value: 'v' })],
    ['malformed spaceId', 'BAD_USER_INPUT', 'spaceId', () => ({ environmentId: env, spaceId: '123', name: 'A', value: 'v' })],
    ['unknown environment', 'NOT_FOUND', 'environmentId', () => ({ environmentId: '00000000-0000-4000-8000-000000000000', name: 'A', value: 'v' })],
    ['unknown space', 'NOT_FOUND', 'spaceId', () => ({ environmentId: env, spaceId: '00000000-0000-4000-8000-000000000000', name: 'A', value: 'v' })],
    ['space of another environment', 'BAD_USER_INPUT', 'spaceId', () => ({ environmentId: env, spaceId: otherEnvSpace, name: 'A', value: 'v' })],
  ];

  it.each(cases)('%s → %s on %s, nothing written', async (_label, code, field, input) => {
    const before = await databaseFingerprint(app);
    const res = await app.gql(UPSERT, { input: input() });
    expect(errorCode(res)).toBe(code);
    expect(res.errors![0].extensions?.field).toBe(field);
    expect(await databaseFingerprint(app)).toBe(before);
  });

  it('a value of exactly 64 KiB of multi-byte characters is accepted', async () => {
    const value = 'é'.repeat(32768);
    expect((await upsertSecret(app, { environmentId: env, name: 'BIG_MB', value })).version).toBe(1);
  });

  it('never echoes a rejected value in the error', async () => {
    const marker = 'S3CRET-MARKER-' + 'x'.repeat(65537);
    const res = await app.gql(UPSERT, { input: { environmentId: env, name: 'A', value: marker } });
    expect(JSON.stringify(res)).not.toContain('S3CRET-MARKER');
    const wrongType = await app.gql(UPSERT, { input: { environmentId: env, name: 'A', value: { nested: 'S3CRET-MARKER' } } });
    expect(wrongType.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(wrongType)).not.toContain('S3CRET-MARKER');
    expect(app.logs.join('')).not.toContain('S3CRET-MARKER');
  });
});

describe('deleteSecret', () => {
  it('deletes by id and then the name no longer resolves', async () => {
    const { id } = await upsertSecret(app, { environmentId: env, name: 'GONE', value: 'v' });
    expect(dataOf(await app.gql(`mutation($id: ID!) { deleteSecret(id: $id) }`, { id })).deleteSecret).toBe(id);
    const res = await app.gql(`query($e: ID) { secret(name: "GONE", environmentId: $e) { name } }`, { e: env });
    expect(errorCode(res)).toBe('SECRET_NOT_FOUND');
    const again = await app.gql(`mutation($id: ID!) { deleteSecret(id: $id) }`, { id });
    expect(errorCode(again)).toBe('NOT_FOUND');
  });

  it('a name written again after a delete revives the same secret at its next version (DESIGN §11)', async () => {
    const { id } = await upsertSecret(app, { environmentId: env, name: 'AGAIN', value: 'v' });
    await upsertSecret(app, { environmentId: env, name: 'AGAIN', value: 'v2' });
    await app.gql(`mutation($id: ID!) { deleteSecret(id: $id) }`, { id });
    expect(await upsertSecret(app, { environmentId: env, name: 'AGAIN', value: 'v3' })).toMatchObject({ id, version: 3 });
  });

  it('after destroySecret the name starts again at version 1, as a new secret', async () => {
    const { id } = await upsertSecret(app, { environmentId: env, name: 'ANEW', value: 'v' });
    await upsertSecret(app, { environmentId: env, name: 'ANEW', value: 'v2' });
    expect(dataOf(await app.gql(`mutation($id: ID!) { destroySecret(id: $id) }`, { id })).destroySecret).toBe(id);
    const fresh = await upsertSecret(app, { environmentId: env, name: 'ANEW', value: 'v3' });
    expect(fresh.version).toBe(1);
    expect(fresh.id).not.toBe(id);
  });
});

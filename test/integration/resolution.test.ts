import { ADMIN_TOKEN, startTestApp, type TestApp } from '../support/app';
import { createEnvironment, createSpace, dataOf, errorCode, upsertSecret } from '../support/operations';

/*
 * DESIGN §2 through the public surface: an environment with ENV_ONLY and
 * SHARED; a space that overrides SHARED and adds SPACE_ONLY.
 */

let app: TestApp;
let env: string;
let space: string;
let sibling: string;
let reader: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  app = await startTestApp();
  env = await createEnvironment(app, 'resolution');
  space = await createSpace(app, env, 'overriding');
  sibling = await createSpace(app, env, 'plain');
  ids.envOnly = (await upsertSecret(app, { environmentId: env, name: 'ENV_ONLY', value: 'env-only' })).id;
  ids.sharedEnv = (await upsertSecret(app, { environmentId: env, name: 'SHARED', value: 'from-env' })).id;
  ids.sharedSpace = (await upsertSecret(app, { environmentId: env, spaceId: space, name: 'SHARED', value: 'from-space' })).id;
  ids.spaceOnly = (await upsertSecret(app, { environmentId: env, spaceId: space, name: 'SPACE_ONLY', value: 'space-only' })).id;
  reader = await app.listener(env); // values are read by LISTENER tokens; this one is bound to the environment
});
afterAll(() => app?.close());

const EFFECTIVE = `name value source secret { id scope version } overrides { id scope }`;

describe('effective secrets of a space', () => {
  const expected = () => [
    { name: 'ENV_ONLY', value: 'env-only', source: 'ENVIRONMENT', secret: { id: ids.envOnly, scope: 'ENVIRONMENT', version: 1 }, overrides: null },
    { name: 'SHARED', value: 'from-space', source: 'SPACE', secret: { id: ids.sharedSpace, scope: 'SPACE', version: 1 }, overrides: { id: ids.sharedEnv, scope: 'ENVIRONMENT' } },
    { name: 'SPACE_ONLY', value: 'space-only', source: 'SPACE', secret: { id: ids.spaceOnly, scope: 'SPACE', version: 1 }, overrides: null },
  ];

  it('Query.effectiveSecrets(spaceId) applies overrides with provenance, sorted by name', async () => {
    const res = await app.gql(`query($s: ID) { effectiveSecrets(spaceId: $s) { ${EFFECTIVE} } }`, { s: space }, reader);
    expect(dataOf(res).effectiveSecrets).toEqual(expected());
  });

  it('Space.effectiveSecrets gives the same list', async () => {
    const res = await app.gql(`query($id: ID!) { space(id: $id) { effectiveSecrets { ${EFFECTIVE} } } }`, { id: space }, reader);
    expect(dataOf(res).space.effectiveSecrets).toEqual(expected());
  });

  it('a space without overrides inherits everything from its environment', async () => {
    const res = await app.gql(`query($s: ID) { effectiveSecrets(spaceId: $s) { name value source overrides { id } } }`, { s: sibling }, reader);
    expect(dataOf(res).effectiveSecrets).toEqual([
      { name: 'ENV_ONLY', value: 'env-only', source: 'ENVIRONMENT', overrides: null },
      { name: 'SHARED', value: 'from-env', source: 'ENVIRONMENT', overrides: null },
    ]);
  });

  it('Space.secrets lists only the space’s own rows', async () => {
    const res = await app.gql(`query($id: ID!) { space(id: $id) { secrets { id name scope } } }`, { id: space });
    expect(dataOf(res).space.secrets).toEqual([
      { id: ids.sharedSpace, name: 'SHARED', scope: 'SPACE' },
      { id: ids.spaceOnly, name: 'SPACE_ONLY', scope: 'SPACE' },
    ]);
  });
});

describe('effective secrets of an environment', () => {
  it('Environment.effectiveSecrets and Query.effectiveSecrets(environmentId) hold the environment level only', async () => {
    const expected = [
      { name: 'ENV_ONLY', value: 'env-only', source: 'ENVIRONMENT', overrides: null },
      { name: 'SHARED', value: 'from-env', source: 'ENVIRONMENT', overrides: null },
    ];
    const viaQuery = await app.gql(`query($e: ID) { effectiveSecrets(environmentId: $e) { name value source overrides { id } } }`, { e: env }, reader);
    expect(dataOf(viaQuery).effectiveSecrets).toEqual(expected);
    const viaType = await app.gql(`query($id: ID!) { environment(id: $id) { effectiveSecrets { name value source overrides { id } } secrets { name scope } } }`, { id: env }, reader);
    expect(dataOf(viaType).environment.effectiveSecrets).toEqual(expected);
    expect(dataOf(viaType).environment.secrets).toEqual([
      { name: 'ENV_ONLY', scope: 'ENVIRONMENT' },
      { name: 'SHARED', scope: 'ENVIRONMENT' },
    ]);
  });
});

describe('secret(name, environmentId, spaceId)', () => {
  const one = (name: string, e?: string, s?: string, as: string = reader) =>
    app.gql(`query($n: String!, $e: ID, $s: ID) { secret(name: $n, environmentId: $e, spaceId: $s) { name value source secret { id } overrides { id } } }`, { n: name, e, s }, as);

  it('with a spaceId the space’s own secret wins', async () => {
    expect(dataOf(await one('SHARED', env, space)).secret).toEqual({
      name: 'SHARED', value: 'from-space', source: 'SPACE', secret: { id: ids.sharedSpace }, overrides: { id: ids.sharedEnv },
    });
  });

  it('with a spaceId alone the environment is implied', async () => {
    expect(dataOf(await one('SHARED', undefined, space)).secret.value).toBe('from-space');
  });

  it('with a spaceId an inherited name resolves to the environment', async () => {
    expect(dataOf(await one('ENV_ONLY', env, space)).secret).toMatchObject({ value: 'env-only', source: 'ENVIRONMENT', overrides: null });
  });

  it('with only an environmentId the environment’s secret is used', async () => {
    expect(dataOf(await one('SHARED', env)).secret).toMatchObject({ value: 'from-env', source: 'ENVIRONMENT', secret: { id: ids.sharedEnv } });
  });

  it('a space-only name does not resolve at environment level', async () => {
    expect(errorCode(await one('SPACE_ONLY', env))).toBe('SECRET_NOT_FOUND');
  });

  it('a name that resolves to nothing is SECRET_NOT_FOUND', async () => {
    expect(errorCode(await one('MISSING', env, space))).toBe('SECRET_NOT_FOUND');
  });

  it('a spaceId outside the environmentId is BAD_USER_INPUT on spaceId', async () => {
    const otherEnv = await createEnvironment(app, 'resolution-other');
    const res = await one('SHARED', otherEnv, space, ADMIN_TOKEN);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0].extensions?.field).toBe('spaceId');
  });

  it('neither id is BAD_USER_INPUT', async () => {
    expect(errorCode(await one('SHARED', undefined, undefined, ADMIN_TOKEN))).toBe('BAD_USER_INPUT');
  });

  it('unknown ids are NOT_FOUND', async () => {
    expect(errorCode(await one('SHARED', '00000000-0000-4000-8000-000000000000', undefined, ADMIN_TOKEN))).toBe('NOT_FOUND');
    expect(errorCode(await one('SHARED', undefined, '00000000-0000-4000-8000-000000000000', ADMIN_TOKEN))).toBe('NOT_FOUND');
  });

  it('updating the environment value shows through where not overridden, and the override shields it', async () => {
    await upsertSecret(app, { environmentId: env, name: 'SHARED', value: 'from-env-2' });
    await upsertSecret(app, { environmentId: env, name: 'ENV_ONLY', value: 'env-only-2' });
    expect(dataOf(await one('SHARED', env, space)).secret.value).toBe('from-space');
    expect(dataOf(await one('SHARED', env, sibling)).secret.value).toBe('from-env-2');
    expect(dataOf(await one('ENV_ONLY', env, space)).secret.value).toBe('env-only-2');
  });

  it('deleting an override uncovers the environment value', async () => {
    const { id } = await upsertSecret(app, { environmentId: env, spaceId: sibling, name: 'TEMP', value: 'space' });
    await upsertSecret(app, { environmentId: env, name: 'TEMP', value: 'env' });
    expect(dataOf(await one('TEMP', env, sibling)).secret.value).toBe('space');
    await app.gql(`mutation($id: ID!) { deleteSecret(id: $id) }`, { id });
    expect(dataOf(await one('TEMP', env, sibling)).secret).toMatchObject({ value: 'env', source: 'ENVIRONMENT' });
  });
});

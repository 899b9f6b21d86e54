import { FlatfileClient } from '@flatfile/api';
import { FlatfileEvent } from '@flatfile/listener';

import { createSecretsClient } from '../../src/client';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../support/app';
import { createEnvironment, createSpace, dataOf, databaseFingerprint, errorCode, upsertSecret } from '../support/operations';

/*
 * DESIGN §10: personal (actor) secrets as a third level of resolution,
 * through GraphQL, REST, the bundled client and Flatfile's own SDKs.
 * For (E, S, A) the first of (S, A), (E, A), (S), (E) wins.
 */

const ACTOR = 'us_ag_1a2b3c';
const OTHER = 'us_ag_999';
let app: TestApp;
let env: string;
let space: string;
let otherEnv: string;
let reader: string;
let spaceReader: string;

beforeAll(async () => {
  // token lookups uncached, so every request's statements are counted whole (events-coherence.test.ts counts the cache)
  app = await startTestApp({ env: { TOKEN_CACHE_TTL_MS: '0' } });
  env = await createEnvironment(app, 'personal');
  space = await createSpace(app, env, 'personal-space');
  otherEnv = await createEnvironment(app, 'personal-other');
  const put = (name: string, value: string, spaceId?: string, actorId?: string) =>
    upsertSecret(app, { environmentId: env, spaceId, name, value, actorId } as never);
  // ALL: every level; EA_S_E: no (S, A); S_E: shared only; EA: only personal in the environment
  await put('ALL', 'all-E');
  await put('ALL', 'all-S', space);
  await put('ALL', 'all-EA', undefined, ACTOR);
  await put('ALL', 'all-SA', space, ACTOR);
  await put('EA_S_E', 'three-E');
  await put('EA_S_E', 'three-S', space);
  await put('EA_S_E', 'three-EA', undefined, ACTOR);
  await put('S_E', 'two-E');
  await put('S_E', 'two-S', space);
  await put('EA', 'only-EA', undefined, ACTOR);
  await put('THEIRS', 'theirs-EA', undefined, OTHER);
  reader = await app.listener(env);
  spaceReader = await app.listener(env, space);
});
afterAll(() => app?.close());

const one = (name: string, vars: Record<string, unknown>, as = reader) =>
  app.gql(
    `query($n: String!, $e: ID, $s: ID, $a: String) { secret(name: $n, environmentId: $e, spaceId: $s, actorId: $a) { value source actorId overrides { actorId spaceId } } }`,
    { n: name, ...vars },
    as,
  );

describe('resolution', () => {
  it.each([
    // name, space?, actor?, value, source, actorId, what it overrides
    ['ALL', true, true, 'all-SA', 'SPACE', ACTOR, { actorId: ACTOR, spaceId: null }],
    ['ALL', false, true, 'all-EA', 'ENVIRONMENT', ACTOR, { actorId: null, spaceId: null }],
    ['ALL', true, false, 'all-S', 'SPACE', null, { actorId: null, spaceId: null }],
    ['ALL', false, false, 'all-E', 'ENVIRONMENT', null, null],
    ['EA_S_E', true, true, 'three-EA', 'ENVIRONMENT', ACTOR, { actorId: null, spaceId: 'space' }],
    ['S_E', true, true, 'two-S', 'SPACE', null, { actorId: null, spaceId: null }],
    ['EA', true, false, null, null, null, null],
    ['THEIRS', false, true, null, null, null, null],
  ])('%s in space=%s as actor=%s', async (name, inSpace, asActor, value, source, actorId, overrides) => {
    const res = await one(name, { e: env, s: inSpace ? space : undefined, a: asActor ? ACTOR : undefined });
    if (value === null) return expect(errorCode(res)).toBe('SECRET_NOT_FOUND');
    const expectedOverrides = overrides && { ...overrides, spaceId: overrides.spaceId === 'space' ? space : overrides.spaceId };
    expect(dataOf(res).secret).toEqual({ value, source, actorId, overrides: expectedOverrides });
  });

  it('effectiveSecrets with an actor: personal values first, without one only shared values', async () => {
    const list = async (a?: string) =>
      dataOf(await app.gql(`query($s: ID, $a: String) { effectiveSecrets(spaceId: $s, actorId: $a) { name value actorId } }`, { s: space, a }, reader))
        .effectiveSecrets;
    expect(await list(ACTOR)).toEqual([
      { name: 'ALL', value: 'all-SA', actorId: ACTOR },
      { name: 'EA', value: 'only-EA', actorId: ACTOR },
      { name: 'EA_S_E', value: 'three-EA', actorId: ACTOR },
      { name: 'S_E', value: 'two-S', actorId: null },
    ]);
    expect((await list()).map((s: any) => s.name)).toEqual(['ALL', 'EA_S_E', 'S_E']);
  });

  it('Space and Environment: effectiveSecrets(actorId), personalSecrets, and secrets listing shared ones', async () => {
    const res = await app.gql(
      `query($s: ID!, $a: String) { space(id: $s) {
         effectiveSecrets(actorId: $a) { name actorId }
         personalSecrets { name actorId } mine: personalSecrets(actorId: $a) { name }
         secrets { name actorId }
         environment { personalSecrets { name actorId } secrets { name actorId } effectiveSecrets(actorId: $a) { name value } } } }`,
      { s: space, a: ACTOR },
      reader,
    );
    const s = dataOf(res).space;
    expect(s.effectiveSecrets.find((e: any) => e.name === 'ALL').actorId).toBe(ACTOR);
    expect(s.personalSecrets).toEqual([{ name: 'ALL', actorId: ACTOR }]);
    expect(s.mine).toEqual([{ name: 'ALL' }]);
    expect(s.secrets.every((x: any) => x.actorId === null)).toBe(true);
    expect(s.environment.personalSecrets).toEqual([
      { name: 'ALL', actorId: ACTOR },
      { name: 'EA', actorId: ACTOR },
      { name: 'EA_S_E', actorId: ACTOR },
      { name: 'THEIRS', actorId: OTHER },
    ]);
    expect(s.environment.secrets.every((x: any) => x.actorId === null)).toBe(true);
    expect(s.environment.effectiveSecrets.find((e: any) => e.name === 'ALL').value).toBe('all-EA');
  });

  it('a listener reads personal values only inside its binding', async () => {
    const elsewhere = await app.listener(otherEnv);
    expect(errorCode(await one('ALL', { e: env, a: ACTOR }, elsewhere))).toBe('FORBIDDEN');
    expect(dataOf(await one('ALL', { a: ACTOR }, spaceReader)).secret.value).toBe('all-SA');
  });

  it('the audit records the actor of a personal read and write', async () => {
    await upsertSecret(app, { environmentId: env, name: 'AUDITED', value: 'audited-v', actorId: ACTOR } as never);
    await one('AUDITED', { e: env, a: ACTOR });
    const rows = await app.sql(
      `SELECT action, actor_id FROM audit_event WHERE secret_name = 'AUDITED' AND environment_id = $1 ORDER BY seq`,
      [env],
    );
    expect(rows).toEqual([
      { action: 'SECRET_WRITTEN', actor_id: ACTOR },
      { action: 'SECRET_READ', actor_id: ACTOR },
    ]);
  });

  it('statements per read do not grow with an actor', async () => {
    const count = async (vars: Record<string, unknown>) => {
      await one('ALL', vars);
      const before = app.container.database.observer.statements;
      await one('ALL', vars);
      return app.container.database.observer.statements - before;
    };
    expect(await count({ s: space, a: ACTOR })).toBe(await count({ s: space }));
  });
});

describe('writes', () => {
  const UPSERT = `mutation($i: UpsertSecretInput!) { upsertSecret(input: $i) { id version actorId scope } }`;

  it('bad actor ids are BAD_USER_INPUT on actorId with nothing written', async () => {
    const before = await databaseFingerprint(app);
    for (const actorId of ['', 'has space', 'x'.repeat(129), 'é', 'tab\there']) {
      const res = await app.gql(UPSERT, { i: { environmentId: env, name: 'BAD_ACTOR', value: 'v', actorId } });
      expect([actorId, res.errors?.[0].extensions]).toEqual([actorId, { code: 'BAD_USER_INPUT', field: 'actorId' }]);
      const read = await one('ALL', { e: env, a: actorId }, reader);
      expect(read.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    }
    expect(await databaseFingerprint(app)).toBe(before);
  });

  it('50 parallel writes per level leave one row each, at version 50', async () => {
    const levels = [
      { spaceId: undefined, actorId: undefined },
      { spaceId: space, actorId: undefined },
      { spaceId: undefined, actorId: ACTOR },
      { spaceId: space, actorId: ACTOR },
    ];
    for (const level of levels) {
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) => app.gql(UPSERT, { i: { environmentId: env, name: 'RACE', value: `r${i}`, ...level } })),
      );
      expect(answers.filter((a) => a.errors)).toEqual([]);
    }
    const rows = await app.sql(
      `SELECT space_id, actor_id, version FROM secret WHERE environment_id = $1 AND name = 'RACE' ORDER BY space_id NULLS FIRST, actor_id NULLS FIRST`,
      [env],
    );
    expect(rows).toEqual([
      { space_id: null, actor_id: null, version: 50 },
      { space_id: null, actor_id: ACTOR, version: 50 },
      { space_id: space, actor_id: null, version: 50 },
      { space_id: space, actor_id: ACTOR, version: 50 },
    ]);
  });

  it('versions, delete and restore work for personal secrets as for shared ones', async () => {
    const first = dataOf(await app.gql(UPSERT, { i: { environmentId: env, name: 'MINE', value: 'mine-1', actorId: ACTOR } })).upsertSecret;
    await app.gql(UPSERT, { i: { environmentId: env, name: 'MINE', value: 'mine-2', actorId: ACTOR } });
    expect(first).toMatchObject({ version: 1, actorId: ACTOR, scope: 'ENVIRONMENT' });
    await app.gql(`mutation($id: ID!) { deleteSecret(id: $id) }`, { id: first.id });
    expect(errorCode(await one('MINE', { e: env, a: ACTOR }))).toBe('SECRET_NOT_FOUND');
    await app.gql(`mutation($id: ID!) { restoreSecret(id: $id) { version } }`, { id: first.id });
    expect(dataOf(await one('MINE', { e: env, a: ACTOR })).secret.value).toBe('mine-2');
    const pinned = await app.gql(`query { secret(name: "MINE", actorId: "${ACTOR}", version: 1) { value } }`, {}, reader);
    expect(dataOf(pinned).secret.value).toBe('mine-1');
  });
});

describe('REST and clients', () => {
  const NO_KEEP_ALIVE = { headers: { 'Keep-Alive': undefined as unknown as string } };
  const api = (token: string) => new FlatfileClient({ token, environment: `${app.url}/v1` });

  it('GET /v1/secrets?actorId resolves with the actor; answers carry actorId', async () => {
    const res = await fetch(`${app.url}/v1/secrets?environmentId=${env}&spaceId=${space}&actorId=${ACTOR}`, {
      headers: { authorization: `Bearer ${reader}` },
    });
    const data = ((await res.json()) as any).data;
    expect(data.find((s: any) => s.name === 'ALL')).toMatchObject({ value: 'all-SA', actorId: ACTOR, spaceId: space });
    expect(data.find((s: any) => s.name === 'S_E')).toMatchObject({ value: 'two-S', actorId: null });
  });

  it('@flatfile/api: upsert with actorId writes a personal secret, never a shared one; list with actorId reads it', async () => {
    const before = dataOf(await one('S_E', { e: env })).secret.value;
    const upserted = await api(ADMIN_TOKEN).secrets.upsert({ name: 'S_E', value: 'sdk-personal', environmentId: env as any, actorId: OTHER as any }, NO_KEEP_ALIVE);
    expect(upserted.data[0]).toMatchObject({ name: 'S_E', value: 'sdk-personal', actorId: OTHER });
    expect(dataOf(await one('S_E', { e: env })).secret.value).toBe(before);
    const listed = await api(reader).secrets.list({ environmentId: env as any, actorId: OTHER as any }, NO_KEEP_ALIVE);
    expect(listed.data.find((s) => s.name === 'S_E')?.value).toBe('sdk-personal');
    const shared = await api(reader).secrets.list({ environmentId: env as any }, NO_KEEP_ALIVE);
    expect(shared.data.find((s) => s.name === 'S_E')?.value).toBe('two-E');
  });

  it('@flatfile/listener: an event whose context holds an actorId reads that actor’s value', async () => {
    const event = new FlatfileEvent({ topic: 'job:ready', context: { environmentId: env, spaceId: space, actorId: ACTOR }, payload: {} } as any, reader, app.url);
    expect(await event.secrets('ALL')).toBe('all-SA');
    expect(await event.secrets('EA')).toBe('only-EA');
    const anonymous = new FlatfileEvent({ topic: 'job:ready', context: { environmentId: env, spaceId: space }, payload: {} } as any, reader, app.url);
    expect(await anonymous.secrets('ALL')).toBe('all-S');
  });

  it('the bundled client takes actorId like event.secrets does', async () => {
    const client = createSecretsClient({ url: app.url, token: reader, environmentId: env, spaceId: space, actorId: ACTOR });
    expect(await client.secrets('ALL')).toBe('all-SA');
    expect(await client.secrets('ALL', { actorId: null })).toBe('all-S');
    const list = await client.effectiveSecrets();
    expect(list.find((s) => s.name === 'EA')).toMatchObject({ value: 'only-EA', actorId: ACTOR });
  });
});

import { FlatfileClient } from '@flatfile/api';
import { FlatfileEvent } from '@flatfile/listener';

import { ADMIN_TOKEN, startTestApp, type TestApp } from '../support/app';
import { createEnvironment, createSpace, dataOf, databaseFingerprint, upsertSecret } from '../support/operations';

/*
 * The Flatfile-compatible routes, through raw HTTP and through Flatfile's own
 * published SDKs pointed at this server, unmodified.
 */

let app: TestApp;
let env: string;
let space: string;
let otherEnv: string;
let reader: string;

beforeAll(async () => {
  app = await startTestApp();
  env = await createEnvironment(app, 'rest');
  space = await createSpace(app, env, 'rest-space');
  otherEnv = await createEnvironment(app, 'rest-other');
  await upsertSecret(app, { environmentId: env, name: 'SLACK_TOKEN', value: 'env-slack' });
  await upsertSecret(app, { environmentId: env, name: 'ENV_ONLY', value: 'env-only' });
  await upsertSecret(app, { environmentId: env, spaceId: space, name: 'SLACK_TOKEN', value: 'space-slack' });
  await upsertSecret(app, { environmentId: env, spaceId: space, name: 'SPACE_ONLY', value: 'space-only' });
  await upsertSecret(app, { environmentId: otherEnv, name: 'OTHER', value: 'other-env' });
  reader = await app.listener(env);
});
afterAll(() => app?.close());

async function rest(method: string, path: string, token: string | null = ADMIN_TOKEN, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${app.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

const pairs = (data: { name: string; value: string }[]) => Object.fromEntries(data.map((s) => [s.name, s.value]));

describe('GET /v1/secrets', () => {
  it('returns the effective list with overrides applied, like GraphQL', async () => {
    const res = await rest('GET', `/v1/secrets?environmentId=${env}&spaceId=${space}`, reader);
    expect(res.status).toBe(200);
    expect(pairs(res.body.data)).toEqual({ ENV_ONLY: 'env-only', SLACK_TOKEN: 'space-slack', SPACE_ONLY: 'space-only' });
    const gql = dataOf(await app.gql(`query($s: ID) { effectiveSecrets(spaceId: $s) { name value secret { id } } }`, { s: space }, reader));
    expect(res.body.data.map((s: any) => [s.id, s.name, s.value])).toEqual(gql.effectiveSecrets.map((e: any) => [e.secret.id, e.name, e.value]));
    const row = res.body.data.find((s: any) => s.name === 'SLACK_TOKEN');
    expect(row).toMatchObject({ environmentId: env, spaceId: space });
    expect(res.body.data.find((s: any) => s.name === 'ENV_ONLY')).toMatchObject({ environmentId: env, spaceId: null });
  });

  it('without a spaceId gives the environment level', async () => {
    const res = await rest('GET', `/v1/secrets?environmentId=${env}`, reader);
    expect(pairs(res.body.data)).toEqual({ ENV_ONLY: 'env-only', SLACK_TOKEN: 'env-slack' });
  });

  it('audits every value it returns', async () => {
    const before = await app.sql(`SELECT count(*)::int AS n FROM audit_event WHERE action = 'SECRET_READ' AND environment_id = $1`, [env]);
    await rest('GET', `/v1/secrets?environmentId=${env}&spaceId=${space}`, reader);
    const after = await app.sql(`SELECT count(*)::int AS n FROM audit_event WHERE action = 'SECRET_READ' AND environment_id = $1`, [env]);
    expect(after[0].n - before[0].n).toBe(3);
  });

  it.each([
    ['no token', null, `/v1/secrets?environmentId=ENV`, 401, 'UNAUTHENTICATED'],
    ['an ADMIN token (may not read values)', ADMIN_TOKEN, `/v1/secrets?environmentId=ENV`, 403, 'FORBIDDEN'],
    ['a listener of another environment', 'OTHER_READER', `/v1/secrets?environmentId=ENV`, 403, 'FORBIDDEN'],
    ['a missing environmentId', 'READER', `/v1/secrets`, 400, 'BAD_USER_INPUT'],
    ['a malformed environmentId', 'READER', `/v1/secrets?environmentId=nope`, 400, 'BAD_USER_INPUT'],
    ['an unknown query parameter', 'READER', `/v1/secrets?environmentId=ENV&spaceid=x`, 400, 'BAD_USER_INPUT'],
  ])('refuses %s', async (_label, who, path, status, code) => {
    const token = who === 'READER' ? reader : who === 'OTHER_READER' ? await app.listener(otherEnv) : who;
    const res = await rest('GET', path.replace('ENV', env), token);
    expect(res.status).toBe(status);
    expect(res.body.errors[0]).toMatchObject({ code, message: expect.any(String) });
    expect(JSON.stringify(res.body)).not.toMatch(/env-slack|space-slack|other-env/);
  });
});

describe('POST and DELETE /v1/secrets', () => {
  it('upserts, answers with the value just sent, and deletes by id', async () => {
    const created = await rest('POST', '/v1/secrets', ADMIN_TOKEN, { name: 'NEW', value: 'new-value', environmentId: env, spaceId: space });
    expect(created.status).toBe(200);
    expect(created.body.data).toEqual([
      { id: expect.any(String), name: 'NEW', value: 'new-value', environmentId: env, spaceId: space, actorId: null, version: 1 },
    ]);
    const again = await rest('POST', '/v1/secrets', ADMIN_TOKEN, { name: 'NEW', value: 'newer', environmentId: env, spaceId: space });
    expect(again.body.data[0]).toMatchObject({ id: created.body.data[0].id, version: 2, value: 'newer' });
    const deleted = await rest('DELETE', `/v1/secrets/${created.body.data[0].id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body.data).toEqual([{ id: created.body.data[0].id, name: 'NEW', environmentId: env, spaceId: space, actorId: null, version: 2 }]);
    expect((await rest('DELETE', `/v1/secrets/${created.body.data[0].id}`)).status).toBe(404);
  });

  it.each([
    ['a LISTENER token', () => reader, { name: 'X', value: 'v', environmentId: 'ENV' }, 403, 'FORBIDDEN', undefined],
    ['no token', () => null, { name: 'X', value: 'v', environmentId: 'ENV' }, 401, 'UNAUTHENTICATED', undefined],
    ['a missing environmentId', () => ADMIN_TOKEN, { name: 'X', value: 'v' }, 400, 'BAD_USER_INPUT', 'environmentId'],
    ['a bad name', () => ADMIN_TOKEN, { name: ' X', value: 'v', environmentId: 'ENV' }, 400, 'BAD_USER_INPUT', 'name'],
    ['a huge value', () => ADMIN_TOKEN, { name: 'X', value: 'v'.repeat(65537), environmentId: 'ENV' }, 400, 'BAD_USER_INPUT', 'value'],
    ['a value that is not a string', () => ADMIN_TOKEN, { name: 'X', value: 42, environmentId: 'ENV' }, 400, 'BAD_USER_INPUT', 'value'],
    ['an unknown field', () => ADMIN_TOKEN, { name: 'X', value: 'v', environmentId: 'ENV', colour: 'red' }, 400, 'BAD_USER_INPUT', 'colour'],
    ['an unknown environment', () => ADMIN_TOKEN, { name: 'X', value: 'v', environmentId: '00000000-0000-4000-8000-000000000000' }, 404, 'NOT_FOUND', 'environmentId'],
    ['a stale expectedVersion', () => ADMIN_TOKEN, { name: 'SLACK_TOKEN', value: 'v', environmentId: 'ENV', expectedVersion: 0 }, 409, 'VERSION_CONFLICT', undefined],
  ])('POST with %s → %i %s, nothing written', async (_label, token, body, status, code, key) => {
    const before = await databaseFingerprint(app);
    const res = await rest('POST', '/v1/secrets', token(), JSON.parse(JSON.stringify(body).replace('"ENV"', `"${env}"`)));
    expect(res.status).toBe(status);
    expect(res.body.errors[0].code).toBe(code);
    if (key) expect(res.body.errors[0].key).toBe(key);
    expect(JSON.stringify(res.body)).not.toContain('vvvvvvvv');
    expect(await databaseFingerprint(app)).toBe(before);
  });

  it.each([
    ['malformed JSON', '{"name": "X", "value": "abc', 400],
    ['invalid UTF-8', Buffer.concat([Buffer.from('{"name":"X'), Buffer.from([0xff, 0xfe]), Buffer.from(`","value":"v","environmentId":"${'0'.repeat(8)}"}`)]), 400],
    ['a JSON array', '[1,2]', 400],
    ['an empty body', '', 400],
  ])('POST with %s → %i with a JSON error that echoes nothing', async (_label, body, status) => {
    const res = await rest('POST', '/v1/secrets', ADMIN_TOKEN, body);
    expect(res.status).toBe(status);
    expect(res.body.errors[0].code).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(res.body)).not.toContain('abc');
  });

  it('refuses a wrong content type with 415', async () => {
    const res = await rest('POST', '/v1/secrets', ADMIN_TOKEN, 'name=X', { 'content-type': 'application/x-www-form-urlencoded' });
    expect([res.status, res.body.errors[0].code]).toEqual([415, 'BAD_USER_INPUT']);
  });

  it('DELETE of an unknown or malformed id', async () => {
    expect((await rest('DELETE', '/v1/secrets/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    const malformed = await rest('DELETE', '/v1/secrets/not-an-id');
    expect([malformed.status, malformed.body.errors[0].code]).toEqual([400, 'BAD_USER_INPUT']);
    expect((await rest('DELETE', '/v1/secrets/00000000-0000-4000-8000-000000000000', reader)).status).toBe(403);
  });

  it('unknown routes under /v1 are JSON 404s', async () => {
    const res = await rest('GET', '/v1/nothing');
    expect([res.status, res.body.errors[0].code]).toEqual([404, 'NOT_FOUND']);
  });
});

describe('Flatfile SDKs, unmodified', () => {
  /* @flatfile/api 1.23 sends `Keep-Alive: timeout=200`, which Node 20's fetch refuses before sending. */
  const NO_KEEP_ALIVE = { headers: { 'Keep-Alive': undefined as unknown as string } };
  const api = (token: string) => new FlatfileClient({ token, environment: `${app.url}/v1` });

  const eventFor = (token: string, context: Record<string, string>) =>
    new FlatfileEvent({ topic: 'job:ready', context, payload: {} } as any, token, app.url);

  it('@flatfile/listener: event.secrets resolves with the same override semantics as GraphQL', async () => {
    const inSpace = eventFor(reader, { environmentId: env, spaceId: space });
    expect(await inSpace.secrets('SLACK_TOKEN')).toBe('space-slack');
    expect(await inSpace.secrets('ENV_ONLY')).toBe('env-only');
    expect(await inSpace.secrets('SLACK_TOKEN', { environmentId: env, spaceId: '' } as any)).toBe('space-slack');
    const envOnly = eventFor(reader, { environmentId: env });
    expect(await envOnly.secrets('SLACK_TOKEN')).toBe('env-slack');
    expect(await envOnly.secrets('SLACK_TOKEN', { spaceId: space })).toBe('space-slack');
    await expect(envOnly.secrets('SPACE_ONLY')).rejects.toThrow(/not found/);
    const gql = await app.gql(`query($s: ID) { secret(name: "SLACK_TOKEN", spaceId: $s) { value } }`, { s: space }, reader);
    expect(dataOf(gql).secret.value).toBe(await inSpace.secrets('SLACK_TOKEN'));
  });

  it('@flatfile/api: list, upsert and delete', async () => {
    const admin = api(ADMIN_TOKEN);
    const upserted = await admin.secrets.upsert({ name: 'FROM_SDK', value: 'sdk-value', environmentId: env as any, spaceId: space as any }, NO_KEEP_ALIVE);
    expect(upserted.data).toEqual([expect.objectContaining({ name: 'FROM_SDK', value: 'sdk-value', environmentId: env, spaceId: space })]);

    const listed = await api(reader).secrets.list({ environmentId: env as any, spaceId: space as any }, NO_KEEP_ALIVE);
    expect(pairs(listed.data as any)).toMatchObject({ FROM_SDK: 'sdk-value', SLACK_TOKEN: 'space-slack', ENV_ONLY: 'env-only' });

    const deleted = await admin.secrets.delete(upserted.data[0].id, NO_KEEP_ALIVE);
    expect(deleted.data[0]).toMatchObject({ id: upserted.data[0].id, name: 'FROM_SDK' });
    const after = await api(reader).secrets.list({ environmentId: env as any, spaceId: space as any }, NO_KEEP_ALIVE);
    expect(after.data.map((s) => s.name)).not.toContain('FROM_SDK');
  });

  it('@flatfile/api: a LISTENER cannot write, and errors arrive as Flatfile errors', async () => {
    await expect(
      api(reader).secrets.upsert({ name: 'NOPE', value: 'v', environmentId: env as any }, NO_KEEP_ALIVE),
    ).rejects.toMatchObject({ statusCode: 403 });
    await expect(api('sst_wrong').secrets.list({ environmentId: env as any }, NO_KEEP_ALIVE)).rejects.toMatchObject({ statusCode: 401 });
  });
});

import { randomUUID } from 'node:crypto';

import { startTestApp, type As, type GraphQLResponse, type TestApp } from '../support/app';
import { createEnvironment, createSpace, dataOf, databaseFingerprint, upsertSecret } from '../support/operations';

/*
 * DESIGN §6 as a table: every role × every operation → the expected outcome.
 * World: environment A (spaces A1, A2) and environment B (space B1).
 * A1 overrides SHARED; every scope has a secret of its own.
 */

let app: TestApp;
const w = {} as Record<'envA' | 'envB' | 'spaceA1' | 'spaceA2' | 'spaceB1' | 'secretA' | 'secretB', string>;
const tokens = {} as Record<Role, As>;
type Role = 'admin' | 'listenerA' | 'listenerA1' | 'listenerB' | 'revoked' | 'wrong' | 'none';
const ROLES: Role[] = ['admin', 'listenerA', 'listenerA1', 'listenerB', 'revoked', 'wrong', 'none'];

beforeAll(async () => {
  app = await startTestApp({ env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' } });
  w.envA = await createEnvironment(app, 'A');
  w.envB = await createEnvironment(app, 'B');
  w.spaceA1 = await createSpace(app, w.envA, 'A1');
  w.spaceA2 = await createSpace(app, w.envA, 'A2');
  w.spaceB1 = await createSpace(app, w.envB, 'B1');
  w.secretA = (await upsertSecret(app, { environmentId: w.envA, name: 'SHARED', value: 'a-env' })).id;
  await upsertSecret(app, { environmentId: w.envA, spaceId: w.spaceA1, name: 'SHARED', value: 'a1-space' });
  await upsertSecret(app, { environmentId: w.envA, spaceId: w.spaceA2, name: 'A2_ONLY', value: 'a2-space' });
  w.secretB = (await upsertSecret(app, { environmentId: w.envB, name: 'B_ONLY', value: 'b-env' })).id;
  await upsertSecret(app, { environmentId: w.envB, spaceId: w.spaceB1, name: 'B1_ONLY', value: 'b1-space' });

  tokens.admin = undefined as unknown as As; // the test app's bootstrap admin token
  tokens.listenerA = await app.listener(w.envA);
  tokens.listenerA1 = await app.listener(w.envA, w.spaceA1);
  tokens.listenerB = await app.listener(w.envB);
  const revoked = await app.gql(`mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token apiToken { id } } }`, {
    i: { name: 'to revoke', role: 'LISTENER', environmentId: w.envA },
  });
  tokens.revoked = dataOf(revoked).createApiToken.token;
  await app.gql(`mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }`, { id: dataOf(revoked).createApiToken.apiToken.id });
  tokens.wrong = 'sst_' + Buffer.alloc(32, 1).toString('base64url');
  tokens.none = null;
});
afterAll(() => app?.close());

type Outcome = 'ok' | 'null' | 'FORBIDDEN' | 'UNAUTHENTICATED' | 'BAD_USER_INPUT' | 'SECRET_NOT_FOUND';
interface Operation {
  readonly name: string;
  readonly run: (as: As) => Promise<GraphQLResponse>;
  /** The field whose null-ness 'null' refers to. */
  readonly field?: string;
}

const q = (query: string, variables?: () => Record<string, unknown>) => (as: As) => app.gql(query, variables?.(), as);
const fresh = {
  env: () => createEnvironment(app, `tmp-${randomUUID()}`),
  space: async () => createSpace(app, w.envA, `tmp-${randomUUID()}`),
  secret: async () => (await upsertSecret(app, { environmentId: w.envA, name: `TMP_${randomUUID()}`, value: 'v' })).id,
  webhook: async () =>
    dataOf(await app.gql(`mutation($e: ID!) { createWebhook(input: { environmentId: $e, url: "http://127.0.0.1:9/hook" }) { webhook { id } } }`, { e: w.envA }))
      .createWebhook.webhook.id,
  deleted: async () => {
    const id = (await upsertSecret(app, { environmentId: w.envA, name: `TMP_${randomUUID()}`, value: 'v' })).id;
    dataOf(await app.gql(`mutation($id: ID!) { deleteSecret(id: $id) }`, { id }));
    return id;
  },
  token: async () =>
    dataOf(await app.gql(`mutation { createApiToken(input: { name: "t", role: ADMIN }) { apiToken { id } } }`)).createApiToken
      .apiToken.id,
};

const operations: Operation[] = [
  { name: 'viewer', run: q(`{ viewer { id role } }`) },
  { name: 'environments', run: q(`{ environments { id } }`) },
  { name: 'environment(A)', run: q(`query($id: ID!) { environment(id: $id) { id } }`, () => ({ id: w.envA })), field: 'environment' },
  { name: 'environment(B)', run: q(`query($id: ID!) { environment(id: $id) { id } }`, () => ({ id: w.envB })), field: 'environment' },
  { name: 'space(A1)', run: q(`query($id: ID!) { space(id: $id) { id } }`, () => ({ id: w.spaceA1 })), field: 'space' },
  { name: 'space(A2)', run: q(`query($id: ID!) { space(id: $id) { id } }`, () => ({ id: w.spaceA2 })), field: 'space' },
  { name: 'space(B1)', run: q(`query($id: ID!) { space(id: $id) { id } }`, () => ({ id: w.spaceB1 })), field: 'space' },
  { name: 'secret metadata, defaults', run: q(`{ secret(name: "SHARED") { source secret { version } } }`) },
  { name: 'secret value in A', run: q(`query($e: ID) { secret(name: "SHARED", environmentId: $e) { value } }`, () => ({ e: w.envA })) },
  { name: 'secret value in A1', run: q(`query($s: ID) { secret(name: "SHARED", spaceId: $s) { value } }`, () => ({ s: w.spaceA1 })) },
  { name: 'secret value in A2', run: q(`query($s: ID) { secret(name: "A2_ONLY", spaceId: $s) { value } }`, () => ({ s: w.spaceA2 })) },
  { name: 'secret value in B', run: q(`query($e: ID) { secret(name: "B_ONLY", environmentId: $e) { value } }`, () => ({ e: w.envB })) },
  { name: 'effectiveSecrets value in A', run: q(`query($e: ID) { effectiveSecrets(environmentId: $e) { value } }`, () => ({ e: w.envA })) },
  { name: 'effectiveSecrets value in B1', run: q(`query($s: ID) { effectiveSecrets(spaceId: $s) { value } }`, () => ({ s: w.spaceB1 })) },
  { name: 'Secret.value via Environment.secrets of A', run: q(`query($id: ID!) { environment(id: $id) { secrets { value } } }`, () => ({ id: w.envA })), field: 'environment' },
  { name: 'overrides.value via space A1', run: q(`query($id: ID!) { space(id: $id) { effectiveSecrets { overrides { value } } } }`, () => ({ id: w.spaceA1 })), field: 'space' },
  { name: 'upsertSecret', run: (as) => app.gql(`mutation($e: ID!) { upsertSecret(input: { environmentId: $e, name: "W", value: "v" }) { id } }`, { e: w.envA }, as) },
  { name: 'deleteSecret', run: async (as) => app.gql(`mutation($id: ID!) { deleteSecret(id: $id) }`, { id: await fresh.secret() }, as) },
  { name: 'rollbackSecret', run: async (as) => app.gql(`mutation($id: ID!) { rollbackSecret(input: { id: $id, version: 1 }) { version } }`, { id: await fresh.secret() }, as) },
  { name: 'restoreSecret', run: async (as) => app.gql(`mutation($id: ID!) { restoreSecret(id: $id) { version } }`, { id: await fresh.deleted() }, as) },
  { name: 'destroySecret', run: async (as) => app.gql(`mutation($id: ID!) { destroySecret(id: $id) }`, { id: await fresh.secret() }, as) },
  { name: 'deletedSecrets', run: q(`query($e: ID!) { deletedSecrets(environmentId: $e) { id } }`, () => ({ e: w.envA })) },
  { name: 'secret value pinned to version 1 in A', run: q(`query($e: ID) { secret(name: "SHARED", environmentId: $e, version: 1) { value } }`, () => ({ e: w.envA })) },
  { name: 'createEnvironment', run: (as) => app.gql(`mutation($n: String!) { createEnvironment(input: { name: $n }) { id } }`, { n: `e-${randomUUID()}` }, as) },
  { name: 'deleteEnvironment', run: async (as) => app.gql(`mutation($id: ID!) { deleteEnvironment(id: $id) }`, { id: await fresh.env() }, as) },
  { name: 'createSpace', run: (as) => app.gql(`mutation($e: ID!, $n: String!) { createSpace(input: { environmentId: $e, name: $n }) { id } }`, { e: w.envA, n: `s-${randomUUID()}` }, as) },
  { name: 'deleteSpace', run: async (as) => app.gql(`mutation($id: ID!) { deleteSpace(id: $id) }`, { id: await fresh.space() }, as) },
  { name: 'createApiToken', run: (as) => app.gql(`mutation($e: ID) { createApiToken(input: { name: "x", role: LISTENER, environmentId: $e }) { token } }`, { e: w.envA }, as) },
  { name: 'revokeApiToken', run: async (as) => app.gql(`mutation($id: ID!) { revokeApiToken(id: $id) { id } }`, { id: await fresh.token() }, as) },
  { name: 'apiTokens', run: q(`{ apiTokens { id } }`) },
  { name: 'signIn', run: q(`mutation { signIn { expiresAt } }`) },
  { name: 'webhooks', run: q(`{ webhooks { id } }`) },
  { name: 'createWebhook', run: (as) => app.gql(`mutation($e: ID!) { createWebhook(input: { environmentId: $e, url: "http://127.0.0.1:9/hook" }) { webhook { id } } }`, { e: w.envA }, as) },
  { name: 'deleteWebhook', run: async (as) => app.gql(`mutation($id: ID!) { deleteWebhook(id: $id) }`, { id: await fresh.webhook() }, as) },
  { name: 'signOut', run: q(`mutation { signOut }`) },
  { name: 'auditEvents', run: q(`{ auditEvents(first: 1) { edges { node { action } } } }`) },
];

const L = (a: Outcome, a1: Outcome, b: Outcome) => ({ listenerA: a, listenerA1: a1, listenerB: b });
const F = 'FORBIDDEN' as const;
const expected: Record<string, { admin: Outcome; listenerA: Outcome; listenerA1: Outcome; listenerB: Outcome }> = {
  viewer: { admin: 'ok', ...L('ok', 'ok', 'ok') },
  environments: { admin: 'ok', ...L('ok', 'ok', 'ok') },
  'environment(A)': { admin: 'ok', ...L('ok', 'ok', 'null') },
  'environment(B)': { admin: 'ok', ...L('null', 'null', 'ok') },
  'space(A1)': { admin: 'ok', ...L('ok', 'ok', 'null') },
  'space(A2)': { admin: 'ok', ...L('ok', 'null', 'null') },
  'space(B1)': { admin: 'ok', ...L('null', 'null', 'ok') },
  // ADMIN has no binding to default to; listeners resolve in their own scope
  'secret metadata, defaults': { admin: 'BAD_USER_INPUT', ...L('ok', 'ok', 'SECRET_NOT_FOUND') },
  'secret value in A': { admin: F, ...L('ok', 'ok', F) },
  'secret value in A1': { admin: F, ...L('ok', 'ok', F) },
  'secret value in A2': { admin: F, ...L('ok', F, F) },
  'secret value in B': { admin: F, ...L(F, F, 'ok') },
  'effectiveSecrets value in A': { admin: F, ...L('ok', 'ok', F) },
  'effectiveSecrets value in B1': { admin: F, ...L(F, F, 'ok') },
  'Secret.value via Environment.secrets of A': { admin: F, ...L('ok', 'ok', 'null') },
  'overrides.value via space A1': { admin: F, ...L('ok', 'ok', 'null') },
  upsertSecret: { admin: 'ok', ...L(F, F, F) },
  deleteSecret: { admin: 'ok', ...L(F, F, F) },
  rollbackSecret: { admin: 'ok', ...L(F, F, F) },
  restoreSecret: { admin: 'ok', ...L(F, F, F) },
  destroySecret: { admin: 'ok', ...L(F, F, F) },
  deletedSecrets: { admin: 'ok', ...L(F, F, F) },
  'secret value pinned to version 1 in A': { admin: F, ...L('ok', 'ok', F) },
  createEnvironment: { admin: 'ok', ...L(F, F, F) },
  deleteEnvironment: { admin: 'ok', ...L(F, F, F) },
  createSpace: { admin: 'ok', ...L(F, F, F) },
  deleteSpace: { admin: 'ok', ...L(F, F, F) },
  createApiToken: { admin: 'ok', ...L(F, F, F) },
  revokeApiToken: { admin: 'ok', ...L(F, F, F) },
  apiTokens: { admin: 'ok', ...L(F, F, F) },
  signIn: { admin: 'ok', ...L(F, F, F) },
  webhooks: { admin: 'ok', ...L(F, F, F) },
  createWebhook: { admin: 'ok', ...L(F, F, F) },
  deleteWebhook: { admin: 'ok', ...L(F, F, F) },
  // only a session signs out; the bootstrap token is not one
  signOut: { admin: 'BAD_USER_INPUT', ...L(F, F, F) },
  auditEvents: { admin: 'ok', ...L(F, F, F) },
};

function outcomeOf(res: GraphQLResponse, field?: string): Outcome | string {
  if (res.status === 401) return res.errors?.[0]?.extensions?.code === 'UNAUTHENTICATED' ? 'UNAUTHENTICATED' : `401 without code`;
  if (res.errors?.length) return String(res.errors[0].extensions?.code);
  if (field && res.data?.[field] === null) return 'null';
  return 'ok';
}

const cases = operations.flatMap((op) =>
  ROLES.map((role) => {
    const table = expected[op.name] as Record<string, Outcome>;
    const outcome: Outcome = role in table ? table[role] : 'UNAUTHENTICATED';
    return [op.name, role, outcome, op] as const;
  }),
);

it('covers every operation of the schema', () => {
  const schemaFields = Object.keys(app.container.schema.getQueryType()!.getFields()).concat(
    Object.keys(app.container.schema.getMutationType()!.getFields()),
  );
  const covered = new Set(operations.map((op) => op.name.replace(/[ (].*$/, '')));
  for (const field of schemaFields) expect({ field, covered: covered.has(field) || field === 'secret' || field === 'effectiveSecrets' }).toEqual({ field, covered: true });
});

it.each(cases)('%s as %s → %s', async (_name, role, outcome, op) => {
  const res = await op.run(tokens[role]);
  expect(outcomeOf(res, op.field)).toBe(outcome);
});

describe('what a listener can learn about other environments', () => {
  it('lists only its own environment, and only its own space when bound to one', async () => {
    const listA = dataOf(await app.gql(`{ environments { id spaces { id } } }`, {}, tokens.listenerA)).environments;
    expect(listA).toEqual([{ id: w.envA, spaces: expect.arrayContaining([{ id: w.spaceA1 }, { id: w.spaceA2 }]) }]);
    const listA1 = dataOf(await app.gql(`{ environments { id spaces { id } } }`, {}, tokens.listenerA1)).environments;
    expect(listA1).toEqual([{ id: w.envA, spaces: [{ id: w.spaceA1 }] }]);
  });

  it('answers an id of another environment exactly like an id that does not exist', async () => {
    const unknown = randomUUID();
    const pairs: [string, Record<string, unknown>, Record<string, unknown>][] = [
      [`query($id: ID!) { environment(id: $id) { id } }`, { id: w.envB }, { id: unknown }],
      [`query($id: ID!) { space(id: $id) { id } }`, { id: w.spaceB1 }, { id: unknown }],
      [`query($s: ID) { secret(name: "B1_ONLY", spaceId: $s) { name } }`, { s: w.spaceB1 }, { s: unknown }],
      [`query($s: ID) { effectiveSecrets(spaceId: $s) { name } }`, { s: w.spaceB1 }, { s: unknown }],
      [`query($e: ID) { effectiveSecrets(environmentId: $e) { name } }`, { e: w.envB }, { e: unknown }],
      [`query($e: ID, $s: ID) { effectiveSecrets(environmentId: $e, spaceId: $s) { name } }`, { e: w.envA, s: w.spaceB1 }, { e: w.envA, s: unknown }],
    ];
    for (const [query, real, fake] of pairs) {
      const a = await app.gql(query, real, tokens.listenerA);
      const b = await app.gql(query, fake, tokens.listenerA);
      expect(JSON.stringify(a)).not.toContain('B1_ONLY');
      expect({ query, answer: { ...a, status: a.status } }).toEqual({ query, answer: { ...b, status: b.status } });
    }
  });

  it('a space-bound listener resolves within its space even when asked for the environment', async () => {
    const res = await app.gql(`query($e: ID) { secret(name: "SHARED", environmentId: $e) { value source } }`, { e: w.envA }, tokens.listenerA1);
    expect(dataOf(res).secret).toEqual({ value: 'a1-space', source: 'SPACE' });
    const list = await app.gql(`{ effectiveSecrets { name value } }`, {}, tokens.listenerA1);
    const names = dataOf(list).effectiveSecrets.map((e: { name: string; value: string }) => `${e.name}=${e.value}`);
    expect(names).toContain('SHARED=a1-space');
    expect(names.filter((n: string) => /A2_ONLY|B_ONLY|B1_ONLY|a-env/.test(n))).toEqual([]);
  });

  it('an environment-bound listener defaults to its environment and may name its spaces', async () => {
    expect(dataOf(await app.gql(`{ secret(name: "SHARED") { value } }`, {}, tokens.listenerA)).secret.value).toBe('a-env');
    const inA1 = await app.gql(`query($s: ID) { secret(name: "SHARED", spaceId: $s) { value } }`, { s: w.spaceA1 }, tokens.listenerA);
    expect(dataOf(inA1).secret.value).toBe('a1-space');
  });
});

describe('refused requests', () => {
  it.each(['none', 'wrong', 'revoked'] as const)('with %s token: HTTP 401, UNAUTHENTICATED, nothing written', async (role) => {
    const before = await databaseFingerprint(app);
    const res = await app.gql(`mutation($e: ID!) { upsertSecret(input: { environmentId: $e, name: "X", value: "v" }) { id } }`, { e: w.envA }, tokens[role]);
    expect(res.status).toBe(401);
    expect(res.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(res.data).toBeUndefined();
    expect(await databaseFingerprint(app)).toBe(before);
  });

  it.each([
    ['a malformed header', { headers: { authorization: 'Token abc' } }],
    ['an empty bearer', { headers: { authorization: 'Bearer ' } }],
    ['a very long token', { headers: { authorization: `Bearer ${'x'.repeat(5000)}` } }],
  ] as const)('with %s: 401 UNAUTHENTICATED', async (_label, as) => {
    const res = await app.gql(`{ viewer { id } }`, {}, as);
    expect([res.status, res.errors?.[0].extensions?.code]).toEqual([401, 'UNAUTHENTICATED']);
  });

  it('an ADMIN reading a value gets FORBIDDEN and no value, on every path', async () => {
    const queries = [
      `query($e: ID) { secret(name: "SHARED", environmentId: $e) { value } }`,
      `query($e: ID) { effectiveSecrets(environmentId: $e) { name value } }`,
      `query($e: ID!) { environment(id: $e) { secrets { value } effectiveSecrets { value } spaces { secrets { value } effectiveSecrets { value overrides { value } secret { value } } } } }`,
    ];
    for (const query of queries) {
      const res = await app.gql(query, { e: w.envA });
      expect(res.errors?.length).toBeGreaterThan(0);
      expect(new Set(res.errors!.map((e) => e.extensions?.code))).toEqual(new Set(['FORBIDDEN']));
      expect(JSON.stringify(res)).not.toMatch(/a-env|a1-space|a2-space/);
    }
  });
});

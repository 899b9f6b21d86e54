import { startTestApp, type TestApp } from '../support/app';
import { createEnvironment, dataOf, errorCode, upsertSecret } from '../support/operations';

/* auditEvents filters (each alone and combined), keyset pages, and cursors that are not ours. */

let app: TestApp;
let env: string;
let otherEnv: string;
let reader: string;
let readerId: string;

beforeAll(async () => {
  app = await startTestApp();
  env = await createEnvironment(app, 'query');
  otherEnv = await createEnvironment(app, 'query-other');
  for (let i = 0; i < 12; i++) await upsertSecret(app, { environmentId: env, name: `N${i % 3}`, value: `v${i}` });
  await upsertSecret(app, { environmentId: otherEnv, name: 'N0', value: 'other' });
  reader = await app.listener(env);
  readerId = dataOf(await app.gql(`{ viewer { id } }`, {}, reader)).viewer.id;
  await app.gql(`{ effectiveSecrets { name value } }`, {}, reader);
  await app.gql(`{ secret(name: "N1") { value } }`, {}, reader);
});
afterAll(() => app?.close());

const QUERY = `query($e: ID, $t: ID, $n: String, $a: AuditAction, $f: Int, $after: String) {
  auditEvents(environmentId: $e, tokenId: $t, secretName: $n, action: $a, first: $f, after: $after) {
    edges { cursor node { action tokenId environmentId secretName secretVersion count } } pageInfo { hasNextPage endCursor }
  }
}`;
const list = async (vars: Record<string, unknown>) => dataOf(await app.gql(QUERY, { f: 500, ...vars })).auditEvents;
const nodes = async (vars: Record<string, unknown>) => (await list(vars)).edges.map((e: any) => e.node);

it('filters by token, secret name and action, alone and together', async () => {
  const byToken = await nodes({ t: readerId });
  expect(byToken.map((n: any) => [n.action, n.secretName])).toEqual([
    ['SECRET_READ', 'N1'],
    ['SECRET_READ', expect.any(String)],
    ['SECRET_READ', expect.any(String)],
    ['SECRET_READ', expect.any(String)],
  ]);
  const byName = await nodes({ n: 'N0' });
  expect(byName.map((n: any) => n.environmentId).sort()).toEqual([...Array(4).fill(env), otherEnv, env].sort());
  expect(byName.every((n: any) => n.secretName === 'N0')).toBe(true);
  expect(await nodes({ n: 'N0', e: env, a: 'SECRET_WRITTEN' })).toHaveLength(4);
  expect(await nodes({ n: 'N0', t: readerId })).toEqual([expect.objectContaining({ action: 'SECRET_READ', secretName: 'N0' })]);
  const created = await nodes({ a: 'ENVIRONMENT_CREATED' });
  expect(created.map((n: any) => n.environmentId)).toEqual([otherEnv, env]);
  const reads = await nodes({ a: 'SECRET_READ' });
  expect(reads).toHaveLength(4);
  expect(await nodes({ n: 'no such name' })).toEqual([]);
});

it('pages newest first by seq across pages of any size, with every filter', async () => {
  const seqOf = (cursor: string) => BigInt(Buffer.from(cursor, 'base64url').toString().slice('audit:'.length));
  for (const vars of [{}, { e: env }, { n: 'N2' }, { a: 'SECRET_WRITTEN' }]) {
    const all = (await list(vars)).edges;
    const paged: any[] = [];
    let after: string | null = null;
    do {
      const page: any = await list({ ...vars, f: 2, after });
      paged.push(...page.edges);
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
    expect(paged.map((e) => e.cursor)).toEqual(all.map((e: any) => e.cursor));
    const seqs = all.map((e: any) => seqOf(e.cursor));
    expect(seqs).toEqual([...seqs].sort((a, b) => (a > b ? -1 : 1))); // numerically, past 9 → 10
  }
});

it.each([
  ['a seq beyond bigint', Buffer.from('audit:9999999999999999999').toString('base64url')],
  ['a negative seq', Buffer.from('audit:-1').toString('base64url')],
  ['seq zero', Buffer.from('audit:0').toString('base64url')],
  ['not base64', '!!!'],
  ['another prefix', Buffer.from('secret:12').toString('base64url')],
])('a forged cursor (%s) is BAD_USER_INPUT, and no SQL reaches the log', async (_label, cursor) => {
  const before = app.logs.length;
  const res = await app.gql(QUERY, { after: cursor });
  expect(errorCode(res)).toBe('BAD_USER_INPUT');
  expect(res.errors![0].extensions?.field).toBe('after');
  expect(res.status).toBe(200);
  expect(app.logs.slice(before).join('\n')).not.toMatch(/SELECT|audit_event|bigint/i);
});

it('refuses bad filters with the field named', async () => {
  for (const [vars, field] of [
    [{ t: 'not-a-uuid' }, 'tokenId'],
    [{ n: '' }, 'secretName'],
    [{ n: 'x'.repeat(1025) }, 'secretName'],
  ] as const) {
    const res = await app.gql(QUERY, vars);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0].extensions?.field).toBe(field);
  }
});

it('a literal auditEvents(first: 500) selecting the new fields is accepted', async () => {
  const res = await app.gql(`{ auditEvents(first: 500) { edges { cursor node { id at action tokenId environmentId spaceId secretName secretVersion source subjectTokenId count firstAt lastAt } } pageInfo { hasNextPage endCursor } } }`);
  expect(res.errors).toBeUndefined();
});

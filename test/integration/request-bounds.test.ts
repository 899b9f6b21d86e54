import { startTestApp, type TestApp } from '../support/app';
import { createEnvironment, createSpace, dataOf, databaseFingerprint, upsertSecret } from '../support/operations';

/*
 * One request's work is bounded, and a request that can only fail on access
 * is refused before anything executes (issue "One door"; DESIGN §15).
 */

let app: TestApp;
let env: string;
let reader: string;

beforeAll(async () => {
  app = await startTestApp({ env: { MAX_VALUES_PER_REQUEST: '12' } });
  env = await createEnvironment(app, 'bounds');
  for (let s = 0; s < 3; s++) await createSpace(app, env, `space-${s}`);
  for (let i = 0; i < 10; i++) await upsertSecret(app, { environmentId: env, name: `K${i}`, value: `bounded-value-${i}` });
  reader = await app.listener(env);
});
afterAll(() => app?.close());

const readsOf = async () =>
  (await app.sql<{ n: number }>(`SELECT count(*)::int AS n FROM audit_event WHERE action = 'SECRET_READ' AND environment_id = $1`, [env]))[0].n;

describe('refused before anything executes', () => {
  it('an ADMIN mutation selecting a value writes nothing', async () => {
    const before = await databaseFingerprint(app);
    const res = await app.gql(
      `mutation($e: ID!) { upsertSecret(input: { environmentId: $e, name: "WRITTEN_TWICE", value: "retry-me-value" }) { version value } }`,
      { e: env },
    );
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    expect(res.data ?? null).toBeNull();
    expect(await databaseFingerprint(app)).toBe(before);
  });

  it('decides @include with the request’s variables', async () => {
    const mutation = `mutation($e: ID!, $n: String!, $v: Boolean!) {
      upsertSecret(input: { environmentId: $e, name: $n, value: "included-value" }) { version value @include(if: $v) }
    }`;
    const before = await databaseFingerprint(app);
    const refused = await app.gql(mutation, { e: env, n: 'INCLUDED', v: true });
    expect(refused.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(await databaseFingerprint(app)).toBe(before);
    const written = await app.gql(mutation, { e: env, n: 'INCLUDED', v: false });
    expect(dataOf(written).upsertSecret).toEqual({ version: 1 });
  });

  it('a listener mutation writes nothing', async () => {
    const before = await databaseFingerprint(app);
    const res = await app.gql(`mutation($e: ID!) { createSpace(input: { environmentId: $e, name: "nope" }) { id } }`, { e: env }, reader);
    expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(await databaseFingerprint(app)).toBe(before);
  });
});

describe('the work of one request', () => {
  it('refuses the alias amplification query by its list-aware cost, before any decryption', async () => {
    const inner = `effectiveSecrets { value overrides { value } secret { value } }`;
    const alias = (i: number) => `a${i}: environments { ${inner} spaces { ${inner} } }`;
    const query = `{ ${Array.from({ length: 15 }, (_, i) => alias(i)).join(' ')} }`;
    const before = await readsOf();
    const res = await app.gql(query, {}, reader);
    expect(res.status).toBe(400);
    expect(res.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.errors?.[0].message).toMatch(/too expensive/);
    expect(res.errors?.[0].message).not.toMatch(/Syntax Error/);
    expect(await readsOf()).toBe(before);
  });

  it('decrypts and audits each (secret, version) once, however often a request selects it', async () => {
    const before = await readsOf();
    const res = await app.gql(
      `{ a: secret(name: "K1") { value secret { value } } b: secret(name: "K1") { value } c: effectiveSecrets { value secret { value } } }`,
      {},
      reader,
    );
    expect(dataOf(res).a.value).toBe('bounded-value-1');
    expect(await readsOf()).toBe(before + 11); // K0..K9 and INCLUDED, each once
  });

  it('over MAX_VALUES_PER_REQUEST, withholds the whole answer and audits nothing', async () => {
    await upsertSecret(app, { environmentId: env, name: 'K10', value: 'bounded-value-10' });
    await upsertSecret(app, { environmentId: env, name: 'K11', value: 'bounded-value-11' });
    const before = await readsOf();
    const res = await app.gql(`{ effectiveSecrets { name value } }`, {}, reader); // 13 values > 12
    expect(res.status).toBe(400);
    expect(res.errors?.[0].extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'value' });
    expect(JSON.stringify(res)).not.toContain('bounded-value');
    expect(await readsOf()).toBe(before);

    const rest = await fetch(`${app.url}/v1/secrets?environmentId=${env}`, { headers: { authorization: `Bearer ${reader}` } });
    expect(rest.status).toBe(400);
    expect(await rest.text()).not.toContain('bounded-value');
    expect(await readsOf()).toBe(before);
  });

  it('answers auditEvents(first: 500) with every field: the documented range is accepted', async () => {
    const res = await app.gql(
      `{ auditEvents(first: 500) { edges { cursor node { id at action tokenId environmentId spaceId secretName secretVersion source } } pageInfo { hasNextPage endCursor } } }`,
    );
    expect(res.errors).toBeUndefined();
  });
});

describe('HTTP edges', () => {
  it('rejects missing credentials before reading a large body', async () => {
    const nested = '['.repeat(200_000) + ']'.repeat(200_000);
    const res = await fetch(`${app.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: nested });
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('HEAD /v1/secrets does no work: 405, no decryption, no audit row', async () => {
    const before = await readsOf();
    const res = await fetch(`${app.url}/v1/secrets?environmentId=${env}`, { method: 'HEAD', headers: { authorization: `Bearer ${reader}` } });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, POST');
    expect(await readsOf()).toBe(before);
  });

  it('POST /v1/secrets with an unsupported media type is 415', async () => {
    const res = await fetch(`${app.url}/v1/secrets`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: `Bearer test-bootstrap-admin-token-0123456789abcdef` },
      body: 'name=X',
    });
    expect(res.status).toBe(415);
  });
});

import { ADMIN_TOKEN, startTestApp, type TestApp } from '../support/app';
import { createEnvironment, createSpace, databaseFingerprint, upsertSecret } from '../support/operations';

/*
 * Bad input, one case per row: the exact status and error code, and a
 * database left exactly as it was. No case may produce a 5xx, and no
 * response or log line may echo the marker the input carries.
 */

let app: TestApp;
let production: TestApp;
let env: string;
let otherSpace: string;
let reader: string;
let secretId: string;
const MARKER = 'HOSTILE-MARKER-7f3a';

beforeAll(async () => {
  app = await startTestApp();
  production = await startTestApp({ env: { NODE_ENV: 'production' } });
  env = await createEnvironment(app, 'hostile');
  otherSpace = await createSpace(app, await createEnvironment(app, 'hostile-other'), 'elsewhere');
  secretId = (await upsertSecret(app, { environmentId: env, name: 'EXISTING', value: 'existing-value' })).id;
  reader = await app.listener(env);
});
afterAll(async () => {
  await app?.close();
  await production?.close();
});

interface Sent {
  status: number;
  body: any;
  text: string;
}

async function send(
  target: TestApp,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = { 'content-type': 'application/json' },
  token: string | null = ADMIN_TOKEN,
): Promise<Sent> {
  const response = await fetch(`${target.url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body,
  });
  const text = await response.text();
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, body: parsed, text };
}

const gql = (query: string, variables?: unknown, token: string | null = ADMIN_TOKEN, target = app) =>
  send(target, 'POST', '/graphql', JSON.stringify({ query, variables }), { 'content-type': 'application/json' }, token);
const upsert = (input: Record<string, unknown>) =>
  gql(`mutation($i: UpsertSecretInput!) { upsertSecret(input: $i) { id } }`, { i: { environmentId: env, name: 'N', value: 'v', ...input } });
const rest = (method: string, path: string, body?: unknown, headers?: Record<string, string>, token: string | null = ADMIN_TOKEN) =>
  send(app, method, path, body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body), headers ?? { 'content-type': 'application/json' }, token);

/** GraphQL errors carry extensions.code; REST errors carry code. */
const codeOf = (sent: Sent): unknown => sent.body?.errors?.[0]?.extensions?.code ?? sent.body?.errors?.[0]?.code;

const huge = (bytes: number) => `{"query":"{ viewer { id } }","variables":{"pad":"${'x'.repeat(bytes)}"}}`;
const deep = `{ environments { spaces { environment { spaces { environment { spaces { environment { spaces { environment { spaces { id } } } } } } } } } } }`;
const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: effectiveSecrets(environmentId: "ENV") { name }`).join(' ')} }`;

const cases: [string, () => Promise<Sent>, number, string][] = [
  // transport and request shape
  ['GraphQL: malformed JSON', () => send(app, 'POST', '/graphql', `{"query": "{ viewer { id } }", "x": ${MARKER}`), 400, 'BAD_USER_INPUT'],
  ['GraphQL: invalid UTF-8 in the body', () => send(app, 'POST', '/graphql', Buffer.concat([Buffer.from('{"query":"{ viewer { id } }","v":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')])), 400, 'BAD_USER_INPUT'],
  ['GraphQL: text/plain body (CSRF guard)', () => send(app, 'POST', '/graphql', '{ viewer { id } }', { 'content-type': 'text/plain' }), 400, 'BAD_REQUEST'],
  ['GraphQL: form body', () => send(app, 'POST', '/graphql', 'query=x', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'BAD_USER_INPUT'],
  ['GraphQL: batched operations', () => send(app, 'POST', '/graphql', JSON.stringify([{ query: '{ viewer { id } }' }, { query: '{ viewer { id } }' }])), 400, 'BAD_REQUEST'],
  ['GraphQL: no query', () => send(app, 'POST', '/graphql', JSON.stringify({ variables: {} })), 400, 'BAD_REQUEST'],
  ['GraphQL: query is not a string', () => send(app, 'POST', '/graphql', JSON.stringify({ query: { q: 1 } })), 400, 'BAD_REQUEST'],
  ['GraphQL: variables is not an object', () => send(app, 'POST', '/graphql', JSON.stringify({ query: '{ viewer { id } }', variables: 'x' })), 400, 'BAD_REQUEST'],
  ['GraphQL: body over the size limit', () => send(app, 'POST', '/graphql', huge(1_100_000)), 413, 'BAD_USER_INPUT'],
  ['GraphQL: a mutation over GET', () => send(app, 'GET', `/graphql?query=${encodeURIComponent('mutation { createEnvironment(input: { name: "g" }) { id } }')}`, undefined, { 'apollo-require-preflight': 'true' }), 405, 'BAD_REQUEST'],
  ['GraphQL: GET without a preflight header (CSRF guard)', () => send(app, 'GET', `/graphql?query=${encodeURIComponent('{ viewer { id } }')}`, undefined, {}), 400, 'BAD_REQUEST'],
  // documents
  ['GraphQL: syntax error', () => gql(`{ viewer { id }`), 400, 'GRAPHQL_PARSE_FAILED'],
  ['GraphQL: unknown field', () => gql(`{ viewer { password } }`), 400, 'GRAPHQL_VALIDATION_FAILED'],
  ['GraphQL: unknown operationName', () => send(app, 'POST', '/graphql', JSON.stringify({ query: 'query A { viewer { id } }', operationName: 'B' })), 400, 'OPERATION_RESOLUTION_FAILURE'],
  ['GraphQL: two operations, no operationName', () => gql(`query A { viewer { id } } query B { viewer { id } }`), 400, 'OPERATION_RESOLUTION_FAILURE'],
  ['GraphQL: query deeper than the limit', () => gql(deep), 400, 'GRAPHQL_VALIDATION_FAILED'],
  ['GraphQL: 100 aliases of effectiveSecrets', () => gql(aliases(100).replaceAll('ENV', env)), 400, 'GRAPHQL_VALIDATION_FAILED'],
  ['GraphQL: a huge document (token limit)', () => gql(`{ viewer { ${'id '.repeat(3000)} } }`), 400, 'GRAPHQL_PARSE_FAILED'],
  ['GraphQL: directive bomb', () => gql(`{ viewer { id ${'@include(if: true) '.repeat(60)} } }`), 400, 'GRAPHQL_VALIDATION_FAILED'],
  // variables and input
  ['GraphQL: missing required input field', () => gql(`mutation($i: UpsertSecretInput!) { upsertSecret(input: $i) { id } }`, { i: { environmentId: env, value: MARKER } }), 400, 'BAD_USER_INPUT'],
  ['GraphQL: extra input field', () => upsert({ colour: MARKER }), 400, 'BAD_USER_INPUT'],
  ['GraphQL: value of the wrong type', () => upsert({ value: { nested: MARKER } }), 400, 'BAD_USER_INPUT'],
  ['GraphQL: value as a list containing "; "', () => upsert({ value: [`a; ${MARKER}`] }), 400, 'BAD_USER_INPUT'],
  ['GraphQL: expectedVersion as a float', () => upsert({ expectedVersion: 1.5 }), 400, 'BAD_USER_INPUT'],
  ['GraphQL: expectedVersion negative', () => upsert({ expectedVersion: -1 }), 200, 'BAD_USER_INPUT'],
  ['GraphQL: expectedVersion beyond Int', () => upsert({ expectedVersion: 2 ** 40 }), 400, 'BAD_USER_INPUT'],
  ['GraphQL: empty name', () => upsert({ name: '' }), 200, 'BAD_USER_INPUT'],
  ['GraphQL: 1,025-character name', () => upsert({ name: 'n'.repeat(1025) }), 200, 'BAD_USER_INPUT'],
  ['GraphQL: name with NUL', () => upsert({ name: 'A\u0000B' }), 200, 'BAD_USER_INPUT'],
  ['GraphQL: name with a C1 control', () => upsert({ name: 'A\u0085B' }), 200, 'BAD_USER_INPUT'],
  ['GraphQL: name with leading space', () => upsert({ name: ' A' }), 200, 'BAD_USER_INPUT'],
  ['GraphQL: name with trailing no-break space', () => upsert({ name: 'A\u00a0' }), 200, 'BAD_USER_INPUT'],
  ['GraphQL: name with a lone surrogate', () => upsert({ name: 'A\ud800' }), 200, 'BAD_USER_INPUT'],
  ['GraphQL: empty value', () => upsert({ value: '' }), 200, 'BAD_USER_INPUT'],
  ['GraphQL: value of 64 KiB + 1', () => upsert({ value: MARKER + 'x'.repeat(65537 - MARKER.length) }), 200, 'BAD_USER_INPUT'],
  ['GraphQL: non-UUID environmentId', () => upsert({ environmentId: `${MARKER}` }), 200, 'BAD_USER_INPUT'],
  ['GraphQL: unknown environmentId', () => upsert({ environmentId: '00000000-0000-4000-8000-000000000000' }), 200, 'NOT_FOUND'],
  ['GraphQL: space of another environment', () => upsert({ spaceId: otherSpace }), 200, 'BAD_USER_INPUT'],
  ['GraphQL: deleteSecret with a non-UUID id', () => gql(`mutation { deleteSecret(id: "1 OR 1=1") }`), 200, 'BAD_USER_INPUT'],
  ['GraphQL: deleteSecret with an unknown id', () => gql(`mutation { deleteSecret(id: "00000000-0000-4000-8000-000000000000") }`), 200, 'NOT_FOUND'],
  ['GraphQL: auditEvents with a forged cursor', () => gql(`{ auditEvents(after: "${Buffer.from('audit:1 OR 1=1').toString('base64url')}") { edges { cursor } } }`), 200, 'BAD_USER_INPUT'],
  ['GraphQL: a listener writing', () => gql(`mutation($e: ID!) { upsertSecret(input: { environmentId: $e, name: "L", value: "v" }) { id } }`, { e: env }, reader), 200, 'FORBIDDEN'],
  // production mode
  ['GraphQL (production): introspection', () => gql(`{ __schema { types { name } } }`, undefined, ADMIN_TOKEN, production), 400, 'GRAPHQL_VALIDATION_FAILED'],
  ['GraphQL (production): field suggestion', () => gql(`{ environmnts { id } }`, undefined, ADMIN_TOKEN, production), 400, 'GRAPHQL_VALIDATION_FAILED'],
  // REST
  ['REST: malformed JSON', () => rest('POST', '/v1/secrets', `{"name":"X","value":"${MARKER}`), 400, 'BAD_USER_INPUT'],
  ['REST: invalid UTF-8 in a name', () => rest('POST', '/v1/secrets', Buffer.concat([Buffer.from('{"name":"A'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from(`","value":"v","environmentId":"${'0'.repeat(8)}"}`)])), 400, 'BAD_USER_INPUT'],
  ['REST: JSON null body', () => rest('POST', '/v1/secrets', 'null'), 400, 'BAD_USER_INPUT'],
  ['REST: missing environmentId on GET', () => rest('GET', '/v1/secrets', undefined, {}, reader), 400, 'BAD_USER_INPUT'],
  ['REST: extra body field', () => rest('POST', '/v1/secrets', { name: 'X', value: MARKER, environmentId: env, admin: true }), 400, 'BAD_USER_INPUT'],
  ['REST: value of 64 KiB + 1', () => rest('POST', '/v1/secrets', { name: 'X', value: MARKER + 'x'.repeat(65537), environmentId: env }), 400, 'BAD_USER_INPUT'],
  ['REST: escaped lone surrogate in a name', () => rest('POST', '/v1/secrets', `{"name":"A\\ud800","value":"v","environmentId":"${env}"}`), 400, 'BAD_USER_INPUT'],
  ['REST: __proto__ pollution attempt', () => rest('POST', '/v1/secrets', `{"name":"X","value":"v","environmentId":"${env}","__proto__":{"admin":true}}`), 400, 'BAD_USER_INPUT'],
  ['REST: DELETE with a non-UUID id', () => rest('DELETE', '/v1/secrets/..%2F..%2Fetc'), 400, 'BAD_USER_INPUT'],
  ['REST: DELETE of an unknown id', () => rest('DELETE', '/v1/secrets/00000000-0000-4000-8000-000000000000'), 404, 'NOT_FOUND'],
  ['REST: body over the size limit', () => rest('POST', '/v1/secrets', huge(1_100_000)), 413, 'BAD_USER_INPUT'],
  ['REST: wrong content type', () => rest('POST', '/v1/secrets', 'name=X', { 'content-type': 'text/csv' }), 415, 'BAD_USER_INPUT'],
  ['REST: a listener deleting', () => rest('DELETE', `/v1/secrets/${secretId}`, undefined, {}, reader), 403, 'FORBIDDEN'],
];

it('has at least 40 distinct cases', () => {
  expect(new Set(cases.map(([name]) => name)).size).toBeGreaterThanOrEqual(40);
});

it.each(cases)('%s → %i %s, database unchanged', async (_name, run, status, code) => {
  const before = await databaseFingerprint(app);
  const sent = await run();
  expect({ status: sent.status, code: codeOf(sent) }).toEqual({ status, code });
  expect(sent.text).not.toContain(MARKER);
  expect(sent.text).not.toContain('existing-value');
  expect(sent.text).not.toMatch(/Did you mean/);
  expect(await databaseFingerprint(app)).toBe(before);
});

it('no log line of the whole suite echoes the hostile input', () => {
  expect(app.logs.join('\n')).not.toContain(MARKER);
  expect(production.logs.join('\n')).not.toContain(MARKER);
});

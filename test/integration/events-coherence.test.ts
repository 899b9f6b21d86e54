import { ADMIN_TOKEN, startTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createEnvironment, dataOf, upsertSecret } from '../support/operations';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { openSession, type Session } from '../support/ws';

/*
 * DESIGN §9/§12 coherence across three instances on one database: token
 * lookups are cached per instance while change notifications flow, and a
 * revocation on one instance holds on the others within 1 s, closing the
 * token's subscriptions everywhere with 4403 within 2 s. Instance C listens
 * through a TCP proxy (DATABASE_LISTEN_URL), so the test can take its
 * listening connection down while its pool stays up.
 */

let database: TestDatabase;
let a: TestApp;
let b: TestApp;
let c: TestApp;
let proxy: TcpProxy;
let env: string;
const sessions: Session[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  const url = new URL(database.url);
  proxy = await startTcpProxy(url.hostname, Number(url.port || 5432));
  const listenUrl = new URL(database.url);
  listenUrl.port = String(proxy.port);
  a = await startTestApp({ database, keepDatabase: true });
  // polls rarely: statements counted on B are the requests' own
  b = await startTestApp({ database, keepDatabase: true, env: { EVENTS_POLL_MS: '600000' } });
  c = await startTestApp({ database, keepDatabase: true, env: { DATABASE_LISTEN_URL: listenUrl.toString(), EVENTS_POLL_MS: '200' } });
  env = await createEnvironment(a, 'coherence');
});
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  for (const app of [a, b, c]) await app?.close();
  await proxy?.close();
  await database?.drop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function createToken(input: Record<string, unknown>): Promise<{ token: string; id: string }> {
  const res = await a.gql(`mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token apiToken { id } } }`, { i: input });
  const created = dataOf(res).createApiToken;
  return { token: created.token, id: created.apiToken.id };
}

/** Polls until `check` holds; resolves with the ms it took, rejects after `withinMs`. */
async function within(withinMs: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > withinMs) throw new Error(`still not so after ${withinMs} ms`);
    await sleep(10);
  }
}

const refused = (app: TestApp, token: string) => async () => (await app.gql(`{ __typename }`, {}, token)).status === 401;

it('a known token costs no statement while notifications flow', async () => {
  const { token } = await createToken({ name: 'cached', role: 'LISTENER', environmentId: env });
  expect((await b.gql(`{ __typename }`, {}, token)).status).toBe(200); // looked up once
  const before = b.container.database.observer.statements;
  for (let i = 0; i < 20; i++) expect((await b.gql(`{ __typename }`, {}, token)).status).toBe(200);
  expect(b.container.database.observer.statements - before).toBe(0);
});

it('a token revoked on A is refused by B and C within 1 s, and its subscriptions close with 4403 within 2 s', async () => {
  const { token, id } = await createToken({ name: 'to revoke', role: 'LISTENER', environmentId: env });
  for (const app of [b, c]) expect((await app.gql(`{ __typename }`, {}, token)).status).toBe(200); // cached there now
  const onB = await openSession(b.url, { token });
  const onC = await openSession(c.url, { token });
  sessions.push(onB, onC);
  const streams = [onB.subscribe({}), onC.subscribe({})];
  await sleep(200);

  dataOf(await a.gql(`mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }`, { id }));
  const closedWithin = (session: Session) => Promise.race([session.closed, sleep(2000).then(() => ({ code: 0, reason: 'still open after 2 s' }))]);
  const [refusedB, refusedC, closedB, closedC] = await Promise.all([
    within(1000, refused(b, token)),
    within(1000, refused(c, token)),
    closedWithin(onB),
    closedWithin(onC),
  ]);
  expect(refusedB).toBeLessThanOrEqual(1000);
  expect(refusedC).toBeLessThanOrEqual(1000);
  expect([closedB, closedC]).toEqual([
    { code: 4403, reason: 'token revoked' },
    { code: 4403, reason: 'token revoked' },
  ]);
  for (const stream of streams) expect(stream.completed).toBe(false);
});

it('an admin UI session ends everywhere when the token that signed in is revoked', async () => {
  const { token, id } = await createToken({ name: 'signs in', role: 'ADMIN' });
  const signIn = await fetch(`${a.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: 'mutation { signIn { expiresAt } }' }),
  });
  const cookie = signIn.headers.get('set-cookie')!.split(';')[0];
  const session = await openSession(b.url, { token: null, headers: { cookie, origin: b.url } });
  sessions.push(session);
  dataOf(await a.gql(`mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }`, { id }));
  expect(await session.closed).toEqual({ code: 4403, reason: 'token revoked' });
});

it('a token expires on time on every instance, cached or not, and its subscriptions close with 4403', async () => {
  const expiresAt = new Date(Date.now() + 2500);
  const { token } = await createToken({ name: 'short-lived', role: 'LISTENER', environmentId: env, expiresAt: expiresAt.toISOString() });
  expect((await b.gql(`{ __typename }`, {}, token)).status).toBe(200);
  const session = await openSession(c.url, { token });
  sessions.push(session);
  await sleep(Math.max(0, expiresAt.getTime() - Date.now()));
  expect((await b.gql(`{ __typename }`, {}, token)).status).toBe(401);
  expect(await session.closed).toEqual({ code: 4403, reason: 'token expired' });
});

describe('while an instance cannot listen', () => {
  afterAll(() => proxy.restore());

  it('C caches nothing, reports `events` on /readyz, still delivers by polling, and catches up after reconnecting', async () => {
    const { token, id } = await createToken({ name: 'revoked behind its back', role: 'LISTENER', environmentId: env });
    expect((await c.gql(`{ __typename }`, {}, token)).status).toBe(200);
    const admin = await openSession(c.url, { token: ADMIN_TOKEN });
    sessions.push(admin);
    const stream = admin.subscribe({ environmentId: env });
    await sleep(200);

    await proxy.cut();
    await within(5000, async () => (await fetch(`${c.url}/readyz`)).status === 503);
    expect(await (await fetch(`${c.url}/readyz`)).json()).toEqual({ status: 'unavailable', failing: ['events'] });
    /* Revoked with no notification at all: only a lookup can know. */
    await a.sql(`UPDATE api_token SET revoked_at = now() WHERE id = $1`, [id]);
    expect((await c.gql(`{ __typename }`, {}, token)).status).toBe(401);

    await upsertSecret(a, { environmentId: env, name: 'WHILE_DEAF', value: 'while-deaf-value' });
    await stream.waitFor(1, 5000); // the poll finds it

    await proxy.restore();
    await within(10_000, async () => (await fetch(`${c.url}/readyz`)).status === 200);
    await upsertSecret(b, { environmentId: env, name: 'AFTER_RECONNECT', value: 'after-value' });
    const events = await stream.waitFor(2, 5000);
    expect(events.map((e) => e.name)).toEqual(['WHILE_DEAF', 'AFTER_RECONNECT']);
    expect(c.logs.join('\n')).toMatch(/listening connection lost; reconnecting[\s\S]*listening connection reconnected/);
  });
});

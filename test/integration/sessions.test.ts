import { ADMIN_TOKEN, startTestApp, type TestApp } from '../support/app';
import { dataOf } from '../support/operations';
import { openSession } from '../support/ws';

/* Admin UI sessions (DESIGN §14): an ADMIN token exchanged for an HttpOnly cookie, same-origin only, 8 h fixed. */

let app: TestApp;
let origin: string;
beforeAll(async () => {
  app = await startTestApp();
  origin = app.url;
});
afterAll(() => app?.close());

async function post(body: object, headers: Record<string, string>) {
  const res = await fetch(`${app.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, setCookie: res.headers.getSetCookie(), text: await res.text() };
}

async function signIn(token = ADMIN_TOKEN) {
  const res = await post({ query: `mutation { signIn { expiresAt apiToken { id name role expiresAt parentTokenId } } }` }, { authorization: `Bearer ${token}` });
  const cookie = res.setCookie.find((c) => c.startsWith('secretspace_session='));
  return { ...res, cookie: cookie?.split(';')[0], data: JSON.parse(res.text).data?.signIn };
}

const viewerWith = (cookie: string, headers: Record<string, string> = { origin }) =>
  post({ query: `{ viewer { id name role expiresAt } }` }, { cookie, ...headers });

it('signIn sets an HttpOnly, SameSite=Strict session cookie and never puts the token in the answer', async () => {
  const signed = await signIn();
  expect(signed.status).toBe(200);
  const header = signed.setCookie.find((c) => c.startsWith('secretspace_session='))!;
  expect(header).toMatch(/; HttpOnly/i);
  expect(header).toMatch(/; SameSite=Strict/i);
  expect(header).toMatch(/; Path=\//i);
  expect(header).not.toMatch(/; Secure/i); // plain http here; https sets Secure
  const token = signed.cookie!.split('=')[1];
  expect(token).toMatch(/^sst_/);
  expect(signed.text).not.toContain(token);
  const hours = (Date.parse(signed.data.expiresAt) - Date.now()) / 3_600_000;
  expect(hours).toBeGreaterThan(7.9);
  expect(hours).toBeLessThanOrEqual(8);
  const admin = dataOf(await app.gql(`{ viewer { id } }`)).viewer.id;
  expect(signed.data.apiToken).toMatchObject({ role: 'ADMIN', name: 'session of bootstrap', parentTokenId: admin });
});

it('the cookie authenticates same-origin requests only', async () => {
  const { cookie } = await signIn();
  const ok = await viewerWith(cookie!);
  expect(ok.status).toBe(200);
  expect(JSON.parse(ok.text).data.viewer.role).toBe('ADMIN');
  const origins: Record<string, string>[] = [{ origin: 'http://evil.example' }, { origin: origin.replace('127.0.0.1', 'localhost') }, {}];
  for (const headers of origins) {
    const refused = await viewerWith(cookie!, headers);
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.text).errors[0].extensions.code).toBe('FORBIDDEN');
  }
  const rest = await fetch(`${app.url}/v1/secrets?environmentId=00000000-0000-4000-8000-000000000000`, { headers: { cookie: cookie!, origin: 'http://evil.example' } });
  expect(rest.status).toBe(403);
});

it('the cookie authenticates the WebSocket upgrade (as the admin UI connects) from this server’s own origin only', async () => {
  const { cookie } = await signIn();
  const environmentId = dataOf(await app.gql(`mutation { createEnvironment(input: { name: "ws-cookie" }) { id } }`)).createEnvironment.id;
  const live = await openSession(app.url, { token: null, headers: { cookie: cookie!, origin } });
  const stream = live.subscribe({ environmentId });
  await new Promise((resolve) => setTimeout(resolve, 300));
  dataOf(await app.gql(`mutation($input: UpsertSecretInput!) { upsertSecret(input: $input) { id } }`, { input: { environmentId, name: 'VIA_COOKIE', value: 'via-cookie-value' } }));
  expect((await stream.waitFor(1)).map((event) => event.name)).toEqual(['VIA_COOKIE']);
  await live.close();

  const origins: Record<string, string>[] = [{ origin: 'http://evil.example' }, { origin: origin.replace('127.0.0.1', 'localhost') }, {}];
  for (const headers of origins) {
    await expect(openSession(app.url, { token: null, headers: { cookie: cookie!, ...headers } })).rejects.toMatchObject({ code: 4403 });
  }
});

it('the session is listed with its expiry, and signOut revokes it and clears the cookie', async () => {
  const { cookie, data } = await signIn();
  const tokens = dataOf(await app.gql(`{ apiTokens { id expiresAt revokedAt } }`)).apiTokens;
  expect(tokens.find((t: { id: string }) => t.id === data.apiToken.id)).toMatchObject({ expiresAt: data.expiresAt, revokedAt: null });
  const out = await post({ query: `mutation { signOut }` }, { cookie: cookie!, origin });
  expect(JSON.parse(out.text).data.signOut).toBe(true);
  expect(out.setCookie.some((c) => /^secretspace_session=;/.test(c) && /Expires=Thu, 01 Jan 1970/i.test(c))).toBe(true);
  expect((await viewerWith(cookie!)).status).toBe(401);
});

it('signOut with a plain token is refused: it is not a session', async () => {
  const res = await app.gql(`mutation { signOut }`);
  expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  expect((await app.gql(`{ viewer { id } }`)).status).toBe(200);
});

it('revoking the token that signed in ends its sessions, also those a session opened again', async () => {
  const created = dataOf(await app.gql(`mutation { createApiToken(input: { name: "ops", role: ADMIN }) { token apiToken { id } } }`)).createApiToken;
  const first = await signIn(created.token);
  const again = await post({ query: `mutation { signIn { apiToken { parentTokenId } } }` }, { cookie: first.cookie!, origin });
  const second = again.setCookie.find((c) => c.startsWith('secretspace_session='))!.split(';')[0];
  expect(JSON.parse(again.text).data.signIn.apiToken.parentTokenId).toBe(created.apiToken.id);
  expect((await viewerWith(first.cookie!)).status).toBe(200);
  await app.gql(`mutation($id: ID!) { revokeApiToken(id: $id) { id } }`, { id: created.apiToken.id });
  expect((await viewerWith(first.cookie!)).status).toBe(401);
  expect((await viewerWith(second)).status).toBe(401);
});

it('a LISTENER cannot sign in', async () => {
  const env = dataOf(await app.gql(`mutation { createEnvironment(input: { name: "sessions" }) { id } }`)).createEnvironment.id;
  const res = await signIn(await app.listener(env));
  expect(res.cookie).toBeUndefined();
  expect(JSON.parse(res.text).errors[0].extensions.code).toBe('FORBIDDEN');
});

describe('expiresAt, for every token', () => {
  it('an expired token is UNAUTHENTICATED', async () => {
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    const created = dataOf(
      await app.gql(`mutation($x: DateTime) { createApiToken(input: { name: "brief", role: ADMIN, expiresAt: $x }) { token apiToken { expiresAt } } }`, { x: expiresAt }),
    ).createApiToken;
    expect(created.apiToken.expiresAt).toBe(expiresAt);
    expect((await app.gql(`{ viewer { id } }`, {}, created.token)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1700));
    const res = await app.gql(`{ viewer { id } }`, {}, created.token);
    expect([res.status, res.errors?.[0].extensions?.code]).toEqual([401, 'UNAUTHENTICATED']);
  });

  it('an expiry in the past is BAD_USER_INPUT on expiresAt', async () => {
    const res = await app.gql(`mutation { createApiToken(input: { name: "late", role: ADMIN, expiresAt: "2020-01-01T00:00:00Z" }) { token } }`);
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'expiresAt' });
  });
});

it('a session never outlives its signing token: capped at its expiry, and refused once it is revoked', async () => {
  const expiresAt = new Date(Date.now() + 60 * 60 * 1000).toISOString();
  const created = dataOf(
    await app.gql(`mutation($x: DateTime) { createApiToken(input: { name: "short", role: ADMIN, expiresAt: $x }) { token apiToken { id } } }`, { x: expiresAt }),
  ).createApiToken;
  const signed = await signIn(created.token);
  expect(signed.data.expiresAt).toBe(expiresAt);
  /* The revocation lands after the session row exists, as when it races the sign-in: every lookup checks the parent. */
  await app.sql(`UPDATE api_token SET revoked_at = now() WHERE id = $1`, [created.apiToken.id]);
  expect((await viewerWith(signed.cookie!)).status).toBe(401);
});

import { Client } from 'pg';

import { ADMIN_TOKEN } from '../support/app';
import { api, disconnect, expectAccessible, expectFocusVisible, expectNothingLeaked, must, openSession, signInAs } from './support/harness';

afterAll(disconnect);

const sessionToken = async (session: { context: { cookies(): Promise<{ name: string; value: string; httpOnly: boolean; sameSite: string }[]> } }) => {
  const cookie = (await session.context.cookies()).find((c) => c.name === 'secretspace_session');
  if (!cookie) throw new Error('no session cookie');
  return cookie;
};

describe('sessions', () => {
  it('signs in with an ADMIN token into an HttpOnly, SameSite=Strict session, and keeps the token nowhere', async () => {
    const session = await openSession({ signIn: false });
    const { page } = session;
    await page.goto('/environments');
    await expectAccessible(page, 'sign-in');

    await page.getByRole('textbox', { name: 'Admin token' }).fill('not-a-token-0123456789abcdef0123456789');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not accepted' }).waitFor();

    await signInAs(page);
    await page.getByRole('heading', { name: 'Environments', level: 1 }).waitFor();
    for (const link of ['Environments', 'Tokens', 'Audit log']) await page.getByRole('link', { name: link, exact: true }).waitFor();

    const cookie = await sessionToken(session);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(cookie.value).not.toBe(ADMIN_TOKEN);
    const viewer = await must(`{ viewer { name role expiresAt } }`, undefined, cookie.value);
    expect(viewer.viewer.role).toBe('ADMIN');
    const hours = (Date.parse(viewer.viewer.expiresAt) - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(7.9);
    expect(hours).toBeLessThanOrEqual(8);

    await page.reload();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await expectNothingLeaked(session, []);
    await session.close();
  });

  it('signs out: back to sign-in, and the session token no longer works', async () => {
    const session = await openSession();
    const { value } = await sessionToken(session);
    await session.page.getByRole('button', { name: 'Sign out' }).click();
    await session.page.getByRole('textbox', { name: 'Admin token' }).waitFor();
    expect((await api.gql(`{ viewer { id } }`, undefined, value)).status).toBe(401);
    await session.page.reload();
    await session.page.getByRole('button', { name: 'Sign in' }).waitFor();
    await session.close();
  });

  it('returns to sign-in with a message when the session ends (revoked by another admin)', async () => {
    const session = await openSession();
    const { value } = await sessionToken(session);
    const { viewer } = await must(`{ viewer { id } }`, undefined, value);
    await must(`mutation($id: ID!) { revokeApiToken(id: $id) { id } }`, { id: viewer.id });

    // the next request finds the session gone (the click may find the page already back at sign-in)
    await session.page.getByRole('link', { name: 'Tokens', exact: true }).click({ timeout: 3000 }).catch(() => undefined);
    await session.page.getByText('Your session has ended; sign in again').waitFor();
    await session.page.getByRole('textbox', { name: 'Admin token' }).waitFor();
    await session.close();
  });

  it('returns to sign-in when the session expires, and signing in again lands on the same page', async () => {
    const session = await openSession();
    const { page } = session;
    await page.getByRole('link', { name: 'Audit log', exact: true }).click();
    await page.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
    const { value } = await sessionToken(session);
    const { viewer } = await must(`{ viewer { id } }`, undefined, value);
    const client = new Client({ connectionString: process.env.E2E_DATABASE_URL });
    await client.connect();
    await client.query(`UPDATE api_token SET expires_at = now() - interval '1 second' WHERE id = $1`, [viewer.id]);
    await client.end();
    // written behind the server's back (no notification): a cached session is trusted until TOKEN_CACHE_TTL_MS (1 s here) passes
    await new Promise((resolve) => setTimeout(resolve, 1_200));

    await page.getByRole('link', { name: 'Environments', exact: true }).click({ timeout: 3000 }).catch(() => undefined);
    await page.getByText('Your session has ended; sign in again').waitFor();
    expect(new URL(page.url()).pathname).toBe('/environments');
    await page.getByRole('textbox', { name: 'Admin token' }).fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Environments', level: 1 }).waitFor();
    await session.close();
  });

  it('is keyboard-operable: skip link, navigation and a visible focus', async () => {
    const session = await openSession();
    const { page } = session;
    await page.keyboard.press('Tab');
    await expectFocusVisible(page);
    await page.getByRole('link', { name: 'Tokens', exact: true }).focus();
    await expectFocusVisible(page);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Tokens', level: 1 }).waitFor();
    await session.close();
  });
});

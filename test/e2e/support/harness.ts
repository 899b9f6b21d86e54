import { readFileSync } from 'node:fs';

import { chromium, type Browser, type BrowserContext, type Page, type Response } from 'playwright-core';

import { ADMIN_TOKEN } from '../../support/app';

/*
 * What every e2e file uses: the shared browser and server (global-setup.ts),
 * the API for arranging data behind the UI's back, and the checks that the
 * page never holds a value or a token.
 */

export const baseUrl = () => process.env.E2E_URL!;

let browser: Browser | undefined;
export async function sharedBrowser(): Promise<Browser> {
  browser ??= await chromium.connect(process.env.E2E_BROWSER!);
  return browser;
}
export async function disconnect(): Promise<void> {
  await browser?.close();
  browser = undefined;
}

/** A unique suffix, so parallel files never share an environment. */
export const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

export interface Api {
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string): Promise<{ status: number; data?: T; errors?: any[] }>;
}

/** GraphQL as another admin (or any token): writes the UI must notice. */
export const api: Api = {
  async gql(query, variables, token = ADMIN_TOKEN) {
    const response = await fetch(`${baseUrl()}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, ...((await response.json()) as object) };
  },
};

export async function must<T = any>(query: string, variables?: Record<string, unknown>, token?: string): Promise<T> {
  const result = await api.gql<T>(query, variables, token);
  if (!result.data || result.errors?.length) throw new Error(`GraphQL failed: ${JSON.stringify(result.errors)}`);
  return result.data;
}

export async function createEnvironment(name = unique('env')): Promise<{ id: string; name: string }> {
  const data = await must(`mutation($name: String!) { createEnvironment(input: { name: $name }) { id name } }`, { name });
  return data.createEnvironment;
}

export async function createSpace(environmentId: string, name = unique('space')): Promise<{ id: string; name: string }> {
  const data = await must(`mutation($input: CreateSpaceInput!) { createSpace(input: $input) { id name } }`, { input: { environmentId, name } });
  return data.createSpace;
}

export async function upsert(input: Record<string, unknown>): Promise<{ id: string; version: number }> {
  const data = await must(`mutation($input: UpsertSecretInput!) { upsertSecret(input: $input) { id version } }`, { input });
  return data.upsertSecret;
}

/** Every response body the UI received, for the "no value in any answer" check. */
export interface Recorder {
  readonly bodies: { url: string; body: string }[];
  settle(): Promise<void>;
}

export interface Session {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly recorder: Recorder;
  close(): Promise<void>;
}

/** A fresh browser context (its own cookies), recording every answer, optionally signed in. */
export async function openSession({ signIn = true }: { signIn?: boolean } = {}): Promise<Session> {
  const context = await (await sharedBrowser()).newContext({ baseURL: baseUrl(), viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  const pending: Promise<void>[] = [];
  const bodies: { url: string; body: string }[] = [];
  const failures: string[] = [];
  page.on('response', (response: Response) => {
    pending.push(
      response
        .text()
        .then((body) => void bodies.push({ url: response.url(), body }))
        .catch(() => undefined),
    );
  });
  page.on('websocket', (socket) => socket.on('framereceived', (frame) => void bodies.push({ url: socket.url(), body: String(frame.payload) })));
  page.on('pageerror', (error) => failures.push(error.message));
  await page.addInitScript(() => {
    // A CSP violation means some code needs an inline script or style the policy refuses: record it.
    document.addEventListener('securitypolicyviolation', (event) => {
      (window as any).__cspViolations = [...((window as any).__cspViolations ?? []), `${event.violatedDirective} ${event.sourceFile}`];
    });
  });
  const recorder: Recorder = {
    bodies,
    async settle() {
      await Promise.all(pending);
    },
  };
  if (signIn) await signInAs(page);
  return {
    context,
    page,
    recorder,
    async close() {
      const violations = await page.evaluate(() => (window as any).__cspViolations ?? []).catch(() => []);
      await context.close();
      if (failures.length) throw new Error(`uncaught errors in the page: ${failures.join('; ')}`);
      if (violations.length) throw new Error(`CSP violations: ${violations.join('; ')}`);
    },
  };
}

export async function signInAs(page: Page, token = ADMIN_TOKEN, path = '/environments'): Promise<void> {
  await page.goto(path);
  await page.getByRole('textbox', { name: 'Admin token' }).fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/**
 * No value and no token anywhere the page can reach: the DOM (including
 * form fields' current values), storage, script-readable cookies, and every
 * answer the UI received. `allowedToken` is the one exception, a token just
 * created and shown once in its Token box.
 */
export async function expectNothingLeaked(
  session: Session,
  secrets: readonly string[],
  { allowedToken, fieldsHoldInput = false }: { allowedToken?: string; fieldsHoldInput?: boolean } = {},
): Promise<void> {
  const { page, recorder } = session;
  await recorder.settle();
  const seen = await page.evaluate(() => ({
    html: document.documentElement.outerHTML,
    fields: [...document.querySelectorAll('input, textarea')].map((field) => (field as HTMLInputElement).value),
    local: JSON.stringify({ ...localStorage }),
    session: JSON.stringify({ ...sessionStorage }),
    cookie: document.cookie,
    title: document.title,
  }));
  const places: [string, string][] = [
    ['DOM', seen.html],
    // While a dialog is open its field holds what the admin typed; that is theirs, but never in the HTML.
    ['a form field', fieldsHoldInput ? '' : seen.fields.filter((value) => value !== allowedToken).join('\n')],
    ['localStorage', seen.local],
    ['sessionStorage', seen.session],
    ['document.cookie', seen.cookie],
    ['the title', seen.title],
    ...recorder.bodies
      .filter((entry) => !allowedToken || !entry.body.includes(allowedToken) || !entry.body.includes('createApiToken'))
      .map((entry): [string, string] => [`an answer from ${entry.url}`, entry.body]),
  ];
  const tokens = [ADMIN_TOKEN, ...(await sessionCookieValues(session))];
  for (const needle of [...secrets, ...tokens]) {
    for (const [where, text] of places) {
      if (text.includes(needle)) throw new Error(`a ${secrets.includes(needle) ? 'secret value' : 'token'} appeared in ${where}`);
    }
  }
  if (seen.local !== '{}' || seen.session !== '{}') throw new Error(`the UI stored something: ${seen.local} ${seen.session}`);
  if (seen.cookie !== '') throw new Error('a cookie is readable by script');
}

async function sessionCookieValues(session: Session): Promise<string[]> {
  return (await session.context.cookies()).map((cookie) => cookie.value).filter((value) => value.length >= 16);
}

const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core on the page as it is now; serious and critical violations fail (evaluated over DevTools, so the CSP does not block it). */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  await page.evaluate(AXE);
  const violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] = await page.evaluate(async () => {
    const result = await (window as any).axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v: any) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n: any) => ({ target: n.target })) }));
  });
  const blocking = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (blocking.length) {
    throw new Error(
      `axe on ${what}:\n${blocking.map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`).join('\n')}`,
    );
  }
}

/** The element with keyboard focus has a visible outline (the :focus-visible style). */
export async function expectFocusVisible(page: Page): Promise<void> {
  const outline = await page.evaluate(() => {
    const element = document.activeElement as HTMLElement | null;
    if (!element || element === document.body) return 'nothing focused';
    const style = getComputedStyle(element);
    return style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2 ? 'ok' : `no outline on ${element.outerHTML.slice(0, 80)}`;
  });
  if (outline !== 'ok') throw new Error(`focus is not visible: ${outline}`);
}

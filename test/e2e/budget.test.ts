import { gzipSync } from 'node:zlib';

import type { Page } from 'playwright-core';

import { ADMIN_TOKEN } from '../support/app';
import { disconnect, openSession } from './support/harness';

afterAll(disconnect);

const BUDGET_BYTES = 250 * 1024;

/** Gzipped bytes of every script the page loaded (the server sends them uncompressed; a proxy would gzip). */
async function scriptBytes(page: Page, load: () => Promise<void>): Promise<{ gzipped: number; files: number }> {
  const bodies = new Map<string, Promise<Buffer>>();
  const listener = (response: import('playwright-core').Response) => {
    if (response.request().resourceType() === 'script' && !bodies.has(response.url())) bodies.set(response.url(), response.body());
  };
  page.on('response', listener);
  await load();
  page.off('response', listener);
  const scripts = await Promise.all(bodies.values());
  return { gzipped: scripts.reduce((sum, body) => sum + gzipSync(body, { level: 9 }).length, 0), files: scripts.length };
}

describe('first page budget', () => {
  it('ships at most 250 KB of gzipped JavaScript for a first page: sign-in, or Environments when signed in', async () => {
    const session = await openSession({ signIn: false });
    const { page } = session;
    const signIn = await scriptBytes(page, async () => {
      await page.goto('/environments');
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
    });
    // signing in renders /environments in place: what it adds is what a signed-in first load of it costs beyond sign-in's
    const firstScreen = await scriptBytes(page, async () => {
      await page.getByRole('textbox', { name: 'Admin token' }).fill(ADMIN_TOKEN);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Environments', level: 1 }).waitFor();
    });
    const total = signIn.gzipped + firstScreen.gzipped;
    // measured, reported; the budget is the assertion, timings are not (the bench measures speed)
    const timing = await page.evaluate(() => {
      const navigation = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      return { domContentLoaded: Math.round(navigation.domContentLoadedEventEnd), load: Math.round(navigation.loadEventEnd) };
    });
    console.log(
      `first page JS: sign-in ${(signIn.gzipped / 1024).toFixed(1)} KB gz in ${signIn.files} files; ` +
        `Environments adds ${(firstScreen.gzipped / 1024).toFixed(1)} KB gz in ${firstScreen.files}; total ${(total / 1024).toFixed(1)} KB; ` +
        `navigation ${JSON.stringify(timing)} ms`,
    );
    expect(signIn.gzipped).toBeLessThanOrEqual(BUDGET_BYTES);
    expect(total).toBeLessThanOrEqual(BUDGET_BYTES);
    await session.close();
  });
});

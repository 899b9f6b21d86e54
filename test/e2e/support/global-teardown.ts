import type { BrowserServer } from 'playwright-core';

import type { TestApp } from '../../support/app';

export default async function globalTeardown(): Promise<void> {
  const { app, browser } = (globalThis as Record<string, unknown>).__e2e as { app: TestApp; browser: BrowserServer };
  await browser.close();
  await app.close(); // also fails the run if a value sent through the app reached its log
}

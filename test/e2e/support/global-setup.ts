import 'reflect-metadata';

import { existsSync } from 'node:fs';
import path from 'node:path';

import { chromium } from 'playwright-core';

import { startTestApp } from '../../support/app';
import { createTestDatabase } from '../../support/database';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium';

/*
 * One server and one browser for the whole e2e project: every test file
 * connects to both, and keeps to its own environments (unique names), so
 * files can run in parallel workers. The server is the real one
 * (startTestApp) on a fresh PostgreSQL database, serving the built UI.
 */
export default async function globalSetup(): Promise<void> {
  const built = path.join(__dirname, '..', '..', '..', 'dist', 'ui', 'index.html');
  if (!existsSync(built)) throw new Error('the admin UI is not built: run `npm run build` (or `npm run build:ui`) first');
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`no Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium`);

  const database = await createTestDatabase();
  // a short token cache backstop: the session-expiry test ends a session behind the server's back, in the database
  const app = await startTestApp({ database, env: { TOKEN_CACHE_TTL_MS: '1000' } });
  const browser = await chromium.launchServer({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });

  process.env.E2E_URL = app.url;
  process.env.E2E_BROWSER = browser.wsEndpoint();
  process.env.E2E_DATABASE_URL = database.url;
  (globalThis as Record<string, unknown>).__e2e = { app, browser };
}

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { startTestApp, type TestApp } from '../support/app';

/*
 * The admin UI as the server serves it (src/http/ui-assets.ts): the built
 * files from dist/ui (`npm run build` first), index.html for any page URL a
 * browser navigates to, never for the API's paths, and the headers that keep
 * the page to its own scripts and out of frames.
 */
const dist = path.join(__dirname, '..', '..', 'dist', 'ui');
const html = { accept: 'text/html,application/xhtml+xml' };

describe('admin UI assets', () => {
  let app: TestApp;
  beforeAll(async () => {
    if (!existsSync(path.join(dist, 'index.html'))) throw new Error('dist/ui is not built: run `npm run build` first');
    app = await startTestApp();
  });
  afterAll(() => app.close());

  const get = (url: string, headers: Record<string, string> = html) => fetch(`${app.url}${url}`, { headers, redirect: 'manual' });

  it('serves index.html at / and at every page URL, revalidated each time, with a strict policy', async () => {
    const index = readFileSync(path.join(dist, 'index.html'), 'utf8');
    for (const url of ['/', '/environments', '/spaces/8a1f0000-0000-4000-8000-000000000000?actor=us_1', '/audit?after=abc']) {
      const response = await get(url);
      expect({ url, status: response.status }).toEqual({ url, status: 200 });
      expect(response.headers.get('content-type')).toContain('text/html');
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(await response.text()).toBe(index);
      const csp = response.headers.get('content-security-policy')!;
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain(`connect-src 'self' ws://${new URL(app.url).host} wss://${new URL(app.url).host}`);
      expect(csp).not.toContain('unsafe');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('ships no inline script and nothing from another origin', () => {
    const index = readFileSync(path.join(dist, 'index.html'), 'utf8');
    const scripts = [...index.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/src="\/assets\//);
      expect(body.trim()).toBe('');
    }
    expect(index).not.toMatch(/(src|href)="(https?:)?\/\//);
    for (const file of readdirSync(path.join(dist, 'assets')).filter((f) => f.endsWith('.css'))) {
      expect(readFileSync(path.join(dist, 'assets', file), 'utf8')).not.toMatch(/url\((['"])?(https?:)?\/\//);
    }
  });

  it('caches hashed assets for a year', async () => {
    const asset = readdirSync(path.join(dist, 'assets')).find((f) => f.endsWith('.js'))!;
    const response = await get(`/assets/${asset}`, { accept: '*/*' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('javascript');
    expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });

  it('never answers the API paths, or a missing file, with the page', async () => {
    for (const url of ['/v1/whatever', '/v1/secrets/x/y', '/graphql/x', '/healthz/x', '/readyz/deep']) {
      const response = await get(url);
      expect({ url, status: response.status }).toEqual({ url, status: 404 });
      expect(await response.text()).not.toContain('<div id="root">');
    }
    expect((await get('/assets/missing-0000.js', { accept: '*/*' })).status).toBe(404);
    expect((await get('/favicon.ico', { accept: 'image/*' })).status).toBe(404);
    expect(await (await get('/healthz', { accept: 'text/html' })).json()).toEqual({ status: 'ok' });
  });

  it('does not offer Apollo’s CDN landing page on GET /graphql', async () => {
    const response = await get('/graphql');
    expect(await response.text()).not.toMatch(/apollo-server-landing-page|embeddable-sandbox|cdn\./i);
  });
});

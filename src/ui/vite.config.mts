import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { defineConfig, type Plugin } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));
const server = process.env.SECRETSPACE_URL ?? 'http://127.0.0.1:4000';

/*
 * The admin UI is built into dist/ui, which the server serves at `/`
 * (src/http/ui-assets.ts). No plugin: Vite 8 compiles TSX with Oxc
 * (automatic JSX runtime), and a page reload is all a dev loop here needs.
 */
/**
 * React Aria's usePress adds an inline <style id="react-aria-pressable-style">
 * unless an element with that id exists. The CSP refuses inline styles, so
 * the stylesheet link carries the id and styles.css holds the same rule.
 */
const claimPressableStyle = (): Plugin => ({
  name: 'secretspace-claim-pressable-style',
  transformIndexHtml: {
    order: 'post',
    handler: (html) => html.replace('<link rel="stylesheet"', '<link rel="stylesheet" id="react-aria-pressable-style"'),
  },
});

export default defineConfig({
  root: here,
  plugins: [claimPressableStyle()],
  base: '/',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: path.resolve(here, '..', '..', 'dist', 'ui'),
    emptyOutDir: true,
    target: 'es2022',
    // Modern browsers preload modules natively; the polyfill would be inline code the CSP refuses anyway.
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: true,
    chunkSizeWarningLimit: 600,
  },
  server: {
    // `npx vite --config src/ui/vite.config.mts` against a running server: same-origin for the session cookie.
    proxy: {
      '/graphql': {
        target: server,
        ws: true,
        changeOrigin: true,
        // The server checks Origin on cookie-authenticated requests: present the proxied origin.
        configure: (proxy) => {
          proxy.on('proxyReq', (request) => request.setHeader('origin', server));
          proxy.on('proxyReqWs', (request) => request.setHeader('origin', server));
        },
      },
    },
  },
});

import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import ts from 'typescript';
import WebSocket from 'ws';

import {
  createSecretsClient,
  SecretsAuthError,
  type LiveOptions,
  type LiveState,
  type SecretsClient,
  type SecretsClientOptions,
} from '../../src/client';
import { startTestApp, type TestApp } from '../support/app';
import { createEnvironment, createSpace, dataOf, upsertSecret } from '../support/operations';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';

/*
 * The listener client's live mode (DESIGN §12) against a real server:
 * reads on a warm live cache never reach the network, a change reaches the
 * next read within a bounded wait and touches nothing else, a dropped socket
 * falls back to the TTL and resumes from its cursor, a revoked token ends
 * live mode for good (4403, no reconnect), and close() leaves nothing that
 * holds a process open. Requests are counted by the fetch the client is
 * given; sockets by the WebSocket class it is given.
 */

let app: TestApp;
let env: string;
let space: string;
let envReader: string; // LISTENER bound to the environment
const clients: SecretsClient[] = [];
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  app = await startTestApp();
  env = await createEnvironment(app, 'live');
  space = await createSpace(app, env, 'live space');
  for (const name of ['ENV_ONLY', 'SHARED', 'OTHER', 'MARK', 'NEVER_READ']) {
    await upsertSecret(app, { environmentId: env, name, value: `${name.toLowerCase()}-v1` });
  }
  await upsertSecret(app, { environmentId: env, spaceId: space, name: 'SHARED', value: 'shared-space-v1' });
  envReader = await app.listener(env);
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});
afterAll(async () => {
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await app?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(condition: () => boolean | Promise<boolean>, what: string | (() => string), timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(25);
  }
}

/** A fetch that counts the requests it passes on, optionally sending them to another origin. */
function countingFetch(origin?: string) {
  const counter = { requests: 0 };
  const wrapped: typeof fetch = (input, init) => {
    counter.requests += 1;
    const url = origin ? String(input).replace(/^http:\/\/[^/]+/, origin) : input;
    return fetch(url, init);
  };
  return Object.assign(counter, { fetch: wrapped });
}

/** A WebSocket class (ws's) that remembers every socket the client opens. */
function countingWebSocket() {
  const sockets: WebSocket[] = [];
  class Counted extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      sockets.push(this);
    }
  }
  return { sockets, impl: Counted };
}

function liveClient(options: Partial<Omit<SecretsClientOptions, 'live'>> & { live?: LiveOptions } = {}) {
  const counter = countingFetch();
  const client = createSecretsClient({
    url: app.url,
    token: envReader,
    environmentId: env,
    fetch: counter.fetch,
    ...options,
    live: { settleMs: 200, reconnectMinMs: 50, reconnectMaxMs: 200, ...options.live },
  });
  clients.push(client);
  return { client, counter };
}

/** Requests made by `run`. */
async function requestsOf(counter: { requests: number }, run: () => Promise<unknown>): Promise<number> {
  const before = counter.requests;
  await run();
  return counter.requests - before;
}

/** Reads until a read is answered from the cache (the view's subscription is accepted and the answer kept under its lease). */
async function warm(counter: { requests: number }, read: () => Promise<unknown>): Promise<void> {
  await waitUntil(async () => {
    await read();
    return (await requestsOf(counter, read)) === 0;
  }, 'a read answered from the live cache');
}

async function write(name: string, value: string, spaceId?: string) {
  await upsertSecret(app, { environmentId: env, spaceId, name, value });
}

/** Reads `name` until it answers `value`; returns the requests that took. */
async function readUntil(counter: { requests: number }, read: () => Promise<string>, value: string): Promise<number> {
  const before = counter.requests;
  let seen = '';
  await waitUntil(async () => (seen = await read()) === value, () => `${value} (last read: ${seen})`);
  return counter.requests - before;
}

describe('live mode', () => {
  it('answers 10,000 reads on a warm live cache without a single request (and a client without it asks every time)', async () => {
    const { client, counter } = liveClient({ cacheTtlMs: 0 });
    await warm(counter, () => client.secrets('ENV_ONLY'));
    await warm(counter, () => client.secrets('SHARED', { spaceId: space }));
    await warm(counter, () => client.effectiveSecrets());
    expect(client.liveState()).toBe('live');

    const made = await requestsOf(counter, async () => {
      for (let i = 0; i < 10_000; i += 1) {
        if (i % 3 === 0) expect(await client.secrets('ENV_ONLY')).toBe('env_only-v1');
        else if (i % 3 === 1) expect(await client.secrets('SHARED', { spaceId: space })).toBe('shared-space-v1');
        else expect(await client.effectiveSecrets()).toHaveLength(5);
      }
    });
    expect(made).toBe(0);

    const plain = countingFetch();
    const withoutLive = createSecretsClient({ url: app.url, token: envReader, environmentId: env, fetch: plain.fetch });
    for (let i = 0; i < 10; i += 1) expect(await withoutLive.secrets('ENV_ONLY')).toBe('env_only-v1');
    expect(plain.requests).toBe(10);
    expect(withoutLive.liveState()).toBe('off');
  });

  it('keeps nothing under a lease until its subscription is known to be accepted: here, by its first event', async () => {
    const { client, counter } = liveClient({ cacheTtlMs: 0, live: { settleMs: 600_000 } });
    expect(await requestsOf(counter, () => client.secrets('OTHER'))).toBe(1);
    await waitUntil(() => client.liveState() === 'live', 'the socket');
    await sleep(300);
    expect(await requestsOf(counter, () => client.secrets('OTHER'))).toBe(1); // subscribed, but not yet known to be accepted

    await write('MARK', `mark-${Date.now()}`); // any event in the view proves the subscription live
    await warm(counter, () => client.secrets('OTHER'));
  });

  it('sees an environment write and a space override on the next read within a bounded wait, and keeps every other answer', async () => {
    const { client, counter } = liveClient({ cacheTtlMs: 0 });
    const envRead = (name: string) => () => client.secrets(name);
    const spaceRead = (name: string) => () => client.secrets(name, { spaceId: space });
    const reads = {
      envOnly: envRead('ENV_ONLY'),
      envShared: envRead('SHARED'),
      envOther: envRead('OTHER'),
      envMark: envRead('MARK'),
      spaceEnvOnly: spaceRead('ENV_ONLY'),
      spaceShared: spaceRead('SHARED'),
    };
    for (const read of Object.values(reads)) await warm(counter, read);
    await warm(counter, () => client.effectiveSecrets({ spaceId: space }));

    // An environment write: both views see it (the space does not override ENV_ONLY); nothing else is asked again.
    const envValue = `env_only-${Date.now()}`;
    await write('NEVER_READ', 'never-read-v2'); // an event for a name never cached: costs nothing
    await write('ENV_ONLY', envValue);
    expect(await readUntil(counter, reads.envOnly, envValue)).toBe(1);
    expect(await readUntil(counter, reads.spaceEnvOnly, envValue)).toBe(1);
    const list = await client.effectiveSecrets({ spaceId: space });
    expect(list.find((entry) => entry.name === 'ENV_ONLY')?.value).toBe(envValue);
    expect(await requestsOf(counter, async () => {
      expect(await reads.envShared()).toBe('shared-v1');
      expect(await reads.spaceShared()).toBe('shared-space-v1');
      expect(await reads.envOther()).toBe('other-v1');
      expect(await reads.envOnly()).toBe(envValue);
      await client.effectiveSecrets({ spaceId: space });
    })).toBe(0);

    // A space override: the space's SHARED changes. The environment's subscription hears every change in the
    // environment, its spaces' rows included, so the environment's SHARED is asked again once (same value);
    // every other name stays cached. MARK, written after, is there to know that event has arrived.
    const overrideValue = `shared-space-${Date.now()}`;
    const mark = `mark-${Date.now()}`;
    await write('SHARED', overrideValue, space);
    await write('MARK', mark);
    expect(await readUntil(counter, reads.spaceShared, overrideValue)).toBe(1);
    expect(await readUntil(counter, reads.envMark, mark)).toBe(1);
    expect(await requestsOf(counter, () => reads.envShared())).toBe(1);
    expect(await reads.envShared()).toBe('shared-v1');
    expect(await requestsOf(counter, async () => {
      expect(await reads.envShared()).toBe('shared-v1');
      expect(await reads.spaceShared()).toBe(overrideValue);
      expect(await reads.envOnly()).toBe(envValue);
      expect(await reads.spaceEnvOnly()).toBe(envValue);
      expect(await reads.envOther()).toBe('other-v1');
    })).toBe(0);
  });

  it('falls back to the TTL while its socket is down, then resumes from its cursor: a write made meanwhile is not missed', async () => {
    const proxy = await startTcpProxy('127.0.0.1', Number(new URL(app.url).port));
    proxies.push(proxy);
    const ttlMs = 1500;
    const sockets = countingWebSocket();
    // The socket goes through the proxy, reads straight to the server: cutting the proxy drops the socket alone.
    const counter = countingFetch(app.url);
    const client = createSecretsClient({
      url: `http://127.0.0.1:${proxy.port}`,
      token: envReader,
      environmentId: env,
      cacheTtlMs: ttlMs,
      fetch: counter.fetch,
      live: { settleMs: 200, reconnectMinMs: 50, reconnectMaxMs: 200, webSocketImpl: sockets.impl },
    });
    clients.push(client);
    const read = (name: string) => () => client.secrets(name);
    // A client whose view never sees an event, so it has no cursor to resume from; its TTL is long.
    const quietEnv = await createEnvironment(app, 'live quiet');
    await upsertSecret(app, { environmentId: quietEnv, name: 'QUIET', value: 'quiet-v1' });
    const quietCounter = countingFetch(app.url);
    const quiet = createSecretsClient({
      url: `http://127.0.0.1:${proxy.port}`,
      token: await app.listener(quietEnv),
      environmentId: quietEnv,
      cacheTtlMs: 600_000,
      fetch: quietCounter.fetch,
      live: { settleMs: 200, reconnectMinMs: 50, reconnectMaxMs: 200 },
    });
    clients.push(quiet);
    expect(await quiet.secrets('QUIET')).toBe('quiet-v1');
    await waitUntil(() => quiet.liveState() === 'live', 'the quiet socket');

    // Live, with a cursor (an event seen), and past the TTL: still answered from the cache.
    const mark = `mark-${Date.now()}`;
    await client.secrets('MARK');
    await waitUntil(() => client.liveState() === 'live', 'the socket');
    await write('MARK', mark);
    await readUntil(counter, read('MARK'), mark);
    await client.secrets('OTHER'); // read once the view is live: kept under its lease
    await client.secrets('ENV_ONLY');
    await sleep(ttlMs + 100);
    expect(await requestsOf(counter, async () => {
      await read('OTHER')();
      await read('ENV_ONLY')();
    })).toBe(0);
    expect(sockets.sockets).toHaveLength(1);

    // Down: answers older than the TTL are asked again; fresh ones are kept for the TTL.
    await proxy.cut();
    await waitUntil(() => client.liveState() === 'down', 'the socket to drop');
    expect(await requestsOf(counter, read('OTHER'))).toBe(1);
    const otherReadAt = Date.now();
    expect(await requestsOf(counter, read('OTHER'))).toBe(0);
    const written = `env_only-${Date.now()}`;
    await write('ENV_ONLY', written); // while disconnected; ENV_ONLY is not read until the socket is back
    await sleep(300);
    expect(sockets.sockets.length).toBeGreaterThan(1); // it keeps trying
    expect(client.liveState()).toBe('down');
    await waitUntil(() => quiet.liveState() === 'down', 'the quiet socket to drop');
    expect(await requestsOf(quietCounter, () => quiet.secrets('QUIET'))).toBe(0); // kept by its TTL while down

    // Back: the subscription resumes after its cursor; the replayed event drops ENV_ONLY, and nothing else.
    await proxy.restore();
    await waitUntil(() => client.liveState() === 'live', 'the socket to come back');
    expect(await readUntil(counter, read('ENV_ONLY'), written)).toBe(1);
    await sleep(Math.max(0, otherReadAt + ttlMs + 100 - Date.now()));
    expect(await requestsOf(counter, async () => {
      expect(await read('OTHER')()).toBe('other-v1');
      expect(await read('MARK')()).toBe(mark);
    })).toBe(0);

    // The quiet view came back without a cursor: whatever happened meanwhile is unknown, so its cache was dropped.
    await waitUntil(() => quiet.liveState() === 'live', 'the quiet socket to come back');
    expect(await requestsOf(quietCounter, () => quiet.secrets('QUIET'))).toBe(1); // dropped on reconnecting
    expect(await requestsOf(quietCounter, () => quiet.secrets('QUIET'))).toBe(0);
  });

  it('treats 4403 (token revoked) as final: live mode ends, it does not reconnect, and reads fail as without live mode', async () => {
    const created = dataOf(
      await app.gql(`mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token apiToken { id } } }`, {
        input: { name: 'live revoked', role: 'LISTENER', environmentId: env },
      }),
    ).createApiToken;
    const sockets = countingWebSocket();
    const states: { state: LiveState; code?: number }[] = [];
    const { client, counter } = liveClient({
      token: created.token,
      cacheTtlMs: 0,
      live: {
        webSocketImpl: sockets.impl,
        reconnectMinMs: 20,
        reconnectMaxMs: 50,
        onStateChange: (state, detail) => states.push({ state, code: detail.code }),
      },
    });
    await warm(counter, () => client.secrets('OTHER'));

    await app.gql(`mutation($id: ID!) { revokeApiToken(id: $id) { id } }`, { id: created.apiToken.id });
    await waitUntil(() => client.liveState() === 'closed', 'live mode to end');
    expect(states.at(-1)).toEqual({ state: 'closed', code: 4403 });
    await sleep(1000); // twenty reconnect waits
    expect(sockets.sockets).toHaveLength(1);
    expect(sockets.sockets[0].readyState).toBe(WebSocket.CLOSED);
    expect(app.container.events.connections.size).toBe(0);

    // Without a lease, the cached answer is gone (TTL 0): the read asks, and the revoked token is refused.
    await expect(client.secrets('OTHER')).rejects.toBeInstanceOf(SecretsAuthError);
    expect(sockets.sockets).toHaveLength(1);
  });
});

describe('close()', () => {
  it('closes the socket (and the server sees it go) before it resolves; reads go on without live mode', async () => {
    const sockets = countingWebSocket();
    const { client, counter } = liveClient({ cacheTtlMs: 0, live: { webSocketImpl: sockets.impl } });
    await warm(counter, () => client.secrets('OTHER'));
    expect(app.container.events.connections.size).toBe(1);

    await client.close();
    expect(client.liveState()).toBe('closed');
    expect(sockets.sockets.map((socket) => socket.readyState)).toEqual([WebSocket.CLOSED]);
    await waitUntil(() => app.container.events.connections.size === 0, 'the server to see the connection close', 5000);
    expect(await requestsOf(counter, () => client.secrets('OTHER'))).toBe(1);
    expect(sockets.sockets).toHaveLength(1);
    await client.close(); // twice is fine
  });

  describe('in a process of its own', () => {
    let built: string;
    beforeAll(() => {
      built = transpileClient();
    });
    afterAll(() => rmSync(built, { recursive: true, force: true }));

    it.each([
      ['after close()', true],
      ['without close() (nothing it holds is referenced)', false],
    ])('lets the process exit on its own %s', async (_label, close) => {
      const { stdout } = await runChild(built, close);
      expect(stdout.trim().split('\n')).toEqual(['read other-v1', 'state live', `state ${close ? 'closed' : 'live'}`, 'done']);
    });
  });
});

/** src/client as plain CommonJS in a temporary directory (its packages resolve from this checkout's node_modules). */
function transpileClient(): string {
  const source = path.join(__dirname, '..', '..', 'src', 'client');
  const out = mkdtempSync(path.join(tmpdir(), 'secretspace-client-'));
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const target = path.join(out, path.relative(source, full)).replace(/\.ts$/, '.js');
        mkdirSync(path.dirname(target), { recursive: true });
        const { outputText } = ts.transpileModule(readFileSync(full, 'utf8'), {
          compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
        });
        writeFileSync(target, outputText);
      }
    }
  };
  walk(source);
  return out;
}

/**
 * Reads one secret in live mode, waits until live, optionally closes, and
 * then simply ends: the process must exit by itself. A handle left
 * referenced would keep it running into execFile's timeout, which kills it.
 */
async function runChild(built: string, close: boolean): Promise<{ stdout: string }> {
  const script = `
    const { createSecretsClient } = require(${JSON.stringify(path.join(built, 'index.js'))});
    (async () => {
      const client = createSecretsClient({ url: process.env.URL, token: process.env.TOKEN, environmentId: process.env.ENV, live: { settleMs: 100 } });
      console.log('read', await client.secrets('OTHER'));
      while (client.liveState() !== 'live') await new Promise((resolve) => setTimeout(resolve, 20));
      console.log('state', client.liveState());
      if (process.env.CLOSE === '1') await client.close();
      console.log('state', client.liveState());
      console.log('done');
    })().catch((error) => { console.error(error); process.exit(1); });
  `;
  return promisify(execFile)(process.execPath, ['-e', script], {
    timeout: 15_000,
    env: {
      ...process.env,
      NODE_PATH: path.join(__dirname, '..', '..', 'node_modules'),
      URL: app.url,
      TOKEN: envReader,
      ENV: env,
      CLOSE: close ? '1' : '0',
    },
  });
}

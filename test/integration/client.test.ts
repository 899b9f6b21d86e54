import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import {
  createSecretsClient,
  SecretNotFoundError,
  SecretsAuthError,
  SecretsClientError,
  SecretsRequestError,
  type SecretsClientOptions,
} from '../../src/client';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../support/app';
import { createEnvironment, createSpace, dataOf, upsertSecret } from '../support/operations';

/*
 * The listener client (src/client) against a real running server: an
 * environment with ENV_ONLY and SHARED; a space that overrides SHARED and
 * adds SPACE_ONLY. Failures that a healthy server cannot produce (5xx,
 * silence, refused connections) come from small local HTTP servers.
 */

let app: TestApp;
let env: string;
let space: string;
let otherEnv: string;
let envReader: string; // LISTENER bound to the environment
let spaceReader: string; // LISTENER bound to the space
const ids: Record<string, string> = {};

beforeAll(async () => {
  app = await startTestApp();
  env = await createEnvironment(app, 'client');
  space = await createSpace(app, env, 'overriding');
  otherEnv = await createEnvironment(app, 'client-other');
  ids.envOnly = (await upsertSecret(app, { environmentId: env, name: 'ENV_ONLY', value: 'env-only' })).id;
  ids.sharedEnv = (await upsertSecret(app, { environmentId: env, name: 'SHARED', value: 'from-env' })).id;
  ids.sharedSpace = (await upsertSecret(app, { environmentId: env, spaceId: space, name: 'SHARED', value: 'from-space' })).id;
  ids.spaceOnly = (await upsertSecret(app, { environmentId: env, spaceId: space, name: 'SPACE_ONLY', value: 'space-only' })).id;
  envReader = await app.listener(env);
  spaceReader = await app.listener(env, space);
});
afterAll(() => app?.close());

/** A fetch that counts the requests it passes on; `fail(n)` makes the next n fail like a dropped connection. */
function countingFetch() {
  const counter = { requests: 0, failNext: 0 };
  const wrapped: typeof fetch = async (input, init) => {
    counter.requests += 1;
    if (counter.failNext > 0) {
      counter.failNext -= 1;
      throw new TypeError('fetch failed');
    }
    return fetch(input, init);
  };
  return Object.assign(counter, { fetch: wrapped });
}

function client(options: Partial<SecretsClientOptions> = {}) {
  return createSecretsClient({ url: app.url, token: envReader, environmentId: env, ...options });
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('createSecretsClient', () => {
  it('refuses unusable options up front, without quoting the token', () => {
    const token = 'sst_has a space';
    expect(() => createSecretsClient({ url: app.url, token })).toThrow(TypeError);
    expect(() => createSecretsClient({ url: app.url, token })).not.toThrow(token);
    expect(() => createSecretsClient({ url: app.url, token: '' })).toThrow('token is required');
    expect(() => createSecretsClient({ url: app.url, token: envReader, timeoutMs: 0 })).toThrow('timeoutMs');
  });
});

describe('secrets(name)', () => {
  it('resolves environment-level names in an environment context', async () => {
    const secrets = client();
    await expect(secrets.secrets('ENV_ONLY')).resolves.toBe('env-only');
    await expect(secrets.secrets('SHARED')).resolves.toBe('from-env');
  });

  it("resolves a space's override, inherited names and the space's own names in a space context", async () => {
    const secrets = client({ spaceId: space });
    await expect(secrets.secrets('SHARED')).resolves.toBe('from-space');
    await expect(secrets.secrets('ENV_ONLY')).resolves.toBe('env-only');
    await expect(secrets.secrets('SPACE_ONLY')).resolves.toBe('space-only');
  });

  it('takes environmentId and spaceId options over the context, each on its own; spaceId: null clears the space', async () => {
    await expect(client().secrets('SHARED', { spaceId: space })).resolves.toBe('from-space');
    await expect(client({ environmentId: undefined }).secrets('SHARED', { environmentId: env })).resolves.toBe('from-env');
    const inSpace = client({ spaceId: space });
    await expect(inSpace.secrets('SHARED', { environmentId: env })).resolves.toBe('from-space'); // context spaceId still applies
    await expect(inSpace.secrets('SHARED', { spaceId: null })).resolves.toBe('from-env');
  });

  it("defaults to the LISTENER token's binding when no id is given anywhere", async () => {
    await expect(client({ environmentId: undefined }).secrets('SHARED')).resolves.toBe('from-env');
    await expect(client({ token: spaceReader, environmentId: undefined }).secrets('SHARED')).resolves.toBe('from-space');
  });

  it('throws SecretNotFoundError for a name that resolves to nothing', async () => {
    const error = await rejection(client().secrets('SPACE_ONLY')); // exists only in the space
    expect(error).toBeInstanceOf(SecretNotFoundError);
    expect(error).toBeInstanceOf(SecretsClientError);
    expect(error).toMatchObject({ code: 'SECRET_NOT_FOUND', secretName: 'SPACE_ONLY', scope: { environmentId: env, spaceId: null } });
    expect(error.message).toContain('SPACE_ONLY');
    await expect(client({ spaceId: space }).secrets('NOPE')).rejects.toBeInstanceOf(SecretNotFoundError);
  });

  it('accepts the GraphQL endpoint as url too', async () => {
    await expect(client({ url: `${app.url}/graphql` }).secrets('ENV_ONLY')).resolves.toBe('env-only');
  });
});

describe('effectiveSecrets()', () => {
  it("lists a space's effective secrets with provenance, sorted by name", async () => {
    await expect(client({ spaceId: space }).effectiveSecrets()).resolves.toEqual([
      { name: 'ENV_ONLY', value: 'env-only', source: 'ENVIRONMENT', actorId: null, secret: { id: ids.envOnly, version: 1, scope: 'ENVIRONMENT' }, overrides: null },
      { name: 'SHARED', value: 'from-space', source: 'SPACE', actorId: null, secret: { id: ids.sharedSpace, version: 1, scope: 'SPACE' }, overrides: { id: ids.sharedEnv } },
      { name: 'SPACE_ONLY', value: 'space-only', source: 'SPACE', actorId: null, secret: { id: ids.spaceOnly, version: 1, scope: 'SPACE' }, overrides: null },
    ]);
  });

  it("lists an environment's secrets when no space applies", async () => {
    const list = await client().effectiveSecrets();
    expect(list.map(({ name, value, source }) => ({ name, value, source }))).toEqual([
      { name: 'ENV_ONLY', value: 'env-only', source: 'ENVIRONMENT' },
      { name: 'SHARED', value: 'from-env', source: 'ENVIRONMENT' },
    ]);
    await expect(client({ token: spaceReader, environmentId: undefined }).effectiveSecrets()).resolves.toHaveLength(3);
  });
});

describe('cache', () => {
  it('answers repeated reads from the cache, per name and per scope', async () => {
    const counter = countingFetch();
    const secrets = client({ fetch: counter.fetch, cacheTtlMs: 60_000 });
    expect(await secrets.secrets('SHARED')).toBe('from-env');
    expect(await secrets.secrets('SHARED')).toBe('from-env');
    expect(counter.requests).toBe(1);
    expect(await secrets.secrets('SHARED', { spaceId: space })).toBe('from-space');
    expect(await secrets.secrets('ENV_ONLY')).toBe('env-only');
    expect(counter.requests).toBe(3);
    await secrets.effectiveSecrets();
    const list = await secrets.effectiveSecrets();
    expect(counter.requests).toBe(4);
    list[0].value = 'changed by a caller';
    expect((await secrets.effectiveSecrets())[0].value).toBe('env-only');
  });

  it('asks again once an answer expires, and sees the new value', async () => {
    await upsertSecret(app, { environmentId: env, name: 'ROTATING', value: 'first' });
    const counter = countingFetch();
    const secrets = client({ fetch: counter.fetch, cacheTtlMs: 300 });
    expect(await secrets.secrets('ROTATING')).toBe('first');
    await upsertSecret(app, { environmentId: env, name: 'ROTATING', value: 'second' });
    expect(await secrets.secrets('ROTATING')).toBe('first'); // still cached
    await sleep(400);
    expect(await secrets.secrets('ROTATING')).toBe('second');
    expect(counter.requests).toBe(2);
  });

  it('without cacheTtlMs, every read asks the server', async () => {
    const counter = countingFetch();
    const secrets = client({ fetch: counter.fetch });
    await secrets.secrets('SHARED');
    await secrets.secrets('SHARED');
    expect(counter.requests).toBe(2);
  });

  it('never caches a failure: not found, then created, is found', async () => {
    const counter = countingFetch();
    const secrets = client({ fetch: counter.fetch, cacheTtlMs: 60_000 });
    await expect(secrets.secrets('LATER')).rejects.toBeInstanceOf(SecretNotFoundError);
    await upsertSecret(app, { environmentId: env, name: 'LATER', value: 'now here' });
    await expect(secrets.secrets('LATER')).resolves.toBe('now here');
    expect(counter.requests).toBe(2);
  });

  it('never caches a failure: a network failure is followed by a fresh request', async () => {
    const counter = countingFetch();
    const secrets = client({ fetch: counter.fetch, cacheTtlMs: 60_000 });
    counter.failNext = 2; // the first attempt and its retry
    await expect(secrets.secrets('SHARED')).rejects.toBeInstanceOf(SecretsRequestError);
    await expect(secrets.secrets('SHARED')).resolves.toBe('from-env');
    expect(counter.requests).toBe(3);
  });

  it('shares one in-flight request among concurrent identical reads, success or failure', async () => {
    const counter = countingFetch();
    const secrets = client({ fetch: counter.fetch }); // no TTL: sharing needs no cache
    await expect(Promise.all([1, 2, 3, 4, 5].map(() => secrets.secrets('SHARED')))).resolves.toEqual(Array(5).fill('from-env'));
    expect(counter.requests).toBe(1);
    const missing = await Promise.allSettled([1, 2, 3].map(() => secrets.secrets('MISSING')));
    expect(missing.map((r) => r.status === 'rejected' && r.reason instanceof SecretNotFoundError)).toEqual([true, true, true]);
    expect(counter.requests).toBe(2);
    await Promise.all([secrets.effectiveSecrets(), secrets.effectiveSecrets()]);
    expect(counter.requests).toBe(3);
  });
});

describe('auth failures', () => {
  async function expectAuthError(promise: Promise<unknown>, code: string, token: string) {
    const error = await rejection(promise);
    expect(error).toBeInstanceOf(SecretsAuthError);
    expect(error).toBeInstanceOf(SecretsClientError);
    expect((error as SecretsAuthError).code).toBe(code);
    expect(error.message).not.toContain(token);
    return error as SecretsAuthError;
  }

  it('an unknown token is SecretsAuthError UNAUTHENTICATED (HTTP 401), asked once', async () => {
    const counter = countingFetch();
    const token = 'sst_this-token-does-not-exist-0123456789';
    const error = await expectAuthError(client({ token, fetch: counter.fetch }).secrets('SHARED'), 'UNAUTHENTICATED', token);
    expect(error.status).toBe(401);
    expect(counter.requests).toBe(1);
  });

  it('a revoked token is SecretsAuthError UNAUTHENTICATED', async () => {
    const created = dataOf(
      await app.gql(`mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token apiToken { id } } }`, {
        input: { name: 'revoked listener', role: 'LISTENER', environmentId: env },
      }),
    ).createApiToken;
    const secrets = client({ token: created.token });
    await expect(secrets.secrets('SHARED')).resolves.toBe('from-env');
    dataOf(await app.gql(`mutation($id: ID!) { revokeApiToken(id: $id) { id } }`, { id: created.apiToken.id }));
    await expectAuthError(secrets.secrets('SHARED'), 'UNAUTHENTICATED', created.token);
  });

  it('an ADMIN token reading a value is SecretsAuthError FORBIDDEN', async () => {
    await expectAuthError(client({ token: ADMIN_TOKEN }).secrets('SHARED'), 'FORBIDDEN', ADMIN_TOKEN);
    await expectAuthError(client({ token: ADMIN_TOKEN }).effectiveSecrets(), 'FORBIDDEN', ADMIN_TOKEN);
  });

  it("a LISTENER reading outside its binding is SecretsAuthError FORBIDDEN, not 'not found'", async () => {
    await expectAuthError(client().secrets('SHARED', { environmentId: otherEnv }), 'FORBIDDEN', envReader);
  });
});

describe('request failures', () => {
  const servers: Server[] = [];
  afterAll(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  /** A local HTTP server answering every request with `respond`; resolves to its base URL. */
  async function fakeServer(respond: Parameters<typeof createServer>[1]): Promise<string> {
    const server = createServer(respond);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('an unreachable server is SecretsRequestError NETWORK_ERROR after exactly one retry', async () => {
    const closedUrl = await fakeServer(() => undefined);
    const closing = servers.pop()!;
    await new Promise((resolve) => closing.close(resolve)); // the port is free again: connections are refused
    const counter = countingFetch();
    const error = await rejection(client({ url: closedUrl, fetch: counter.fetch }).secrets('SHARED'));
    expect(error).toBeInstanceOf(SecretsRequestError);
    expect(error).not.toBeInstanceOf(SecretNotFoundError);
    expect((error as SecretsRequestError).code).toBe('NETWORK_ERROR');
    expect(error.message).not.toContain(envReader);
    expect(counter.requests).toBe(2);
  });

  it('a network failure followed by an answer succeeds on the retry', async () => {
    const counter = countingFetch();
    counter.failNext = 1;
    await expect(client({ fetch: counter.fetch }).secrets('SHARED')).resolves.toBe('from-env');
    expect(counter.requests).toBe(2);
  });

  it('a 5xx answer is SecretsRequestError with its status, not retried', async () => {
    const url = await fakeServer((_req, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad gateway</h1>'));
    const counter = countingFetch();
    const error = await rejection(client({ url, fetch: counter.fetch }).secrets('SHARED'));
    expect(error).toBeInstanceOf(SecretsRequestError);
    expect(error).toMatchObject({ code: 'HTTP_ERROR', status: 502 });
    expect(counter.requests).toBe(1);
  });

  it('a server-side GraphQL error keeps its code', async () => {
    const url = await fakeServer((_req, res) =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ data: null, errors: [{ message: 'key provider unavailable', extensions: { code: 'KEY_PROVIDER_UNAVAILABLE' } }] })),
    );
    const error = await rejection(client({ url }).secrets('SHARED'));
    expect(error).toBeInstanceOf(SecretsRequestError);
    expect(error).toMatchObject({ code: 'KEY_PROVIDER_UNAVAILABLE' });
  });

  it('a 2xx answer that is not GraphQL is SecretsRequestError BAD_RESPONSE', async () => {
    const url = await fakeServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('hello'));
    await expect(client({ url }).secrets('SHARED')).rejects.toMatchObject({ code: 'BAD_RESPONSE', status: 200 });
  });

  it('bad input is SecretsRequestError BAD_USER_INPUT, never "not found"', async () => {
    const error = await rejection(client().secrets('SHARED', { spaceId: 'not-a-uuid' }));
    expect(error).toBeInstanceOf(SecretsRequestError);
    expect(error).toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('a server that does not answer in time is SecretsRequestError TIMEOUT, not retried', async () => {
    const url = await fakeServer(() => undefined); // holds every request open
    const counter = countingFetch();
    const started = Date.now();
    const error = await rejection(client({ url, fetch: counter.fetch, timeoutMs: 300 }).secrets('SHARED'));
    expect(error).toBeInstanceOf(SecretsRequestError);
    expect(error).toMatchObject({ code: 'TIMEOUT' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(counter.requests).toBe(1);
  });
});

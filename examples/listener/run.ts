import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { FlatfileListener } from '@flatfile/listener';

/*
 * `npm run example:listener`: starts Secretspace on its embedded database in
 * a temporary directory, sets up an environment, a space, secrets and a
 * LISTENER token through GraphQL, then hands a `job:ready` event to the
 * listener in ./listener.ts, the way a Flatfile agent would, and stops.
 */
const MAIN = path.join(__dirname, '..', '..', 'src', 'main.js');

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'secretspace-example-'));
  const adminToken = randomBytes(32).toString('base64url'); // BOOTSTRAP_ADMIN_TOKEN: the first ADMIN token
  const url = `http://127.0.0.1:${await freePort()}`;
  const server = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH, DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: new URL(url).port, BOOTSTRAP_ADMIN_TOKEN: adminToken, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => server.once('exit', resolve));
  try {
    await waitUntilReady(url, exited);
    console.log(`Secretspace on ${url} (embedded database in ${dataDir})`);

    const admin = (query: string, variables: Record<string, unknown>) => graphql(url, adminToken, query, variables);
    const environmentId = (await admin(`mutation($n: String!) { createEnvironment(input: { name: $n }) { id } }`, { n: 'production' }))
      .createEnvironment.id;
    const spaceId = (await admin(`mutation($e: ID!) { createSpace(input: { environmentId: $e, name: "acme" }) { id } }`, { e: environmentId }))
      .createSpace.id;
    const upsert = `mutation($i: UpsertSecretInput!) { upsertSecret(input: $i) { id } }`;
    await admin(upsert, { i: { environmentId, name: 'SLACK_TOKEN', value: 'xoxb-environment' } });
    await admin(upsert, { i: { environmentId, name: 'API_URL', value: 'https://api.example.com' } });
    await admin(upsert, { i: { environmentId, spaceId, name: 'SLACK_TOKEN', value: 'xoxb-acme' } });
    const { token } = (
      await admin(`mutation($e: ID!) { createApiToken(input: { name: "example listener", role: LISTENER, environmentId: $e }) { token } }`, {
        e: environmentId,
      })
    ).createApiToken;
    console.log(`environment ${environmentId}, space ${spaceId} ("acme", overrides SLACK_TOKEN), LISTENER token for the environment\n`);

    // What a Flatfile agent's environment provides, pointed at Secretspace; read by @flatfile/listener.
    process.env.AGENT_INTERNAL_URL = url;
    process.env.FLATFILE_BEARER_TOKEN = token;
    // Read by ./listener.ts for the bundled client.
    process.env.SECRETSPACE_URL = url;
    process.env.SECRETSPACE_TOKEN = token;
    // Loaded only now: it creates its client from those variables when it loads.
    const { default: listener } = await import('./listener');

    console.log(`job:ready in space "acme":`);
    await FlatfileListener.create(listener).dispatchEvent({ topic: 'job:ready', context: { environmentId, spaceId }, payload: {} });
  } finally {
    server.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/* Untyped on purpose: a front end would generate these types from schema.graphql (see the README). */
type Data = Record<string, Record<string, string>>;

async function graphql(url: string, token: string, query: string, variables: Record<string, unknown>): Promise<Data> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: Data; errors?: { message: string }[] };
  if (body.errors?.length || !body.data) throw new Error(`GraphQL: ${body.errors?.map((e) => e.message).join('; ')}`);
  return body.data;
}

async function waitUntilReady(url: string, exited: Promise<number | null>): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
    if (gone) throw new Error('the server exited before it was ready');
    const ready = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ready) return;
  }
  throw new Error('the server was not ready within 60 s');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

main().catch((error: unknown) => {
  console.error(`example failed: ${(error as Error).message}`);
  process.exitCode = 1;
});

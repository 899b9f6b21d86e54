import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { decodeFeedCursor } from '../../src/events/feed-cursor';
import { verifySignature } from '../../src/modules/webhook/signature';
import { TEST_MASTER_KEYS, startTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createEnvironment, createSpace, dataOf, upsertSecret } from '../support/operations';
import { freePort, gqlAt, startServerProcess } from '../support/server-process';
import { until } from '../support/until';

/*
 * DESIGN §13 end to end: webhooks created over GraphQL, changes written over
 * GraphQL, deliveries received by real HTTP receivers on 127.0.0.1
 * (WEBHOOK_ALLOW_PRIVATE_NETWORKS=true lets them in; the address policy
 * itself is test/unit/webhooks/url-guard.test.ts). Two instances share one
 * database, and one server process is killed mid-delivery.
 */

interface Delivery {
  readonly at: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  readonly event: Record<string, any>;
}

interface Receiver {
  readonly url: string;
  readonly received: Delivery[];
  /** Most requests ever in progress at once. */
  readonly maxInFlight: () => number;
  /** Answers every following request this way (204 by default). */
  respond(handler: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void): void;
  close(): Promise<void>;
}

const receivers: Receiver[] = [];

async function startReceiver(): Promise<Receiver> {
  const received: Delivery[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let handler: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void = (_q, res) => res.writeHead(204).end();
  const server = http.createServer((req, res) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on('close', () => (inFlight -= 1));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ at: Date.now(), headers: req.headers, body, event: JSON.parse(body) });
      handler(req, res, received.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const receiver: Receiver = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?source=secretspace`,
    received,
    maxInFlight: () => maxInFlight,
    respond(next) {
      handler = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  receivers.push(receiver);
  return receiver;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const FAST = {
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  WEBHOOK_RETRY_BASE_MS: '100',
  WEBHOOK_TIMEOUT_MS: '1000',
  WEBHOOK_POLL_MS: '100',
};

let database: TestDatabase;
let a: TestApp;
let b: TestApp;

beforeAll(async () => {
  database = await createTestDatabase();
  a = await startTestApp({ database, keepDatabase: true, env: { ...FAST, WEBHOOK_MAX_ATTEMPTS: '3' } });
  b = await startTestApp({ database, keepDatabase: true, env: { ...FAST, WEBHOOK_MAX_ATTEMPTS: '3' } });
});
afterAll(async () => {
  for (const app of [a, b]) await app?.close();
  await Promise.all(receivers.map((r) => r.close()));
  await database?.drop();
});

const CREATE = `mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { signingSecret webhook { id environmentId spaceId url topics } } }`;

async function createWebhook(app: TestApp, input: Record<string, unknown>) {
  return dataOf(await app.gql(CREATE, { i: input })).createWebhook as { signingSecret: string; webhook: { id: string; topics: string[] } };
}

async function deliveries(app: TestApp, environmentId: string, webhookId: string) {
  const res = await app.gql(
    `query($e: ID) { webhooks(environmentId: $e) { id deliveries(first: 100) { id eventCursor attempt status error at deliveredAt } } }`,
    { e: environmentId },
  );
  const hook = (dataOf(res).webhooks as { id: string; deliveries: any[] }[]).find((w) => w.id === webhookId);
  return hook!.deliveries as { eventCursor: string; attempt: number; status: number | null; error: string | null; at: string; deliveredAt: string | null }[];
}

/** The change row a cursor names: webhooks and secretEvents share cursors. */
async function changeAt(app: TestApp, cursor: string) {
  const { xid, seq } = decodeFeedCursor(cursor);
  const [row] = await app.sql(`SELECT secret_name, topic FROM audit_event WHERE xid = $1::xid8 AND seq = $2::bigint`, [xid, seq]);
  return row as { secret_name: string; topic: string } | undefined;
}

describe('a delivery', () => {
  it('is the SecretEvent, signed over "<t>.<body>" with the secret shown once, and never a value', async () => {
    const env = await createEnvironment(a, 'hooks-signed');
    const receiver = await startReceiver();
    const { signingSecret, webhook } = await createWebhook(a, { environmentId: env, url: receiver.url });
    expect(signingSecret).toMatch(/^whsec_/);
    expect(webhook.topics).toEqual(['secret:created', 'secret:updated', 'secret:deleted']);

    const written = await upsertSecret(a, { environmentId: env, name: 'SIGNED_KEY', value: 'hook-value-never-sent-1' });
    const delivery = await until('delivered', () => receiver.received[0]);
    expect(delivery.event).toEqual({
      cursor: expect.any(String),
      topic: 'secret:created',
      action: 'SECRET_WRITTEN',
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      tokenId: expect.any(String),
      environmentId: env,
      spaceId: null,
      actorId: null,
      secretId: written.id,
      name: 'SIGNED_KEY',
      version: 1,
      affectedSpaceIds: [],
    });
    expect(delivery.headers['secretspace-event-id']).toBe(delivery.event.cursor);
    expect(delivery.headers['content-type']).toBe('application/json');
    expect(verifySignature({ secret: signingSecret, body: delivery.body, header: delivery.headers['secretspace-signature'] as string })).toBe(true);
    expect(verifySignature({ secret: 'whsec_wrong', body: delivery.body, header: delivery.headers['secretspace-signature'] as string })).toBe(false);
    const t = Number(/^t=(\d+),v1=[0-9a-f]{64}$/.exec(delivery.headers['secretspace-signature'] as string)![1]);
    expect(Math.abs(t - delivery.at / 1000)).toBeLessThan(5);
    expect(JSON.stringify(delivery)).not.toContain('hook-value-never-sent');

    // the cursor is the change's position in the feed, the one secretEvents resumes from
    expect(await changeAt(a, delivery.event.cursor)).toEqual({ secret_name: 'SIGNED_KEY', topic: 'secret:created' });

    const log = await until('logged', async () => (await deliveries(a, env, webhook.id)).find((d) => d.deliveredAt));
    expect(log).toMatchObject({ eventCursor: delivery.event.cursor, attempt: 1, status: 204, error: null });

    // the signing secret is sealed, not stored in the clear
    const [stored] = await a.sql(`SELECT sealed_secret FROM webhook WHERE id = $1`, [webhook.id]);
    expect(Buffer.from(stored.sealed_secret).toString('latin1')).not.toContain(signingSecret.slice(6));
  });

  it('is retried with backoff under the same event id, each attempt signed at its own time, and logged once per attempt', async () => {
    const env = await createEnvironment(a, 'hooks-retry');
    const receiver = await startReceiver();
    receiver.respond((_q, res, n) => res.writeHead(n <= 2 ? 503 : 200).end());
    const { signingSecret, webhook } = await createWebhook(a, { environmentId: env, url: receiver.url });
    await upsertSecret(a, { environmentId: env, name: 'RETRIED', value: 'retried-value-1' });

    await until('three attempts', () => receiver.received.length >= 3 && receiver.received);
    await sleep(300);
    expect(receiver.received).toHaveLength(3);
    const ids = new Set(receiver.received.map((d) => d.headers['secretspace-event-id']));
    expect(ids.size).toBe(1);
    for (const d of receiver.received) {
      expect(verifySignature({ secret: signingSecret, body: d.body, header: d.headers['secretspace-signature'] as string })).toBe(true);
    }
    // backoff: base 100 ms, equal jitter, so at least 50 ms and then 100 ms between attempts
    expect(receiver.received[1].at - receiver.received[0].at).toBeGreaterThanOrEqual(45);
    expect(receiver.received[2].at - receiver.received[1].at).toBeGreaterThanOrEqual(95);

    const log = await until('logged', async () => {
      const entries = await deliveries(a, env, webhook.id);
      return entries.length === 3 && entries;
    });
    expect(log.map((d) => [d.attempt, d.status, d.error, d.deliveredAt !== null])).toEqual([
      [3, 200, null, true],
      [2, 503, 'HTTP 503', false],
      [1, 503, 'HTTP 503', false],
    ]);
  });

  it('gives up after WEBHOOK_MAX_ATTEMPTS, marks the event failed and goes on with the next one', async () => {
    const env = await createEnvironment(a, 'hooks-give-up');
    const receiver = await startReceiver();
    receiver.respond((_q, res, n) => res.writeHead(n <= 3 ? 500 : 204).end());
    const { webhook } = await createWebhook(a, { environmentId: env, url: receiver.url });
    await upsertSecret(a, { environmentId: env, name: 'DOOMED', value: 'doomed-value-1' });
    await upsertSecret(a, { environmentId: env, name: 'AFTER_DOOMED', value: 'after-value-1' });

    await until('the next event', () => receiver.received.find((d) => d.event.name === 'AFTER_DOOMED'));
    expect(receiver.received.map((d) => d.event.name)).toEqual(['DOOMED', 'DOOMED', 'DOOMED', 'AFTER_DOOMED']);
    const log = await until('logged', async () => {
      const entries = await deliveries(a, env, webhook.id);
      return entries.length === 4 && entries;
    });
    const failed = log.find((d) => d.attempt === 3)!;
    expect(failed).toMatchObject({ status: 500, deliveredAt: null });
    expect(failed.error).toBe('HTTP 500; gave up after 3 attempts');
    expect(log[0]).toMatchObject({ attempt: 1, status: 204, error: null });
  });

  it('counts only a 2xx within WEBHOOK_TIMEOUT_MS, and does not follow redirects', async () => {
    const env = await createEnvironment(a, 'hooks-timeout');
    const elsewhere = await startReceiver();
    const receiver = await startReceiver();
    receiver.respond((_q, res, n) => {
      if (n === 1) return void setTimeout(() => res.writeHead(204).end(), 3_000); // past the 1 s timeout
      if (n === 2) return void res.writeHead(302, { location: elsewhere.url }).end();
      res.writeHead(204).end();
    });
    const { webhook } = await createWebhook(a, { environmentId: env, url: receiver.url });
    await upsertSecret(a, { environmentId: env, name: 'SLOW', value: 'slow-value-1' });

    const log = await until('delivered', async () => {
      const entries = await deliveries(a, env, webhook.id);
      return entries.some((d) => d.deliveredAt) && entries;
    });
    expect(log.map((d) => [d.attempt, d.status, d.error])).toEqual([
      [3, 204, null],
      [2, 302, 'redirect not followed'],
      [1, null, 'timeout'],
    ]);
    expect(elsewhere.received).toHaveLength(0);
  });
});

describe('what is delivered', () => {
  it('a space webhook gets changes to its effective view only, and topics filter', async () => {
    const env = await createEnvironment(a, 'hooks-scope');
    const mine = await createSpace(a, env, 'mine');
    const other = await createSpace(a, env, 'other');
    const spaceHook = await startReceiver();
    const deletesOnly = await startReceiver();
    await createWebhook(a, { environmentId: env, spaceId: mine, url: spaceHook.url });
    await createWebhook(a, { environmentId: env, url: deletesOnly.url, topics: ['secret:deleted'] });

    await upsertSecret(a, { environmentId: env, spaceId: mine, name: 'OVERRIDDEN', value: 'space-value-1' });
    await upsertSecret(a, { environmentId: env, name: 'OVERRIDDEN', value: 'env-value-1' }); // shadowed in mine
    await upsertSecret(a, { environmentId: env, spaceId: other, name: 'OTHERS', value: 'other-value-1' });
    const inherited = await upsertSecret(a, { environmentId: env, name: 'INHERITED', value: 'env-value-2' });
    await a.gql(`mutation($e: ID!) { upsertSecret(input: { environmentId: $e, name: "PERSONAL", value: "p-value-1", actorId: "us_1" }) { id } }`, { e: env });
    dataOf(await a.gql(`mutation($id: ID!) { deleteSecret(id: $id) }`, { id: inherited.id }));

    await until('the deletion', () => spaceHook.received.some((d) => d.event.topic === 'secret:deleted'));
    await until('the deletion', () => deletesOnly.received.length >= 1);
    await sleep(500);
    expect(spaceHook.received.map((d) => [d.event.topic, d.event.name, d.event.spaceId])).toEqual([
      ['secret:created', 'OVERRIDDEN', mine],
      ['secret:created', 'INHERITED', null],
      ['secret:deleted', 'INHERITED', null],
    ]);
    expect(deletesOnly.received.map((d) => [d.event.topic, d.event.name])).toEqual([['secret:deleted', 'INHERITED']]);
  });

  it('two instances deliver one webhook’s events once each, in order, never two at a time', async () => {
    const env = await createEnvironment(a, 'hooks-order');
    const receiver = await startReceiver();
    receiver.respond((_q, res) => void setTimeout(() => res.writeHead(204).end(), 20));
    const { webhook } = await createWebhook(a, { environmentId: env, url: receiver.url });
    const names = Array.from({ length: 30 }, (_, i) => `ORDERED_${String(i).padStart(2, '0')}`);
    // writes on both instances, in parallel pairs
    for (let i = 0; i < names.length; i += 2) {
      await Promise.all([
        upsertSecret(a, { environmentId: env, name: names[i], value: `v-${i}-xxxxxxxx` }),
        upsertSecret(b, { environmentId: env, name: names[i + 1], value: `v-${i + 1}-xxxxxxxx` }),
      ]);
    }
    await until('all delivered', () => receiver.received.length >= names.length, 30_000);
    await sleep(500);
    const cursors = receiver.received.map((d) => d.event.cursor as string);
    expect(new Set(cursors).size).toBe(names.length); // each once
    expect(receiver.received).toHaveLength(names.length);
    expect(receiver.maxInFlight()).toBe(1);
    // in feed order: the order the subscription replays them in
    const order = await a.sql(
      `SELECT secret_name FROM audit_event WHERE xid IS NOT NULL AND topic IS NOT NULL AND environment_id = $1 ORDER BY xid, seq`,
      [env],
    );
    expect(receiver.received.map((d) => d.event.name)).toEqual(order.map((r: { secret_name: string }) => r.secret_name));
    expect((await deliveries(a, env, webhook.id)).filter((d) => d.deliveredAt)).toHaveLength(names.length);
  });

  it('stops when the webhook is deleted, its delivery log going with it', async () => {
    const env = await createEnvironment(a, 'hooks-delete');
    const receiver = await startReceiver();
    receiver.respond((_q, res) => res.writeHead(500).end());
    const { webhook } = await createWebhook(a, { environmentId: env, url: receiver.url });
    await upsertSecret(a, { environmentId: env, name: 'BEFORE_DELETE', value: 'before-delete-1' });
    await until('first attempt', () => receiver.received.length >= 1);
    expect(dataOf(await a.gql(`mutation($id: ID!) { deleteWebhook(id: $id) }`, { id: webhook.id })).deleteWebhook).toBe(webhook.id);
    const seen = receiver.received.length;
    await upsertSecret(a, { environmentId: env, name: 'AFTER_DELETE', value: 'after-delete-1' });
    await sleep(1_000);
    expect(receiver.received.length).toBeLessThanOrEqual(seen + 1); // at most the attempt already under way
    expect(receiver.received.some((d) => d.event.name === 'AFTER_DELETE')).toBe(false);
    expect(await a.sql(`SELECT count(*)::int AS n FROM webhook_delivery WHERE webhook_id = $1`, [webhook.id])).toEqual([{ n: 0 }]);
  });
});

it('a server killed mid-delivery: the event is delivered again after restart, with the same event id', async () => {
  const own = await createTestDatabase();
  const port = await freePort();
  const env = { DATABASE_URL: own.url, LOCAL_MASTER_KEYS: TEST_MASTER_KEYS, ...FAST, WEBHOOK_TIMEOUT_MS: '2000' }; // lease: 2 x 2 s + 5 s
  const receiver = await startReceiver();
  let hold = true;
  receiver.respond((_q, res) => {
    if (!hold) res.writeHead(204).end(); // while held, never answers: the server dies waiting
  });
  const first = await startServerProcess(env, port);
  try {
    const environmentId = dataOf(await gqlAt(first.url, `mutation { createEnvironment(input: { name: "hooks-crash" }) { id } }`)).createEnvironment.id;
    dataOf(await gqlAt(first.url, CREATE, { i: { environmentId, url: receiver.url } }));
    dataOf(
      await gqlAt(first.url, `mutation($e: ID!) { upsertSecret(input: { environmentId: $e, name: "MID_FLIGHT", value: "mid-flight-1" }) { id } }`, {
        e: environmentId,
      }),
    );
    await until('the attempt under way', () => receiver.received.length === 1);
  } finally {
    await first.stop('SIGKILL');
  }
  hold = false;
  const second = await startServerProcess(env, port);
  try {
    await until('delivered again after the lease expired', () => receiver.received.length >= 2, 30_000);
    expect(receiver.received.map((d) => d.event.name)).toEqual(['MID_FLIGHT', 'MID_FLIGHT']);
    expect(receiver.received[1].headers['secretspace-event-id']).toBe(receiver.received[0].headers['secretspace-event-id']);
    // the attempt cut off by the kill left no entry; the one after the restart did
    const hooks = dataOf(await gqlAt(second.url, `{ webhooks { deliveries(first: 10) { attempt status deliveredAt } } }`)).webhooks;
    expect(hooks).toEqual([{ deliveries: [{ attempt: 1, status: 204, deliveredAt: expect.any(String) }] }]);
  } finally {
    await second.stop();
    await own.drop();
  }
}, 60_000);

import { randomBytes } from 'node:crypto';

import WebSocket from 'ws';

import { startTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createEnvironment, createSpace, dataOf, upsertSecret } from '../support/operations';
import { openSession, type SessionOptions, type Session, type Stream } from '../support/ws';

/*
 * DESIGN §12's bounds, each on an instance configured small enough to hit
 * it (four instances on one database): subscriptions and connections per
 * token and per instance, how far behind an `after` cursor may be, the
 * heartbeat, and a slow consumer, which is disconnected instead of being
 * buffered for (and resumes with `after`). A connection that goes away
 * while it is being authenticated keeps no place. And no event carries a
 * value: the raw frames of every kind of change are scanned for the values
 * written.
 */

const PER_TOKEN = 2;
const PER_INSTANCE = 4;
const MAX_REPLAY = 3;
const HEARTBEAT_MS = 400;
const MAX_QUEUE = 40;

let database: TestDatabase;
/** Small subscription and replay limits; every token looked up (no cache), so authentication always takes a round trip. */
let limited: TestApp;
/** A short heartbeat. */
let beating: TestApp;
/** A subscriber may have little unsent data in its socket. */
let fewBytes: TestApp;
/** A subscriber may have few events queued, and any amount of unsent data. */
let fewEvents: TestApp;
let env: string;
let space: string;
let sessions: Session[] = [];
const apps = () => [limited, beating, fewBytes, fewEvents];

beforeAll(async () => {
  database = await createTestDatabase();
  const start = (env: Record<string, string>) => startTestApp({ database, keepDatabase: true, env });
  limited = await start({
    EVENTS_MAX_SUBSCRIPTIONS_PER_TOKEN: String(PER_TOKEN),
    EVENTS_MAX_SUBSCRIPTIONS: String(PER_INSTANCE),
    EVENTS_MAX_REPLAY: String(MAX_REPLAY),
    TOKEN_CACHE_TTL_MS: '0',
  });
  beating = await start({ EVENTS_HEARTBEAT_MS: String(HEARTBEAT_MS) });
  fewBytes = await start({ EVENTS_MAX_BUFFERED_BYTES: '16384' });
  fewEvents = await start({ EVENTS_MAX_QUEUE: String(MAX_QUEUE), EVENTS_MAX_BUFFERED_BYTES: String(1024 ** 3) });
  env = await createEnvironment(limited, 'limits');
  space = await createSpace(limited, env, 'limits space');
});
afterEach(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  sessions = [];
  /* The server forgets a closed connection (and its subscriptions) once its close handshake ends. */
  for (const app of apps()) await eventually(async () => app.container.events.connections.size === 0, 5000);
});
afterAll(async () => {
  for (const app of apps()) await app?.close();
  await database?.drop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** `promise`, or `fallback` after ms (a timer that keeps nothing alive). */
const within = <T>(promise: Promise<T>, ms: number, fallback: T) =>
  Promise.race([promise, new Promise<T>((r) => setTimeout(r, ms, fallback).unref())]);

async function eventually(check: () => Promise<boolean>, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`still not so after ${withinMs} ms`);
    await sleep(20);
  }
}

async function open(app: TestApp, options: SessionOptions = {}): Promise<Session> {
  const session = await openSession(app.url, options);
  sessions.push(session);
  return session;
}

/**
 * Proves the streams live, then forgets what they received. A subscription
 * without `after` sees what commits after it was accepted, and acceptance
 * takes a few statements: markers are written until every stream has seen
 * one, then one last marker that every stream receives after all earlier ones.
 */
async function live(app: TestApp, streams: Stream[], environmentId = env): Promise<Stream[]> {
  const markers = new Set<string>();
  const mark = async () => {
    const name = `MARK_${randomBytes(4).toString('hex')}`;
    markers.add(name);
    await upsertSecret(app, { environmentId, name, value: 'marker-value' });
    return name;
  };
  const sawMarker = (stream: Stream) => stream.events.some((e) => markers.has(e.name));
  const deadline = Date.now() + 20_000;
  while (!streams.every(sawMarker)) {
    if (Date.now() > deadline) throw new Error(`not live: ${JSON.stringify(streams.map((s) => s.errors))}`);
    await mark();
    for (let i = 0; i < 10 && !streams.every(sawMarker); i++) await sleep(50);
  }
  const last = await mark();
  for (const stream of streams) {
    await eventually(async () => stream.events.some((e) => e.name === last), 10_000);
    stream.events.length = 0;
  }
  return streams;
}

const refusal = async (stream: Stream) => {
  await stream.ended();
  return stream.errors.map((e) => [e.extensions?.code, e.message]);
};

describe('subscriptions per token and per instance', () => {
  it(`a token holds at most ${PER_TOKEN} subscriptions and ${PER_TOKEN} connections on an instance; closing one frees its place`, async () => {
    const token = await limited.listener(env);
    const first = await open(limited, { token });
    const [held] = await live(limited, [first.subscribe({}), first.subscribe({})]);

    expect(await refusal(first.subscribe({}))).toEqual([['RATE_LIMITED', `this token already has ${PER_TOKEN} subscriptions on this instance; close one first`]]);
    await open(limited, { token });
    await expect(openSession(limited.url, { token })).rejects.toEqual({ code: 1013, reason: 'too many connections for this token' });

    /* Another token is not held back by this one's limit. */
    const other = await open(limited, { token: await limited.listener(env, space) });
    const [otherStream] = await live(limited, [other.subscribe({})]);
    otherStream.stop();

    held.stop();
    await live(limited, [first.subscribe({})]);
  });

  it(`an instance serves at most ${PER_INSTANCE} subscriptions and connections: beyond, RATE_LIMITED and HTTP 503; another instance takes them`, async () => {
    const one = await open(limited, { token: await limited.listener(env) });
    const two = await open(limited, { token: await limited.listener(env, space) });
    await live(limited, [one.subscribe({}), one.subscribe({}), two.subscribe({}), two.subscribe({})]);

    const admin = await open(limited);
    expect(await refusal(admin.subscribe({ environmentId: env }))).toEqual([
      ['RATE_LIMITED', `this instance already serves ${PER_INSTANCE} subscriptions; retry later or on another instance`],
    ]);
    await open(limited);
    expect(await upgradeStatus(limited)).toBe(503);

    const elsewhere = await open(beating);
    await live(limited, [elsewhere.subscribe({ environmentId: env })]);
  });

  it('a connection that goes away before it is acknowledged leaves no place taken', async () => {
    const token = await limited.listener(env);
    for (let i = 0; i < PER_TOKEN * 5; i++) await initAndVanish(limited, token);
    await eventually(async () => limited.container.events.connections.size === 0, 2000);
    const session = await open(limited, { token });
    await live(limited, [session.subscribe({})]);
  });
});

/** The HTTP status of a WebSocket upgrade the server refuses (101: accepted). */
function upgradeStatus(app: TestApp): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${app.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    socket.on('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.on('open', () => {
      resolve(101);
      socket.close();
    });
    socket.on('error', (error) => reject(error));
  });
}

/** Sends connection_init and drops the connection at once, before the server can answer it. */
function initAndVanish(app: TestApp, token: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`${app.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    socket.on('open', () => {
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }), () => socket.terminate());
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
  });
}

describe('replay', () => {
  it(`an \`after\` cursor ${MAX_REPLAY} changes behind in its environment replays them; one more behind is BAD_USER_INPUT`, async () => {
    const environmentId = await createEnvironment(limited, 'replay bound');
    const session = await open(limited);
    const stream = session.subscribe({ environmentId });
    await sleep(150);
    for (let i = 0; i <= MAX_REPLAY; i++) await upsertSecret(limited, { environmentId, name: `R${i}`, value: `replay-value-${i}` });
    const [from] = await stream.waitFor(MAX_REPLAY + 1);
    stream.stop();

    const replay = session.subscribe({ environmentId, after: from.cursor });
    expect((await replay.waitFor(MAX_REPLAY)).map((e) => e.name)).toEqual(['R1', 'R2', 'R3']);
    replay.stop();

    await upsertSecret(limited, { environmentId, name: `R${MAX_REPLAY + 1}`, value: 'replay-value-last' });
    expect(await refusal(session.subscribe({ environmentId, after: from.cursor }))).toEqual([
      ['BAD_USER_INPUT', `after is more than ${MAX_REPLAY} changes behind (EVENTS_MAX_REPLAY); start again without after`],
    ]);
  });
});

describe('heartbeat', () => {
  it(`pings every ${HEARTBEAT_MS} ms and drops a connection that stopped answering; one that answers stays`, async () => {
    const answering = await open(beating);
    const silent = await open(beating, { autoPong: false });
    const started = Date.now();
    const { code } = await within(silent.closed, HEARTBEAT_MS * 6, { code: 0, reason: 'still open' });
    expect(code).toBe(1006); // terminated without a close frame: the peer is not there to read one
    expect(Date.now() - started).toBeLessThan(HEARTBEAT_MS * 4);

    await sleep(HEARTBEAT_MS * 3);
    expect(answering.socket.readyState).toBe(WebSocket.OPEN);
    await live(beating, [answering.subscribe({ environmentId: env })]);
  });
});

describe('a slow consumer', () => {
  const SUBSCRIPTIONS = 50;
  const WRITES = 200;
  const longName = (i: number) => `SLOW_${String(i).padStart(4, '0')}_${'x'.repeat(1000)}`;

  it.each([
    ['unsent data beyond EVENTS_MAX_BUFFERED_BYTES', () => fewBytes, 'slow consumer: too much unsent data'],
    [`more than EVENTS_MAX_QUEUE (${MAX_QUEUE}) events waiting`, () => fewEvents, 'slow consumer: events were not read fast enough'],
  ])('with %s is disconnected with 1013 instead of being buffered for; it resumes with `after`, and a fast one misses nothing', async (_what, app, reason) => {
    const server = app();
    const environmentId = await createEnvironment(server, `slow ${reason}`);
    const fast = await open(server);
    const lagging = await open(server);
    const streams = Array.from({ length: SUBSCRIPTIONS }, () => lagging.subscribe({ environmentId }));
    const [fastStream] = await live(server, [fast.subscribe({ environmentId }), ...streams], environmentId);

    /* The consumer stops reading: the server's writes fill the socket buffers (a few MB), then its own. */
    const raw = (lagging.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause();
    for (let i = 0; i < WRITES; i++) await upsertSecret(server, { environmentId, name: longName(i), value: `slow-value-${i}` });
    await fastStream.waitFor(WRITES, 30_000);
    raw.resume();

    expect(await within(lagging.closed, 10_000, { code: 0, reason: 'still open' })).toEqual({ code: 1013, reason });
    const received = streams.map((s) => s.events.length);
    expect(received.reduce((a, b) => a + b)).toBeLessThan((SUBSCRIPTIONS * WRITES) / 2); // most were never sent, nor held
    expect(fast.socket.readyState).toBe(WebSocket.OPEN);
    expect(fastStream.events.map((e) => e.name)).toEqual(Array.from({ length: WRITES }, (_, i) => longName(i)));

    /* The log still has what it missed. */
    const behind = streams.reduce((a, b) => (a.events.length <= b.events.length ? a : b));
    expect(behind.events.length).toBeGreaterThan(0);
    const resumed = (await open(server)).subscribe({ environmentId, after: behind.events.at(-1)!.cursor });
    const rest = WRITES - behind.events.length;
    expect((await resumed.waitFor(rest, 15_000)).map((e) => e.name)).toEqual(fastStream.events.slice(behind.events.length).map((e) => e.name));
  });
});

describe('values', () => {
  it('no event of any kind of change carries a value: not in any raw frame', async () => {
    const environmentId = await createEnvironment(limited, 'no values');
    const spaceId = await createSpace(limited, environmentId, 'no values space');
    const session = await open(limited);
    const [everything, asActor] = await live(limited, [session.subscribe({ environmentId }), session.subscribe({ spaceId, actorId: 'us_actor_1' })], environmentId);
    session.frames.length = 0;

    const values: string[] = [];
    const value = () => {
      values.push(`never-in-an-event-${randomBytes(8).toString('hex')}`);
      return values.at(-1)!;
    };
    const gql = async (query: string, variables: Record<string, unknown>) => dataOf(await limited.gql(query, variables));
    const shared = await upsertSecret(limited, { environmentId, name: 'SHARED', value: value() });
    await upsertSecret(limited, { environmentId, name: 'SHARED', value: value() });
    await upsertSecret(limited, { environmentId, spaceId, name: 'OVERRIDDEN', value: value() });
    await gql(`mutation($i: UpsertSecretInput!) { upsertSecret(input: $i) { id } }`, { i: { environmentId, actorId: 'us_actor_1', name: 'MINE', value: value() } });
    await gql(`mutation($i: UpsertSecretInput!) { upsertSecret(input: $i) { id } }`, { i: { environmentId, spaceId, actorId: 'us_actor_1', name: 'MINE_HERE', value: value() } });
    await gql(`mutation($i: RollbackSecretInput!) { rollbackSecret(input: $i) { version } }`, { i: { id: shared.id, version: 1 } });
    await gql(`mutation($id: ID!) { deleteSecret(id: $id) }`, { id: shared.id });
    await gql(`mutation($id: ID!) { restoreSecret(id: $id) { version } }`, { id: shared.id });
    await gql(`mutation($id: ID!) { destroySecret(id: $id) }`, { id: shared.id });

    const events = await everything.waitFor(9);
    expect(events.map((e) => `${e.name}:${e.action}`)).toEqual([
      'SHARED:SECRET_WRITTEN',
      'SHARED:SECRET_WRITTEN',
      'OVERRIDDEN:SECRET_WRITTEN',
      'MINE:SECRET_WRITTEN',
      'MINE_HERE:SECRET_WRITTEN',
      'SHARED:SECRET_ROLLED_BACK',
      'SHARED:SECRET_DELETED',
      'SHARED:SECRET_RESTORED',
      'SHARED:SECRET_DESTROYED',
    ]);
    /* The space with its actor sees all of them too: its own row, the environment's it does not override, the actor's. */
    expect((await asActor.waitFor(9)).map((e) => e.cursor)).toEqual(events.map((e) => e.cursor));
    const frames = session.frames.join('\n');
    expect(frames).toContain('MINE_HERE');
    expect(values.filter((v) => frames.includes(v))).toEqual([]);
    expect(frames).not.toMatch(/"value"/);
  });
});

import { startTestApp, type TestApp } from '../support/app';
import { createEnvironment, UPSERT } from '../support/operations';
import { startPgCluster, type PgCluster } from '../support/pg-cluster';
import { readiness, untilReady } from '../support/readiness';
import { openSession, type SecretEventResult, type Session, type Stream } from '../support/ws';

/*
 * DESIGN §12 across a PostgreSQL restart, on a private cluster with two
 * instances: subscriptions stay open while the database is away, the
 * listening connections reconnect by themselves, and what was committed
 * while an instance was not listening reaches its subscribers from the log
 * (its notifications are lost), so no event is lost and none is doubled.
 * Instance A listens as its own role (DATABASE_LISTEN_URL) and polls only
 * every 10 minutes: the test keeps that role from logging in after the
 * restart, writes through B meanwhile, and lets A back in, so only A's
 * catch-up on reconnecting can deliver those writes in time.
 */

const LISTEN_ROLE = 'secretspace_listen';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let cluster: PgCluster;
let a: TestApp;
let b: TestApp;
let env: string;
const sessions: Session[] = [];

beforeAll(async () => {
  cluster = await startPgCluster();
  const url = await cluster.createDatabase('events_restart');
  await cluster.sql(`CREATE ROLE ${LISTEN_ROLE} LOGIN`);
  const listenUrl = new URL(url);
  listenUrl.username = LISTEN_ROLE;
  const database = { url, drop: async () => undefined };
  a = await startTestApp({ database, keepDatabase: true, env: { DATABASE_LISTEN_URL: listenUrl.toString(), EVENTS_POLL_MS: '600000' } });
  b = await startTestApp({ database, keepDatabase: true });
  env = await createEnvironment(b, 'restart');
});
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await a?.close();
  await b?.close();
  await cluster?.remove();
});

async function eventually(what: string, check: () => Promise<boolean> | boolean, withinMs = 20_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: still not so after ${withinMs} ms`);
    await sleep(50);
  }
}

/** A write through B, retried while the database is coming back (503 SERVICE_UNAVAILABLE). */
async function write(name: string): Promise<void> {
  await eventually(`writing ${name}`, async () => {
    const response = await b.gql(UPSERT, { input: { environmentId: env, name, value: `value-of-${name}` } }).catch(() => undefined);
    return Boolean(response?.data?.upsertSecret);
  });
}

const names = (stream: Stream) => stream.events.map((e) => e.name);
const has = (stream: Stream, name: string) => () => names(stream).includes(name);

it('reconnects after a PostgreSQL restart and delivers every event exactly once, those sent while an instance was deaf included', async () => {
  const onA = await openSession(a.url);
  const onB = await openSession(b.url);
  sessions.push(onA, onB);
  const streams = [onA.subscribe({ environmentId: env }), onB.subscribe({ environmentId: env })];
  /* Live from acceptance: the first write both see starts the record. */
  for (let i = 0; !streams.every((s) => s.events.length > 0); i++) {
    await write(`WARM_${i}`);
    await sleep(200);
  }
  const before = ['BEFORE_0', 'BEFORE_1'];
  for (const name of before) await write(name);
  for (const stream of streams) await eventually('before the restart', has(stream, 'BEFORE_1'));

  await cluster.sql(`ALTER ROLE ${LISTEN_ROLE} NOLOGIN`); // A's listening connection stays until the restart, then cannot come back
  await cluster.stop('fast');
  await sleep(1000);
  await cluster.start();

  const deaf = ['WHILE_A_DEAF_0', 'WHILE_A_DEAF_1', 'WHILE_A_DEAF_2'];
  for (const name of deaf) await write(name);
  expect((await readiness(a)).body.failing).toEqual(['events']); // A's pool is back; its listening connection is not
  await eventually('B delivers', has(streams[1], deaf.at(-1)!));
  await sleep(1500);
  expect(names(streams[0])).not.toContain(deaf[0]); // A heard nothing and polls rarely: only its catch-up can deliver these

  await cluster.sql(`ALTER ROLE ${LISTEN_ROLE} LOGIN`);
  expect((await untilReady(a, 20_000)).status).toBe(200);
  await eventually('A catches up from the log', has(streams[0], deaf.at(-1)!), 5000);
  await write('AFTER');
  for (const stream of streams) await eventually('after the restart', has(stream, 'AFTER'));

  const record = (stream: Stream): SecretEventResult[] => stream.events.slice(stream.events.findIndex((e) => e.name === 'BEFORE_0'));
  const [fromA, fromB] = streams.map(record);
  expect(fromA.map((e) => e.name)).toEqual([...before, ...deaf, 'AFTER']);
  expect(fromA.map((e) => e.cursor)).toEqual(fromB.map((e) => e.cursor)); // the same events in the same order, none twice
  for (const stream of streams) expect([stream.completed, stream.errors]).toEqual([false, []]); // the subscriptions rode it out
  expect(a.logs.join('\n')).toMatch(/listening connection lost; reconnecting[\s\S]*listening connection reconnected/);

  /* And a subscriber resuming from before the restart replays the same record from the log. */
  const later = await openSession(a.url);
  sessions.push(later);
  const resumed = later.subscribe({ environmentId: env, after: fromA[0].cursor });
  await eventually('the replay', has(resumed, 'AFTER'), 10_000);
  expect(resumed.events.map((e) => e.cursor)).toEqual(fromA.slice(1).map((e) => e.cursor));
});

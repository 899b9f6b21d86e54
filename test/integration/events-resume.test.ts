import { Client } from 'pg';

import { startTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createEnvironment, createSpace, upsertSecret } from '../support/operations';
import { openSession, type SecretEventResult, type Session, type Stream } from '../support/ws';

/*
 * DESIGN §12's delivery guarantees, with two instances on one database:
 * an event written through either reaches subscribers on both; `after`
 * replays from the log and continues live with no gap and no duplicate,
 * also while writes go on; and a transaction that took its seq early and
 * commits late is delivered in its place, never skipped.
 */

let database: TestDatabase;
let a: TestApp;
let b: TestApp;
const sessions: Session[] = [];
let env: string;
let space: string;

beforeAll(async () => {
  database = await createTestDatabase();
  a = await startTestApp({ database, keepDatabase: true });
  b = await startTestApp({ database, keepDatabase: true });
  env = await createEnvironment(a, 'resume');
  space = await createSpace(a, env, 'resume space');
});
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await a?.close();
  await b?.close();
  await database?.drop();
});

const open = async (app: TestApp) => {
  const session = await openSession(app.url);
  sessions.push(session);
  return session;
};

const key = (e: SecretEventResult) => `${e.name}@${e.version}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until a stream has an event named `name`, and returns the events up to it. */
async function until(stream: Stream, name: string, timeoutMs = 15_000): Promise<SecretEventResult[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const at = stream.events.findIndex((e) => e.name === name);
    if (at >= 0) return stream.events.slice(0, at + 1);
    if (Date.now() > deadline) throw new Error(`no ${name} among ${stream.events.length} events: ${JSON.stringify(stream.errors)}`);
    await sleep(20);
  }
}

it('delivers every change, written through either instance, to subscribers on both', async () => {
  const [onA, onB] = [(await open(a)).subscribe({ environmentId: env }), (await open(b)).subscribe({ spaceId: space })];
  await sleep(200);
  await upsertSecret(a, { environmentId: env, name: 'FROM_A', value: 'value-from-a' });
  await upsertSecret(b, { environmentId: env, name: 'FROM_B', value: 'value-from-b' });
  await upsertSecret(b, { environmentId: env, spaceId: space, name: 'SPACE_FROM_B', value: 'value-space-b' });
  for (const stream of [onA, onB]) {
    const events = await until(stream, 'SPACE_FROM_B');
    expect(events.map((e) => e.name)).toEqual(['FROM_A', 'FROM_B', 'SPACE_FROM_B']);
  }
  expect(onA.events.map((e) => e.cursor)).toEqual(onB.events.map((e) => e.cursor)); // one order, the log's, on every instance
  onA.stop();
  onB.stop();
});

it('resumes with `after` on another instance with no gap and no duplicate while writes go on', async () => {
  const witness = (await open(a)).subscribe({ environmentId: env });
  const first = (await open(b)).subscribe({ environmentId: env });
  await sleep(200);

  const WRITES = 120;
  let written = 0;
  const writers = Array.from({ length: 6 }, async (_, w) => {
    for (let i = w; i < WRITES; i += 6) {
      const app = i % 2 ? a : b;
      await upsertSecret(app, { environmentId: env, spaceId: i % 3 === 0 ? space : null, name: `C_${i % 40}`, value: `value-${i}-xxxxxxxx` });
      written += 1;
    }
  });

  /* Part way through, the first subscriber goes away and resumes, on the other instance, from its last cursor. */
  while (first.events.length < 20) await sleep(10);
  first.stop();
  await sleep(50);
  const seen = [...first.events];
  const resumed = (await open(a)).subscribe({ environmentId: env, after: seen.at(-1)!.cursor });
  await Promise.all(writers);
  expect(written).toBe(WRITES);
  await upsertSecret(b, { environmentId: env, name: 'C_END', value: 'the-end-value' });

  const all = await until(witness, 'C_END');
  const rest = await until(resumed, 'C_END');
  expect(all.filter((e) => e.name.startsWith('C_'))).toHaveLength(WRITES + 1);
  const joined = [...seen, ...rest].map((e) => e.cursor);
  expect(new Set(joined).size).toBe(joined.length); // no duplicate
  const from = all.findIndex((e) => e.cursor === seen[0].cursor);
  expect(joined).toEqual(all.slice(from).map((e) => e.cursor)); // no gap, the same order
  expect([...seen, ...rest].map(key)).toEqual(all.slice(from).map(key));
  witness.stop();
  resumed.stop();
});

it('does not skip a transaction that took its seq early and commits after later ones', async () => {
  const live = (await open(b)).subscribe({ environmentId: env });
  await sleep(200);
  await upsertSecret(a, { environmentId: env, name: 'BEFORE_SLOW', value: 'before-slow-value' });
  const [before] = await live.waitFor(1);

  /* A writer whose change row is inserted now (seq taken) and committed only after five others. */
  const slow = new Client({ connectionString: database.url });
  await slow.connect();
  try {
    await slow.query('BEGIN');
    const [{ seq }] = (
      await slow.query(
        `INSERT INTO audit_event (id, xid, action, environment_id, secret_id, secret_name, secret_version, topic, affected_space_ids)
         VALUES (gen_random_uuid(), pg_current_xact_id(), 'SECRET_WRITTEN', $1, gen_random_uuid(), 'SLOW', 1, 'secret:created', '{}')
         RETURNING seq::text AS seq`,
        [env],
      )
    ).rows;
    for (let i = 0; i < 5; i++) await upsertSecret(i % 2 ? a : b, { environmentId: env, name: `LATE_${i}`, value: `late-value-${i}` });
    const seqs = await a.sql<{ seq: string }>(`SELECT seq::text AS seq FROM audit_event WHERE secret_name LIKE 'LATE_%' ORDER BY seq`);
    expect(seqs.every((r) => BigInt(r.seq) > BigInt(seq))).toBe(true); // a "seq > last" reader would have moved past SLOW
    await sleep(500); // the later commits are in the log; a reader must hold them back, not skip SLOW
    await slow.query('COMMIT');
  } finally {
    await slow.end();
  }

  const events = await until(live, 'LATE_4');
  expect(events.map((e) => e.name)).toEqual(['BEFORE_SLOW', 'SLOW', 'LATE_0', 'LATE_1', 'LATE_2', 'LATE_3', 'LATE_4']);

  /* A replay from before it reads the same order from the log. */
  const replay = (await open(a)).subscribe({ environmentId: env, after: before.cursor });
  const replayed = await until(replay, 'LATE_4');
  expect(replayed.map((e) => e.cursor)).toEqual(events.slice(1).map((e) => e.cursor));
  live.stop();
  replay.stop();
});

describe('cursors', () => {
  const refused = async (after: string) => {
    const stream = (await open(a)).subscribe({ environmentId: env, after });
    await stream.ended();
    return stream.errors.map((e) => [e.extensions?.code, e.message]);
  };

  it('refuses a cursor that is not ours, before anything is delivered', async () => {
    const forged = Buffer.from('event:999999999:99999999').toString('base64url');
    expect(await refused(forged)).toEqual([['BAD_USER_INPUT', 'after is not a cursor returned by secretEvents']]);
    expect(await refused('garbage')).toEqual([['BAD_USER_INPUT', 'after is not a cursor returned by secretEvents']]);
    const auditCursor = Buffer.from('audit:12').toString('base64url');
    expect((await refused(auditCursor))[0][0]).toBe('BAD_USER_INPUT');
  });

  it('refuses a cursor older than audit retention as expired', async () => {
    const stream = (await open(a)).subscribe({ environmentId: env });
    await sleep(200);
    await upsertSecret(a, { environmentId: env, name: 'OLD', value: 'old-value-xx' });
    const [old] = await stream.waitFor(1);
    stream.stop();
    const [{ seq }] = await a.sql<{ seq: string }>(`SELECT max(seq)::text AS seq FROM audit_event WHERE secret_name = 'OLD'`);
    await a.sql(`INSERT INTO audit_retention (dropped_through_seq) VALUES ($1) ON CONFLICT (singleton) DO UPDATE SET dropped_through_seq = $1`, [seq]);
    try {
      const [[code, message]] = await refused(old.cursor);
      expect(code).toBe('BAD_USER_INPUT');
      expect(message).toMatch(/^cursor expired/);
    } finally {
      await a.sql(`DELETE FROM audit_retention`);
    }
  });
});

it('orders the log by transaction id and seq as numbers: one transaction’s changes across seq 10^k replay in order, and a new subscription starts after all of them', async () => {
  const witness = (await open(a)).subscribe({ environmentId: env });
  await sleep(200);
  await upsertSecret(a, { environmentId: env, name: 'BEFORE_BOUNDARY', value: 'value-before-boundary' });
  const before = (await until(witness, 'BEFORE_BOUNDARY')).at(-1)!;

  /* The audit sequence just below a power of ten, then one transaction of 20 changes across it (as text, '100000' < '99999'). */
  const client = new Client({ connectionString: database.url });
  await client.connect();
  const CROSSING = Array.from({ length: 20 }, (_, i) => `CROSS_${String(i + 1).padStart(2, '0')}`);
  try {
    const { rows } = await client.query<{ last: string }>(`SELECT pg_sequence_last_value(pg_get_serial_sequence('audit_event', 'seq')::regclass)::text AS last`);
    const boundary = 10 ** (String(Number(rows[0].last) + 100).length);
    await client.query(`SELECT setval(pg_get_serial_sequence('audit_event', 'seq'), $1)`, [boundary - 11]);
    await client.query('BEGIN');
    for (const name of CROSSING) {
      await client.query(
        `INSERT INTO audit_event (id, xid, action, environment_id, secret_id, secret_name, secret_version, topic, affected_space_ids)
         VALUES (gen_random_uuid(), pg_current_xact_id(), 'SECRET_WRITTEN', $1, gen_random_uuid(), $2, 1, 'secret:created', '{}')`,
        [env, name],
      );
    }
    await client.query('COMMIT');
    const { rows: seqs } = await client.query<{ seq: string }>(`SELECT seq::text AS seq FROM audit_event WHERE secret_name LIKE 'CROSS_%' ORDER BY audit_event.seq`);
    expect(seqs.map((r) => r.seq.length)).toContain(String(boundary).length); // the batch did cross
    expect(seqs.map((r) => r.seq.length)).toContain(String(boundary).length - 1);
  } finally {
    await client.end();
  }

  await upsertSecret(a, { environmentId: env, name: 'AFTER_BOUNDARY', value: 'value-after-boundary' });
  const names = (events: SecretEventResult[]) => events.map((e) => e.name);
  expect(names((await until(witness, 'AFTER_BOUNDARY')).slice(-21))).toEqual([...CROSSING, 'AFTER_BOUNDARY']);

  const replayed = (await open(b)).subscribe({ environmentId: env, after: before.cursor });
  expect(names(await until(replayed, 'AFTER_BOUNDARY'))).toEqual([...CROSSING, 'AFTER_BOUNDARY']);

  /* Live from acceptance: nothing of the batch, already committed, arrives at a new subscription on either instance. */
  const fresh = [(await open(a)).subscribe({ environmentId: env }), (await open(b)).subscribe({ environmentId: env })];
  await sleep(300);
  await upsertSecret(b, { environmentId: env, name: 'LAST_MARKER', value: 'value-last-marker' });
  for (const stream of fresh) expect(names(await until(stream, 'LAST_MARKER'))).toEqual(['LAST_MARKER']);
  for (const stream of [witness, replayed, ...fresh]) stream.stop();
});

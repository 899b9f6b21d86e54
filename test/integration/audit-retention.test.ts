import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

import { AccessPolicy } from '../../src/modules/access/access-policy';
import { startTestApp, TEST_MASTER_KEYS, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { dataOf, errorCode } from '../support/operations';

/*
 * Retention by partition (AUDIT_RETENTION_DAYS=30 here). Back-dated
 * partitions and rows are made directly in SQL, before anything else is
 * logged, so their seq are lower than the app's own events, as in a real log.
 */

const DAY = 86_400_000;
let db: TestDatabase;
let app: TestApp;
let other: TestApp; // a second instance on the same database
const utcDay = (offset: number) => new Date(Math.floor(Date.now() / DAY) * DAY + offset * DAY);
const partitionName = (offset: number) => `audit_event_p${utcDay(offset).toISOString().slice(0, 10).replaceAll('-', '')}`;

beforeAll(async () => {
  db = await createTestDatabase();
  app = await startTestApp({ env: { AUDIT_RETENTION_DAYS: '30' }, database: db, keepDatabase: true });
  other = await startTestApp({ env: { AUDIT_RETENTION_DAYS: '30' }, database: db, keepDatabase: true });
});
afterAll(async () => {
  await other?.close();
  await app?.close();
  await db?.drop();
});

const EVENTS = `query($a: AuditAction, $after: String, $first: Int) {
  auditEvents(action: $a, after: $after, first: $first) { edges { cursor node { id at action count firstAt lastAt tokenId secretName } } pageInfo { hasNextPage } }
}`;

describe('retention', () => {
  const old = [-40, -32, -30, -10]; // -40 and -32 end before the cutoff (now - 30 days); -30 ends after it
  let seqs: Record<number, string[]>;
  let cursors: Map<string, string>;

  beforeAll(async () => {
    seqs = {};
    await app.sql(`INSERT INTO audit_event (id, at, action, secret_name) VALUES (gen_random_uuid(), $1, 'SECRET_READ', 'IN_DEFAULT')`, [
      new Date(utcDay(-100).getTime() + 3_600_000),
    ]);
    for (const offset of old) {
      await app.sql(`CREATE TABLE ${partitionName(offset)} PARTITION OF audit_event FOR VALUES FROM ('${utcDay(offset).toISOString()}') TO ('${utcDay(offset + 1).toISOString()}')`);
      const rows = await app.sql(
        `INSERT INTO audit_event (id, at, action, secret_name)
         SELECT gen_random_uuid(), $1::timestamptz + i * interval '1 hour', 'SECRET_READ', 'DAY' || $2 FROM generate_series(1, 3) i
         RETURNING seq::text`,
        [utcDay(offset), offset],
      );
      seqs[offset] = rows.map((r) => r.seq);
    }
    const all = dataOf(await app.gql(EVENTS, { first: 500 })).auditEvents.edges;
    cursors = new Map(all.map((e: any) => [e.node.secretName ? `${e.node.secretName}@${e.node.at}` : e.node.id, e.cursor]));
  });

  const cursorOf = async (offset: number) => {
    const [row] = await app.sql(`SELECT at FROM audit_event WHERE seq = $1`, [seqs[offset][1]]);
    return cursors.get(`DAY${offset}@${row.at.toISOString()}`)!;
  };

  it('drops exactly the partitions past retention, from several instances at once, and audits each drop', async () => {
    const expiredCursor = await cursorOf(-32);
    const freshCursor = await cursorOf(-30);
    const KEPT = `SELECT count(*)::int AS n, md5(string_agg(id::text, ',' ORDER BY seq)) AS ids FROM audit_event
                   WHERE at >= now() - interval '30 days' AND action <> 'AUDIT_PRUNED'`;
    const kept = await app.sql(KEPT);

    const runs = await Promise.all([
      app.container.auditRetention.prune(AccessPolicy.system, { wait: true }),
      other.container.auditRetention.prune(AccessPolicy.system, { wait: true }),
      app.container.auditRetention.prune(AccessPolicy.system),
      other.container.auditRetention.prune(AccessPolicy.system),
    ]);
    const dropped = runs.flatMap((r) => r.dropped.map((p) => p.name)).sort();
    expect(dropped).toEqual(['audit_event_default', partitionName(-40), partitionName(-32)].sort());

    const names = (await app.container.auditRetention.partitions(AccessPolicy.system)).map((p) => p.name);
    expect(names).not.toContain(partitionName(-40));
    expect(names).not.toContain(partitionName(-32));
    expect(names).toContain(partitionName(-30));
    expect(names).toContain(partitionName(-10));
    expect(names).toContain('audit_event_default'); // recreated, empty
    expect(await app.sql(`SELECT count(*)::int AS n FROM audit_event_default`)).toEqual([{ n: 0 }]);
    // nothing within retention went anywhere
    expect(await app.sql(KEPT)).toEqual(kept);
    expect(await app.sql(`SELECT count(*)::int AS n FROM audit_event WHERE secret_name IN ('DAY-40', 'DAY-32', 'IN_DEFAULT')`)).toEqual([{ n: 0 }]);
    expect(await app.sql(`SELECT dropped_through_seq::text AS seq FROM audit_retention`)).toEqual([{ seq: seqs[-32][2] }]);

    const pruned = dataOf(await app.gql(EVENTS, { a: 'AUDIT_PRUNED' })).auditEvents.edges.map((e: any) => e.node);
    expect(pruned).toHaveLength(3);
    expect(pruned.every((n: any) => n.tokenId === null && n.count === 1 && n.lastAt)).toBe(true);
    expect(pruned.map((n: any) => [n.firstAt, n.lastAt])).toEqual(
      expect.arrayContaining([
        [utcDay(-40).toISOString(), utcDay(-39).toISOString()],
        [utcDay(-32).toISOString(), utcDay(-31).toISOString()],
      ]),
    );

    // an expired cursor is refused; one inside retention pages on
    const expired = await app.gql(EVENTS, { after: expiredCursor });
    expect(errorCode(expired)).toBe('BAD_USER_INPUT');
    expect(expired.errors![0].message).toContain('cursor expired');
    expect(expired.errors![0].extensions?.field).toBe('after');
    const fresh = dataOf(await app.gql(EVENTS, { after: freshCursor })).auditEvents.edges.map((e: any) => e.node.secretName);
    expect(fresh).toEqual(['DAY-30', null]); // the older DAY-30 row, then the bootstrap token's creation (seq 1, today)

    // idempotent: nothing left to drop, nothing more audited
    const again = await app.container.auditRetention.prune(AccessPolicy.system, { wait: true });
    expect(again).toEqual({ ran: true, dropped: [] });
    expect(dataOf(await app.gql(EVENTS, { a: 'AUDIT_PRUNED' })).auditEvents.edges).toHaveLength(3);
  });

  it('`npm run cli -- audit prune` does the same work with the same lock', async () => {
    await app.sql(`CREATE TABLE ${partitionName(-60)} PARTITION OF audit_event FOR VALUES FROM ('${utcDay(-60).toISOString()}') TO ('${utcDay(-59).toISOString()}')`);
    const CLI = path.join(__dirname, '..', '..', 'dist', 'src', 'cli', 'index.js');
    const run = (...args: string[]) =>
      promisify(execFile)(process.execPath, [CLI, ...args], {
        env: { PATH: process.env.PATH, DATABASE_URL: db.url, LOCAL_MASTER_KEYS: TEST_MASTER_KEYS, AUDIT_RETENTION_DAYS: '30' },
      });
    const [first, second] = await Promise.all([run('audit', 'prune', '--json'), run('audit', 'prune', '--json')]);
    const dropped = [first, second].flatMap((r) => JSON.parse(r.stdout).dropped.map((p: { name: string }) => p.name));
    expect(dropped).toEqual([partitionName(-60)]);
    expect((await run('audit', 'partitions')).stdout).toContain(partitionName(0));
  });
});

describe('partitions', () => {
  it('an insert beyond the partitions lands in the default one; partitions ahead are created, skipping days the default holds', async () => {
    for (const offset of [3, 5, 7]) await app.sql(`DROP TABLE IF EXISTS ${partitionName(offset)}`);
    const at = new Date(utcDay(5).getTime() + 60_000);
    await app.sql(`INSERT INTO audit_event (id, at, action, secret_name) VALUES (gen_random_uuid(), $1, 'SECRET_READ', 'FUTURE')`, [at]);
    expect(await app.sql(`SELECT secret_name FROM audit_event_default`)).toEqual([{ secret_name: 'FUTURE' }]);

    const results = await Promise.all([app.container.auditRetention.createAhead(AccessPolicy.system), other.container.auditRetention.createAhead(AccessPolicy.system, { wait: true })]);
    expect(results.flatMap((r) => r.created).sort()).toEqual([partitionName(3), partitionName(7)]);
    const names = (await app.container.auditRetention.partitions(AccessPolicy.system)).map((p) => p.name);
    expect(names).not.toContain(partitionName(5));
    for (const offset of [0, 1, 2, 3, 4, 6, 7]) expect(names).toContain(partitionName(offset));
    // the new partitions carry the indexes and the append-only trigger
    const [{ indexes }] = await app.sql(`SELECT count(*)::int AS indexes FROM pg_indexes WHERE tablename = $1`, [partitionName(3)]);
    expect(indexes).toBe(6);
    await app.sql(`INSERT INTO audit_event (id, at, action) VALUES (gen_random_uuid(), $1, 'SECRET_READ')`, [new Date(utcDay(3).getTime() + 1000)]);
    await expect(app.sql(`DELETE FROM ${partitionName(3)}`)).rejects.toThrow(/append-only/);
  });
});

describe('a start on a day without its partition (down for over a week, or a new embedded cluster)', () => {
  it('creates today’s partition before its first audit row, so the day does not end up in the default partition', async () => {
    const fresh = await createTestDatabase();
    try {
      const first = await startTestApp({ database: fresh, keepDatabase: true });
      await first.close();
      const today = partitionName(0);
      const { Client } = await import('pg');
      const sql = new Client({ connectionString: fresh.url });
      await sql.connect();
      try {
        await sql.query(`DROP TABLE ${today}`); // as if the server had been down since before the week ahead was made
        const again = await startTestApp({ database: fresh, keepDatabase: true, env: { BOOTSTRAP_ADMIN_TOKEN: `another-bootstrap-${'x'.repeat(32)}` } });
        await again.close();
        /* The new bootstrap token's TOKEN_CREATED row was written during start-up, before any timer ran. */
        const { rows } = await sql.query(`SELECT tableoid::regclass::text AS partition, action FROM audit_event WHERE action = 'TOKEN_CREATED'`);
        expect(rows).toEqual([{ partition: today, action: 'TOKEN_CREATED' }]);
        expect((await sql.query('SELECT count(*)::int AS n FROM audit_event_default')).rows[0].n).toBe(0);
      } finally {
        await sql.end();
      }
    } finally {
      await fresh.drop();
    }
  });
});

import { AccessPolicy } from '../../src/modules/access/access-policy';
import { DataSource } from 'typeorm';

import { createDataSource } from '../../src/db/database';
import { migrations } from '../../src/migrations';
import { startTestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { dataOf } from '../support/operations';

/*
 * The AuditPartitions migration on an existing log: every row keeps its seq,
 * id and fields. 50,000 rows in the normal run; AUDIT_MIGRATION_ROWS=1000000
 * for the million-row run (its timing is printed).
 */
const ROWS = Number(process.env.AUDIT_MIGRATION_ROWS ?? 50_000);

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

const FINGERPRINT = `
  SELECT count(*)::int AS rows, max(seq)::text AS "maxSeq",
         md5(string_agg(concat_ws('|', seq, id, at, action, token_id, environment_id, space_id, secret_id,
                                  secret_name, secret_version, source, subject_token_id), ',' ORDER BY seq)) AS digest
    FROM audit_event WHERE seq <= $1`;

async function withDataSource<T>(source: DataSource, run: (ds: DataSource) => Promise<T>): Promise<T> {
  await source.initialize();
  try {
    return await run(source);
  } finally {
    await source.destroy();
  }
}

it(`moves an audit log of ${ROWS.toLocaleString('en')} rows into partitions without losing or changing a row`, async () => {
  const before = await withDataSource(
    new DataSource({ type: 'postgres', url: db.url, migrations: migrations.slice(0, 2), migrationsTableName: 'migrations' }),
    async (ds) => {
      await ds.runMigrations({ transaction: 'each' });
      /* Rows over the last 200 days, every kind of field, a gap in seq (a rolled-back insert) and a 1,024-character name. */
      await ds.query(`
        INSERT INTO audit_event (id, at, action, token_id, environment_id, space_id, secret_id, secret_name, secret_version, source, subject_token_id)
        SELECT gen_random_uuid(), now() - (i % 200) * interval '1 day' - (i % 86400) * interval '1 second',
               (ARRAY['SECRET_READ','SECRET_READ','SECRET_READ','SECRET_WRITTEN','TOKEN_CREATED'])[1 + i % 5],
               CASE WHEN i % 7 = 0 THEN NULL ELSE gen_random_uuid() END, gen_random_uuid(),
               CASE WHEN i % 3 = 0 THEN gen_random_uuid() END, gen_random_uuid(),
               CASE WHEN i % 5 = 4 THEN NULL WHEN i = 17 THEN repeat('é', 1024) ELSE 'NAME_' || (i % 50) END,
               CASE WHEN i % 5 = 4 THEN NULL ELSE 1 + i % 9 END,
               CASE WHEN i % 5 = 4 THEN NULL WHEN i % 2 = 0 THEN 'SPACE' ELSE 'ENVIRONMENT' END,
               CASE WHEN i % 5 = 4 THEN gen_random_uuid() END
          FROM generate_series(1, ${ROWS}) AS i`);
      await ds.query(`BEGIN; INSERT INTO audit_event (id, action) VALUES (gen_random_uuid(), 'SECRET_READ'); ROLLBACK`);
      await ds.query(`INSERT INTO audit_event (id, action) VALUES (gen_random_uuid(), 'SECRET_WRITTEN')`);
      return (await ds.query(FINGERPRINT, [Number.MAX_SAFE_INTEGER]))[0];
    },
  );
  expect(before.rows).toBe(ROWS + 1);

  const started = process.hrtime.bigint();
  await withDataSource(createDataSource({ url: db.url }, 2), (ds) => ds.runMigrations({ transaction: 'each' }));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  process.stderr.write(`AuditPartitions migration of ${(ROWS + 1).toLocaleString('en')} rows: ${ms.toFixed(0)} ms\n`);

  const app = await startTestApp({ database: db, keepDatabase: true });
  try {
    expect((await app.sql(FINGERPRINT, [before.maxSeq]))[0]).toEqual(before);
    const [table] = await app.sql(`SELECT relkind FROM pg_class WHERE relname = 'audit_event'`);
    expect(table.relkind).toBe('p');
    const partitions = await app.container.auditRetention.partitions(AccessPolicy.system);
    expect(partitions[0]).toMatchObject({ name: 'audit_event_legacy', from: null });
    expect(partitions.some((p) => p.isDefault)).toBe(true);
    const today = new Date().toISOString().slice(0, 10).replaceAll('-', '');
    const names = partitions.map((p) => p.name);
    expect(names.some((n) => n > `audit_event_p${today}`)).toBe(true); // days ahead exist
    // every legacy row is in the legacy partition, with the new columns at their defaults
    const [legacy] = await app.sql(
      `SELECT count(*)::int AS n, bool_and(count = 1 AND xid IS NULL AND first_at IS NULL AND actor_id IS NULL) AS defaults
         FROM audit_event_legacy WHERE seq <= $1`,
      [before.maxSeq],
    );
    expect(legacy).toEqual({ n: ROWS + 1, defaults: true });

    // new rows continue the sequence; the old ones stay append-only
    await app.gql(`mutation { createEnvironment(input: { name: "after-migration" }) { id } }`);
    const [next] = await app.sql(`SELECT min(seq)::text AS seq FROM audit_event WHERE seq > $1`, [before.maxSeq]);
    expect(BigInt(next.seq)).toBeGreaterThan(BigInt(before.maxSeq));
    await expect(app.sql(`UPDATE audit_event SET action = 'X' WHERE seq = 1`)).rejects.toThrow(/append-only/);
    await expect(app.sql(`DELETE FROM audit_event_legacy WHERE seq = 1`)).rejects.toThrow(/append-only/);
    await expect(app.sql(`TRUNCATE audit_event`)).rejects.toThrow(/append-only/);

    // a cursor made before the migration pages on through the old rows
    const cursor = Buffer.from(`audit:${before.maxSeq}`).toString('base64url');
    const page = dataOf(
      await app.gql(`query($a: String) { auditEvents(first: 3, after: $a) { edges { node { id count } } pageInfo { hasNextPage } } }`, { a: cursor }),
    ).auditEvents;
    expect(page.edges).toHaveLength(3);
    expect(page.edges.every((e: any) => e.node.count === 1)).toBe(true);
    expect(page.pageInfo.hasNextPage).toBe(true);
  } finally {
    await app.close();
  }
}, 600_000);

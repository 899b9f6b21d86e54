import type { MigrationInterface, QueryRunner } from 'typeorm';

/*
 * audit_event becomes a table partitioned by day (range on `at`, UTC days),
 * so retention drops whole partitions and no row is ever deleted one by one.
 *
 * The existing table is not copied: it is attached, as it is, as the first
 * partition (`audit_event_legacy`, from MINVALUE to the end of today), so an
 * upgrade of a 300 GB log costs the indexes it lacks and one validating scan,
 * never a second copy, and every row keeps its seq, id and fields. Retention
 * drops it once its newest row is past retention.
 *
 * Columns are the final set the audit features write (the change feed,
 * personal secrets, webhooks, coalesced reads), ordered for alignment: 8-byte
 * types first, then uuids, ints, and variable-length ones. There is no
 * global unique index on `id` (a partitioned table can only have one that
 * includes `at`, and every value read would pay for it); ids stay random
 * UUIDs. Indexes are few because every value read pays for each of them;
 * bench/audit-scale.ts measures them (notes/README-audit.md has the numbers):
 *   seq                     every row: the order of auditEvents
 *   (environment_id, seq)   every row: the environmentId filter
 *   (token_id, seq)         every row: the tokenId filter (what did this token read?)
 *   (name key, seq)         every row with a name: the secretName filter, on a
 *                           64-bit digest because names reach 4 KB of UTF-8
 *   (action, seq)           admin actions only: a SECRET_READ filter walks seq
 *   (xid, seq)              change events only: the event feed
 *
 * Besides: a default partition (an insert never fails for want of a
 * partition), audit_retention (the highest seq dropped, so an older cursor
 * is refused rather than silently skipping rows), and audit_read_window (the
 * mutable staging of AUDIT_READS=coalesce, rolled up into audit_event rows).
 */
export class AuditPartitions1764662400000 implements MigrationInterface {
  name = 'AuditPartitions1764662400000';

  async up(q: QueryRunner): Promise<void> {
    const [{ rows, last_value: lastSeq, legacy_until: legacyUntil }] = await q.query(`
      SELECT (SELECT count(*) FROM (SELECT 1 FROM audit_event LIMIT 1) one)::int AS rows,
             (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM audit_event_seq_seq)::text AS last_value,
             to_char(greatest(date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day',
                              date_trunc('day', (SELECT max(at) FROM audit_event) AT TIME ZONE 'UTC') + interval '1 day'),
                     'YYYY-MM-DD') AS legacy_until`);

    await q.query(`ALTER TABLE audit_event RENAME TO audit_event_legacy`);
    await q.query(`DROP TRIGGER audit_event_append_only ON audit_event_legacy`);
    await q.query(`ALTER TABLE audit_event_legacy DROP CONSTRAINT audit_event_pkey, DROP CONSTRAINT audit_event_id_key`);
    await q.query(`ALTER TABLE audit_event_legacy ALTER COLUMN seq DROP IDENTITY`); // drops audit_event_seq_seq
    await q.query(`ALTER INDEX audit_event_environment_idx RENAME TO audit_event_legacy_environment_idx`);

    await q.query(`
      CREATE TABLE audit_event (
        seq bigint GENERATED ALWAYS AS IDENTITY,
        at timestamptz NOT NULL DEFAULT now(),
        xid xid8,
        first_at timestamptz,
        last_at timestamptz,
        id uuid NOT NULL,
        token_id uuid,
        environment_id uuid,
        space_id uuid,
        secret_id uuid,
        subject_token_id uuid,
        webhook_id uuid,
        secret_version integer,
        count integer NOT NULL DEFAULT 1 CHECK (count >= 1),
        action varchar(32) NOT NULL,
        source varchar(16),
        secret_name text,
        actor_id text,
        affected_space_ids uuid[]
      ) PARTITION BY RANGE (at)`);
    await q.query(`ALTER TABLE audit_event ALTER COLUMN seq RESTART WITH ${BigInt(lastSeq) + 1n}`);
    await q.query(`
      CREATE FUNCTION audit_name_key(name text) RETURNS bigint
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        RETURN ('x' || left(md5(name), 16))::bit(64)::bigint`);
    await q.query(`CREATE INDEX audit_event_seq_idx ON audit_event (seq)`);
    await q.query(`CREATE INDEX audit_event_environment_idx ON audit_event (environment_id, seq)`);
    await q.query(`CREATE INDEX audit_event_token_idx ON audit_event (token_id, seq)`);
    await q.query(
      `CREATE INDEX audit_event_secret_name_idx ON audit_event (audit_name_key(secret_name), seq) WHERE secret_name IS NOT NULL`,
    );
    await q.query(`CREATE INDEX audit_event_action_idx ON audit_event (action, seq) WHERE action <> 'SECRET_READ'`);
    await q.query(`CREATE INDEX audit_event_feed_idx ON audit_event (xid, seq) WHERE xid IS NOT NULL`);
    await q.query(`
      CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
        FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()`);
    await q.query(`
      CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
        FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()`);

    let firstDay = `'${legacyUntil}'::date`;
    if (rows === 0) {
      await q.query(`DROP TABLE audit_event_legacy`);
      firstDay = `(now() AT TIME ZONE 'UTC')::date`;
    } else {
      await q.query(`
        ALTER TABLE audit_event_legacy
          ADD COLUMN xid xid8, ADD COLUMN first_at timestamptz, ADD COLUMN last_at timestamptz,
          ADD COLUMN webhook_id uuid, ADD COLUMN count integer NOT NULL DEFAULT 1 CONSTRAINT audit_event_count_check CHECK (count >= 1), ADD COLUMN actor_id text,
          ADD COLUMN affected_space_ids uuid[]`);
      await q.query(
        `ALTER TABLE audit_event ATTACH PARTITION audit_event_legacy FOR VALUES FROM (MINVALUE) TO ('${legacyUntil} 00:00:00+00')`,
      );
    }
    /* Today (or the day after the legacy rows) and a week ahead; the server keeps creating them. */
    await q.query(`
      DO $$
      DECLARE day date;
      BEGIN
        FOR day IN SELECT generate_series(${firstDay}, (now() AT TIME ZONE 'UTC')::date + 7, interval '1 day')::date LOOP
          EXECUTE format('CREATE TABLE %I PARTITION OF audit_event FOR VALUES FROM (%L) TO (%L)',
                         'audit_event_p' || to_char(day, 'YYYYMMDD'), day::text || ' 00:00:00+00', (day + 1)::text || ' 00:00:00+00');
        END LOOP;
      END $$`);
    await q.query(`CREATE TABLE audit_event_default PARTITION OF audit_event DEFAULT`);

    await q.query(`
      CREATE TABLE audit_retention (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        dropped_through_seq bigint NOT NULL,
        dropped_before timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);

    /*
     * Rows here are updated in place (count += n); fillfactor leaves room for those updates to stay HOT.
     * `shard` spreads one hot key over a few rows, so concurrent reads of it do not queue on one row lock.
     */
    await q.query(`
      CREATE TABLE audit_read_window (
        window_start timestamptz NOT NULL,
        first_at timestamptz NOT NULL,
        last_at timestamptz NOT NULL,
        token_id uuid,
        secret_id uuid,
        environment_id uuid,
        space_id uuid,
        secret_version integer,
        count integer NOT NULL CHECK (count >= 1),
        shard smallint NOT NULL,
        source varchar(16),
        secret_name text,
        actor_id text,
        CONSTRAINT audit_read_window_key UNIQUE NULLS NOT DISTINCT (window_start, token_id, secret_id, secret_version, shard)
      ) WITH (fillfactor = 70)`);
  }

  async down(q: QueryRunner): Promise<void> {
    /*
     * Back to one plain table: every row is copied (the columns the earlier
     * schema lacks are lost), partitions and the staging are dropped.
     */
    await q.query(`DROP TABLE audit_read_window`);
    await q.query(`DROP TABLE audit_retention`);
    await q.query(`ALTER TABLE audit_event RENAME TO audit_event_partitioned`);
    await q.query(`
      CREATE TABLE audit_event (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id uuid NOT NULL UNIQUE,
        at timestamptz NOT NULL DEFAULT now(),
        action varchar(32) NOT NULL,
        token_id uuid,
        environment_id uuid,
        space_id uuid,
        secret_id uuid,
        secret_name text,
        secret_version integer,
        source varchar(16),
        subject_token_id uuid
      )`);
    await q.query(`
      INSERT INTO audit_event (seq, id, at, action, token_id, environment_id, space_id, secret_id, secret_name,
                               secret_version, source, subject_token_id)
      OVERRIDING SYSTEM VALUE
      SELECT seq, id, at, action, token_id, environment_id, space_id, secret_id, secret_name,
             secret_version, source, subject_token_id
        FROM audit_event_partitioned ORDER BY seq`);
    await q.query(`SELECT setval(pg_get_serial_sequence('audit_event', 'seq'), (SELECT max(seq) FROM audit_event)) WHERE EXISTS (SELECT 1 FROM audit_event)`);
    await q.query(`DROP TABLE audit_event_partitioned`);
    await q.query(`DROP FUNCTION audit_name_key(text)`);
    await q.query(`CREATE INDEX audit_event_environment_idx ON audit_event (environment_id, seq)`);
    await q.query(`
      CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
        FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()`);
  }
}

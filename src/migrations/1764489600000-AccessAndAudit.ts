import type { MigrationInterface, QueryRunner } from 'typeorm';

/*
 * API tokens are stored only as SHA-256 hashes (they carry 256 random bits,
 * so a slow hash adds nothing). A listener token's binding is checked by the
 * same composite key as secrets, so it cannot name a space of another
 * environment; tokens go with the environment or space they are bound to.
 *
 * The audit log is append-only: no foreign keys (events outlive what they
 * describe) and a trigger that refuses UPDATE and DELETE. `seq` orders it
 * and backs the pagination cursor; `id` is the public identifier.
 */
export class AccessAndAudit1764489600000 implements MigrationInterface {
  name = 'AccessAndAudit1764489600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE api_token (
        id uuid PRIMARY KEY,
        name varchar(128) NOT NULL CHECK (char_length(name) BETWEEN 1 AND 128),
        role varchar(16) NOT NULL CHECK (role IN ('ADMIN', 'LISTENER')),
        environment_id uuid REFERENCES environment (id) ON DELETE CASCADE,
        space_id uuid,
        token_hash bytea NOT NULL CHECK (octet_length(token_hash) = 32),
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        revoked_at timestamptz,
        CONSTRAINT api_token_hash_key UNIQUE (token_hash),
        CONSTRAINT api_token_space_fkey FOREIGN KEY (space_id, environment_id)
          REFERENCES space (id, environment_id) ON DELETE CASCADE,
        CONSTRAINT api_token_binding_check CHECK (
          (role = 'ADMIN' AND environment_id IS NULL AND space_id IS NULL)
          OR (role = 'LISTENER' AND environment_id IS NOT NULL))
      )`);
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
    await q.query(`CREATE INDEX audit_event_environment_idx ON audit_event (environment_id, seq)`);
    await q.query(`
      CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_event is append-only';
      END $$`);
    await q.query(`
      CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
        FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_event`);
    await q.query(`DROP FUNCTION audit_event_append_only()`);
    await q.query(`DROP TABLE api_token`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/*
 * Uniqueness lives in the database. Secret names can be 4 KB of UTF-8, more
 * than a btree entry holds, so the unique indexes cover a SHA-256 digest of
 * the name. Partial indexes separate environment-level from space-level rows.
 * The composite foreign key (space_id, environment_id) makes a secret's space
 * belong to its environment; (environment_id, key_version) keeps an
 * environment-key version alive while any data key still uses it.
 */
export class Initial1764403200000 implements MigrationInterface {
  name = 'Initial1764403200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE environment (
        id uuid PRIMARY KEY,
        name varchar(128) NOT NULL CHECK (char_length(name) BETWEEN 1 AND 128),
        current_key_version integer NOT NULL CHECK (current_key_version >= 1),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT environment_name_key UNIQUE (name)
      )`);
    await q.query(`
      CREATE TABLE environment_key (
        environment_id uuid NOT NULL REFERENCES environment (id) ON DELETE CASCADE,
        version integer NOT NULL CHECK (version >= 1),
        wrapped_key bytea NOT NULL,
        provider_id varchar(64) NOT NULL,
        key_ref text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (environment_id, version)
      )`);
    await q.query(`CREATE INDEX environment_key_provider_idx ON environment_key (provider_id, key_ref)`);
    await q.query(`
      CREATE TABLE space (
        id uuid PRIMARY KEY,
        environment_id uuid NOT NULL REFERENCES environment (id) ON DELETE CASCADE,
        name varchar(128) NOT NULL CHECK (char_length(name) BETWEEN 1 AND 128),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT space_environment_name_key UNIQUE (environment_id, name),
        CONSTRAINT space_id_environment_key UNIQUE (id, environment_id)
      )`);
    await q.query(`
      CREATE TABLE secret (
        id uuid PRIMARY KEY,
        environment_id uuid NOT NULL REFERENCES environment (id) ON DELETE CASCADE,
        space_id uuid,
        name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 1024),
        name_digest bytea NOT NULL CHECK (octet_length(name_digest) = 32),
        version integer NOT NULL CHECK (version >= 1),
        key_version integer NOT NULL,
        wrapped_dek bytea NOT NULL,
        ciphertext bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT secret_space_fkey FOREIGN KEY (space_id, environment_id)
          REFERENCES space (id, environment_id) ON DELETE CASCADE,
        CONSTRAINT secret_key_version_fkey FOREIGN KEY (environment_id, key_version)
          REFERENCES environment_key (environment_id, version)
      )`);
    await q.query(
      `CREATE UNIQUE INDEX secret_environment_name_key ON secret (environment_id, name_digest) WHERE space_id IS NULL`,
    );
    await q.query(
      `CREATE UNIQUE INDEX secret_space_name_key ON secret (space_id, name_digest) WHERE space_id IS NOT NULL`,
    );
    await q.query(`CREATE INDEX secret_key_version_idx ON secret (environment_id, key_version)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE secret`);
    await q.query(`DROP TABLE space`);
    await q.query(`DROP TABLE environment_key`);
    await q.query(`DROP TABLE environment`);
  }
}

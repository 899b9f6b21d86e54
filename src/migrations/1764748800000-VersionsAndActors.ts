import type { MigrationInterface, QueryRunner } from 'typeorm';

/*
 * Versions (DESIGN §11) and personal secrets (§10).
 *
 * The secret row stays the current version, sealed value included, so a
 * read is still one row per candidate with no join; `secret_version` keeps
 * the versions it replaced (SECRET_VERSIONS_KEPT in all, the current one
 * included), each with its own data key, and is pruned in the write's own
 * transaction. Both tables tie their data keys to an environment-key
 * version, so a rotation cannot retire a version still in use by history.
 * History's key is checked at commit: deleting an environment removes its
 * keys directly but its history only through its secrets, one cascade
 * later, and an immediate check would refuse the delete.
 *
 * A deleted secret keeps its row (deleted_at) and its name: writing that
 * name again revives the same row, so one row per name still holds, and the
 * unique indexes cover live and deleted rows alike. With nullable space_id
 * and actor_id a plain unique index would treat NULLs as distinct, so there
 * is one partial unique index per level and kind; two non-unique indexes
 * serve a view's lookup of shared and personal rows together.
 */
export class VersionsAndActors1764748800000 implements MigrationInterface {
  name = 'VersionsAndActors1764748800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE secret
        ADD COLUMN actor_id text CONSTRAINT secret_actor_id_check CHECK (actor_id ~ '^[!-~]{1,128}$'),
        ADD COLUMN deleted_at timestamptz,
        ADD COLUMN shadowed_id uuid,
        ADD COLUMN shadowed_version integer,
        ADD COLUMN written_by uuid,
        ADD COLUMN restored_from integer`);
    await q.query(`
      CREATE TABLE secret_version (
        secret_id uuid NOT NULL REFERENCES secret (id) ON DELETE CASCADE,
        version integer NOT NULL CHECK (version >= 1),
        environment_id uuid NOT NULL,
        key_version integer NOT NULL,
        wrapped_dek bytea NOT NULL,
        ciphertext bytea NOT NULL,
        created_at timestamptz NOT NULL,
        written_by uuid,
        restored_from integer,
        PRIMARY KEY (secret_id, version),
        CONSTRAINT secret_version_key_version_fkey FOREIGN KEY (environment_id, key_version)
          REFERENCES environment_key (environment_id, version) DEFERRABLE INITIALLY DEFERRED
      )`);
    await q.query(`CREATE INDEX secret_version_key_version_idx ON secret_version (environment_id, key_version)`);

    await q.query(`DROP INDEX secret_environment_name_key`);
    await q.query(`DROP INDEX secret_space_name_key`);
    await q.query(
      `CREATE UNIQUE INDEX secret_environment_name_key ON secret (environment_id, name_digest) WHERE space_id IS NULL AND actor_id IS NULL`,
    );
    await q.query(
      `CREATE UNIQUE INDEX secret_space_name_key ON secret (space_id, name_digest) WHERE space_id IS NOT NULL AND actor_id IS NULL`,
    );
    await q.query(
      `CREATE UNIQUE INDEX secret_environment_actor_name_key ON secret (environment_id, actor_id, name_digest)
        WHERE space_id IS NULL AND actor_id IS NOT NULL`,
    );
    await q.query(
      `CREATE UNIQUE INDEX secret_space_actor_name_key ON secret (space_id, actor_id, name_digest)
        WHERE space_id IS NOT NULL AND actor_id IS NOT NULL`,
    );
    await q.query(`CREATE INDEX secret_environment_lookup_idx ON secret (environment_id, name_digest) WHERE space_id IS NULL`);
    await q.query(`CREATE INDEX secret_space_lookup_idx ON secret (space_id, name_digest) WHERE space_id IS NOT NULL`);
    await q.query(`CREATE INDEX secret_deleted_idx ON secret (deleted_at) WHERE deleted_at IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE secret_version`);
    await q.query(`DROP INDEX secret_deleted_idx, secret_space_lookup_idx, secret_environment_lookup_idx,
      secret_space_actor_name_key, secret_environment_actor_name_key, secret_space_name_key, secret_environment_name_key`);
    await q.query(`DELETE FROM secret WHERE actor_id IS NOT NULL`);
    await q.query(`ALTER TABLE secret DROP COLUMN actor_id, DROP COLUMN deleted_at, DROP COLUMN shadowed_id,
      DROP COLUMN shadowed_version, DROP COLUMN written_by, DROP COLUMN restored_from`);
    await q.query(`CREATE UNIQUE INDEX secret_environment_name_key ON secret (environment_id, name_digest) WHERE space_id IS NULL`);
    await q.query(`CREATE UNIQUE INDEX secret_space_name_key ON secret (space_id, name_digest) WHERE space_id IS NOT NULL`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/*
 * Webhooks (DESIGN §13). A webhook's signing secret must be usable to sign,
 * so it is sealed like a value (its own data key, wrapped by the
 * environment key), never hashed. Its delivery state — the feed position it
 * has handled, the attempt in progress and a lease — lives on its row, so
 * every instance can take a turn: a lease is committed before the HTTP call
 * and no row lock is held across it. One entry per attempt in
 * webhook_delivery. Both go with their environment or space.
 */
export class Webhooks1764835200000 implements MigrationInterface {
  name = 'Webhooks1764835200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE webhook (
        id uuid PRIMARY KEY,
        environment_id uuid NOT NULL REFERENCES environment (id) ON DELETE CASCADE,
        space_id uuid,
        url text NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2048),
        topics text[] NOT NULL CHECK (cardinality(topics) >= 1),
        key_version integer NOT NULL,
        wrapped_dek bytea NOT NULL,
        sealed_secret bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        position_xid xid8 NOT NULL,
        position_seq bigint NOT NULL,
        attempt integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        lease_owner uuid,
        lease_until timestamptz,
        CONSTRAINT webhook_space_fkey FOREIGN KEY (space_id, environment_id)
          REFERENCES space (id, environment_id) ON DELETE CASCADE,
        CONSTRAINT webhook_key_version_fkey FOREIGN KEY (environment_id, key_version)
          REFERENCES environment_key (environment_id, version) DEFERRABLE INITIALLY DEFERRED
      )`);
    await q.query(`CREATE INDEX webhook_environment_idx ON webhook (environment_id, created_at)`);
    await q.query(`CREATE INDEX webhook_due_idx ON webhook (next_attempt_at)`);
    await q.query(`CREATE INDEX webhook_key_version_idx ON webhook (environment_id, key_version)`);
    await q.query(`
      CREATE TABLE webhook_delivery (
        id uuid PRIMARY KEY,
        webhook_id uuid NOT NULL REFERENCES webhook (id) ON DELETE CASCADE,
        event_cursor text NOT NULL,
        attempt integer NOT NULL CHECK (attempt >= 1),
        status integer,
        error text,
        at timestamptz NOT NULL DEFAULT now(),
        delivered_at timestamptz
      )`);
    await q.query(`CREATE INDEX webhook_delivery_idx ON webhook_delivery (webhook_id, at DESC, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE webhook_delivery`);
    await q.query(`DROP TABLE webhook`);
  }
}

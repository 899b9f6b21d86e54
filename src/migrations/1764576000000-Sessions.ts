import type { MigrationInterface, QueryRunner } from 'typeorm';

/*
 * Tokens may expire (every token, and always the admin UI's sessions), and a
 * session remembers the token that signed in, so that revoking that token
 * ends its sessions too. A session goes with its signing token.
 */
export class Sessions1764576000000 implements MigrationInterface {
  name = 'Sessions1764576000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_token ADD COLUMN expires_at timestamptz`);
    await q.query(`ALTER TABLE api_token ADD COLUMN parent_token_id uuid REFERENCES api_token (id) ON DELETE CASCADE`);
    await q.query(`CREATE INDEX api_token_parent_idx ON api_token (parent_token_id) WHERE parent_token_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_token DROP COLUMN parent_token_id`);
    await q.query(`ALTER TABLE api_token DROP COLUMN expires_at`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/*
 * A secret change's audit row is also its change event (DESIGN §12): it
 * records Flatfile's topic (secret:created | secret:updated | secret:deleted)
 * as the writer saw it, since whether a write made a name visible (a first
 * write, a revival, a restore) is known only in the write's transaction.
 */
export class ChangeTopics1764700000000 implements MigrationInterface {
  name = 'ChangeTopics1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE audit_event ADD COLUMN topic varchar(16)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE audit_event DROP COLUMN topic`);
  }
}

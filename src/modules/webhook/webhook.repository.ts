import type { Queryable } from '../../db/statements';
import type { Webhook, WebhookDelivery } from './webhook.types';

/* Hand-written SQL for webhooks and their deliveries; the delivery worker's statements live with it (events/webhooks). */

export interface WebhookRow {
  id: string;
  environment_id: string;
  space_id: string | null;
  url: string;
  topics: string[];
  key_version: number;
  wrapped_dek: Buffer;
  sealed_secret: Buffer;
  created_at: Date;
  position_xid: string;
  position_seq: string;
  attempt: number;
}

export const WEBHOOK_COLUMNS = `id, environment_id, space_id, url, topics, key_version, wrapped_dek, sealed_secret, created_at,
  position_xid::text AS position_xid, position_seq::text AS position_seq, attempt`;

export const toWebhook = (row: WebhookRow): Webhook => ({
  id: row.id,
  environmentId: row.environment_id,
  spaceId: row.space_id,
  url: row.url,
  topics: row.topics,
  createdAt: row.created_at,
});

export interface NewWebhookRow {
  readonly id: string;
  readonly environmentId: string;
  readonly spaceId: string | null;
  readonly url: string;
  readonly topics: readonly string[];
  readonly keyVersion: number;
  readonly wrappedDek: Buffer;
  readonly sealedSecret: Buffer;
}

/**
 * Inserts a webhook positioned at the change feed's head: it is sent the
 * changes that commit after it, none before. The head is the newest change
 * below the snapshot horizon (events/change-feed.ts explains the horizon).
 */
export async function insertWebhook(db: Queryable, row: NewWebhookRow): Promise<WebhookRow> {
  const rows: WebhookRow[] = await db.query(
    `WITH head AS (
       SELECT coalesce(max(xid), '0'::xid8) AS xid FROM audit_event
        WHERE xid IS NOT NULL AND xid < pg_snapshot_xmin(pg_current_snapshot()))
     INSERT INTO webhook (id, environment_id, space_id, url, topics, key_version, wrapped_dek, sealed_secret, position_xid, position_seq)
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, head.xid,
            coalesce((SELECT max(seq) FROM audit_event WHERE xid = head.xid), 0)
       FROM head
     RETURNING ${WEBHOOK_COLUMNS}`,
    [row.id, row.environmentId, row.spaceId, row.url, row.topics, row.keyVersion, row.wrappedDek, row.sealedSecret],
  );
  return rows[0];
}

export async function deleteWebhookById(db: Queryable, id: string): Promise<WebhookRow | undefined> {
  const rows: WebhookRow[] = await db.query(`WITH gone AS (DELETE FROM webhook WHERE id = $1 RETURNING *) SELECT ${WEBHOOK_COLUMNS} FROM gone`, [id]);
  return rows[0];
}

/** Every webhook, or one environment's, oldest first. */
export async function findWebhooks(db: Queryable, environmentId: string | null): Promise<WebhookRow[]> {
  return db.query(
    `SELECT ${WEBHOOK_COLUMNS} FROM webhook WHERE $1::uuid IS NULL OR environment_id = $1::uuid ORDER BY created_at, id`,
    [environmentId],
  );
}

/** The newest `first` deliveries of each webhook, in one statement. */
export async function findDeliveries(
  db: Queryable,
  webhookIds: readonly string[],
  first: number,
): Promise<(WebhookDelivery & { webhookId: string })[]> {
  return db.query(
    `SELECT id, webhook_id AS "webhookId", event_cursor AS "eventCursor", attempt, status, error, at, delivered_at AS "deliveredAt"
       FROM (SELECT d.*, row_number() OVER (PARTITION BY webhook_id ORDER BY at DESC, id DESC) AS n
               FROM webhook_delivery d WHERE webhook_id = ANY($1::uuid[])) x
      WHERE n <= $2 ORDER BY webhook_id, at DESC, id DESC`,
    [webhookIds, first],
  );
}

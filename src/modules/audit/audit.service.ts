import DataLoader from 'dataloader';
import type { DataSource } from 'typeorm';

import { AuditAction, AuditEvent, type Secret, type SecretScope } from '../../entities';
import { BadUserInputError } from '../../errors';
import type { Queryable } from '../../db/statements';
import { Capability, type AccessPolicy } from '../access/access-policy';
import { checkOptional, idSchema } from '../validation';

/** Who acted: a token, or (null) the CLI and start-up tasks. */
export interface Actor {
  readonly tokenId: string | null;
}

export interface AuditRecord {
  readonly action: AuditAction;
  readonly tokenId: string | null;
  readonly environmentId?: string | null;
  readonly spaceId?: string | null;
  readonly secretId?: string | null;
  readonly secretName?: string | null;
  readonly secretVersion?: number | null;
  readonly source?: SecretScope | null;
  readonly subjectTokenId?: string | null;
}

export function secretRecord(action: AuditAction, actor: Actor, secret: Secret): AuditRecord {
  return {
    action,
    tokenId: actor.tokenId,
    environmentId: secret.environmentId,
    spaceId: secret.spaceId,
    secretId: secret.id,
    secretName: secret.name,
    secretVersion: secret.version,
    source: secret.scope,
  };
}

/** $1 the records (AuditRecord[]) as one JSON document. */
export const AUDIT_APPEND_SQL = `INSERT INTO audit_event
         (id, action, token_id, environment_id, space_id, secret_id, secret_name, secret_version, source, subject_token_id)
       SELECT gen_random_uuid(), r.action, r."tokenId", r."environmentId", r."spaceId", r."secretId",
              r."secretName", r."secretVersion", r.source, r."subjectTokenId"
         FROM jsonb_to_recordset($1::jsonb) AS r (
           action varchar, "tokenId" uuid, "environmentId" uuid, "spaceId" uuid, "secretId" uuid,
           "secretName" text, "secretVersion" int, source varchar, "subjectTokenId" uuid)`;

const MAX_PAGE = 500;
const DEFAULT_PAGE = 50;

export interface AuditPage {
  readonly events: AuditEvent[];
  readonly cursors: string[];
  readonly hasNextPage: boolean;
}

const encodeCursor = (seq: string) => Buffer.from(`audit:${seq}`).toString('base64url');

function decodeCursor(cursor: string): string {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^audit:(\d{1,19})$/.exec(decoded);
  if (!match) throw new BadUserInputError('after', 'after is not a cursor returned by auditEvents');
  return match[1];
}

/**
 * The append-only audit log. Records are written in the transaction of the
 * change they describe, or (for value reads) once per request, always as one
 * statement however many records there are.
 */
export class AuditService {
  /*
   * Group commit for value reads: the records of every request that asks in
   * the same turn of the event loop go into one INSERT (the same batching as
   * token lookups), and each request's promise settles when that statement
   * has committed or failed, so a response still waits for its own records.
   */
  private readonly readBatches: DataLoader<readonly AuditRecord[], void>;

  constructor(
    private readonly db: DataSource,
    /** Prepared statements, for the group-committed read records. */
    prepared: Queryable = db,
  ) {
    this.readBatches = new DataLoader(
      async (batches) => {
        await this.append(batches.flat(), prepared);
        return batches.map(() => undefined);
      },
      { cache: false, batchScheduleFn: (run) => setImmediate(run) },
    );
  }

  appendSoon(records: readonly AuditRecord[]): Promise<void> {
    return records.length === 0 ? Promise.resolve() : this.readBatches.load(records);
  }

  /*
   * One statement for any number of records. They travel as one JSON
   * document: serialising it is one JSON.stringify, where array parameters
   * cost the driver an escaped string per element.
   */
  async append(records: readonly AuditRecord[], db: Queryable = this.db): Promise<void> {
    if (records.length === 0) return;
    await db.query(AUDIT_APPEND_SQL, [JSON.stringify(records)]);
  }

  /** Newest first, optionally for one environment, after an opaque cursor. */
  async list(caller: AccessPolicy, args: { environmentId?: unknown; first?: unknown; after?: unknown }): Promise<AuditPage> {
    caller.assert(Capability.MANAGE);
    const environmentId = checkOptional(idSchema, 'environmentId', args.environmentId);
    const first = args.first ?? DEFAULT_PAGE;
    if (typeof first !== 'number' || !Number.isInteger(first) || first < 1 || first > MAX_PAGE) {
      throw new BadUserInputError('first', `first must be an integer from 1 to ${MAX_PAGE}`);
    }
    const after = args.after === undefined || args.after === null ? null : decodeCursor(String(args.after));
    const query = this.db
      .getRepository(AuditEvent)
      .createQueryBuilder('e')
      .orderBy('e.seq', 'DESC')
      .limit(first + 1);
    if (environmentId) query.andWhere('e.environment_id = :environmentId', { environmentId });
    if (after) query.andWhere('e.seq < :after', { after });
    const rows = await query.getMany();
    const events = rows.slice(0, first);
    return { events, cursors: events.map((e) => encodeCursor(e.seq)), hasNextPage: rows.length > first };
  }
}

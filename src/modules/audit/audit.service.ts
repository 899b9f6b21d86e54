import DataLoader from 'dataloader';
import type { DataSource } from 'typeorm';

import { AuditAction, type AuditEvent } from '../../entities';
import { BadUserInputError } from '../../errors';
import type { Queryable } from '../../db/statements';
import { Capability, type AccessPolicy } from '../access/access-policy';
import { checkOptional, idSchema } from '../validation';
import { AfterCommit } from './after-commit';
import { assertCursorNotExpired, decodeAuditCursor, encodeAuditCursor } from './audit-cursor';
import { isRead, type AuditRecord } from './audit-record';
import { SINK_COLUMNS, type AuditSink, type AuditSinkRow } from './audit-sink';
import { ReadCoalescer } from './read-coalescer';

const MAX_PAGE = 500;
/** The longest a read batch that could go waits for requests still answering to join it. */
const READ_GATHER_MS = 3;
const DEFAULT_PAGE = 50;
const MAX_NAME_FILTER = 1024;

export interface AuditPage {
  readonly events: AuditEvent[];
  readonly cursors: string[];
  readonly hasNextPage: boolean;
}

export interface AuditFilter {
  environmentId?: unknown;
  tokenId?: unknown;
  secretName?: unknown;
  action?: unknown;
  first?: unknown;
  after?: unknown;
}

export interface AuditOptions {
  /** `each`: a row per value read; `coalesce`: a row per (token, secret, version) per window. */
  readonly reads: 'each' | 'coalesce';
  readonly coalesceSeconds: number;
  readonly sink?: AuditSink;
  /** Runs with the change records of each transaction once it has committed (the change feed's notification). */
  readonly onChangesCommitted?: (records: readonly AuditRecord[]) => void;
}

const DEFAULT_OPTIONS: AuditOptions = { reads: 'each', coalesceSeconds: 60 };

/*
 * One statement for any number of records. They travel as one JSON document:
 * serialising it is one JSON.stringify, where array parameters cost the
 * driver an escaped string per element. Changes carry their transaction id
 * (the change feed orders by it, DESIGN §12); value reads do not.
 */
const insertSql = (changes: boolean, returning: boolean) => `
  INSERT INTO audit_event
    (id, xid, action, token_id, environment_id, space_id, actor_id, secret_id, secret_name, secret_version, source,
     subject_token_id, webhook_id, affected_space_ids, topic, first_at, last_at)
  SELECT gen_random_uuid(), ${changes ? 'pg_current_xact_id()' : 'NULL'}, r.action, r."tokenId", r."environmentId",
         r."spaceId", r."actorId", r."secretId", r."secretName", r."secretVersion", r.source, r."subjectTokenId",
         r."webhookId", r."affectedSpaceIds", r.topic, r."firstAt", r."lastAt"
    FROM jsonb_to_recordset($1::jsonb) AS r (
      action varchar, "tokenId" uuid, "environmentId" uuid, "spaceId" uuid, "actorId" text, "secretId" uuid,
      "secretName" text, "secretVersion" int, source varchar, "subjectTokenId" uuid, "webhookId" uuid,
      "affectedSpaceIds" uuid[], topic varchar, "firstAt" timestamptz, "lastAt" timestamptz)
  ${returning ? `RETURNING ${SINK_COLUMNS}` : ''}`;

/*
 * Value reads are the log's bulk (a REST list of 50 is 50 rows), so they
 * travel leaner: positional tuples instead of objects (40% fewer bytes to
 * send and parse, no key lookups), and only the columns a read has.
 * READ_FIELDS is the tuple's order, which the statement's r->>n follow; the
 * action is always SECRET_READ.
 */
const readInsertSql = (returning: boolean) => `
  INSERT INTO audit_event (id, action, token_id, environment_id, space_id, actor_id, secret_id, secret_name, secret_version, source)
  SELECT gen_random_uuid(), '${AuditAction.SECRET_READ}', (r->>0)::uuid, (r->>1)::uuid, (r->>2)::uuid, r->>3, (r->>4)::uuid, r->>5,
         (r->>6)::int, r->>7
    FROM jsonb_array_elements($1::jsonb) AS r
  ${returning ? `RETURNING ${SINK_COLUMNS}` : ''}`;

/** $1 change records as one JSON document, without a sink: what a write's transaction appends. */
export const AUDIT_CHANGE_INSERT_SQL = insertSql(true, false);

/** $1 value-read records (encodeReads), without a sink: what every audited read writes by default. */
export const AUDIT_READ_INSERT_SQL = readInsertSql(false);

/** The fields of a value-read tuple, in the order the statement reads them (r->>0, r->>1, …). */
export const READ_FIELDS = ['tokenId', 'environmentId', 'spaceId', 'actorId', 'secretId', 'secretName', 'secretVersion', 'source'] as const;

/** Value-read records as AUDIT_READ_INSERT_SQL takes them: each a tuple of its READ_FIELDS, null for what it lacks. */
export const encodeReads = (records: readonly AuditRecord[]): string =>
  JSON.stringify(records.map((record) => READ_FIELDS.map((field) => record[field] ?? null)));

const LIST_COLUMNS = `seq::text AS seq, id, at, action, token_id AS "tokenId", environment_id AS "environmentId",
  space_id AS "spaceId", actor_id AS "actorId", secret_id AS "secretId", secret_name AS "secretName",
  secret_version AS "secretVersion", source, subject_token_id AS "subjectTokenId", webhook_id AS "webhookId",
  affected_space_ids AS "affectedSpaceIds", count, first_at AS "firstAt", last_at AS "lastAt"`;

/**
 * The append-only audit log. Records are written in the transaction of the
 * change they describe, or (for value reads) group-committed across
 * requests, always as one statement however many records there are. With a
 * sink, each committed row is also streamed as a JSON line after its commit.
 */
export class AuditService {
  /*
   * Group commit for value reads: the records of every request that asks in
   * the same turn of the event loop go into one statement (the same batching
   * as token lookups), and each request's promise settles when that
   * statement has committed or failed, so a response still waits for its own
   * records.
   */
  private readonly readBatches: DataLoader<readonly AuditRecord[], void>;
  private readonly mayDispatch: () => void;
  private othersAnswering: () => number = () => 0;
  private readonly sink?: AuditSink;
  private readonly afterCommit?: AfterCommit<AuditSinkRow>;
  private readonly changesCommitted?: AfterCommit<AuditRecord>;
  /** Set with AUDIT_READS=coalesce; its rollup is run by the audit timers. */
  readonly coalescer?: ReadCoalescer;
  private readonly changeSql: string;
  private readonly readSql: string;
  /** Anything else handed to appendSoon: the general statement, outside a transaction. */
  private readonly otherSql: string;

  constructor(
    private readonly db: DataSource,
    /** Prepared statements, for the group-committed read records. */
    prepared: Queryable = db,
    options: AuditOptions = DEFAULT_OPTIONS,
  ) {
    this.sink = options.sink;
    const sink = this.sink;
    if (sink) this.afterCommit = new AfterCommit(db, (rows) => sink.write(rows));
    if (options.onChangesCommitted) this.changesCommitted = new AfterCommit(db, options.onChangesCommitted);
    this.changeSql = insertSql(true, Boolean(sink));
    this.readSql = readInsertSql(Boolean(sink));
    this.otherSql = insertSql(false, Boolean(sink));
    if (options.reads === 'coalesce') {
      this.coalescer = new ReadCoalescer(prepared, options.coalesceSeconds, sink && ((rows) => sink.write(rows)));
    }
    /*
     * Single-flight: a batch goes when no insert is running (at the end of
     * the turn, or once the running one has committed), so that under load
     * every request that arrived meanwhile shares the next statement. While
     * other requests are still producing their answers (RequestContexts
     * counts them), a batch that may go waits for them to join, at most
     * READ_GATHER_MS: at 10 connections a statement then carries nearly
     * every one's records instead of a few.
     */
    let inFlight = false;
    let forming: (() => void) | undefined;
    let soon: NodeJS.Immediate | undefined;
    let gatherTimer: NodeJS.Timeout | undefined;
    const dispatch = () => {
      clearImmediate(soon);
      clearTimeout(gatherTimer);
      soon = gatherTimer = undefined;
      const run = forming;
      if (!run || inFlight) return;
      forming = undefined;
      inFlight = true;
      run();
    };
    /* The forming batch may go: at the end of this turn if nobody else is about to join it, else when they have or the gather time is up. */
    this.mayDispatch = () => {
      if (!forming || inFlight) return;
      if (this.othersAnswering() === 0) soon ??= setImmediate(dispatch);
      else gatherTimer ??= setTimeout(dispatch, READ_GATHER_MS);
    };
    this.readBatches = new DataLoader(
      async (batches) => {
        try {
          await this.appendReads(batches.flat(), prepared);
        } finally {
          inFlight = false;
          this.mayDispatch();
        }
        return batches.map(() => undefined);
      },
      {
        cache: false,
        batchScheduleFn: (run) => {
          forming = run;
          this.mayDispatch();
        },
      },
    );
  }

  /**
   * How many requests are still producing their answers, and so may add
   * read records soon: a forming batch waits for them (RequestContexts
   * sets it). The function returned is to be called whenever that number
   * falls without a record arriving (a request released unfinished).
   */
  gatherReadsOf(othersAnswering: () => number): () => void {
    this.othersAnswering = othersAnswering;
    return this.mayDispatch;
  }

  appendSoon(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) {
      this.mayDispatch(); // one fewer request to wait for
      return Promise.resolve();
    }
    const written = this.readBatches.load(records);
    this.mayDispatch();
    return written;
  }

  /** Change records, in the caller's transaction when `db` is one. */
  async append(records: readonly AuditRecord[], db: Queryable = this.db): Promise<void> {
    if (records.length === 0) return;
    const rows: AuditSinkRow[] = await db.query(this.changeSql, [JSON.stringify(records)]);
    this.afterCommit?.add(db, rows);
    this.changesCommitted?.add(db, records);
  }

  private async appendReads(records: readonly AuditRecord[], db: Queryable): Promise<void> {
    const written = (rows: AuditSinkRow[]) => {
      if (this.sink && rows.length) this.sink.write(rows);
    };
    const reads = records.every(isRead) ? records : records.filter(isRead);
    if (reads.length && this.coalescer) await this.coalescer.stage(reads, db);
    else if (reads.length) written(await db.query(this.readSql, [encodeReads(reads)]));
    if (reads.length < records.length) written(await db.query(this.otherSql, [JSON.stringify(records.filter((r) => !isRead(r)))]));
  }

  /**
   * Newest first, after an opaque cursor. Each filter has its index (see the
   * AuditPartitions migration); an action other than SECRET_READ uses the
   * partial index that leaves reads out, a SECRET_READ filter walks seq
   * (reads are nearly every row). Coalesced reads appear once their window
   * has closed and been rolled up (at most AUDIT_COALESCE_SECONDS plus one
   * rollup tick after the read).
   */
  async list(caller: AccessPolicy, args: AuditFilter): Promise<AuditPage> {
    caller.assert(Capability.MANAGE);
    const environmentId = checkOptional(idSchema, 'environmentId', args.environmentId);
    const tokenId = checkOptional(idSchema, 'tokenId', args.tokenId);
    const secretName = optionalName(args.secretName);
    const action = optionalAction(args.action);
    const first = args.first ?? DEFAULT_PAGE;
    if (typeof first !== 'number' || !Number.isInteger(first) || first < 1 || first > MAX_PAGE) {
      throw new BadUserInputError('first', `first must be an integer from 1 to ${MAX_PAGE}`);
    }
    const after = args.after === undefined || args.after === null ? null : decodeAuditCursor(String(args.after));

    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown) => `$${params.push(value)}`;
    if (environmentId) where.push(`environment_id = ${param(environmentId)}`);
    if (tokenId) where.push(`token_id = ${param(tokenId)}`);
    if (secretName !== undefined) {
      const p = param(secretName);
      where.push(`audit_name_key(secret_name) = audit_name_key(${p}::text)`, `secret_name = ${p}`, `secret_name IS NOT NULL`);
    }
    if (action) {
      where.push(`action = ${param(action)}`);
      if (action !== AuditAction.SECRET_READ) where.push(`action <> 'SECRET_READ'`); // lets the planner prove the partial index
    }
    if (after) where.push(`seq < ${param(after)}::bigint`);
    const rows: (AuditEvent & { seq: string })[] = await this.db.query(
      `SELECT ${LIST_COLUMNS} FROM audit_event ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY audit_event.seq DESC LIMIT ${first + 1}`,
      params,
    );
    if (after) await assertCursorNotExpired(this.db, after);
    const events = rows.slice(0, first);
    return { events, cursors: events.map((e) => encodeAuditCursor(e.seq)), hasNextPage: rows.length > first };
  }
}

function optionalName(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length < 1 || value.length > MAX_NAME_FILTER) {
    throw new BadUserInputError('secretName', `secretName must be 1-${MAX_NAME_FILTER} characters`);
  }
  return value;
}

function optionalAction(value: unknown): AuditAction | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Object.values(AuditAction).includes(value as AuditAction)) throw new BadUserInputError('action', 'unknown action');
  return value as AuditAction;
}

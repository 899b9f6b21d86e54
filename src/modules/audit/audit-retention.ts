import type { DataSource, EntityManager } from 'typeorm';

import { AuditAction } from '../../entities';
import type { Logger } from '../../logger';
import { Capability, type AccessPolicy } from '../access/access-policy';
import type { AuditService } from './audit.service';

/*
 * Partition maintenance and retention of audit_event (daily range
 * partitions on `at`, UTC days, named audit_event_pYYYYMMDD, plus the
 * migration's audit_event_legacy and audit_event_default).
 *
 * Several instances, and a transaction-pooling PgBouncer: each run is one
 * transaction holding a transaction-scoped advisory lock (never a session
 * lock, which a pooler would leave on whichever connection it lands on).
 * The server's timer takes the lock only if free (another instance is doing
 * the same work); the CLI waits for it.
 *
 * Locks: a new partition is created standalone and ATTACHed, which takes
 * SHARE UPDATE EXCLUSIVE on audit_event, so inserts (every value read) never
 * wait for it; with the default partition present, ATTACH also scans and
 * locks the default partition, so it waits for running auditEvents queries.
 * Dropping a partition needs ACCESS EXCLUSIVE on audit_event: while it waits,
 * value reads queue behind it, so every DDL statement here runs under a short
 * lock_timeout and a run that cannot get its locks gives up until the next.
 */

const MAINTENANCE_LOCK = 7_304_121_951; // shared by every instance; the migration lock is ...950
export const PARTITION_DAYS_AHEAD = 7;
const DDL_LOCK_TIMEOUT = '500ms';

export interface AuditPartition {
  readonly name: string;
  readonly isDefault: boolean;
  /** null: MINVALUE (the legacy partition) or the default partition. */
  readonly from: Date | null;
  readonly to: Date | null;
}

export interface DroppedPartition extends AuditPartition {
  readonly minSeq: string | null;
  readonly maxSeq: string | null;
}

export interface MaintenanceResult {
  /** false when another instance held the maintenance lock (a timer run skips). */
  readonly ran: boolean;
  readonly created: string[];
  readonly dropped: DroppedPartition[];
}

const PARTITIONS_SQL = `
  SELECT c.relname AS name, b.bound = 'DEFAULT' AS "isDefault",
         nullif(btrim(m[1], ''''), 'MINVALUE')::timestamptz AS "from",
         nullif(btrim(m[2], ''''), 'MAXVALUE')::timestamptz AS "to"
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) b
    LEFT JOIN LATERAL regexp_match(b.bound, '^FOR VALUES FROM \\((.+)\\) TO \\((.+)\\)$') m ON true
   WHERE i.inhparent = 'audit_event'::regclass
   ORDER BY "from" NULLS FIRST`;

const quoteIdent = (name: string): string => {
  /* Precondition: partition names are made here or read from the catalog, never from input. */
  if (!/^[a-z0-9_]{1,63}$/.test(name)) throw new Error(`unexpected partition name ${JSON.stringify(name)}`);
  return `"${name}"`;
};

export class AuditRetention {
  constructor(
    private readonly db: DataSource,
    private readonly audit: Pick<AuditService, 'append'>,
    private readonly retentionDays: number,
  ) {}

  async partitions(caller: AccessPolicy): Promise<AuditPartition[]> {
    caller.assert(Capability.MANAGE);
    return this.db.query(PARTITIONS_SQL);
  }

  /**
   * Today's and tomorrow's partitions, before a new container (a server, a
   * CLI command) writes anything (else the day's rows would go to the
   * default partition, and stay there): one statement when today's exists,
   * i.e. on every start but the first of a day — or of a cluster from an
   * embedded template built before that week (it holds the partitions of
   * the week it was built in). The timers create the
   * rest of the week. Never in the way of a start: when another instance
   * holds the maintenance lock it is doing this itself, and a failure is
   * only logged (the timers try again).
   */
  async ensureToday(caller: AccessPolicy, logger: Logger): Promise<void> {
    caller.assert(Capability.MANAGE);
    try {
      const [{ exists }]: { exists: boolean }[] = await this.db.query(
        `SELECT to_regclass(format('audit_event_p%s', to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD'))) IS NOT NULL AS exists`,
      );
      if (!exists) await this.createAhead(caller, { days: 1 });
    } catch (error) {
      logger.warn({ err: { message: (error as Error).message } }, "could not create today's audit partition; the audit timers will retry");
    }
  }

  /** Creates the partitions of today and `days` (PARTITION_DAYS_AHEAD) days ahead that are missing. */
  async createAhead(caller: AccessPolicy, options: { wait?: boolean; days?: number } = {}): Promise<{ ran: boolean; created: string[] }> {
    caller.assert(Capability.MANAGE);
    const result = await this.locked(options.wait ?? false, async (em) => {
      const partitions: AuditPartition[] = await em.query(PARTITIONS_SQL);
      const days: { day: string; from: Date; to: Date }[] = await em.query(
        `SELECT to_char(d, 'YYYYMMDD') AS day, d::timestamp AT TIME ZONE 'UTC' AS "from", (d + 1)::timestamp AT TIME ZONE 'UTC' AS "to"
           FROM generate_series(0, $1::int) AS g(n), LATERAL (SELECT (now() AT TIME ZONE 'UTC')::date + n AS d) x`,
        [options.days ?? PARTITION_DAYS_AHEAD],
      );
      const created: string[] = [];
      const hasDefault = partitions.some((p) => p.isDefault);
      for (const day of days) {
        const overlaps = partitions.some(
          (p) => !p.isDefault && (p.from === null || p.from < day.to) && (p.to === null || p.to > day.from),
        );
        if (overlaps) continue;
        if (hasDefault) {
          /* Rows of that day already went to the default partition: they stay there (no row is ever moved). */
          const [{ found }] = await em.query(
            `SELECT EXISTS (SELECT 1 FROM audit_event_default WHERE at >= $1 AND at < $2) AS found`,
            [day.from, day.to],
          );
          if (found) continue;
        }
        const name = quoteIdent(`audit_event_p${day.day}`);
        await em.query(`CREATE TABLE ${name} (LIKE audit_event INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
        await em.query(`ALTER TABLE audit_event ATTACH PARTITION ${name} FOR VALUES FROM (${literal(day.from)}) TO (${literal(day.to)})`);
        created.push(`audit_event_p${day.day}`);
      }
      return created;
    });
    return { ran: result !== undefined, created: result ?? [] };
  }

  /**
   * Drops every partition whose rows are all older than AUDIT_RETENTION_DAYS
   * (the default partition too, once its newest row is), records the highest
   * seq dropped (older cursors are then refused) and audits each drop, all in
   * one transaction.
   */
  async prune(caller: AccessPolicy, options: { wait?: boolean } = {}): Promise<{ ran: boolean; dropped: DroppedPartition[] }> {
    caller.assert(Capability.MANAGE);
    const result = await this.locked(options.wait ?? false, async (em) => {
      const [{ cutoff }] = await em.query(`SELECT now() - make_interval(days => $1::int) AS cutoff`, [this.retentionDays]);
      const partitions: AuditPartition[] = await em.query(PARTITIONS_SQL);
      const expired: AuditPartition[] = [];
      for (const p of partitions) {
        if (p.isDefault) {
          const [{ newest }] = await em.query(`SELECT max(at) AS newest FROM audit_event_default`);
          if (newest && newest < cutoff) expired.push(p);
        } else if (p.to && p.to <= cutoff) {
          expired.push(p);
        }
      }
      if (expired.length === 0) return [];
      const dropped: DroppedPartition[] = [];
      for (const p of expired) {
        const [range] = await em.query(`SELECT min(seq)::text AS "minSeq", max(seq)::text AS "maxSeq" FROM ${quoteIdent(p.name)}`);
        dropped.push({ ...p, ...range });
      }
      /* Parent first, as inserts lock it: then the partitions, so this never deadlocks with them. */
      await em.query(`LOCK TABLE audit_event IN ACCESS EXCLUSIVE MODE`);
      for (const p of dropped) {
        await em.query(`DROP TABLE ${quoteIdent(p.name)}`);
        if (p.isDefault) await em.query(`CREATE TABLE audit_event_default PARTITION OF audit_event DEFAULT`);
      }
      const maxSeq = dropped.reduce<bigint | null>(
        (max, p) => (p.maxSeq !== null && (max === null || BigInt(p.maxSeq) > max) ? BigInt(p.maxSeq) : max),
        null,
      );
      const before = dropped.reduce<Date | null>((max, p) => {
        const end = p.isDefault ? cutoff : p.to;
        return max === null || end > max ? end : max;
      }, null);
      if (maxSeq !== null) {
        await em.query(
          `INSERT INTO audit_retention (dropped_through_seq, dropped_before) VALUES ($1, $2)
           ON CONFLICT (singleton) DO UPDATE
             SET dropped_through_seq = greatest(audit_retention.dropped_through_seq, excluded.dropped_through_seq),
                 dropped_before = greatest(audit_retention.dropped_before, excluded.dropped_before),
                 updated_at = now()`,
          [maxSeq.toString(), before],
        );
      }
      await this.audit.append(
        dropped.map((p) => ({
          action: AuditAction.AUDIT_PRUNED,
          tokenId: caller.principal.tokenId,
          firstAt: p.from,
          lastAt: p.isDefault ? cutoff : p.to,
        })),
        em,
      );
      return dropped;
    });
    return { ran: result !== undefined, dropped: result ?? [] };
  }

  /** What a timer tick or `audit prune` does: partitions ahead, then retention. */
  async maintain(caller: AccessPolicy, options: { wait?: boolean } = {}): Promise<MaintenanceResult> {
    caller.assert(Capability.MANAGE);
    const ahead = await this.createAhead(caller, options);
    const pruned = await this.prune(caller, options);
    return { ran: ahead.ran || pruned.ran, created: ahead.created, dropped: pruned.dropped };
  }

  /** Runs in one transaction under the maintenance lock; undefined when the lock was taken and `wait` is false. */
  private async locked<T>(wait: boolean, run: (em: EntityManager) => Promise<T>): Promise<T | undefined> {
    return this.db.transaction(async (em) => {
      if (wait) {
        await em.query(`SELECT pg_advisory_xact_lock($1)`, [MAINTENANCE_LOCK]);
      } else {
        const [{ locked }] = await em.query(`SELECT pg_try_advisory_xact_lock($1) AS locked`, [MAINTENANCE_LOCK]);
        if (!locked) return undefined;
      }
      await em.query(`SET LOCAL lock_timeout = '${DDL_LOCK_TIMEOUT}'`);
      return run(em);
    });
  }
}

/* DDL takes no parameters: bounds are timestamps this code computed, written as UTC literals. */
function literal(at: Date): string {
  return `'${at.toISOString()}'`;
}

import type { AuditConfig } from '../../config';
import type { Logger } from '../../logger';
import { AccessPolicy } from '../access/access-policy';
import type { AuditRetention } from './audit-retention';
import type { ReadCoalescer } from './read-coalescer';

export interface AuditTimerDeps {
  readonly auditRetention: Pick<AuditRetention, 'maintain'>;
  readonly audit: { readonly coalescer?: Pick<ReadCoalescer, 'rollup'> };
  readonly config: { readonly audit: Pick<AuditConfig, 'maintenanceMinutes' | 'coalesceSeconds'> };
  readonly logger: Logger;
}

export interface AuditTimers {
  /** Stops the timers, waits for a run in progress, and rolls up the windows that have closed. */
  stop(): Promise<void>;
}

const MAX_ROLLUP_TICK_MS = 5000;

/**
 * The server's audit upkeep: partitions ahead and retention at start-up and
 * every AUDIT_MAINTENANCE_MINUTES; with AUDIT_READS=coalesce, the rollup of
 * closed windows every min(AUDIT_COALESCE_SECONDS, 5 s). Every instance
 * runs them; the work itself is safe to run concurrently (see
 * audit-retention.ts and read-coalescer.ts). Failures are logged and retried
 * on the next tick: a read never waits for upkeep.
 */
export function startAuditTimers(deps: AuditTimerDeps): AuditTimers {
  const { auditRetention, audit, config, logger } = deps;
  const running = new Set<Promise<void>>();
  const once = (name: string, work: () => Promise<void>) => {
    let busy: Promise<void> | undefined;
    return () => {
      if (busy) return busy; // a slow run is never overlapped by the next tick
      busy = work()
        .catch((error: unknown) => logger.warn({ err: { message: (error as Error).message }, task: name }, 'audit upkeep failed; retrying on the next tick'))
        .finally(() => {
          running.delete(busy!);
          busy = undefined;
        });
      running.add(busy);
      return busy;
    };
  };

  const maintain = once('partitions', async () => {
    const result = await auditRetention.maintain(AccessPolicy.system);
    if (result.created.length || result.dropped.length) {
      logger.info(
        { created: result.created, dropped: result.dropped.map((p) => ({ name: p.name, from: p.from, to: p.to, maxSeq: p.maxSeq })) },
        'audit partitions maintained',
      );
    }
  });
  const timers = [setInterval(maintain, config.audit.maintenanceMinutes * 60_000)];
  void maintain();

  const { coalescer } = audit;
  const rollup = coalescer && once('rollup', async () => void (await coalescer.rollup()));
  if (rollup) {
    timers.push(setInterval(rollup, Math.min(config.audit.coalesceSeconds * 1000, MAX_ROLLUP_TICK_MS)));
    void rollup(); // windows left staged by a previous run
  }
  for (const timer of timers) timer.unref();

  return {
    async stop() {
      for (const timer of timers) clearInterval(timer);
      await Promise.all(running);
      if (rollup) await rollup();
    },
  };
}

import type { Logger } from '../../logger';
import { AccessPolicy } from '../access/access-policy';
import type { SecretService } from './secret.service';

export interface SecretPurge {
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

/**
 * The server's purge of deleted secrets past DELETED_SECRET_RETENTION_DAYS,
 * at start-up and every SECRET_PURGE_INTERVAL_MINUTES. Every instance runs
 * it; the purge claims rows with SKIP LOCKED, so instances share the work.
 * A failure is logged and retried on the next tick.
 */
export function startSecretPurge(deps: {
  readonly secrets: Pick<SecretService, 'purgeDeleted'>;
  readonly config: { readonly secrets: { readonly purgeIntervalMs: number } };
  readonly logger: Logger;
}): SecretPurge {
  const { secrets, config, logger } = deps;
  let running: Promise<void> | undefined;
  const run = () => {
    running ??= secrets
      .purgeDeleted(AccessPolicy.system)
      .then((purged) => {
        if (purged) logger.info({ purged }, 'purged deleted secrets past retention');
      })
      .catch((error: unknown) => logger.warn({ err: { message: (error as Error).message } }, 'secret purge failed; retrying on the next tick'))
      .finally(() => (running = undefined));
    return running;
  };
  const timer = setInterval(run, config.secrets.purgeIntervalMs);
  timer.unref();
  void run();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

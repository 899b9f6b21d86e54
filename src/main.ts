import 'reflect-metadata';

import { ConfigError, loadConfig } from './config';
import { EMBEDDED_CONNECTIONS, startEmbeddedDatabase } from './db/embedded';
import { createLogger } from './logger';

/*
 * Entry point: config → database → start-up tasks → server → listen →
 * graceful stop. The embedded database starts (on its own thread) before
 * the rest of the server is loaded, so the two overlap: the modules below
 * are required only once it is on its way.
 */
async function main(): Promise<void> {
  process.umask(0o077); // before anything is created: whatever the server writes is its user's alone
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`secretspace: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const embedded = config.embedded ? startEmbeddedDatabase(config.dataDir, EMBEDDED_CONNECTIONS) : undefined;
  embedded?.catch(() => undefined); // its failure is reported where it is awaited (or the start failed earlier)
  const [{ createContainer }, { startAuditTimers }, { startSecretPurge }, { buildServer }, { runStartupTasks }] = await Promise.all([
    import('./container'),
    import('./modules/audit/audit-timers'),
    import('./modules/secret/secret-purge'),
    import('./server'),
    import('./startup'),
  ]);
  const container = await createContainer(config, logger, { embedded, deferReady: true });
  /* The server is built while the database makes sure of today's audit partition; what is audited waits for it. */
  const [app] = await Promise.all([buildServer(container), container.ready.then(() => runStartupTasks(container))]);
  await app.listen({ port: config.port, host: config.host });
  const auditTimers = startAuditTimers(container);
  const secretPurge = startSecretPurge(container);
  logger.info(
    { url: `http://${config.host}:${config.port}/`, database: config.embedded ? 'embedded' : 'external', cipherProvider: config.cipherProvider },
    'secretspace listening',
  );

  // Warm the cipher provider (gcp-kms loads its client lazily) so the first request does not pay for it.
  const provider = container.registry.active;
  provider.check().then(
    () => logger.info({ cipherProvider: provider.id }, 'cipher provider ready'),
    () => logger.warn({ cipherProvider: provider.id }, 'cipher provider not reachable yet; /readyz reports it'),
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining in-flight requests');
    setTimeout(() => {
      logger.error('shutdown grace period elapsed; exiting');
      process.exit(1);
    }, config.shutdownGraceMs).unref();
    try {
      await app.close();
      await auditTimers.stop();
      await secretPurge.stop();
      await container.close();
      logger.info('stopped');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'unclean shutdown');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`secretspace: failed to start: ${(error as Error).message}\n`);
  process.exit(1);
});

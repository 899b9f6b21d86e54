import type { GraphQLSchema } from 'graphql';

import type { Config } from './config';
import { createEnvironmentKeyStore } from './crypto/environment-key.store';
import { EnvironmentKeyring } from './crypto/keyring';
import type { CipherProviderRegistry } from './crypto/provider';
import { createCipherProviderRegistry } from './crypto/providers';
import { openDatabase, type Database, type OpenOptions } from './db/database';
import { createEventSystem, type EventSystem } from './events/event-system';
import { WebhookWorker } from './events/webhooks/webhook-worker';
import { buildAppSchema } from './graphql/schema';
import type { Logger } from './logger';
import { AccessPolicy } from './modules/access/access-policy';
import { RequestContexts } from './modules/request/request-contexts';
import { TokenResolver } from './modules/token/token.resolver';
import { TokenCache } from './modules/token/token-cache';
import { TokenService } from './modules/token/token.service';
import { SecretEventResolver } from './modules/events/secret-event.resolver';
import { AuditResolver } from './modules/audit/audit.resolver';
import { AuditRetention } from './modules/audit/audit-retention';
import { openAuditSink } from './modules/audit/audit-sink';
import { AuditService } from './modules/audit/audit.service';
import { EnvironmentResolver } from './modules/environment/environment.resolver';
import { EnvironmentService } from './modules/environment/environment.service';
import { KeyRotationService } from './modules/keys/key-rotation.service';
import { createLoaders } from './modules/loaders';
import { EffectiveSecretResolver, SecretResolver, SecretVersionResolver } from './modules/secret/secret.resolver';
import { SecretService } from './modules/secret/secret.service';
import { SpaceResolver } from './modules/space/space.resolver';
import { SpaceService } from './modules/space/space.service';
import { WebhookResolver } from './modules/webhook/webhook.resolver';
import { WebhookService } from './modules/webhook/webhook.service';

/** Everything the server, the CLI and the tests need, wired once. */
export interface Container {
  readonly config: Config;
  readonly logger: Logger;
  readonly database: Database;
  readonly registry: CipherProviderRegistry;
  readonly keyring: EnvironmentKeyring;
  readonly audit: AuditService;
  readonly auditRetention: AuditRetention;
  readonly tokens: TokenService;
  readonly environments: EnvironmentService;
  readonly spaces: SpaceService;
  readonly secrets: SecretService;
  readonly webhooks: WebhookService;
  /** Key rewrap and rotation (the CLI's; servers never rotate on their own). */
  readonly keys: KeyRotationService;
  /** The one request lifecycle: authenticate, build the context, guarantee the audit flush. */
  readonly requests: RequestContexts;
  /** The change feed, the bus between instances, and the subscriptions they serve (started by the server). */
  readonly events: EventSystem;
  /** Delivers webhooks from the change feed (started by the server, never by the CLI). */
  readonly webhookWorker: WebhookWorker;
  readonly schema: GraphQLSchema;
  /** Settles once today's audit partition is made sure of (never rejects): nothing may be audited before. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

export interface ContainerOptions extends OpenOptions {
  /**
   * Return without waiting for `ready`: main.ts builds the HTTP server while
   * the database makes today's audit partition (a fresh embedded cluster's
   * first DDL, ~0.2 s), and runs its audited start-up tasks and listens
   * only after.
   */
  readonly deferReady?: boolean;
}

/**
 * The composition root: providers → database → services → resolvers →
 * schema. It only wires; start-up tasks (tokens, timers) live in startup.ts.
 */
export async function createContainer(config: Config, logger: Logger, options: ContainerOptions = {}): Promise<Container> {
  /*
   * The schema first: it takes no connection (type-graphql asks for a
   * resolver instance only when a field resolves, by then wired below), so
   * its build (~0.1 s) overlaps the embedded database still starting.
   */
  const resolverInstances = new Map<unknown, unknown>();
  const schema = buildAppSchema({
    get: (resolverClass) => {
      const instance = resolverInstances.get(resolverClass);
      if (!instance) throw new Error(`resolver ${(resolverClass as { name?: string }).name} is not wired`);
      return instance;
    },
  });
  const registry = await createCipherProviderRegistry(config, logger);
  let database: Database;
  try {
    database = await openDatabase(config, logger, options);
  } catch (error) {
    await registry.close();
    throw error;
  }
  const db = database.dataSource;
  const { prepared } = database;
  const keyring = new EnvironmentKeyring(registry, createEnvironmentKeyStore(db), config.environmentKeyCache);
  const auditSink = openAuditSink(config.audit.sink, logger);
  const tokenCache = new TokenCache(config.tokenCache);
  const events = createEventSystem({ config, logger, db: prepared, tokenCache, keyring }); // feed reads plan once per connection (audit_event has a partition per day)
  const audit = new AuditService(db, prepared, { ...config.audit, sink: auditSink, onChangesCommitted: events.changesCommitted });
  const auditRetention = new AuditRetention(db, audit, config.audit.retentionDays);
  const tokens = new TokenService(db, audit, prepared, tokenCache);
  const environments = new EnvironmentService(db, keyring, audit);
  const spaces = new SpaceService(db, audit);
  const secrets = new SecretService(db, keyring, audit, prepared, config.secrets);
  const webhooks = new WebhookService(db, keyring, audit, prepared, { allowPrivateNetworks: config.webhooks.allowPrivateNetworks });
  const keys = new KeyRotationService({ db, registry, keyring, audit });
  const webhookWorker = new WebhookWorker({ db: prepared, keyring, logger }, config.webhooks);
  events.onRows(() => webhookWorker.wake());
  const requests = new RequestContexts(
    { tokens, audit, loaders: (access) => createLoaders(db, access, prepared) },
    config.limits,
  );

  resolverInstances.set(EnvironmentResolver, new EnvironmentResolver(environments));
  resolverInstances.set(SpaceResolver, new SpaceResolver(spaces));
  resolverInstances.set(SecretResolver, new SecretResolver(secrets));
  resolverInstances.set(EffectiveSecretResolver, new EffectiveSecretResolver(secrets));
  resolverInstances.set(SecretVersionResolver, new SecretVersionResolver(secrets));
  resolverInstances.set(TokenResolver, new TokenResolver(tokens));
  resolverInstances.set(AuditResolver, new AuditResolver(audit));
  resolverInstances.set(WebhookResolver, new WebhookResolver(webhooks));
  resolverInstances.set(SecretEventResolver, new SecretEventResolver());

  const ready = auditRetention.ensureToday(AccessPolicy.system, logger); // before anything is audited
  if (!options.deferReady) await ready;

  return {
    config,
    logger,
    database,
    registry,
    keyring,
    audit,
    auditRetention,
    tokens,
    environments,
    spaces,
    secrets,
    webhooks,
    keys,
    requests,
    events,
    webhookWorker,
    schema,
    ready,
    async close() {
      await ready;
      await webhookWorker.stop();
      await events.stop();
      await database.close();
      await auditSink?.close();
      await registry.close();
    },
  };
}

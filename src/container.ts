import { writeFileSync } from 'node:fs';
import path from 'node:path';

import type { GraphQLSchema } from 'graphql';

import type { Config } from './config';
import { EnvironmentKeyring } from './crypto/keyring';
import type { CipherProviderRegistry } from './crypto/provider';
import { createCipherProviderRegistry } from './crypto/providers';
import { openDatabase, type Database } from './db/database';
import type { Logger } from './logger';
import { AccessPolicy } from './modules/access/access-policy';
import { TokenResolver } from './modules/access/token.resolver';
import { TokenService } from './modules/access/token.service';
import { AuditResolver } from './modules/audit/audit.resolver';
import { AuditRetention } from './modules/audit/audit-retention';
import { openAuditSink } from './modules/audit/audit-sink';
import { AuditService, ReadAuditBuffer } from './modules/audit/audit.service';
import type { Context } from './modules/context';
import { EnvironmentResolver } from './modules/environment/environment.resolver';
import { EnvironmentService } from './modules/environment/environment.service';
import { createEnvironmentKeyStore } from './modules/keys/environment-key.store';
import { createLoaders } from './modules/loaders';
import { EffectiveSecretResolver, SecretResolver } from './modules/secret/secret.resolver';
import { SecretService } from './modules/secret/secret.service';
import { SpaceResolver } from './modules/space/space.resolver';
import { SpaceService } from './modules/space/space.service';
import { buildAppSchema } from './schema';

export const ADMIN_TOKEN_FILE = 'admin.token';

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
  readonly schema: GraphQLSchema;
  /** The per-request state of a request, from its Authorization header (UNAUTHENTICATED without a valid token). */
  authenticate(authorization: string | undefined): Promise<Context>;
  close(): Promise<void>;
}

/**
 * The embedded quick start has no other way to get a first token (the CLI
 * cannot open DATA_DIR while the server runs), so the first start writes one
 * to DATA_DIR/admin.token (mode 0600) when no active ADMIN token exists. The
 * log names the file, never the token.
 */
async function writeFirstAdminToken(config: Config, logger: Logger, tokens: TokenService): Promise<void> {
  const token = await tokens.createFirstAdminToken();
  if (!token) return;
  const file = path.join(config.dataDir, ADMIN_TOKEN_FILE);
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  logger.warn({ file }, 'created an ADMIN token for the embedded database; read it from this file');
}

/** The composition root: providers → database → services → resolvers → schema. */
export async function createContainer(config: Config, logger: Logger): Promise<Container> {
  const registry = await createCipherProviderRegistry(config, logger);
  let database: Database;
  try {
    database = await openDatabase(config, logger);
  } catch (error) {
    await registry.close();
    throw error;
  }
  const db = database.dataSource;
  const keyring = new EnvironmentKeyring(registry, createEnvironmentKeyStore(db), config.environmentKeyCache);
  const { prepared } = database;
  const auditSink = openAuditSink(config.audit.sink, logger);
  const audit = new AuditService(db, prepared, { ...config.audit, sink: auditSink });
  const auditRetention = new AuditRetention(db, audit, config.audit.retentionDays);
  const tokens = new TokenService(db, audit, prepared);
  const environments = new EnvironmentService(db, keyring, audit);
  const spaces = new SpaceService(db, audit);
  const secrets = new SecretService(db, keyring, audit, prepared);

  if (config.bootstrapAdminToken) await tokens.ensureBootstrapToken(config.bootstrapAdminToken);
  else if (config.embedded) await writeFirstAdminToken(config, logger, tokens);

  const resolverInstances = new Map<unknown, unknown>([
    [EnvironmentResolver, new EnvironmentResolver(environments)],
    [SpaceResolver, new SpaceResolver(spaces)],
    [SecretResolver, new SecretResolver(secrets)],
    [EffectiveSecretResolver, new EffectiveSecretResolver(secrets)],
    [TokenResolver, new TokenResolver(tokens)],
    [AuditResolver, new AuditResolver(audit)],
  ]);
  const schema = buildAppSchema({
    get: (resolverClass) => {
      const instance = resolverInstances.get(resolverClass);
      if (!instance) throw new Error(`resolver ${(resolverClass as { name?: string }).name} is not wired`);
      return instance;
    },
  });

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
    schema,
    async authenticate(authorization) {
      const principal = await tokens.authenticate(authorization);
      const access = new AccessPolicy(principal);
      return { access, loaders: createLoaders(db, access, prepared), readAudit: new ReadAuditBuffer(audit, principal) };
    },
    async close() {
      await database.close();
      await auditSink?.close();
      await registry.close();
    },
  };
}

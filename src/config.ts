import path from 'node:path';
import { z } from 'zod';

/*
 * Every setting is read here, once, from the process environment (or a map
 * handed in by tests and the CLI). The result is typed and frozen; nothing
 * else in src/ reads process.env. (The gcp-kms provider sets, never reads,
 * METADATA_SERVER_DETECTION for Google's auth library; the listener client
 * in src/client reads nothing from the environment.)
 */

const LOCAL_KEY_BYTES = 32;
/** A Cloud KMS CryptoKey name; shared with the gcp-kms provider, which builds its key-version pattern on it. */
export const GCP_KMS_CRYPTO_KEY = 'projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+';
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const blankToUndefined = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

const optionalString = z.preprocess(blankToUndefined, z.string().optional());

const booleanFlag = z.preprocess(
  blankToUndefined,
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .optional()
    .transform((v) => (v === undefined ? undefined : ['true', '1', 'yes'].includes(v))),
);

const positiveInt = (fallback: number) =>
  z.preprocess(blankToUndefined, z.coerce.number().int().positive().default(fallback));

/** An estimate that refuses repeated or patterned tokens ('a' × 32: 0 bits; 32 random hex digits: ~120). */
const MIN_BOOTSTRAP_TOKEN_BITS = 96;

/** Length × the Shannon entropy of the token's own character frequencies: a lower bound for guessability checks, not a measure of randomness. */
export function estimatedEntropyBits(token: string): number {
  const counts = new Map<string, number>();
  for (const c of token) counts.set(c, (counts.get(c) ?? 0) + 1);
  let perCharacter = 0;
  for (const n of counts.values()) perCharacter -= (n / token.length) * Math.log2(n / token.length);
  return perCharacter * token.length;
}

export interface LocalMasterKey {
  readonly id: string;
  readonly key: Buffer;
}

/** Parses `id:base64key,id:base64key`; the first key encrypts, all decrypt. */
export function parseLocalMasterKeys(spec: string): LocalMasterKey[] {
  const keys = spec
    .split(/[,\n]/)
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry, index) => {
      /* Messages name the entry by position only: a malformed entry may be key material. */
      const where = `entry ${index + 1}`;
      const separator = entry.indexOf(':');
      if (separator <= 0) throw new Error(`${where} must look like id:base64key`);
      const id = entry.slice(0, separator);
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) {
        throw new Error(`${where}: key ids are 1-64 characters of A-Z a-z 0-9 . _ -`);
      }
      const key = Buffer.from(entry.slice(separator + 1), 'base64');
      if (key.length !== LOCAL_KEY_BYTES) {
        throw new Error(`${where}: the key must be ${LOCAL_KEY_BYTES} bytes of base64`);
      }
      return { id, key };
    });
  if (keys.length === 0) throw new Error('no keys given');
  const ids = new Set(keys.map((k) => k.id));
  if (ids.size !== keys.length) throw new Error('key ids must be unique');
  return keys;
}

const schema = z
  .object({
    DATABASE_URL: z.preprocess(
      blankToUndefined,
      z
        .string()
        .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
        .optional(),
    ),
    DATABASE_LISTEN_URL: z.preprocess(
      blankToUndefined,
      z
        .string()
        .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
        .optional(),
    ),
    DATA_DIR: z.preprocess(blankToUndefined, z.string().default('./.data')),
    PORT: z.preprocess(blankToUndefined, z.coerce.number().int().min(0).max(65535).default(4000)),
    HOST: z.preprocess(blankToUndefined, z.string().default('127.0.0.1')),
    NODE_ENV: optionalString,
    LOG_LEVEL: z.preprocess(blankToUndefined, z.enum(LOG_LEVELS).optional()),
    CIPHER_PROVIDER: z.preprocess(blankToUndefined, z.enum(['local', 'gcp-kms']).default('local')),
    LOCAL_MASTER_KEYS: optionalString,
    LOCAL_MASTER_KEY_FILE: optionalString,
    GCP_KMS_KEY_NAME: z.preprocess(
      blankToUndefined,
      z
        .string()
        .regex(new RegExp(`^${GCP_KMS_CRYPTO_KEY}$`), 'must be projects/P/locations/L/keyRings/R/cryptoKeys/K')
        .optional(),
    ),
    GCP_KMS_ENDPOINT: z.preprocess(
      blankToUndefined,
      z
        .string()
        .regex(/^[^:\s]+:\d{1,5}$/, 'must be host:port')
        .optional(),
    ),
    GCP_KMS_TIMEOUT_MS: positiveInt(5_000),
    SECRET_VERSIONS_KEPT: z.preprocess(blankToUndefined, z.coerce.number().int().min(1).max(1000).default(20)),
    DELETED_SECRET_RETENTION_DAYS: z.preprocess(blankToUndefined, z.coerce.number().int().min(0).max(36500).default(30)),
    SECRET_PURGE_INTERVAL_MINUTES: positiveInt(60),
    WEBHOOK_TIMEOUT_MS: positiveInt(5_000),
    WEBHOOK_RETRY_BASE_MS: positiveInt(1_000),
    WEBHOOK_MAX_ATTEMPTS: positiveInt(10),
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: booleanFlag,
    WEBHOOK_POLL_MS: positiveInt(1_000),
    WEBHOOK_CONCURRENCY: positiveInt(4),
    MAX_VALUES_PER_REQUEST: positiveInt(5_000),
    MAX_REQUESTS_PER_TOKEN: positiveInt(64),
    ENVIRONMENT_KEY_CACHE_TTL_MS: positiveInt(5 * 60 * 1000),
    ENVIRONMENT_KEY_CACHE_MAX: positiveInt(10_000),
    DATA_KEY_CACHE_MAX: z.preprocess(blankToUndefined, z.coerce.number().int().min(0).max(1_000_000).default(20_000)),
    DB_POOL_SIZE: positiveInt(10),
    DB_PREPARED_STATEMENTS: booleanFlag,
    MAX_BODY_BYTES: positiveInt(1024 * 1024),
    SHUTDOWN_GRACE_MS: positiveInt(10_000),
    INTROSPECTION: booleanFlag,
    BOOTSTRAP_ADMIN_TOKEN: z.preprocess(
      blankToUndefined,
      z
        .string()
        .min(32, 'must be at least 32 characters')
        .max(512, 'must be at most 512 characters')
        .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without whitespace (it travels in a header as `Bearer <token>`)')
        .refine((token) => estimatedEntropyBits(token) >= MIN_BOOTSTRAP_TOKEN_BITS, {
          message: `looks guessable (repeated or patterned characters); use e.g. \`openssl rand -base64 32\``,
        })
        .optional(),
    ),
    AUDIT_RETENTION_DAYS: z.preprocess(blankToUndefined, z.coerce.number().int().min(1).max(36_500).default(90)),
    AUDIT_READS: z.preprocess(blankToUndefined, z.enum(['each', 'coalesce']).default('each')),
    AUDIT_COALESCE_SECONDS: z.preprocess(blankToUndefined, z.coerce.number().int().min(1).max(3600).default(60)),
    AUDIT_SINK: z.preprocess(
      blankToUndefined,
      z
        .string()
        .regex(/^(stdout|file:.+)$/, 'must be stdout or file:<path>')
        .optional(),
    ),
    AUDIT_SINK_ROTATE_SIZE: z.preprocess(
      blankToUndefined,
      z
        .string()
        .regex(/^\d+[BKMG]$/, 'must be a size such as 100M (B, K, M or G)')
        .default('100M'),
    ),
    AUDIT_SINK_MAX_FILES: positiveInt(10),
    AUDIT_MAINTENANCE_MINUTES: positiveInt(60),
    EVENTS_POLL_MS: positiveInt(1000),
    EVENTS_BATCH_MS: z.preprocess(blankToUndefined, z.coerce.number().int().min(0).max(1000).default(20)),
    EVENTS_HEARTBEAT_MS: positiveInt(30_000),
    EVENTS_MAX_SUBSCRIPTIONS: positiveInt(10_000),
    EVENTS_MAX_SUBSCRIPTIONS_PER_TOKEN: positiveInt(100),
    EVENTS_MAX_REPLAY: positiveInt(10_000),
    EVENTS_MAX_QUEUE: positiveInt(1_000),
    EVENTS_MAX_BUFFERED_BYTES: positiveInt(1024 * 1024),
    TOKEN_CACHE_TTL_MS: z.preprocess(blankToUndefined, z.coerce.number().int().min(0).default(5_000)),
    TOKEN_CACHE_MAX: positiveInt(10_000),
  })
  .superRefine((env, ctx) => {
    if (env.CIPHER_PROVIDER === 'gcp-kms' && !env.GCP_KMS_KEY_NAME) {
      ctx.addIssue({
        code: 'custom',
        path: ['GCP_KMS_KEY_NAME'],
        message: 'is required when CIPHER_PROVIDER=gcp-kms',
      });
    }
    if (env.LOCAL_MASTER_KEYS && env.LOCAL_MASTER_KEY_FILE) {
      ctx.addIssue({
        code: 'custom',
        path: ['LOCAL_MASTER_KEYS'],
        message: 'set LOCAL_MASTER_KEYS or LOCAL_MASTER_KEY_FILE, not both',
      });
    }
    if (env.LOCAL_MASTER_KEYS) {
      try {
        parseLocalMasterKeys(env.LOCAL_MASTER_KEYS);
      } catch (error) {
        ctx.addIssue({
          code: 'custom',
          path: ['LOCAL_MASTER_KEYS'],
          message: (error as Error).message,
        });
      }
    }
    if (env.DATABASE_LISTEN_URL && !env.DATABASE_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['DATABASE_LISTEN_URL'],
        message: 'needs DATABASE_URL (the embedded database has no separate listening connection)',
      });
    }
    if (
      env.CIPHER_PROVIDER === 'local' &&
      env.DATABASE_URL &&
      !env.LOCAL_MASTER_KEYS &&
      !env.LOCAL_MASTER_KEY_FILE
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['LOCAL_MASTER_KEYS'],
        message:
          'the local cipher provider with an external DATABASE_URL needs LOCAL_MASTER_KEYS or LOCAL_MASTER_KEY_FILE ' +
          '(a generated key is only allowed with the embedded database)',
      });
    }
  });

export type CipherProviderId = z.infer<typeof schema>['CIPHER_PROVIDER'];

export interface Config {
  readonly databaseUrl: string | undefined;
  readonly embedded: boolean;
  readonly dataDir: string;
  readonly port: number;
  readonly host: string;
  readonly production: boolean;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  /** The CLI writes its log to stderr and only warnings by default: stdout is its result. */
  readonly cliLogLevel: (typeof LOG_LEVELS)[number];
  readonly cipherProvider: CipherProviderId;
  readonly local: {
    readonly masterKeys: string | undefined;
    readonly masterKeyFile: string | undefined;
  };
  readonly gcpKms: {
    readonly keyName: string | undefined;
    readonly endpoint: string | undefined;
    /** Deadline of one Encrypt/Decrypt attempt. */
    readonly attemptTimeoutMs: number;
  };
  readonly environmentKeyCache: { readonly ttlMs: number; readonly max: number; readonly dataKeysMax: number };
  /** History and recovery (DESIGN §11): versions kept per secret (the current one included), days a deleted secret stays restorable, how often it is purged. */
  readonly secrets: { readonly versionsKept: number; readonly deletedRetentionDays: number; readonly purgeIntervalMs: number };
  /** Webhook delivery (DESIGN §13). */
  readonly webhooks: WebhookConfig;
  /** Bounds on one request (DESIGN §15): distinct values decrypted, and a token's requests in flight per instance. */
  readonly limits: { readonly maxValuesPerRequest: number; readonly maxConcurrentPerToken: number };
  readonly dbPoolSize: number;
  /** Named prepared statements for the hot reads; off behind a pooler that cannot keep them (PgBouncer < 1.21 in transaction mode). */
  readonly dbPreparedStatements: boolean;
  readonly maxBodyBytes: number;
  readonly shutdownGraceMs: number;
  readonly introspection: boolean;
  readonly bootstrapAdminToken: string | undefined;
  readonly audit: AuditConfig;
  readonly events: EventsConfig;
  /** Authenticated principals kept per instance while change notifications arrive (DESIGN §12); ttlMs 0: off. */
  readonly tokenCache: { readonly ttlMs: number; readonly max: number };
}

export interface WebhookConfig {
  /** WEBHOOK_TIMEOUT_MS: one attempt, DNS to response headers. */
  readonly timeoutMs: number;
  /** WEBHOOK_RETRY_BASE_MS, WEBHOOK_MAX_ATTEMPTS. */
  readonly retryBaseMs: number;
  readonly maxAttempts: number;
  /** WEBHOOK_ALLOW_PRIVATE_NETWORKS: deliver to loopback and private addresses. */
  readonly allowPrivateNetworks: boolean;
  /** WEBHOOK_POLL_MS: look for due webhooks at least this often (a committed change wakes the worker sooner). */
  readonly pollMs: number;
  /** WEBHOOK_CONCURRENCY: webhooks one instance works on at once (one event at a time each). */
  readonly concurrency: number;
}

export interface EventsConfig {
  /** The listening connection's own URL (a direct path past a transaction pooler); undefined: DATABASE_URL. */
  readonly listenUrl: string | undefined;
  /** How often the change feed is read without a notification (a missed one costs this much latency, not events). */
  readonly pollMs: number;
  /** The change feed is read at most once per this interval: under a stream of writes, events go out in batches. */
  readonly batchMs: number;
  /** WebSocket ping interval; a connection that misses a pong for this long is dropped. */
  readonly heartbeatMs: number;
  readonly maxSubscriptions: number;
  readonly maxSubscriptionsPerToken: number;
  /** Change rows an `after` cursor may be behind by (in its environment). */
  readonly maxReplay: number;
  /** Events one subscription may have waiting for its consumer; more and the connection is dropped. */
  readonly maxQueue: number;
  /** Bytes a connection may have unsent in its socket before it is dropped as a slow consumer. */
  readonly maxBufferedBytes: number;
}

export interface AuditConfig {
  /** Partitions (UTC days) whose every row is older than this are dropped. */
  readonly retentionDays: number;
  readonly reads: 'each' | 'coalesce';
  readonly coalesceSeconds: number;
  /** Where every audit record is also streamed as a JSON line; undefined: nowhere. */
  readonly sink: { readonly kind: 'stdout' } | { readonly kind: 'file'; readonly path: string; readonly rotateSize: string; readonly maxFiles: number } | undefined;
  /** How often each instance creates partitions ahead and applies retention. */
  readonly maintenanceMinutes: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (issue) => `  ${issue.path.join('.') || '(settings)'}: ${issue.message}`,
    );
    throw new ConfigError(`invalid settings:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  return deepFreeze({
    databaseUrl: e.DATABASE_URL,
    embedded: !e.DATABASE_URL,
    dataDir: path.resolve(e.DATA_DIR),
    port: e.PORT,
    host: e.HOST,
    production,
    logLevel: e.LOG_LEVEL ?? 'info',
    cliLogLevel: e.LOG_LEVEL ?? 'warn',
    cipherProvider: e.CIPHER_PROVIDER,
    local: { masterKeys: e.LOCAL_MASTER_KEYS, masterKeyFile: e.LOCAL_MASTER_KEY_FILE },
    gcpKms: { keyName: e.GCP_KMS_KEY_NAME, endpoint: e.GCP_KMS_ENDPOINT, attemptTimeoutMs: e.GCP_KMS_TIMEOUT_MS },
    environmentKeyCache: {
      ttlMs: e.ENVIRONMENT_KEY_CACHE_TTL_MS,
      max: e.ENVIRONMENT_KEY_CACHE_MAX,
      dataKeysMax: e.DATA_KEY_CACHE_MAX,
    },
    secrets: {
      versionsKept: e.SECRET_VERSIONS_KEPT,
      deletedRetentionDays: e.DELETED_SECRET_RETENTION_DAYS,
      purgeIntervalMs: e.SECRET_PURGE_INTERVAL_MINUTES * 60_000,
    },
    webhooks: {
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
      maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
      allowPrivateNetworks: e.WEBHOOK_ALLOW_PRIVATE_NETWORKS ?? false,
      pollMs: e.WEBHOOK_POLL_MS,
      concurrency: e.WEBHOOK_CONCURRENCY,
    },
    limits: { maxValuesPerRequest: e.MAX_VALUES_PER_REQUEST, maxConcurrentPerToken: e.MAX_REQUESTS_PER_TOKEN },
    dbPoolSize: e.DB_POOL_SIZE,
    dbPreparedStatements: e.DB_PREPARED_STATEMENTS ?? true,
    maxBodyBytes: e.MAX_BODY_BYTES,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    introspection: e.INTROSPECTION ?? !production,
    bootstrapAdminToken: e.BOOTSTRAP_ADMIN_TOKEN,
    audit: {
      retentionDays: e.AUDIT_RETENTION_DAYS,
      reads: e.AUDIT_READS,
      coalesceSeconds: e.AUDIT_COALESCE_SECONDS,
      sink:
        e.AUDIT_SINK === undefined
          ? undefined
          : e.AUDIT_SINK === 'stdout'
            ? { kind: 'stdout' as const }
            : {
                kind: 'file' as const,
                path: path.resolve(e.AUDIT_SINK.slice('file:'.length)),
                rotateSize: e.AUDIT_SINK_ROTATE_SIZE,
                maxFiles: e.AUDIT_SINK_MAX_FILES,
              },
      maintenanceMinutes: e.AUDIT_MAINTENANCE_MINUTES,
    },
    events: {
      listenUrl: e.DATABASE_LISTEN_URL,
      pollMs: e.EVENTS_POLL_MS,
      batchMs: e.EVENTS_BATCH_MS,
      heartbeatMs: e.EVENTS_HEARTBEAT_MS,
      maxSubscriptions: e.EVENTS_MAX_SUBSCRIPTIONS,
      maxSubscriptionsPerToken: e.EVENTS_MAX_SUBSCRIPTIONS_PER_TOKEN,
      maxReplay: e.EVENTS_MAX_REPLAY,
      maxQueue: e.EVENTS_MAX_QUEUE,
      maxBufferedBytes: e.EVENTS_MAX_BUFFERED_BYTES,
    },
    tokenCache: { ttlMs: e.TOKEN_CACHE_TTL_MS, max: e.TOKEN_CACHE_MAX },
  });
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (child && typeof child === 'object') deepFreeze(child as object);
  }
  return Object.freeze(value);
}

import path from 'node:path';
import { z } from 'zod';

/*
 * Every setting is read here, once, from the process environment (or a map
 * handed in by tests and the CLI). The result is typed and frozen; nothing
 * else in src/ reads process.env.
 */

const LOCAL_KEY_BYTES = 32;

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
    DATA_DIR: z.preprocess(blankToUndefined, z.string().default('./.data')),
    PORT: z.preprocess(blankToUndefined, z.coerce.number().int().min(0).max(65535).default(4000)),
    HOST: z.preprocess(blankToUndefined, z.string().default('127.0.0.1')),
    NODE_ENV: optionalString,
    LOG_LEVEL: z.preprocess(
      blankToUndefined,
      z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    ),
    CIPHER_PROVIDER: z.preprocess(blankToUndefined, z.enum(['local', 'gcp-kms']).default('local')),
    LOCAL_MASTER_KEYS: optionalString,
    LOCAL_MASTER_KEY_FILE: optionalString,
    GCP_KMS_KEY_NAME: z.preprocess(
      blankToUndefined,
      z
        .string()
        .regex(
          /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/,
          'must be projects/P/locations/L/keyRings/R/cryptoKeys/K',
        )
        .optional(),
    ),
    GCP_KMS_ENDPOINT: z.preprocess(
      blankToUndefined,
      z
        .string()
        .regex(/^[^:\s]+:\d{1,5}$/, 'must be host:port')
        .optional(),
    ),
    ENVIRONMENT_KEY_CACHE_TTL_MS: positiveInt(5 * 60 * 1000),
    ENVIRONMENT_KEY_CACHE_MAX: positiveInt(10_000),
    DB_POOL_SIZE: positiveInt(10),
    DB_PREPARED_STATEMENTS: booleanFlag,
    MAX_BODY_BYTES: positiveInt(1024 * 1024),
    SHUTDOWN_GRACE_MS: positiveInt(10_000),
    INTROSPECTION: booleanFlag,
    BOOTSTRAP_ADMIN_TOKEN: z.preprocess(
      blankToUndefined,
      z.string().min(32, 'must be at least 32 characters').optional(),
    ),
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
  readonly logLevel: z.infer<typeof schema>['LOG_LEVEL'];
  readonly cipherProvider: CipherProviderId;
  readonly local: {
    readonly masterKeys: string | undefined;
    readonly masterKeyFile: string | undefined;
  };
  readonly gcpKms: {
    readonly keyName: string | undefined;
    readonly endpoint: string | undefined;
  };
  readonly environmentKeyCache: { readonly ttlMs: number; readonly max: number };
  readonly dbPoolSize: number;
  /** Named prepared statements for the hot reads; off behind a pooler that cannot keep them (PgBouncer < 1.21 in transaction mode). */
  readonly dbPreparedStatements: boolean;
  readonly maxBodyBytes: number;
  readonly shutdownGraceMs: number;
  readonly introspection: boolean;
  readonly bootstrapAdminToken: string | undefined;
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
    logLevel: e.LOG_LEVEL,
    cipherProvider: e.CIPHER_PROVIDER,
    local: { masterKeys: e.LOCAL_MASTER_KEYS, masterKeyFile: e.LOCAL_MASTER_KEY_FILE },
    gcpKms: { keyName: e.GCP_KMS_KEY_NAME, endpoint: e.GCP_KMS_ENDPOINT },
    environmentKeyCache: { ttlMs: e.ENVIRONMENT_KEY_CACHE_TTL_MS, max: e.ENVIRONMENT_KEY_CACHE_MAX },
    dbPoolSize: e.DB_POOL_SIZE,
    dbPreparedStatements: e.DB_PREPARED_STATEMENTS ?? true,
    maxBodyBytes: e.MAX_BODY_BYTES,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    introspection: e.INTROSPECTION ?? !production,
    bootstrapAdminToken: e.BOOTSTRAP_ADMIN_TOKEN,
  });
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (child && typeof child === 'object') deepFreeze(child as object);
  }
  return Object.freeze(value);
}

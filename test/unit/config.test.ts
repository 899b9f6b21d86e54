import { randomBytes } from 'node:crypto';
import path from 'node:path';

import { ConfigError, loadConfig, parseLocalMasterKeys } from '../../src/config';
import { createLocalProvider } from '../../src/crypto/providers/local.provider';

const key = () => randomBytes(32).toString('base64');
const GCP_KEY = 'projects/p/locations/global/keyRings/r/cryptoKeys/k';

/** The ConfigError message loadConfig throws for `env`. */
function configError(env: Record<string, string | undefined>): string {
  let thrown: unknown;
  try {
    loadConfig(env);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ConfigError);
  return (thrown as ConfigError).message;
}

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    expect(loadConfig({})).toEqual({
      databaseUrl: undefined,
      embedded: true,
      dataDir: path.resolve('./.data'),
      port: 4000,
      host: '127.0.0.1',
      production: false,
      logLevel: 'info',
      cliLogLevel: 'warn',
      cipherProvider: 'local',
      local: { masterKeys: undefined, masterKeyFile: undefined },
      gcpKms: { keyName: undefined, endpoint: undefined, attemptTimeoutMs: 5000 },
      environmentKeyCache: { ttlMs: 5 * 60 * 1000, max: 10_000, dataKeysMax: 20_000 },
      limits: { maxValuesPerRequest: 5_000, maxConcurrentPerToken: 64 },
      secrets: { versionsKept: 20, deletedRetentionDays: 30, purgeIntervalMs: 3_600_000 },
      webhooks: { timeoutMs: 5_000, retryBaseMs: 1_000, maxAttempts: 10, allowPrivateNetworks: false, pollMs: 1_000, concurrency: 4 },
      dbPoolSize: 10,
      dbPreparedStatements: true,
      maxBodyBytes: 1024 * 1024,
      shutdownGraceMs: 10_000,
      introspection: true,
      bootstrapAdminToken: undefined,
      audit: { retentionDays: 90, reads: 'each', coalesceSeconds: 60, sink: undefined, maintenanceMinutes: 60 },
      events: {
        listenUrl: undefined,
        pollMs: 1_000,
        batchMs: 20,
        heartbeatMs: 30_000,
        maxSubscriptions: 10_000,
        maxSubscriptionsPerToken: 100,
        maxReplay: 10_000,
        maxQueue: 1_000,
        maxBufferedBytes: 1024 * 1024,
      },
      tokenCache: { ttlMs: 5_000, max: 10_000 },
    });
  });

  it('reads the audit settings', () => {
    const config = loadConfig({ AUDIT_READS: 'coalesce', AUDIT_COALESCE_SECONDS: '10', AUDIT_SINK: 'file:audit/log.jsonl', AUDIT_RETENTION_DAYS: '7' });
    expect(config.audit).toEqual({
      retentionDays: 7,
      reads: 'coalesce',
      coalesceSeconds: 10,
      sink: { kind: 'file', path: path.resolve('audit/log.jsonl'), rotateSize: '100M', maxFiles: 10 },
      maintenanceMinutes: 60,
    });
    expect(loadConfig({ AUDIT_SINK: 'stdout' }).audit.sink).toEqual({ kind: 'stdout' });
  });

  it.each([
    ['AUDIT_READS', 'some'],
    ['AUDIT_COALESCE_SECONDS', '0'],
    ['AUDIT_COALESCE_SECONDS', '3601'],
    ['AUDIT_RETENTION_DAYS', '0'],
    ['AUDIT_SINK', 'syslog'],
    ['AUDIT_SINK', 'file:'],
    ['AUDIT_SINK_ROTATE_SIZE', '10MB'],
  ])('rejects %s=%s', (name, value) => {
    expect(configError({ [name]: value })).toContain(name);
  });

  it('treats blank settings as unset', () => {
    const config = loadConfig({ PORT: '', HOST: '  ', CIPHER_PROVIDER: '', DATABASE_URL: ' ' });
    expect(config).toMatchObject({ port: 4000, host: '127.0.0.1', cipherProvider: 'local', embedded: true });
  });

  it('reads settings and resolves DATA_DIR to an absolute path', () => {
    const config = loadConfig({ PORT: '8080', HOST: '0.0.0.0', DATA_DIR: 'relative/dir', ENVIRONMENT_KEY_CACHE_TTL_MS: '1000' });
    expect(config).toMatchObject({ port: 8080, host: '0.0.0.0', dataDir: path.resolve('relative/dir') });
    expect(config.environmentKeyCache.ttlMs).toBe(1000);
  });

  it.each(['65536', '-1', '80.5', 'http'])('rejects PORT=%s', (port) => {
    expect(configError({ PORT: port })).toContain('PORT');
  });

  it('accepts PORT 0 and 65535', () => {
    expect(loadConfig({ PORT: '0' }).port).toBe(0);
    expect(loadConfig({ PORT: '65535' }).port).toBe(65535);
  });

  it('rejects CIPHER_PROVIDER=gcp-kms without GCP_KMS_KEY_NAME', () => {
    expect(configError({ CIPHER_PROVIDER: 'gcp-kms' })).toMatch(/GCP_KMS_KEY_NAME: is required/);
    const config = loadConfig({ CIPHER_PROVIDER: 'gcp-kms', GCP_KMS_KEY_NAME: GCP_KEY });
    expect(config.cipherProvider).toBe('gcp-kms');
    expect(config.gcpKms.keyName).toBe(GCP_KEY);
  });

  it('rejects an unknown CIPHER_PROVIDER', () => {
    expect(configError({ CIPHER_PROVIDER: 'vault' })).toContain('CIPHER_PROVIDER');
  });

  it('rejects DATABASE_URL with the local provider and no key, and accepts it with one', () => {
    const url = 'postgres://user:pw@db.example:5432/secretspace';
    expect(configError({ DATABASE_URL: url })).toContain('LOCAL_MASTER_KEYS');
    const config = loadConfig({ DATABASE_URL: url, LOCAL_MASTER_KEYS: `k1:${key()}` });
    expect(config).toMatchObject({ databaseUrl: url, embedded: false });
    expect(loadConfig({ DATABASE_URL: url, LOCAL_MASTER_KEY_FILE: '/etc/secretspace/keys' }).embedded).toBe(false);
    expect(loadConfig({ DATABASE_URL: url, CIPHER_PROVIDER: 'gcp-kms', GCP_KMS_KEY_NAME: GCP_KEY }).embedded).toBe(false);
  });

  it('rejects both LOCAL_MASTER_KEYS and LOCAL_MASTER_KEY_FILE', () => {
    expect(configError({ LOCAL_MASTER_KEYS: `k1:${key()}`, LOCAL_MASTER_KEY_FILE: '/k' })).toContain('not both');
  });

  it('turns introspection off in production unless INTROSPECTION=true', () => {
    expect(loadConfig({ NODE_ENV: 'production' })).toMatchObject({ production: true, introspection: false });
    expect(loadConfig({ NODE_ENV: 'production', INTROSPECTION: 'true' }).introspection).toBe(true);
    expect(loadConfig({ NODE_ENV: 'development', INTROSPECTION: 'false' }).introspection).toBe(false);
    expect(loadConfig({ NODE_ENV: 'test' })).toMatchObject({ production: false, introspection: true });
  });

  it('turns named prepared statements off with DB_PREPARED_STATEMENTS=false, and refuses other words', () => {
    expect(loadConfig({ DB_PREPARED_STATEMENTS: 'false' }).dbPreparedStatements).toBe(false);
    expect(loadConfig({ DB_PREPARED_STATEMENTS: '1' }).dbPreparedStatements).toBe(true);
    expect(configError({ DB_PREPARED_STATEMENTS: 'off' })).toContain('DB_PREPARED_STATEMENTS');
  });

  it('reads DATA_KEY_CACHE_MAX from 0 (no data-key cache) up, and refuses a negative or fractional count', () => {
    expect(loadConfig({ DATA_KEY_CACHE_MAX: '0' }).environmentKeyCache.dataKeysMax).toBe(0);
    expect(loadConfig({ DATA_KEY_CACHE_MAX: '500' }).environmentKeyCache.dataKeysMax).toBe(500);
    expect(configError({ DATA_KEY_CACHE_MAX: '-1' })).toContain('DATA_KEY_CACHE_MAX');
    expect(configError({ DATA_KEY_CACHE_MAX: '1.5' })).toContain('DATA_KEY_CACHE_MAX');
  });

  it('reads EVENTS_BATCH_MS from 0 (every wake reads) to 1000, and refuses beyond', () => {
    expect(loadConfig({ EVENTS_BATCH_MS: '0' }).events.batchMs).toBe(0);
    expect(loadConfig({ EVENTS_BATCH_MS: '1000' }).events.batchMs).toBe(1000);
    expect(configError({ EVENTS_BATCH_MS: '1001' })).toContain('EVENTS_BATCH_MS');
    expect(configError({ EVENTS_BATCH_MS: '-1' })).toContain('EVENTS_BATCH_MS');
  });

  it('rejects a short BOOTSTRAP_ADMIN_TOKEN without echoing it', () => {
    const token = 'S3CRET-MARKER-short';
    const message = configError({ BOOTSTRAP_ADMIN_TOKEN: token });
    expect(message).toContain('BOOTSTRAP_ADMIN_TOKEN');
    expect(message).not.toContain(token);
  });

  it.each([
    ['whitespace inside', 'S3CRET-MARKER-with a space-0123456789abcdefghij'],
    ['a trailing newline', 'S3CRET-MARKER-0123456789abcdefghijklmnop\n'],
    ['32 × a', 'a'.repeat(32)],
    ['a short pattern repeated', 'ab'.repeat(24)],
  ])('rejects a BOOTSTRAP_ADMIN_TOKEN with %s, without echoing it', (_label, token) => {
    const message = configError({ BOOTSTRAP_ADMIN_TOKEN: token });
    expect(message).toContain('BOOTSTRAP_ADMIN_TOKEN');
    expect(message).not.toContain(token.trim());
  });

  it('accepts a random BOOTSTRAP_ADMIN_TOKEN (openssl rand -hex 16 or -base64 32)', () => {
    expect(loadConfig({ BOOTSTRAP_ADMIN_TOKEN: '9f86d081884c7d659a2feaa0c55ad015' }).bootstrapAdminToken).toHaveLength(32);
    expect(loadConfig({ BOOTSTRAP_ADMIN_TOKEN: 'q2Yf1mX0cO6b3l9Wn5Xc7v8B/9mH4aLk2pQ1rS3tU4w=' }).bootstrapAdminToken).toBeDefined();
  });

  it('returns a deeply frozen object', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.local)).toBe(true);
    expect(Object.isFrozen(config.environmentKeyCache)).toBe(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => {
      (config.environmentKeyCache as { ttlMs: number }).ttlMs = 1;
    }).toThrow(TypeError);
  });
});

describe('LOCAL_MASTER_KEYS', () => {
  it('parses id:base64 entries in order; the first one encrypts', () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const keys = parseLocalMasterKeys(` new:${a.toString('base64')} ,\nold:${b.toString('base64')}\n`);
    expect(keys.map((k) => k.id)).toEqual(['new', 'old']);
    expect(keys[0].key.equals(a)).toBe(true);
    expect(keys[1].key.equals(b)).toBe(true);
    expect(createLocalProvider(keys).primaryKeyRef?.()).toBe('new');
    expect(loadConfig({ LOCAL_MASTER_KEYS: `new:${a.toString('base64')}` }).local.masterKeys).toBe(
      `new:${a.toString('base64')}`,
    );
  });

  const good = key();
  it.each<[string, string]>([
    ['a 16-byte key', `k1:${good},k2:${randomBytes(16).toString('base64')}`],
    ['a 33-byte key', `k1:${randomBytes(33).toString('base64')}`],
    ['duplicate ids', `k1:${good},k1:${key()}`],
    ['a missing id', `:${good}`],
    ['no separator', good],
    ['an id with spaces', `my key:${good}`],
    ['no entries', ' , '],
  ])('rejects %s without echoing key material', (_case, spec) => {
    expect(() => parseLocalMasterKeys(spec)).toThrow();
    const message = configError({ LOCAL_MASTER_KEYS: spec });
    expect(message).toContain('LOCAL_MASTER_KEYS');
    for (const material of spec.split(/[,:\s]/).filter((part) => part.length >= 16)) {
      expect(message).not.toContain(material);
    }
  });

  /* An entry written the wrong way round (`<base64 key>:<id>`) can pass the id check; errors name entries by position. */
  it('does not echo key material written in the wrong order (key:id)', () => {
    const material = randomBytes(32).toString('base64').replace(/[+/]/g, 'x').replace(/=+$/, '');
    const message = configError({ LOCAL_MASTER_KEYS: `${material}:primary` });
    expect(message).not.toContain(material);
  });
});

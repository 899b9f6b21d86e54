import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import pino from 'pino';

import { loadConfig, type Config } from '../../src/config';
import { createLocalProvider, GENERATED_KEY_FILE, localProviderFactory } from '../../src/crypto/providers/local.provider';
import type { CipherProvider } from '../../src/crypto/provider';

const masterKey = (id: string) => ({ id, key: randomBytes(32) });
const aad = Buffer.from('environment-key aad');
const envKey = randomBytes(32);

describe('createLocalProvider', () => {
  const current = masterKey('current');
  const previous = masterKey('previous');

  it('round-trips a key and records the first key as keyRef', async () => {
    const provider = createLocalProvider([current, previous]);
    const { wrapped, keyRef } = await provider.wrap(envKey, aad);
    expect(keyRef).toBe('current');
    expect(provider.primaryKeyRef?.()).toBe('current');
    expect(provider.id).toBe('local');
    expect(wrapped.includes(envKey)).toBe(false);
    expect((await provider.unwrap(wrapped, keyRef, aad)).equals(envKey)).toBe(true);
  });

  it('wraps the same key differently each time (fresh IV)', async () => {
    const provider = createLocalProvider([current]);
    const a = await provider.wrap(envKey, aad);
    const b = await provider.wrap(envKey, aad);
    expect(a.wrapped.equals(b.wrapped)).toBe(false);
  });

  it('still unwraps data wrapped under an older master key after rotation', async () => {
    const before = createLocalProvider([previous]);
    const old = await before.wrap(envKey, aad);
    expect(old.keyRef).toBe('previous');

    const after = createLocalProvider([current, previous]);
    expect((await after.unwrap(old.wrapped, old.keyRef, aad)).equals(envKey)).toBe(true);
    expect((await after.wrap(envKey, aad)).keyRef).toBe('current');
  });

  it('fails with DECRYPTION_FAILED for an unknown keyRef', async () => {
    const { wrapped } = await createLocalProvider([previous]).wrap(envKey, aad);
    await expect(createLocalProvider([current]).unwrap(wrapped, 'previous', aad)).rejects.toMatchObject({
      code: 'DECRYPTION_FAILED',
    });
  });

  it('fails with DECRYPTION_FAILED when keyRef names a different configured key', async () => {
    const provider = createLocalProvider([current, previous]);
    const { wrapped } = await provider.wrap(envKey, aad);
    await expect(provider.unwrap(wrapped, 'previous', aad)).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
  });

  it('fails with DECRYPTION_FAILED on an AAD mismatch', async () => {
    const provider = createLocalProvider([current]);
    const { wrapped, keyRef } = await provider.wrap(envKey, aad);
    await expect(provider.unwrap(wrapped, keyRef, Buffer.from('other aad'))).rejects.toMatchObject({
      code: 'DECRYPTION_FAILED',
    });
  });

  it('fails with DECRYPTION_FAILED on tampered or truncated input', async () => {
    const provider = createLocalProvider([current]);
    const { wrapped, keyRef } = await provider.wrap(envKey, aad);
    for (let i = 0; i < wrapped.length; i++) {
      const tampered = Buffer.from(wrapped);
      tampered[i] ^= 0x01;
      await expect(provider.unwrap(tampered, keyRef, aad)).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
    }
    for (const length of [0, 12, 28, wrapped.length - 1]) {
      await expect(provider.unwrap(wrapped.subarray(0, length), keyRef, aad)).rejects.toMatchObject({
        code: 'DECRYPTION_FAILED',
      });
    }
  });

  it('refuses an empty key list', () => {
    expect(() => createLocalProvider([])).toThrow();
  });
});

describe('localProviderFactory', () => {
  const silent = pino({ level: 'silent' });
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'secretspace-local-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const embeddedConfig = (env: Record<string, string> = {}): Config =>
    loadConfig({ DATA_DIR: path.join(dir, 'data'), ...env });
  const keyFile = () => path.join(dir, 'data', GENERATED_KEY_FILE);

  async function roundTrips(writer: CipherProvider, reader: CipherProvider) {
    const { wrapped, keyRef } = await writer.wrap(envKey, aad);
    return (await reader.unwrap(wrapped, keyRef, aad)).equals(envKey);
  }

  it('generates DATA_DIR/master.key (mode 0600) when embedded and active, with a warning', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });

    const provider = await localProviderFactory({ config: embeddedConfig(), logger, active: true });

    expect(provider).toBeDefined();
    expect(statSync(keyFile()).mode & 0o777).toBe(0o600);
    const contents = readFileSync(keyFile(), 'utf8');
    const [id, material] = contents.trim().split(':');
    expect(id).toMatch(/^generated-[0-9a-f]{8}$/);
    expect(Buffer.from(material, 'base64')).toHaveLength(32);
    expect(provider!.primaryKeyRef?.()).toBe(id);

    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ level: 40, file: keyFile() });
    expect(lines[0]).not.toContain(material);
  });

  it('reuses the generated key on the next start', async () => {
    const first = await localProviderFactory({ config: embeddedConfig(), logger: silent, active: true });
    const contents = readFileSync(keyFile(), 'utf8');
    const second = await localProviderFactory({ config: embeddedConfig(), logger: silent, active: true });

    expect(readFileSync(keyFile(), 'utf8')).toBe(contents);
    expect(second!.primaryKeyRef?.()).toBe(first!.primaryKeyRef?.());
    expect(await roundTrips(first!, second!)).toBe(true);
  });

  it('returns undefined and writes nothing when not active and nothing is configured', async () => {
    const provider = await localProviderFactory({ config: embeddedConfig(), logger: silent, active: false });
    expect(provider).toBeUndefined();
    expect(existsSync(keyFile())).toBe(false);
  });

  it('never generates a key for an external database', async () => {
    const config = embeddedConfig({
      DATABASE_URL: 'postgres://db.example/secretspace',
      CIPHER_PROVIDER: 'gcp-kms',
      GCP_KMS_KEY_NAME: 'projects/p/locations/l/keyRings/r/cryptoKeys/k',
    });
    expect(config.embedded).toBe(false);
    const provider = await localProviderFactory({ config, logger: silent, active: true });
    expect(provider).toBeUndefined();
    expect(existsSync(keyFile())).toBe(false);
  });

  it('uses LOCAL_MASTER_KEYS even when not active, and generates nothing', async () => {
    const spec = `k2:${randomBytes(32).toString('base64')},k1:${randomBytes(32).toString('base64')}`;
    const provider = await localProviderFactory({
      config: embeddedConfig({ LOCAL_MASTER_KEYS: spec }),
      logger: silent,
      active: false,
    });
    expect(provider?.primaryKeyRef?.()).toBe('k2');
    expect(existsSync(keyFile())).toBe(false);
  });

  it('reads LOCAL_MASTER_KEY_FILE', async () => {
    const file = path.join(dir, 'keys.txt');
    const old = masterKey('old');
    writeFileSync(file, `from-file:${randomBytes(32).toString('base64')}\nold:${old.key.toString('base64')}\n`, {
      mode: 0o600,
    });

    const provider = await localProviderFactory({
      config: embeddedConfig({ LOCAL_MASTER_KEY_FILE: file }),
      logger: silent,
      active: true,
    });

    expect(provider?.primaryKeyRef?.()).toBe('from-file');
    expect(await roundTrips(createLocalProvider([old]), provider!)).toBe(true);
    expect(existsSync(keyFile())).toBe(false);
  });
});

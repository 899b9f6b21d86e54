process.env.METADATA_SERVER_DETECTION = 'none';

import { crc32c } from '@aws-crypto/crc32c';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { googleAuthLibrary, grpc } from 'google-gax';
import net from 'node:net';
import os from 'node:os';
import pino from 'pino';

import { loadConfig } from '../../src/config';
import { environmentKeyAad, generateKey } from '../../src/crypto/envelope';
import type { CipherProvider } from '../../src/crypto/provider';
import {
  createGcpKmsProvider,
  gcpKmsProviderFactory,
  type GcpKmsProviderOptions,
} from '../../src/crypto/providers/gcp-kms.provider';
import { createCipherProviderRegistry } from '../../src/crypto/providers/index';
import { startFakeKms, type FakeKms } from '../support/fake-kms';

const aad = environmentKeyAad('environment-1', 1);
const silent = pino({ level: 'silent' });

/* Every socket this file opens is recorded, to prove nothing but loopback is ever dialled. */
const dialled: unknown[] = [];
const realConnect = net.Socket.prototype.connect;
jest.spyOn(net.Socket.prototype, 'connect').mockImplementation(function (this: net.Socket, ...args: any[]) {
  // net.connect() hands Socket#connect its already-normalized [options, callback] pair
  const target = Array.isArray(args[0]) ? args[0][0] : args[0];
  dialled.push(typeof target === 'object' && target !== null ? (target.path ?? target.host ?? 'localhost') : args[1]);
  return (realConnect as (...a: unknown[]) => net.Socket).apply(this, args);
});

let kms: FakeKms;
const providers: CipherProvider[] = [];

function providerFor(overrides: Partial<GcpKmsProviderOptions> = {}): CipherProvider {
  const provider = createGcpKmsProvider({ keyName: kms.keyName, endpoint: kms.endpoint, ...overrides });
  providers.push(provider);
  return provider;
}

beforeAll(async () => {
  kms = await startFakeKms();
});
beforeEach(() => kms.reset());
afterAll(async () => {
  await Promise.all(providers.map((p) => p.close?.()));
  await kms.stop();
  expect(dialled.length).toBeGreaterThan(0);
  for (const host of dialled) expect(host).toBe('127.0.0.1');
});

describe('CRC32C integrity fields', () => {
  it('sends checksums of the plaintext, ciphertext and AAD on every call', async () => {
    const provider = providerFor();
    const key = generateKey();
    const { wrapped, keyRef } = await provider.wrap(key, aad);
    expect(kms.lastRequest.encrypt).toMatchObject({ name: kms.keyName, data: key, additionalAuthenticatedData: aad });
    expect(kms.lastRequest.encrypt?.dataCrc32c).toBe(crc32c(key));
    expect(kms.lastRequest.encrypt?.additionalAuthenticatedDataCrc32c).toBe(crc32c(aad));

    await provider.unwrap(wrapped, keyRef, aad);
    expect(kms.lastRequest.decrypt).toMatchObject({ name: kms.keyName, data: wrapped, additionalAuthenticatedData: aad });
    expect(kms.lastRequest.decrypt?.dataCrc32c).toBe(crc32c(wrapped));
    expect(kms.lastRequest.decrypt?.additionalAuthenticatedDataCrc32c).toBe(crc32c(aad));
  });

  it('is checked by the fake as KMS does: a wrong request checksum is INVALID_ARGUMENT', async () => {
    const client = new KeyManagementServiceClient({
      apiEndpoint: kms.host,
      port: kms.port,
      sslCreds: grpc.credentials.createInsecure(),
      authClient: new googleAuthLibrary.OAuth2Client(),
    });
    try {
      const request = { name: kms.keyName, plaintext: Buffer.from('x'), plaintextCrc32c: { value: 1 } };
      await expect(client.encrypt(request, { retry: null })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    } finally {
      await client.close();
    }
  });

  it('retries a corrupted Encrypt response once, then succeeds', async () => {
    const provider = providerFor();
    const key = generateKey();
    kms.failNext('CORRUPT_CHECKSUM', 1);
    const { wrapped, keyRef } = await provider.wrap(key, aad);
    expect(kms.calls.encrypt).toBe(2);
    await expect(provider.unwrap(wrapped, keyRef, aad)).resolves.toEqual(key);
  });

  it('retries a corrupted Decrypt response once, then succeeds', async () => {
    const provider = providerFor();
    const key = generateKey();
    const { wrapped, keyRef } = await provider.wrap(key, aad);
    kms.failNext('CORRUPT_CHECKSUM', 1);
    await expect(provider.unwrap(wrapped, keyRef, aad)).resolves.toEqual(key);
    expect(kms.calls.decrypt).toBe(2);
  });

  it('surfaces a persistently corrupted response as KEY_PROVIDER_UNAVAILABLE', async () => {
    const provider = providerFor();
    const key = generateKey();
    const { wrapped, keyRef } = await provider.wrap(key, aad);
    kms.reset();
    kms.failNext('CORRUPT_CHECKSUM', 10);
    await expect(provider.wrap(key, aad)).rejects.toMatchObject({ code: 'KEY_PROVIDER_UNAVAILABLE' });
    expect(kms.calls.encrypt).toBe(4);
    await expect(provider.unwrap(wrapped, keyRef, aad)).rejects.toMatchObject({ code: 'KEY_PROVIDER_UNAVAILABLE' });
    expect(kms.calls.decrypt).toBe(4);
  });

  it('refuses a ciphertext made by a key version outside the configured CryptoKey', async () => {
    const provider = providerFor();
    kms.failNext('FOREIGN_KEY_VERSION', 1);
    await expect(provider.wrap(generateKey(), aad)).rejects.toMatchObject({ code: 'KEY_PROVIDER_UNAVAILABLE' });
    expect(kms.calls.encrypt).toBe(1);
  });
});

describe('retries and deadlines', () => {
  it.each(['UNAVAILABLE', 'RESOURCE_EXHAUSTED'] as const)('retries %s, then succeeds', async (kind) => {
    const provider = providerFor();
    const key = generateKey();
    kms.failNext(kind, 2);
    const { wrapped, keyRef } = await provider.wrap(key, aad);
    expect(kms.calls.encrypt).toBe(3);
    kms.failNext(kind, 3);
    await expect(provider.unwrap(wrapped, keyRef, aad)).resolves.toEqual(key);
    expect(kms.calls.decrypt).toBe(4);
  });

  it.each(['UNAVAILABLE', 'RESOURCE_EXHAUSTED'] as const)(
    'gives up on persistent %s after its own attempts only, well within the bound',
    async (kind) => {
      const provider = providerFor();
      kms.failNext(kind, 100);
      const started = Date.now();
      await expect(provider.wrap(generateKey(), aad)).rejects.toMatchObject({ code: 'KEY_PROVIDER_UNAVAILABLE' });
      expect(Date.now() - started).toBeLessThan(15_000);
      // exactly our 4 attempts: the client library added none of its own
      expect(kms.calls.encrypt).toBe(4);
    },
  );

  it('abandons an attempt at its deadline and does not pile more onto a slow KMS', async () => {
    const provider = providerFor({ attemptTimeoutMs: 300 });
    kms.setLatency(3_000);
    const started = Date.now();
    await expect(provider.wrap(generateKey(), aad)).rejects.toMatchObject({ code: 'KEY_PROVIDER_UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(kms.calls.encrypt).toBe(1);
  });

  it('gives up on an unreachable KMS within the bound', async () => {
    const gone = await startFakeKms();
    await gone.stop();
    const provider = createGcpKmsProvider({ keyName: gone.keyName, endpoint: gone.endpoint });
    providers.push(provider);
    const started = Date.now();
    await expect(provider.wrap(generateKey(), aad)).rejects.toMatchObject({ code: 'KEY_PROVIDER_UNAVAILABLE' });
    // the client's default policy would retry UNAVAILABLE for each attempt's whole deadline (4 x 5 s)
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('key versions', () => {
  it('records the CryptoKeyVersion that wrapped, follows the primary, and still opens older versions', async () => {
    const provider = providerFor();
    const key = generateKey();
    const first = await provider.wrap(key, aad);
    expect(first.keyRef).toBe(`${kms.keyName}/cryptoKeyVersions/1`);

    kms.setPrimaryVersion(kms.addVersion());
    const second = await provider.wrap(key, aad);
    expect(second.keyRef).toBe(`${kms.keyName}/cryptoKeyVersions/2`);

    await expect(provider.unwrap(first.wrapped, first.keyRef, aad)).resolves.toEqual(key);
    await expect(provider.unwrap(second.wrapped, second.keyRef, aad)).resolves.toEqual(key);
  });

  it('opens data wrapped under a previous key name by decrypting with the key its keyRef names', async () => {
    const key = generateKey();
    const { wrapped, keyRef } = await providerFor().wrap(key, aad);
    const renamed = providerFor({ keyName: 'projects/test/locations/global/keyRings/ring/cryptoKeys/successor' });
    await expect(renamed.unwrap(wrapped, keyRef, aad)).resolves.toEqual(key);
    expect(kms.lastRequest.decrypt?.name).toBe(kms.keyName);
  });

  it('refuses a malformed key reference without calling KMS', async () => {
    const provider = providerFor();
    const { wrapped } = await provider.wrap(generateKey(), aad);
    await expect(provider.unwrap(wrapped, `${kms.keyName}/cryptoKeyVersions/x`, aad)).rejects.toMatchObject({
      code: 'DECRYPTION_FAILED',
    });
    expect(kms.calls.decrypt).toBe(0);
  });
});

describe('readiness', () => {
  it('probes KMS once and reuses the answer for a while', async () => {
    const provider = providerFor();
    await provider.check();
    await provider.check();
    expect(kms.calls.encrypt).toBe(1);
  });

  it('rejects when KMS is too slow for the probe deadline', async () => {
    const provider = providerFor({ checkTimeoutMs: 200 });
    kms.setLatency(2_000);
    await expect(provider.check()).rejects.toMatchObject({ code: 'KEY_PROVIDER_UNAVAILABLE' });
  });

  it('rejects once KMS has stopped', async () => {
    const own = await startFakeKms();
    const provider = createGcpKmsProvider({ keyName: own.keyName, endpoint: own.endpoint, checkCacheMs: 50 });
    providers.push(provider);
    await expect(provider.check()).resolves.toBeUndefined();
    await own.stop();
    await new Promise((resolve) => setTimeout(resolve, 60));
    await expect(provider.check()).rejects.toMatchObject({ code: 'KEY_PROVIDER_UNAVAILABLE' });
  });
});

describe('factory and settings', () => {
  const env = () => ({ CIPHER_PROVIDER: 'gcp-kms', DATA_DIR: os.tmpdir() });

  it('requires GCP_KMS_KEY_NAME when gcp-kms is the active provider', () => {
    expect(() => loadConfig(env())).toThrow(/GCP_KMS_KEY_NAME/);
    expect(() => loadConfig({ ...env(), GCP_KMS_KEY_NAME: 'projects/p/keyRings/r' })).toThrow(/GCP_KMS_KEY_NAME/);
  });

  it('stays out of the registry when neither active nor configured', async () => {
    const config = loadConfig({ DATA_DIR: os.tmpdir(), LOCAL_MASTER_KEYS: `k:${generateKey().toString('base64')}` });
    await expect(gcpKmsProviderFactory({ config, logger: silent, active: false })).resolves.toBeUndefined();
  });

  it('builds a working provider from GCP_KMS_KEY_NAME and GCP_KMS_ENDPOINT, without the metadata server', async () => {
    delete process.env.METADATA_SERVER_DETECTION;
    const config = loadConfig({ ...env(), GCP_KMS_KEY_NAME: kms.keyName, GCP_KMS_ENDPOINT: kms.endpoint });
    const registry = await createCipherProviderRegistry(config, silent);
    try {
      expect(process.env.METADATA_SERVER_DETECTION).toBe('none');
      expect(registry.active.id).toBe('gcp-kms');
      const key = generateKey();
      const { wrapped, keyRef } = await registry.active.wrap(key, aad);
      await expect(registry.get('gcp-kms').unwrap(wrapped, keyRef, aad)).resolves.toEqual(key);
    } finally {
      await registry.close();
    }
  });
});

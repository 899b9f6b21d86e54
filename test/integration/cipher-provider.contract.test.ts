process.env.METADATA_SERVER_DETECTION = 'none';

import { randomBytes } from 'node:crypto';

import {
  decodeEnvironmentKeyBlob,
  environmentKeyAad,
  generateKey,
  unwrapEnvironmentKey,
  wrapEnvironmentKey,
} from '../../src/crypto/envelope';
import { CipherProviderRegistry, type CipherProvider } from '../../src/crypto/provider';
import { createGcpKmsProvider } from '../../src/crypto/providers/gcp-kms.provider';
import { createLocalProvider } from '../../src/crypto/providers/local.provider';
import { startFakeKms } from '../support/fake-kms';

/*
 * Every cipher provider must pass this one suite: the envelope relies on
 * exactly these behaviours, whatever holds the master key.
 */

interface ProviderUnderTest {
  readonly provider: CipherProvider;
  /** Key references that are well formed for this provider but name no key it has. */
  readonly unknownKeyRefs: readonly string[];
  teardown(): Promise<void>;
}

function defineCipherProviderContract(name: string, setup: () => Promise<ProviderUnderTest>) {
  describe(`cipher provider contract: ${name}`, () => {
    let subject: ProviderUnderTest;
    let provider: CipherProvider;
    const aad = environmentKeyAad('environment-1', 1);

    beforeAll(async () => {
      subject = await setup();
      provider = subject.provider;
    });
    afterAll(() => subject?.teardown());

    it('round-trips a key, and the wrapped form does not contain it', async () => {
      const key = generateKey();
      const { wrapped, keyRef } = await provider.wrap(key, aad);
      expect(keyRef).not.toBe('');
      expect(wrapped.includes(key)).toBe(false);
      await expect(provider.unwrap(wrapped, keyRef, aad)).resolves.toEqual(key);
    });

    it('wraps the same key differently each time', async () => {
      const key = generateKey();
      const first = await provider.wrap(key, aad);
      const second = await provider.wrap(key, aad);
      expect(first.wrapped.equals(second.wrapped)).toBe(false);
    });

    it('fails with DECRYPTION_FAILED when the associated data differs', async () => {
      const { wrapped, keyRef } = await provider.wrap(generateKey(), aad);
      await expect(provider.unwrap(wrapped, keyRef, environmentKeyAad('environment-1', 2))).rejects.toMatchObject({
        code: 'DECRYPTION_FAILED',
      });
      await expect(provider.unwrap(wrapped, keyRef, Buffer.alloc(0))).rejects.toMatchObject({
        code: 'DECRYPTION_FAILED',
      });
    });

    it('fails with DECRYPTION_FAILED when any part of the wrapped bytes is flipped or cut', async () => {
      const { wrapped, keyRef } = await provider.wrap(generateKey(), aad);
      for (const position of [0, Math.floor(wrapped.length / 2), wrapped.length - 1]) {
        const tampered = Buffer.from(wrapped);
        tampered[position] ^= 0x01;
        await expect(provider.unwrap(tampered, keyRef, aad)).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
      }
      await expect(provider.unwrap(wrapped.subarray(0, wrapped.length - 1), keyRef, aad)).rejects.toMatchObject({
        code: 'DECRYPTION_FAILED',
      });
      await expect(provider.unwrap(Buffer.alloc(0), keyRef, aad)).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
    });

    it('fails with DECRYPTION_FAILED for a key reference it does not know', async () => {
      const { wrapped } = await provider.wrap(generateKey(), aad);
      for (const keyRef of ['no-such-key', '', ...subject.unknownKeyRefs]) {
        await expect(provider.unwrap(wrapped, keyRef, aad)).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
      }
    });

    it('reports ready while it can serve calls', async () => {
      await expect(provider.check()).resolves.toBeUndefined();
    });

    describe('through the envelope', () => {
      it('wraps an environment key into a self-describing blob and opens it again', async () => {
        const registry = new CipherProviderRegistry([provider], provider.id);
        const key = generateKey();
        const wrapped = await wrapEnvironmentKey(provider, key, 'environment-7', 3);
        expect(decodeEnvironmentKeyBlob(wrapped.blob)).toMatchObject({ providerId: provider.id, keyRef: wrapped.keyRef });
        await expect(unwrapEnvironmentKey(registry, wrapped.blob, 'environment-7', 3)).resolves.toEqual(key);
      });

      it('refuses a blob presented for another environment or key version', async () => {
        const registry = new CipherProviderRegistry([provider], provider.id);
        const { blob } = await wrapEnvironmentKey(provider, generateKey(), 'environment-7', 3);
        await expect(unwrapEnvironmentKey(registry, blob, 'environment-8', 3)).rejects.toMatchObject({
          code: 'DECRYPTION_FAILED',
        });
        await expect(unwrapEnvironmentKey(registry, blob, 'environment-7', 4)).rejects.toMatchObject({
          code: 'DECRYPTION_FAILED',
        });
      });

      it('refuses a blob whose wrapped key was altered', async () => {
        const registry = new CipherProviderRegistry([provider], provider.id);
        const { blob } = await wrapEnvironmentKey(provider, generateKey(), 'environment-7', 3);
        const tampered = Buffer.from(blob);
        tampered[tampered.length - 1] ^= 0x80;
        await expect(unwrapEnvironmentKey(registry, tampered, 'environment-7', 3)).rejects.toMatchObject({
          code: 'DECRYPTION_FAILED',
        });
      });
    });
  });
}

defineCipherProviderContract('local', async () => ({
  provider: createLocalProvider([{ id: 'contract', key: randomBytes(32) }]),
  unknownKeyRefs: ['other'],
  teardown: async () => {},
}));

defineCipherProviderContract('gcp-kms', async () => {
  const kms = await startFakeKms();
  const provider = createGcpKmsProvider({ keyName: kms.keyName, endpoint: kms.endpoint });
  return {
    provider,
    unknownKeyRefs: [
      // a well-formed version of a CryptoKey KMS does not have
      'projects/test/locations/global/keyRings/ring/cryptoKeys/absent/cryptoKeyVersions/1',
      // a CryptoKey rather than a version
      kms.keyName,
      `${kms.keyName}/cryptoKeyVersions/1/extra`,
    ],
    teardown: async () => {
      await provider.close?.();
      await kms.stop();
    },
  };
});

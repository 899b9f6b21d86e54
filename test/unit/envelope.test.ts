import { randomUUID } from 'node:crypto';

import {
  associatedData,
  decodeEnvironmentKeyBlob,
  dekKeyVersion,
  encodeEnvironmentKeyBlob,
  generateKey,
  openValue,
  rewrapDek,
  sealValue,
  unwrapEnvironmentKey,
  wrapEnvironmentKey,
  type SealedValue,
  type ValueOwner,
} from '../../src/crypto/envelope';
import { CipherProviderRegistry, type CipherProvider } from '../../src/crypto/provider';
import { createLocalProvider } from '../../src/crypto/providers/local.provider';
import { DecryptionFailedError } from '../../src/errors';

const DECRYPTION_FAILED = expect.objectContaining({ code: 'DECRYPTION_FAILED' });

const owner = (overrides: Partial<ValueOwner> = {}): ValueOwner => ({
  secretId: randomUUID(),
  environmentId: randomUUID(),
  spaceId: randomUUID(),
  name: 'STRIPE_API_KEY',
  version: 1,
  ...overrides,
});

/** A copy of `bytes` with one byte XOR-ed by `mask`. */
const flipped = (bytes: Buffer, index: number, mask: number) => {
  const copy = Buffer.from(bytes);
  copy[index] ^= mask;
  return copy;
};

describe('sealValue / openValue', () => {
  const envKey = generateKey();

  it.each([
    ['ASCII', 'sk_live_1234567890'],
    ['multi-byte UTF-8 and emoji', 'naïve — 日本語 🔑😀 \u{10FFFF}'],
    ['a 64 KiB value', 'x'.repeat(64 * 1024)],
    ['a one-byte value', 'a'],
  ])('round-trips %s', (_label, value) => {
    const who = owner();
    const sealed = sealValue(value, who, envKey, 1);
    expect(openValue(sealed, who, envKey)).toBe(value);
  });

  it('never stores the plaintext in either blob', () => {
    const value = 'S3CRET-MARKER-'.repeat(4);
    const sealed = sealValue(value, owner(), envKey, 1);
    expect(sealed.ciphertext.includes(Buffer.from('S3CRET-MARKER'))).toBe(false);
    expect(sealed.wrappedDek.includes(Buffer.from('S3CRET-MARKER'))).toBe(false);
  });

  it('seals the same value differently each time (fresh IV and DEK)', () => {
    const who = owner();
    const a = sealValue('same value', who, envKey, 1);
    const b = sealValue('same value', who, envKey, 1);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
    expect(a.wrappedDek.equals(b.wrappedDek)).toBe(false);
    // The IVs themselves differ, not only the bodies.
    expect(a.ciphertext.subarray(1, 13).equals(b.ciphertext.subarray(1, 13))).toBe(false);
    expect(a.wrappedDek.subarray(5, 17).equals(b.wrappedDek.subarray(5, 17))).toBe(false);
  });

  it('refuses an environment key that is not 32 bytes', () => {
    expect(() => sealValue('v', owner(), Buffer.alloc(16), 1)).toThrow('32 bytes');
  });

  describe('binds every field of the owner', () => {
    const original = owner({ spaceId: null, version: 3 });
    const sealed = sealValue('bound value', original, envKey, 1);

    it('opens under the exact owner', () => {
      expect(openValue(sealed, { ...original }, envKey)).toBe('bound value');
    });

    it.each<[string, Partial<ValueOwner>]>([
      ['secretId', { secretId: randomUUID() }],
      ['environmentId', { environmentId: randomUUID() }],
      ['spaceId (null → a uuid)', { spaceId: randomUUID() }],
      ['name', { name: 'STRIPE_API_KEy' }],
      ['name (trailing byte)', { name: 'STRIPE_API_KEY ' }],
      ['version', { version: 4 }],
    ])('changing %s fails with DECRYPTION_FAILED', (_field, change) => {
      expect(() => openValue(sealed, { ...original, ...change }, envKey)).toThrow(DECRYPTION_FAILED);
    });

    it('a space-level value does not open as another space, as environment-level, or with an empty space id', () => {
      const spaceOwner = owner();
      const spaceSealed = sealValue('space value', spaceOwner, envKey, 1);
      for (const spaceId of [randomUUID(), null, '']) {
        expect(() => openValue(spaceSealed, { ...spaceOwner, spaceId }, envKey)).toThrow(DECRYPTION_FAILED);
      }
    });

    it('fails with a different environment key', () => {
      expect(() => openValue(sealed, original, generateKey())).toThrow(DECRYPTION_FAILED);
    });
  });

  describe('tampering', () => {
    const who = owner();
    const sealed = sealValue('tiny', who, envKey, 7);
    const masks = [0x01, 0x80, 0xff];

    it('every flipped byte of the wrapped DEK fails with DECRYPTION_FAILED', () => {
      for (let i = 0; i < sealed.wrappedDek.length; i++) {
        for (const mask of masks) {
          const tampered: SealedValue = { ...sealed, wrappedDek: flipped(sealed.wrappedDek, i, mask) };
          expect(() => openValue(tampered, who, envKey)).toThrow(DECRYPTION_FAILED);
        }
      }
    });

    it('every flipped byte of the ciphertext fails with DECRYPTION_FAILED', () => {
      for (let i = 0; i < sealed.ciphertext.length; i++) {
        for (const mask of masks) {
          const tampered: SealedValue = { ...sealed, ciphertext: flipped(sealed.ciphertext, i, mask) };
          expect(() => openValue(tampered, who, envKey)).toThrow(DECRYPTION_FAILED);
        }
      }
    });

    it('every truncation and an appended byte fail with DECRYPTION_FAILED', () => {
      for (let length = 0; length < sealed.ciphertext.length; length++) {
        const tampered = { ...sealed, ciphertext: sealed.ciphertext.subarray(0, length) };
        expect(() => openValue(tampered, who, envKey)).toThrow(DECRYPTION_FAILED);
      }
      for (let length = 0; length < sealed.wrappedDek.length; length++) {
        const tampered = { ...sealed, wrappedDek: sealed.wrappedDek.subarray(0, length) };
        expect(() => openValue(tampered, who, envKey)).toThrow(DECRYPTION_FAILED);
      }
      const longer = { ...sealed, ciphertext: Buffer.concat([sealed.ciphertext, Buffer.of(0)]) };
      expect(() => openValue(longer, who, envKey)).toThrow(DECRYPTION_FAILED);
    });

    it('swapping blobs between two secrets fails with DECRYPTION_FAILED', () => {
      const other = owner({ environmentId: who.environmentId, spaceId: who.spaceId, name: 'OTHER' });
      const otherSealed = sealValue('tiny', other, envKey, 7);
      const mixes: [SealedValue, ValueOwner][] = [
        [{ wrappedDek: otherSealed.wrappedDek, ciphertext: sealed.ciphertext }, who],
        [{ wrappedDek: sealed.wrappedDek, ciphertext: otherSealed.ciphertext }, who],
        [sealed, other],
        [{ wrappedDek: sealed.wrappedDek, ciphertext: otherSealed.ciphertext }, other],
      ];
      for (const [blobs, claimedOwner] of mixes) {
        expect(() => openValue(blobs, claimedOwner, envKey)).toThrow(DECRYPTION_FAILED);
      }
    });
  });
});

describe('dekKeyVersion', () => {
  const envKey = generateKey();

  it.each([1, 2, 7, 0xffffffff])('reads environment-key version %d from the wrapped DEK', (version) => {
    expect(dekKeyVersion(sealValue('v', owner(), envKey, version).wrappedDek)).toBe(version);
  });

  it('rejects a blob of the wrong length or format', () => {
    const { wrappedDek } = sealValue('v', owner(), envKey, 1);
    expect(() => dekKeyVersion(wrappedDek.subarray(1))).toThrow(DECRYPTION_FAILED);
    expect(() => dekKeyVersion(Buffer.concat([wrappedDek, Buffer.of(0)]))).toThrow(DECRYPTION_FAILED);
    expect(() => dekKeyVersion(Buffer.alloc(0))).toThrow(DECRYPTION_FAILED);
    for (const format of [0, 2, 0xff]) {
      const other = Buffer.from(wrappedDek);
      other[0] = format;
      expect(() => dekKeyVersion(other)).toThrow(DECRYPTION_FAILED);
    }
  });
});

describe('rewrapDek', () => {
  it('moves a DEK to another key and version without touching the ciphertext', () => {
    const who = owner();
    const oldKey = generateKey();
    const newKey = generateKey();
    const sealed = sealValue('rotated value', who, oldKey, 1);

    const wrappedDek = rewrapDek(sealed.wrappedDek, who, oldKey, newKey, 2);

    expect(dekKeyVersion(wrappedDek)).toBe(2);
    const moved = { wrappedDek, ciphertext: sealed.ciphertext };
    expect(openValue(moved, who, newKey)).toBe('rotated value');
    expect(() => openValue(moved, who, oldKey)).toThrow(DECRYPTION_FAILED);
  });

  it('refuses a DEK of another owner or under another key', () => {
    const who = owner();
    const key = generateKey();
    const { wrappedDek } = sealValue('v', who, key, 1);
    expect(() => rewrapDek(wrappedDek, { ...who, secretId: randomUUID() }, key, generateKey(), 2)).toThrow(
      DECRYPTION_FAILED,
    );
    expect(() => rewrapDek(wrappedDek, who, generateKey(), generateKey(), 2)).toThrow(DECRYPTION_FAILED);
  });
});

describe('associatedData', () => {
  it('length-prefixes every part, so shifting bytes between parts changes it', () => {
    expect(associatedData('label', 'ab', 'c').equals(associatedData('label', 'a', 'bc'))).toBe(false);
    expect(associatedData('label', 'ab').equals(associatedData('labela', 'b'))).toBe(false);
    expect(associatedData('label', 'a', '').equals(associatedData('label', 'a'))).toBe(false);
  });

  it('encodes each part as a 4-byte big-endian length and its bytes', () => {
    expect(associatedData('L', 'é', 5, Buffer.of(9), null)).toEqual(
      Buffer.from([
        ...[0, 0, 0, 1, 0x4c],
        ...[0, 0, 0, 2, 0xc3, 0xa9],
        ...[0, 0, 0, 4, 0, 0, 0, 5],
        ...[0, 0, 0, 1, 9],
        ...[0, 0, 0, 0],
      ]),
    );
  });
});

describe('environment key blobs', () => {
  const sample = {
    providerId: 'gcp-kms',
    keyRef: 'projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/3',
    wrapped: Buffer.from([1, 2, 3, 4]),
  };

  it('round-trips provider id, key reference and wrapped key', () => {
    const decoded = decodeEnvironmentKeyBlob(encodeEnvironmentKeyBlob(sample));
    expect(decoded.providerId).toBe(sample.providerId);
    expect(decoded.keyRef).toBe(sample.keyRef);
    expect(decoded.wrapped.equals(sample.wrapped)).toBe(true);
  });

  it('round-trips an empty key reference and multi-byte text', () => {
    const blob = { providerId: 'lökal', keyRef: '', wrapped: Buffer.of(0) };
    expect(decodeEnvironmentKeyBlob(encodeEnvironmentKeyBlob(blob))).toEqual(blob);
  });

  it('rejects every truncation of the header and an empty wrapped key', () => {
    const encoded = encodeEnvironmentKeyBlob(sample);
    const headerLength = encoded.length - sample.wrapped.length;
    for (let length = 0; length <= headerLength; length++) {
      expect(() => decodeEnvironmentKeyBlob(encoded.subarray(0, length))).toThrow(DECRYPTION_FAILED);
    }
  });

  it('rejects an unknown format version', () => {
    const encoded = encodeEnvironmentKeyBlob(sample);
    for (const format of [0, 2, 0xff]) {
      const other = Buffer.from(encoded);
      other[0] = format;
      expect(() => decodeEnvironmentKeyBlob(other)).toThrow(DECRYPTION_FAILED);
    }
  });

  it('refuses to encode an empty or over-long provider id', () => {
    expect(() => encodeEnvironmentKeyBlob({ ...sample, providerId: '' })).toThrow();
    expect(() => encodeEnvironmentKeyBlob({ ...sample, providerId: 'p'.repeat(256) })).toThrow();
  });
});

describe('wrapEnvironmentKey / unwrapEnvironmentKey', () => {
  const local = createLocalProvider([{ id: 'master-1', key: generateKey() }]);
  const registry = new CipherProviderRegistry([local], 'local');
  const environmentId = randomUUID();

  it('round-trips through the registry and records provider and key reference', async () => {
    const key = generateKey();
    const wrapped = await wrapEnvironmentKey(registry.active, key, environmentId, 1);
    expect(wrapped).toMatchObject({ providerId: 'local', keyRef: 'master-1' });
    expect(decodeEnvironmentKeyBlob(wrapped.blob)).toMatchObject({ providerId: 'local', keyRef: 'master-1' });
    expect(wrapped.blob.includes(key)).toBe(false);
    expect((await unwrapEnvironmentKey(registry, wrapped.blob, environmentId, 1)).equals(key)).toBe(true);
  });

  it('fails for another environment id or key version', async () => {
    const { blob } = await wrapEnvironmentKey(registry.active, generateKey(), environmentId, 1);
    await expect(unwrapEnvironmentKey(registry, blob, randomUUID(), 1)).rejects.toMatchObject({
      code: 'DECRYPTION_FAILED',
    });
    await expect(unwrapEnvironmentKey(registry, blob, environmentId, 2)).rejects.toMatchObject({
      code: 'DECRYPTION_FAILED',
    });
  });

  it('refuses to wrap a key that is not 32 bytes', async () => {
    await expect(wrapEnvironmentKey(local, Buffer.alloc(31), environmentId, 1)).rejects.toThrow('32 bytes');
  });

  it('fails with DECRYPTION_FAILED for a blob naming an unconfigured provider', async () => {
    const { blob } = await wrapEnvironmentKey(local, generateKey(), environmentId, 1);
    const foreign = encodeEnvironmentKeyBlob({ ...decodeEnvironmentKeyBlob(blob), providerId: 'gcp-kms' });
    await expect(unwrapEnvironmentKey(registry, foreign, environmentId, 1)).rejects.toMatchObject({
      code: 'DECRYPTION_FAILED',
    });
  });

  describe('a provider that fails with a plain Error', () => {
    const detail = 'connect ECONNREFUSED 10.0.0.7:443 token=S3CRET-MARKER';
    const broken: CipherProvider = {
      id: 'broken',
      wrap: async () => {
        throw new Error(detail);
      },
      unwrap: async () => {
        throw new Error(detail);
      },
      check: async () => {},
    };
    const brokenRegistry = new CipherProviderRegistry([broken, local], 'broken');

    const expectUnavailableWithoutDetail = async (call: Promise<unknown>) => {
      const error = await call.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'KEY_PROVIDER_UNAVAILABLE' });
      expect(String((error as Error).message)).not.toContain('S3CRET-MARKER');
      expect(String((error as Error).message)).not.toContain('ECONNREFUSED');
      expect(JSON.stringify(error)).not.toContain('S3CRET-MARKER');
      expect((error as Error).cause).toBeUndefined();
    };

    it('surfaces as KEY_PROVIDER_UNAVAILABLE with no detail on unwrap', async () => {
      const blob = encodeEnvironmentKeyBlob({ providerId: 'broken', keyRef: 'k', wrapped: Buffer.alloc(60) });
      await expectUnavailableWithoutDetail(unwrapEnvironmentKey(brokenRegistry, blob, environmentId, 1));
    });

    it('surfaces as KEY_PROVIDER_UNAVAILABLE with no detail on wrap', async () => {
      await expectUnavailableWithoutDetail(wrapEnvironmentKey(broken, generateKey(), environmentId, 1));
    });
  });

  it('passes a typed error from a provider through unchanged', async () => {
    const typed = new DecryptionFailedError('tag mismatch');
    const failing: CipherProvider = {
      id: 'typed',
      wrap: async () => ({ wrapped: Buffer.alloc(1), keyRef: 'k' }),
      unwrap: async () => {
        throw typed;
      },
      check: async () => {},
    };
    const blob = encodeEnvironmentKeyBlob({ providerId: 'typed', keyRef: 'k', wrapped: Buffer.alloc(1) });
    await expect(
      unwrapEnvironmentKey(new CipherProviderRegistry([failing], 'typed'), blob, environmentId, 1),
    ).rejects.toBe(typed);
  });

  it('rejects a provider answer that is not a 32-byte key', async () => {
    const short: CipherProvider = {
      id: 'short',
      wrap: async () => ({ wrapped: Buffer.alloc(1), keyRef: 'k' }),
      unwrap: async () => Buffer.alloc(16),
      check: async () => {},
    };
    const blob = encodeEnvironmentKeyBlob({ providerId: 'short', keyRef: 'k', wrapped: Buffer.alloc(1) });
    await expect(
      unwrapEnvironmentKey(new CipherProviderRegistry([short], 'short'), blob, environmentId, 1),
    ).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
  });
});

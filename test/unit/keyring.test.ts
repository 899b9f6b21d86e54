import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { dekKeyVersion, sealValue, type ValueOwner } from '../../src/crypto/envelope';
import { EnvironmentKeyring, type EnvironmentKeyStore } from '../../src/crypto/keyring';
import { CipherProviderRegistry, type CipherProvider } from '../../src/crypto/provider';
import { createLocalProvider } from '../../src/crypto/providers/local.provider';

/*
 * lru-cache captures `performance` when it loads, so jest's fake timers do
 * not move its clock: TTL tests use a short ttlMs and real time instead.
 */

/** The local provider, counting unwrap calls; `failNext` makes the next n unwraps throw a plain Error. */
function countingProvider(id = 'local') {
  const inner = createLocalProvider([{ id: 'master', key: randomBytes(32) }]);
  const counter = { unwraps: 0, failNext: 0 };
  const provider: CipherProvider = {
    id,
    wrap: (key, aad) => inner.wrap(key, aad),
    async unwrap(wrapped, keyRef, aad) {
      counter.unwraps += 1;
      await sleep(5); // long enough for concurrent callers to overlap
      if (counter.failNext > 0) {
        counter.failNext -= 1;
        throw new Error('provider timed out');
      }
      return inner.unwrap(wrapped, keyRef, aad);
    },
    check: async () => {},
  };
  return { provider, counter };
}

/** Wrapped environment keys in a Map, counting loads. */
function memoryStore() {
  const blobs = new Map<string, Buffer>();
  const counter = { loads: 0 };
  const store: EnvironmentKeyStore = {
    async loadEnvironmentKeyBlob(environmentId, version) {
      counter.loads += 1;
      return blobs.get(`${environmentId}:${version}`);
    },
  };
  const put = (environmentId: string, version: number, blob: Buffer) => blobs.set(`${environmentId}:${version}`, blob);
  return { store, put, counter };
}

const options = { ttlMs: 60_000, max: 100 };

function setup(ttlMs = options.ttlMs) {
  const { provider, counter } = countingProvider();
  const registry = new CipherProviderRegistry([provider], 'local');
  const { store, put, counter: storeCounter } = memoryStore();
  const keyring = new EnvironmentKeyring(registry, store, { ...options, ttlMs });
  /** Creates and stores an environment key without seeding the cache. */
  const createStored = async (environmentId: string, version = 1) => {
    const { key, wrapped } = await keyring.create(environmentId, version);
    put(environmentId, version, wrapped.blob);
    return key;
  };
  return { keyring, counter, storeCounter, createStored, put };
}

describe('EnvironmentKeyring', () => {
  it('an unwrap in flight survives remember() and forget() of the same key', async () => {
    const { keyring, createStored } = setup();
    const environmentId = randomUUID();
    const key = await createStored(environmentId);
    const inFlight = keyring.key(environmentId, 1);
    keyring.remember(environmentId, 1, key);
    await expect(inFlight).resolves.toEqual(key);
    const again = keyring.key(environmentId, 1); // cached now
    await expect(again).resolves.toEqual(key);
    keyring.forget(environmentId, 1);
    const racing = keyring.key(environmentId, 1);
    keyring.forget(environmentId, 1);
    await expect(racing).resolves.toEqual(key);
  });

  it('makes one provider call for concurrent requests of the same key, and none within the TTL', async () => {
    const { keyring, counter, createStored } = setup();
    const environmentId = randomUUID();
    const key = await createStored(environmentId);

    const keys = await Promise.all(Array.from({ length: 10 }, () => keyring.key(environmentId, 1)));
    expect(counter.unwraps).toBe(1);
    for (const k of keys) expect(k.equals(key)).toBe(true);

    await keyring.key(environmentId, 1);
    await keyring.key(environmentId, 1);
    expect(counter.unwraps).toBe(1);
  });

  it('keys different environments and versions separately', async () => {
    const { keyring, counter, createStored } = setup();
    const a = randomUUID();
    const b = randomUUID();
    const a1 = await createStored(a, 1);
    const a2 = await createStored(a, 2);
    const b1 = await createStored(b, 1);

    const [ka1, ka2, kb1] = await Promise.all([keyring.key(a, 1), keyring.key(a, 2), keyring.key(b, 1)]);
    expect([ka1.equals(a1), ka2.equals(a2), kb1.equals(b1)]).toEqual([true, true, true]);
    expect(counter.unwraps).toBe(3);
  });

  it('unwraps again once the TTL has passed', async () => {
    const { keyring, counter, createStored } = setup(100);
    const environmentId = randomUUID();
    await createStored(environmentId);

    await keyring.key(environmentId, 1);
    await keyring.key(environmentId, 1);
    expect(counter.unwraps).toBe(1);

    await sleep(200);
    await keyring.key(environmentId, 1);
    expect(counter.unwraps).toBe(2);
  });

  it('does not cache a failed unwrap: concurrent callers share the failure, the next call retries', async () => {
    const { keyring, counter, createStored } = setup();
    const environmentId = randomUUID();
    const key = await createStored(environmentId);
    counter.failNext = 1;

    const results = await Promise.allSettled([keyring.key(environmentId, 1), keyring.key(environmentId, 1)]);
    expect(counter.unwraps).toBe(1);
    for (const result of results) {
      expect(result).toMatchObject({ status: 'rejected', reason: { code: 'KEY_PROVIDER_UNAVAILABLE' } });
    }

    expect((await keyring.key(environmentId, 1)).equals(key)).toBe(true);
    expect(counter.unwraps).toBe(2);
  });

  it('fails with DECRYPTION_FAILED for a missing blob, without calling the provider', async () => {
    const { keyring, counter } = setup();
    await expect(keyring.key(randomUUID(), 1)).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
    expect(counter.unwraps).toBe(0);
  });

  it('fails with DECRYPTION_FAILED for a blob stored under another environment', async () => {
    const { keyring, put } = setup();
    const b = randomUUID();
    const { wrapped } = await keyring.create(randomUUID(), 1);
    put(b, 1, wrapped.blob);
    await expect(keyring.key(b, 1)).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
  });

  it('remember() seeds the cache, so no store load or unwrap happens', async () => {
    const { keyring, counter, storeCounter } = setup();
    const environmentId = randomUUID();
    const { key } = await keyring.create(environmentId, 1);
    keyring.remember(environmentId, 1, key);

    expect((await keyring.key(environmentId, 1)).equals(key)).toBe(true);
    expect(counter.unwraps).toBe(0);
    expect(storeCounter.loads).toBe(0);
  });

  it('forget() drops a cached key, so the next call unwraps', async () => {
    const { keyring, counter, createStored } = setup();
    const environmentId = randomUUID();
    await createStored(environmentId);
    await keyring.key(environmentId, 1);
    keyring.forget(environmentId, 1);
    await keyring.key(environmentId, 1);
    expect(counter.unwraps).toBe(2);
  });

  it('seals and opens a value through the cached key, reading the key version from the DEK', async () => {
    const { keyring, createStored } = setup();
    const owner: ValueOwner = {
      secretId: randomUUID(),
      environmentId: randomUUID(),
      spaceId: null,
      name: 'DB_PASSWORD',
      version: 1,
    };
    await createStored(owner.environmentId, 1);
    await createStored(owner.environmentId, 2);

    const sealed = sealValue('hunter2 🔐', owner, await keyring.key(owner.environmentId, 2), 2);
    expect(dekKeyVersion(sealed.wrappedDek)).toBe(2);
    expect(await keyring.open(sealed, owner)).toBe('hunter2 🔐');
    await expect(keyring.open(sealed, { ...owner, version: 2 })).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
  });
});

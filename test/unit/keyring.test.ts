import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import * as envelope from '../../src/crypto/envelope';
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

describe('EnvironmentKeyring data-key cache', () => {
  afterEach(() => jest.restoreAllMocks());

  const ownerIn = (environmentId: string, name = 'DB_PASSWORD'): ValueOwner => ({
    secretId: randomUUID(),
    environmentId,
    spaceId: null,
    name,
    version: 1,
  });

  async function sealedValues(dataKeysMax: number, keys: Partial<typeof options> = {}) {
    const { provider } = countingProvider();
    const { store, put } = memoryStore();
    const keyring = new EnvironmentKeyring(new CipherProviderRegistry([provider], 'local'), store, { ...options, ...keys, dataKeysMax });
    const environmentId = randomUUID();
    const { key, wrapped } = await keyring.create(environmentId, 1);
    put(environmentId, 1, wrapped.blob);
    const seal = (value: string, owner = ownerIn(environmentId)) => ({ owner, sealed: sealValue(value, owner, key, 1) });
    return { keyring, environmentId, seal, unwraps: jest.spyOn(envelope, 'unwrapValueKey'), opens: jest.spyOn(envelope, 'openValueWithKey') };
  }

  it('unwraps a value’s data key once while its environment key is cached, and opens the value every time', async () => {
    const { keyring, seal, unwraps, opens } = await sealedValues(100);
    const { sealed, owner } = seal('hunter2');
    expect(await keyring.open(sealed, owner)).toBe('hunter2');
    expect(keyring.openCached(sealed, owner)).toBe('hunter2');
    expect(await keyring.open(sealed, owner)).toBe('hunter2');
    expect(unwraps).toHaveBeenCalledTimes(1);
    expect(opens).toHaveBeenCalledTimes(3);
  });

  it('with a limit of 0, unwraps the data key on every read', async () => {
    const { keyring, seal, opens } = await sealedValues(0);
    const whole = jest.spyOn(envelope, 'openValue'); // unwraps, opens, zeroes the DEK
    const { sealed, owner } = seal('hunter2');
    expect(await keyring.open(sealed, owner)).toBe('hunter2');
    expect(await keyring.open(sealed, owner)).toBe('hunter2');
    expect(whole).toHaveBeenCalledTimes(2);
    expect(opens).not.toHaveBeenCalled();
  });

  it('a cached data key never serves other wrapped bytes, and never another owner', async () => {
    const { keyring, environmentId, seal } = await sealedValues(100);
    const { sealed, owner } = seal('hunter2');
    expect(await keyring.open(sealed, owner)).toBe('hunter2');
    /* the same blobs copied onto another secret: its DEK's associated data names the first secret */
    await expect(keyring.open(sealed, { ...owner, secretId: randomUUID() })).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
    /* one flipped byte of the wrapped DEK is a different blob: checked again, and refused */
    const flipped = Buffer.from(sealed.wrappedDek);
    flipped[flipped.length - 1] ^= 1;
    await expect(keyring.open({ ...sealed, wrappedDek: flipped }, owner)).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
    /* the value itself is still authenticated under a cached DEK: another version or name is refused */
    await expect(keyring.open(sealed, { ...owner, version: 2 })).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
    await expect(keyring.open(sealed, { ...owner, name: 'OTHER' })).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
    expect(keyring.openCached(sealed, { ...owner, environmentId })).toBe('hunter2');
  });

  it('zeroes a data key when it is evicted, and forgets an environment’s data keys with its key', async () => {
    const { keyring, environmentId, seal, unwraps, opens } = await sealedValues(1);
    const first = seal('first');
    const second = seal('second');
    expect(await keyring.open(first.sealed, first.owner)).toBe('first');
    const firstDek = opens.mock.calls[0][2];
    expect(firstDek.equals(Buffer.alloc(firstDek.length))).toBe(false);
    expect(await keyring.open(second.sealed, second.owner)).toBe('second'); // over the limit of 1: the first is evicted
    expect(firstDek.equals(Buffer.alloc(firstDek.length))).toBe(true);
    const secondDek = opens.mock.calls[1][2];

    keyring.forgetEnvironment(environmentId);
    expect(secondDek.equals(Buffer.alloc(secondDek.length))).toBe(true);
    expect(keyring.openCached(second.sealed, second.owner)).toBeUndefined(); // the environment key went with it
    expect(await keyring.open(second.sealed, second.owner)).toBe('second');
    expect(unwraps).toHaveBeenCalledTimes(3);

    keyring.forget(environmentId, 1);
    expect(opens.mock.calls[2][2].equals(Buffer.alloc(32))).toBe(true);
  });

  it('forget() drops an environment key’s data keys with it: the next read unwraps again', async () => {
    const { keyring, environmentId, seal, unwraps } = await sealedValues(100);
    const { sealed, owner } = seal('hunter2');
    expect(await keyring.open(sealed, owner)).toBe('hunter2');
    keyring.forget(environmentId, 1);
    expect(keyring.openCached(sealed, owner)).toBeUndefined();
    expect(await keyring.open(sealed, owner)).toBe('hunter2');
    expect(unwraps).toHaveBeenCalledTimes(2);
  });

  it('zeroes a data key when it expires, without waiting for it to be looked up', async () => {
    const { keyring, seal, opens } = await sealedValues(100, { ttlMs: 40 });
    const { sealed, owner } = seal('short-lived');
    expect(await keyring.open(sealed, owner)).toBe('short-lived');
    const dek = opens.mock.calls[0][2];
    expect(dek.equals(Buffer.alloc(dek.length))).toBe(false);
    await sleep(150);
    expect(dek.equals(Buffer.alloc(dek.length))).toBe(true);
  });

  it('drops the data keys of an environment key pushed out of its own cache', async () => {
    const { keyring, seal, opens, unwraps } = await sealedValues(100, { max: 1 });
    const { sealed, owner } = seal('first environment');
    expect(await keyring.open(sealed, owner)).toBe('first environment');
    const dek = opens.mock.calls[0][2];
    const other = randomUUID();
    keyring.remember(other, 1, randomBytes(32)); // a second environment key: the first is evicted (max 1)
    expect(dek.equals(Buffer.alloc(dek.length))).toBe(true);
    expect(keyring.openCached(sealed, owner)).toBeUndefined();
    expect(await keyring.open(sealed, owner)).toBe('first environment');
    expect(unwraps).toHaveBeenCalledTimes(2);
  });
});

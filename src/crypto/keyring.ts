import { LRUCache } from 'lru-cache';

import { DecryptionFailedError } from '../errors';
import {
  dekKeyVersion,
  generateKey,
  openValue,
  openValueWithKey,
  unwrapEnvironmentKey,
  unwrapValueKey,
  wrapEnvironmentKey,
  type SealedValue,
  type ValueOwner,
  type WrappedEnvironmentKey,
} from './envelope';
import type { CipherProviderRegistry } from './provider';

export interface EnvironmentKeyStore {
  /** The wrapped blob of one environment-key version, or undefined when absent. */
  loadEnvironmentKeyBlob(environmentId: string, version: number): Promise<Buffer | undefined>;
}

export interface KeyringOptions {
  readonly ttlMs: number;
  readonly max: number;
  /** How many unwrapped data keys to keep (0: none, every value read unwraps its DEK). */
  readonly dataKeysMax?: number;
}

interface CacheContext {
  readonly environmentId: string;
  readonly version: number;
}

/**
 * Unwrapped environment keys, cached with a bounded age and count. Concurrent
 * misses for the same key share one provider call (LRUCache.fetch), and a
 * failed unwrap is never cached.
 *
 * Beside them, the data keys (DEKs) of values read recently, so a value read
 * again costs one AES-GCM open instead of two (a data-key cache, as the AWS
 * Encryption SDK's caching materials manager keeps). A DEK is only ever used
 * while its environment key is cached too (that key could unwrap it again
 * at any moment, so keeping it exposes nothing more) and is dropped with
 * it, it expires with the same age, it is keyed by the exact wrapped bytes
 * and owner it was checked against, a failed unwrap is never cached, and a
 * DEK is zeroed when it leaves the cache (expired, evicted or forgotten).
 */
export class EnvironmentKeyring {
  private readonly cache: LRUCache<string, Buffer, CacheContext>;
  private readonly dataKeys?: LRUCache<string, Buffer>;

  constructor(
    readonly registry: CipherProviderRegistry,
    private readonly store: EnvironmentKeyStore,
    options: KeyringOptions,
  ) {
    this.cache = new LRUCache<string, Buffer, CacheContext>({
      max: options.max,
      ttl: options.ttlMs,
      /*
       * A key's material never changes for its (environment, version), so a
       * remember() or forget() racing an in-flight unwrap must not fail it:
       * without this, lru-cache aborts the fetch ("replaced") and the request
       * waiting on it errors (seen while a rotation remembered its new key).
       */
      ignoreFetchAbort: true,
      /* Its data keys go with it, whether it expired, was pushed out or forgotten. */
      dispose: (_key, id, reason) => {
        if (reason !== 'set') this.forgetDataKeys(`${id}:`);
      },
      fetchMethod: async (_cacheKey, _stale, { context }) => {
        const blob = await this.store.loadEnvironmentKeyBlob(context.environmentId, context.version);
        if (!blob) throw new DecryptionFailedError(`environment key version ${context.version} is missing`);
        return unwrapEnvironmentKey(this.registry, blob, context.environmentId, context.version);
      },
    });
    if (options.dataKeysMax) {
      this.dataKeys = new LRUCache<string, Buffer>({
        max: options.dataKeysMax,
        ttl: options.ttlMs,
        ttlAutopurge: true, // an expired key is zeroed when it expires, not when next looked at
        dispose: (dek) => dek.fill(0),
      });
    }
  }

  /** A fresh environment key wrapped by the active provider (one provider call). */
  async create(environmentId: string, version: number): Promise<{ key: Buffer; wrapped: WrappedEnvironmentKey }> {
    const key = generateKey();
    const wrapped = await wrapEnvironmentKey(this.registry.active, key, environmentId, version);
    return { key, wrapped };
  }

  /** Seeds the cache with a key this process just created, saving the first unwrap. */
  remember(environmentId: string, version: number, key: Buffer): void {
    this.cache.set(cacheKey(environmentId, version), key);
  }

  forget(environmentId: string, version: number): void {
    this.cache.delete(cacheKey(environmentId, version)); // its data keys with it (dispose)
  }

  /** Every cached version of one environment's key: it was rotated, re-wrapped or deleted. */
  forgetEnvironment(environmentId: string): void {
    const prefix = `${environmentId}:`;
    for (const key of [...this.cache.keys()]) if (key.startsWith(prefix)) this.cache.delete(key);
    this.forgetDataKeys(prefix);
  }

  private forgetDataKeys(prefix: string): void {
    if (!this.dataKeys) return;
    for (const key of [...this.dataKeys.keys()]) if (key.startsWith(prefix)) this.dataKeys.delete(key);
  }

  async key(environmentId: string, version: number): Promise<Buffer> {
    const cached = this.cache.get(cacheKey(environmentId, version));
    if (cached) return cached;
    const key = await this.cache.fetch(cacheKey(environmentId, version), { context: { environmentId, version } });
    /* Postcondition: fetchMethod either returns a key or throws. */
    if (!key) throw new DecryptionFailedError('environment key could not be loaded');
    return key;
  }

  async open(sealed: SealedValue, owner: ValueOwner): Promise<string> {
    const version = dekKeyVersion(sealed.wrappedDek);
    return this.openUnder(sealed, owner, await this.key(owner.environmentId, version), version);
  }

  /**
   * Decrypts a value synchronously when its environment key is cached, and
   * answers undefined when it is not (then use open). Keeps a list of
   * thousands of values free of a promise per value.
   */
  openCached(sealed: SealedValue, owner: ValueOwner): string | undefined {
    const version = dekKeyVersion(sealed.wrappedDek);
    const key = this.cache.get(cacheKey(owner.environmentId, version));
    return key && this.openUnder(sealed, owner, key, version);
  }

  private openUnder(sealed: SealedValue, owner: ValueOwner, envKey: Buffer, version: number): string {
    if (!this.dataKeys) return openValue(sealed, owner, envKey);
    const id = dataKeyId(owner, version, sealed.wrappedDek);
    let dek = this.dataKeys.get(id);
    if (!dek) {
      const unwrapped = unwrapValueKey(sealed, owner, envKey);
      /* Its own memory: a small Buffer is a slice of a shared pool slab, which a kept one would hold on to. */
      dek = Buffer.alloc(unwrapped.length);
      unwrapped.copy(dek);
      unwrapped.fill(0);
      this.dataKeys.set(id, dek);
    }
    return openValueWithKey(sealed, owner, dek);
  }
}

const cacheKey = (environmentId: string, version: number) => `${environmentId}:${version}`;

/* Environment and key version first (forget() drops by that prefix), then what the DEK was checked against. */
const dataKeyId = (owner: ValueOwner, version: number, wrappedDek: Buffer) =>
  `${owner.environmentId}:${version}:${owner.secretId}:${wrappedDek.toString('latin1')}`;

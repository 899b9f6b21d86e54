import { LRUCache } from 'lru-cache';

import type { Principal } from '../access/access-policy';

export interface TokenCacheOptions {
  /** The backstop: an entry is trusted at most this long (0: no caching at all). */
  readonly ttlMs: number;
  readonly max: number;
}

export interface CachedPrincipal {
  readonly principal: Principal;
  /** When lastUsedAt was last stamped (or found fresh) for this token by this instance. */
  touchedAt: number;
}

/**
 * Authenticated principals by token hash (never the token), per instance.
 * Only valid while change notifications arrive: every instance hears a
 * revocation, or the deletion of a token's environment or space, over the
 * bus within milliseconds and forgets the token here. So the cache works
 * only while the listening connection is up (`resume`), is emptied when it
 * goes down (`suspend`) and again when it comes back (what was sent
 * meanwhile is lost), and keeps nothing longer than ttlMs in any case.
 *
 * A lookup that was in flight when an invalidation arrived may have read
 * the token before it was revoked: `set` takes the generation observed
 * before the lookup and keeps nothing if any invalidation came since.
 */
export class TokenCache {
  private readonly entries?: LRUCache<string, CachedPrincipal>;
  private active = false;
  private current = 0;

  constructor(options: TokenCacheOptions) {
    if (options.ttlMs > 0) this.entries = new LRUCache({ max: options.max, ttl: options.ttlMs, ttlAutopurge: false });
  }

  /** Whether principals are being kept right now. */
  get enabled(): boolean {
    return this.active && this.entries !== undefined;
  }

  /** Take before a lookup; hand to `set` after it. */
  get generation(): number {
    return this.current;
  }

  get(hash: string): CachedPrincipal | undefined {
    if (!this.enabled) return undefined;
    const entry = this.entries!.get(hash);
    if (!entry) return undefined;
    const expiresAt = entry.principal.expiresAt;
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      this.entries!.delete(hash); // expired on time; the database refuses it from here on
      return undefined;
    }
    return entry;
  }

  set(hash: string, principal: Principal, generation: number, touchedAt: number): void {
    if (!this.enabled || generation !== this.current) return;
    this.entries!.set(hash, { principal, touchedAt });
  }

  /** Notifications flow: start keeping principals (after forgetting everything). */
  resume(): void {
    this.flush();
    this.active = true;
  }

  /** Notifications stopped: keep nothing until they flow again. */
  suspend(): void {
    this.active = false;
    this.flush();
  }

  flush(): void {
    this.current += 1;
    this.entries?.clear();
  }

  /** Forgets revoked tokens (their admin UI sessions too) and tokens bound to deleted environments or spaces. */
  forget(change: { tokenIds?: readonly string[]; environmentIds?: readonly string[]; spaceIds?: readonly string[] }): void {
    const tokens = new Set(change.tokenIds ?? []);
    const environments = new Set(change.environmentIds ?? []);
    const spaces = new Set(change.spaceIds ?? []);
    if (!tokens.size && !environments.size && !spaces.size) return;
    this.current += 1;
    if (!this.entries) return;
    for (const [hash, { principal: p }] of this.entries.entries()) {
      if (
        (p.tokenId && tokens.has(p.tokenId)) ||
        (p.sessionOf && tokens.has(p.sessionOf)) ||
        (p.environmentId && environments.has(p.environmentId)) ||
        (p.spaceId && spaces.has(p.spaceId))
      ) {
        this.entries.delete(hash);
      }
    }
  }
}

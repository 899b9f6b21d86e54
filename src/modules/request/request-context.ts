import type { AccessPolicy } from '../access/access-policy';
import type { Loaders } from '../loaders';
import type { ValueReads } from './value-reads';

/** What every resolver and route receives; built once per authenticated request. */
export interface RequestContext {
  readonly access: AccessPolicy;
  /** Per-request batching for GraphQL; every loader applies the access policy. */
  readonly loaders: Loaders;
  /** The values this request reads: decrypted once each, bounded, audited before the answer leaves. */
  readonly reads: ValueReads;
  /** The admin UI session cookie of this answer, where the transport has one (HTTP). */
  readonly session?: SessionCookie;
}

export interface SessionCookie {
  set(token: string, expiresAt: Date): void;
  clear(): void;
}

/** What a request presents to prove who it is. */
export interface Credentials {
  /** The `Authorization` header, if any; it wins over a session cookie. */
  readonly authorization?: string;
  /** The admin UI session cookie, if any. */
  readonly sessionToken?: string;
  /** Whether the request's Origin is this server's own (SameSite does not separate ports on one host). */
  readonly sameOrigin?: boolean;
}

export interface RequestLimits {
  /** Distinct (secret, version) values one request may decrypt. */
  readonly maxValuesPerRequest: number;
  /** Requests of one token in flight at once on this instance. */
  readonly maxConcurrentPerToken: number;
}

import { ForbiddenError, RateLimitedError } from '../../errors';
import { AccessPolicy } from '../access/access-policy';
import type { AuditService } from '../audit/audit.service';
import { lazyLoaders, type Loaders } from '../loaders';
import type { TokenService } from '../token/token.service';
import type { Credentials, RequestContext, RequestLimits, SessionCookie } from './request-context';
import { ValueReads } from './value-reads';

interface Deps {
  readonly tokens: Pick<TokenService, 'authenticate' | 'authenticateToken'>;
  readonly audit: Pick<AuditService, 'appendSoon' | 'gatherReadsOf'>;
  readonly loaders: (access: AccessPolicy) => Loaders;
}

/**
 * The one request lifecycle (GraphQL over HTTP and WebSocket, REST alike):
 * `open` authenticates and builds the context, `finish` guarantees that the
 * read-audit records are durable before the answer leaves — it throws when
 * they are not, or when the request exceeded its bounds, and the transport
 * must then withhold the answer — and `release` frees the request's slot.
 * Entry points call these three and nothing else; they never check a role.
 */
export class RequestContexts {
  private readonly inFlight = new Map<string, number>();
  /**
   * Opened and neither finished nor released, with when they opened (in that
   * order): requests whose read records may still join the forming audit
   * batch. One answering for over ANSWERING_MS is no longer waited for, so
   * a slow request, or one never released, cannot hold batches back.
   */
  private readonly answering = new Map<RequestContext, number>();
  private readonly fewerAnswering: () => void;

  constructor(
    private readonly deps: Deps,
    private readonly limits: RequestLimits,
  ) {
    this.fewerAnswering = deps.audit.gatherReadsOf(() => this.stillAnswering());
  }

  private stillAnswering(): number {
    const since = performance.now() - ANSWERING_MS;
    for (const [context, openedAt] of this.answering) {
      if (openedAt > since) break;
      this.answering.delete(context);
    }
    return this.answering.size;
  }

  /** UNAUTHENTICATED without valid credentials; RATE_LIMITED when the token has too many requests in flight. */
  async open(credentials: Credentials, session?: SessionCookie): Promise<RequestContext> {
    const principal = await this.authenticate(credentials);
    const key = principal.tokenId ?? '';
    const running = this.inFlight.get(key) ?? 0;
    if (running >= this.limits.maxConcurrentPerToken) throw new RateLimitedError(this.limits.maxConcurrentPerToken);
    this.inFlight.set(key, running + 1);
    const access = new AccessPolicy(principal);
    const context: RequestContext = {
      access,
      loaders: lazyLoaders(() => this.deps.loaders(access)),
      reads: new ValueReads(principal, this.limits.maxValuesPerRequest),
      session,
    };
    this.answering.set(context, performance.now());
    return context;
  }

  /** A bearer token, else a session cookie — the latter only from this server's own origin (no cross-site use). */
  private authenticate({ authorization, sessionToken, sameOrigin }: Credentials) {
    if (authorization !== undefined || sessionToken === undefined) return this.deps.tokens.authenticate(authorization);
    if (!sameOrigin) throw new ForbiddenError('a session cookie is accepted only from this server’s own origin');
    return this.deps.tokens.authenticateToken(sessionToken);
  }

  /** Resolves when the answer may leave; rejects when it must be withheld. */
  async finish(context: RequestContext): Promise<void> {
    const { reads } = context;
    const wasAnswering = this.answering.delete(context);
    const exceeded = reads.overLimit;
    if (exceeded) {
      reads.take(); // nothing is served, so nothing was read
      if (wasAnswering) this.fewerAnswering();
      throw exceeded;
    }
    await this.deps.audit.appendSoon(reads.take()); // a read that cannot be audited is not served
  }

  /** Idempotent per context; call once the answer has gone (or the request was aborted). */
  release(context: RequestContext): void {
    if (released.has(context)) return;
    released.add(context);
    if (this.answering.delete(context)) this.fewerAnswering();
    const key = context.access.principal.tokenId ?? '';
    const running = (this.inFlight.get(key) ?? 1) - 1;
    if (running <= 0) this.inFlight.delete(key);
    else this.inFlight.set(key, running);
  }
}

const released = new WeakSet<RequestContext>();

/** How long an answering request can make a read audit batch wait for it (the batch itself waits at most 3 ms). */
const ANSWERING_MS = 1_000;

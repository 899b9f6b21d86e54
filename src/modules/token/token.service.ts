import { createHash, randomBytes, randomUUID } from 'node:crypto';

import DataLoader from 'dataloader';
import { IsNull, type DataSource } from 'typeorm';

import { constraintViolation } from '../../db/pg-errors';
import type { Queryable } from '../../db/statements';
import { ApiToken, AuditAction, TokenRole } from '../../entities';
import { BadUserInputError, NotFoundError, UnauthenticatedError } from '../../errors';
import type { AuditService } from '../audit/audit.service';
import { check, checkOptional, entityNameSchema, expiresAtSchema, idSchema } from '../validation';
import { Capability, type AccessPolicy, type Principal } from '../access/access-policy';
import type { TokenCache } from './token-cache';

/** 256 random bits behind a recognisable prefix (secret scanners can match `sst_`). */
const TOKEN_PREFIX = 'sst_';
const MAX_TOKEN_CHARS = 512;
/** An admin UI session lasts this long from sign-in, fixed (not sliding). */
export const SESSION_MS = 8 * 60 * 60 * 1000;
export const LAST_USED_RESOLUTION_MS = 60_000;

/** $1 token hashes (bytea[]), $2 LAST_USED_RESOLUTION_MS. */
export const TOKEN_LOOKUP_SQL = `SELECT t.id, t.role, t.environment_id, t.space_id, t.token_hash, t.expires_at, t.parent_token_id,
                  (t.last_used_at IS NULL OR t.last_used_at < now() - $2 * interval '1 millisecond') AS stale
             FROM api_token t
             LEFT JOIN api_token p ON p.id = t.parent_token_id
            WHERE t.token_hash = ANY($1::bytea[]) AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())
              -- a session lives no longer than the token that signed in (revoked or expired since, or racing the sign-in)
              AND (t.parent_token_id IS NULL OR (p.revoked_at IS NULL AND (p.expires_at IS NULL OR p.expires_at > now())))`;
/** $1 token ids (uuid[]). */
export const TOKEN_TOUCH_SQL = `UPDATE api_token SET last_used_at = now() WHERE id = ANY($1::uuid[])`;
/** $1 token ids (uuid[]), $2 LAST_USED_RESOLUTION_MS: the stamp of cached tokens, still at most once a minute across instances. */
export const TOKEN_TOUCH_IF_STALE_SQL = `UPDATE api_token SET last_used_at = now()
  WHERE id = ANY($1::uuid[]) AND (last_used_at IS NULL OR last_used_at < now() - $2 * interval '1 millisecond')`;

export const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest();

export interface CreateTokenCommand {
  readonly name: unknown;
  readonly role: unknown;
  readonly environmentId?: unknown;
  readonly spaceId?: unknown;
  /** A Date (GraphQL's DateTime) or an ISO string (the CLI); in the future. */
  readonly expiresAt?: unknown;
}

interface TokenRow {
  id: string;
  role: TokenRole;
  environment_id: string | null;
  space_id: string | null;
  token_hash: Buffer;
  expires_at: Date | null;
  parent_token_id: string | null;
  /** lastUsedAt is older than LAST_USED_RESOLUTION_MS (or unset). */
  stale: boolean;
}

export class TokenService {
  /*
   * Token lookups of concurrent requests go to the database together: one
   * statement per turn of the event loop, however many requests arrived in
   * it. With a token cache (only while change notifications arrive, see
   * token-cache.ts) a known token costs no statement at all; without one,
   * every request sees the token as it is now.
   */
  private readonly lookups: DataLoader<string, TokenRow | undefined>;
  /** Cached tokens whose lastUsedAt is due, stamped together after the current turn. */
  private readonly touches = new Set<string>();

  constructor(
    private readonly db: DataSource,
    private readonly audit: Pick<AuditService, 'append'>,
    private readonly prepared: Queryable = db,
    private readonly cache?: TokenCache,
  ) {
    this.lookups = new DataLoader(
      async (hashes) => {
        const rows: TokenRow[] = await prepared.query(
          TOKEN_LOOKUP_SQL,
          [hashes.map((hex) => Buffer.from(hex, 'hex')), LAST_USED_RESOLUTION_MS],
        );
        // lastUsedAt, at most once a minute per token: one statement for the batch, however many requests share a token
        const stale = rows.filter((row) => row.stale).map((row) => row.id);
        if (stale.length) await prepared.query(TOKEN_TOUCH_SQL, [stale]);
        const byHash = new Map(rows.map((row) => [row.token_hash.toString('hex'), row]));
        return hashes.map((hex) => byHash.get(hex));
      },
      { cache: false, batchScheduleFn: (run) => setImmediate(run) },
    );
  }

  /**
   * The principal behind an `Authorization: Bearer …` header. Looked up on
   * every request (one indexed statement), so a revocation holds from the
   * next request on, on every instance.
   */
  async authenticate(header: string | undefined): Promise<Principal> {
    const match = header ? /^Bearer[ ]+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw new UnauthenticatedError();
    return this.authenticateToken(match[1]);
  }

  /** The principal behind a token string (a bearer token, or an admin UI session cookie). */
  async authenticateToken(token: string): Promise<Principal> {
    if (token.length === 0 || token.length > MAX_TOKEN_CHARS) throw new UnauthenticatedError();
    const hash = hashToken(token).toString('hex');
    const cached = this.cache?.get(hash);
    if (cached) {
      this.touchSoon(cached);
      return cached.principal;
    }
    const generation = this.cache?.generation ?? 0;
    const row = await this.lookups.load(hash);
    if (!row) throw new UnauthenticatedError('the token is unknown, revoked or expired');
    const principal: Principal = {
      tokenId: row.id,
      role: row.role,
      environmentId: row.environment_id,
      spaceId: row.space_id,
      expiresAt: row.expires_at,
      sessionOf: row.parent_token_id,
    };
    this.cache?.set(hash, principal, generation, Date.now()); // the lookup stamped lastUsedAt, or found it fresh
    return principal;
  }

  /** lastUsedAt of a cached token: due once a minute, stamped off the request's path. */
  private touchSoon(cached: { principal: Principal; touchedAt: number }): void {
    const now = Date.now();
    if (now - cached.touchedAt < LAST_USED_RESOLUTION_MS || !cached.principal.tokenId) return;
    cached.touchedAt = now;
    if (this.touches.size === 0) setImmediate(() => void this.stampTouches());
    this.touches.add(cached.principal.tokenId);
  }

  private async stampTouches(): Promise<void> {
    const ids = [...this.touches];
    this.touches.clear();
    /* A missed stamp only leaves lastUsedAt a little older; the next use after the resolution tries again. */
    await this.prepared.query(TOKEN_TOUCH_IF_STALE_SQL, [ids, LAST_USED_RESOLUTION_MS]).catch(() => undefined);
  }

  /**
   * Signs in to the admin UI: a new ADMIN token that expires SESSION_MS from
   * now, named after the token that signed in and tied to it (revoking that
   * token ends the session). A session signing in again makes a sibling, not
   * a child, so one revocation still ends them all.
   */
  async signIn(caller: AccessPolicy): Promise<{ token: string; apiToken: ApiToken }> {
    caller.assert(Capability.MANAGE);
    const { tokenId, sessionOf } = caller.principal;
    if (!tokenId) throw new BadUserInputError('token', 'only a token can sign in');
    const signing = await this.db.getRepository(ApiToken).findOneBy({ id: sessionOf ?? tokenId, revokedAt: IsNull() });
    if (!signing || (signing.expiresAt && signing.expiresAt.getTime() <= Date.now())) {
      throw new UnauthenticatedError('the token is unknown, revoked or expired');
    }
    /* Never longer than the signing token itself; a revocation racing this insert is caught by every lookup's join. */
    const expiresAt = new Date(Math.min(Date.now() + SESSION_MS, signing.expiresAt?.getTime() ?? Infinity));
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const apiToken = await this.insert(caller, {
      name: `session of ${signing.name}`.slice(0, 128),
      role: TokenRole.ADMIN,
      environmentId: null,
      spaceId: null,
      tokenHash: hashToken(token),
      expiresAt,
      parentTokenId: signing.id,
    });
    return { token, apiToken };
  }

  /** Ends the caller's own admin UI session (revokes its token). */
  async signOut(caller: AccessPolicy): Promise<ApiToken> {
    caller.assert(Capability.MANAGE);
    if (!caller.principal.sessionOf) throw new BadUserInputError('token', 'this token is not an admin UI session');
    return this.revoke(caller, caller.principal.tokenId);
  }

  /** The token a request carries (any caller may see its own). */
  async viewer(caller: AccessPolicy): Promise<ApiToken> {
    caller.assert(Capability.READ);
    const token = caller.principal.tokenId && (await this.db.getRepository(ApiToken).findOneBy({ id: caller.principal.tokenId }));
    if (!token) throw new NotFoundError('token');
    return token;
  }

  async list(caller: AccessPolicy): Promise<ApiToken[]> {
    caller.assert(Capability.MANAGE);
    return this.db.getRepository(ApiToken).find({ order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /** Creates a token; the token string is returned here and never again. */
  async create(caller: AccessPolicy, command: CreateTokenCommand): Promise<{ token: string; apiToken: ApiToken }> {
    caller.assert(Capability.MANAGE);
    const name = check(entityNameSchema, 'name', command.name);
    if (command.role !== TokenRole.ADMIN && command.role !== TokenRole.LISTENER) {
      throw new BadUserInputError('role', 'role must be ADMIN or LISTENER');
    }
    const role = command.role;
    let environmentId = checkOptional(idSchema, 'environmentId', command.environmentId) ?? null;
    const spaceId = checkOptional(idSchema, 'spaceId', command.spaceId) ?? null;
    if (role === TokenRole.ADMIN && (environmentId || spaceId)) {
      throw new BadUserInputError(environmentId ? 'environmentId' : 'spaceId', 'an ADMIN token is not bound to an environment or space');
    }
    if (role === TokenRole.LISTENER) {
      environmentId = await this.listenerEnvironment(environmentId, spaceId);
    }
    const expiresAt = checkOptional(expiresAtSchema, 'expiresAt', command.expiresAt) ?? null;
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const apiToken = await this.insert(caller, {
      name,
      role,
      environmentId,
      spaceId,
      tokenHash: hashToken(token),
      expiresAt,
      parentTokenId: null,
    });
    return { token, apiToken };
  }

  /** Revokes a token and the admin UI sessions it signed in; revoking twice changes nothing. */
  async revoke(caller: AccessPolicy, id: unknown): Promise<ApiToken> {
    caller.assert(Capability.MANAGE);
    const tokenId = check(idSchema, 'id', id);
    const token = await this.db.transaction(async (em) => {
      const rows: { id: string }[] = await em.query(
        `WITH revoked AS (
           UPDATE api_token SET revoked_at = now()
            WHERE (id = $1 OR parent_token_id = $1) AND revoked_at IS NULL RETURNING id)
         SELECT id FROM revoked`,
        [tokenId],
      );
      const records = rows.map((row) => ({ action: AuditAction.TOKEN_REVOKED, tokenId: caller.principal.tokenId, subjectTokenId: row.id }));
      await this.audit.append(records, em);
      return em.getRepository(ApiToken).findOneBy({ id: tokenId });
    });
    if (!token) throw new NotFoundError('token');
    return token;
  }

  /** BOOTSTRAP_ADMIN_TOKEN: registered once if absent; a revoked bootstrap token stays revoked. */
  async ensureBootstrapToken(caller: AccessPolicy, token: string): Promise<void> {
    caller.assert(Capability.MANAGE);
    const tokenHash = hashToken(token);
    if (await this.db.getRepository(ApiToken).existsBy({ tokenHash })) return;
    try {
      await this.insert(caller, {
        name: 'bootstrap',
        role: TokenRole.ADMIN,
        environmentId: null,
        spaceId: null,
        tokenHash,
        expiresAt: null,
        parentTokenId: null,
      });
    } catch (error) {
      if (constraintViolation(error)?.constraint !== 'api_token_hash_key') throw error; // another instance won
    }
  }

  /** A new ADMIN token when no active one exists (the embedded quick start); undefined otherwise. */
  async createFirstAdminToken(caller: AccessPolicy): Promise<string | undefined> {
    caller.assert(Capability.MANAGE);
    const active = await this.db.getRepository(ApiToken).existsBy({ role: TokenRole.ADMIN, revokedAt: IsNull() });
    if (active) return undefined;
    return (await this.create(caller, { name: 'generated at first start', role: TokenRole.ADMIN })).token;
  }

  private async listenerEnvironment(environmentId: string | null, spaceId: string | null): Promise<string> {
    if (spaceId) {
      const rows: { environment_id: string }[] = await this.db.query(`SELECT environment_id FROM space WHERE id = $1`, [spaceId]);
      if (!rows[0]) throw new NotFoundError('space', 'spaceId');
      if (environmentId && rows[0].environment_id !== environmentId) {
        throw new BadUserInputError('spaceId', 'spaceId does not belong to environmentId');
      }
      return rows[0].environment_id;
    }
    if (!environmentId) throw new BadUserInputError('environmentId', 'a LISTENER token needs an environmentId (or a spaceId)');
    const rows = await this.db.query(`SELECT 1 FROM environment WHERE id = $1`, [environmentId]);
    if (!rows[0]) throw new NotFoundError('environment', 'environmentId');
    return environmentId;
  }

  private async insert(
    caller: AccessPolicy,
    fields: Pick<ApiToken, 'name' | 'role' | 'environmentId' | 'spaceId' | 'tokenHash' | 'expiresAt' | 'parentTokenId'>,
  ): Promise<ApiToken> {
    const apiToken = this.db.getRepository(ApiToken).create({
      id: randomUUID(),
      ...fields,
      createdAt: new Date(),
      lastUsedAt: null,
      revokedAt: null,
    });
    await this.db.transaction(async (em) => {
      await em.getRepository(ApiToken).insert(apiToken);
      await this.audit.append(
        [
          {
            action: AuditAction.TOKEN_CREATED,
            tokenId: caller.principal.tokenId,
            environmentId: apiToken.environmentId,
            spaceId: apiToken.spaceId,
            subjectTokenId: apiToken.id,
          },
        ],
        em,
      );
    }); // an environment or space deleted meanwhile is NOT_FOUND (db/pg-errors.ts)
    return apiToken;
  }
}

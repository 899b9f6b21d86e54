import { randomUUID } from 'node:crypto';

import type { DataSource } from 'typeorm';

import { sealValue } from '../../crypto/envelope';
import type { EnvironmentKeyring } from '../../crypto/keyring';
import { constraintViolation, isRetryableConflict } from '../../db/pg-errors';
import type { PreparedQueries } from '../../db/statements';
import { AuditAction, type Secret } from '../../entities';
import {
  BadUserInputError,
  ForbiddenError,
  NotFoundError,
  SecretNotFoundError,
  VersionConflictError,
} from '../../errors';
import type { AccessPolicy } from '../access/access-policy';
import { secretRecord, type Actor, type AuditService, type ReadAuditBuffer } from '../audit/audit.service';
import {
  check,
  checkOptional,
  expectedVersionSchema,
  idSchema,
  secretNameSchema,
  secretValueSchema,
} from '../validation';
import { resolveEffectiveSecrets, resolveSecret, type ResolvedSecret } from './resolution';
import {
  deleteSecretById,
  findScope,
  findScopeAndSecrets,
  findScopeAndSecretsByName,
  insertSecret,
  lockSecretForWrite,
  updateSecretValue,
  type ScopeRow,
} from './secret.repository';

/** Where a read or write applies: an environment, optionally narrowed to one of its spaces. */
export interface Scope {
  readonly environmentId: string;
  readonly spaceId: string | null;
}

export interface ScopeArgs {
  readonly environmentId?: unknown;
  readonly spaceId?: unknown;
}

/** What a request brings to read a value: who asks, and where its reads are noted. */
export interface ValueReader {
  readonly access: AccessPolicy;
  readonly readAudit: Pick<ReadAuditBuffer, 'secretRead'>;
}

export interface UpsertSecretCommand extends ScopeArgs {
  readonly name: unknown;
  readonly value: unknown;
  readonly expectedVersion?: unknown;
}

export type CheckedScope = Scope & { currentKeyVersion: number };

interface ScopeRequest {
  readonly environmentId?: string;
  readonly spaceId?: string;
  readonly access?: AccessPolicy;
}

/** Validated ids, with a listener's binding applied; at least one of them is set. */
function scopeRequest(args: ScopeArgs, access?: AccessPolicy): ScopeRequest {
  const scoped = access ? access.scopeArgs(args) : args;
  const environmentId = checkOptional(idSchema, 'environmentId', scoped.environmentId);
  const spaceId = checkOptional(idSchema, 'spaceId', scoped.spaceId);
  if (!environmentId && !spaceId) throw new BadUserInputError('environmentId', 'environmentId or spaceId is required');
  return { environmentId, spaceId, access };
}

/** The verdict on a looked-up scope row (absent when the ids matched nothing). */
function checkScope({ environmentId, spaceId, access }: ScopeRequest, row: ScopeRow | undefined): CheckedScope {
  const hidden = access !== undefined && !access.isAdmin;
  if (!row && hidden) throw new ForbiddenError('outside this token’s reach');
  if (!row) throw spaceId ? new NotFoundError('space', 'spaceId') : new NotFoundError('environment', 'environmentId');
  if (access && !access.canSee({ environmentId: row.environment_id, spaceId: row.space_id })) {
    throw new ForbiddenError('outside this token’s reach');
  }
  if (environmentId && row.environment_id !== environmentId) {
    throw new BadUserInputError('spaceId', 'spaceId does not belong to environmentId');
  }
  return { environmentId: row.environment_id, spaceId: row.space_id, currentKeyVersion: row.current_key_version };
}

/* Lost insert races and key-version changes are retried; more than this means something is wrong. */
const MAX_WRITE_ATTEMPTS = 8;

export class SecretService {
  constructor(
    private readonly db: DataSource,
    private readonly keyring: Pick<EnvironmentKeyring, 'key' | 'open' | 'openCached'>,
    private readonly audit: Pick<AuditService, 'append'>,
    /** Prepared statements for the reads and the write transaction (db/statements.ts). */
    private readonly reads: PreparedQueries,
  ) {}

  /**
   * Checks scope arguments the way a listener's `event.secrets` uses them: a
   * space implies its environment; a space outside the given environment is
   * BAD_USER_INPUT; unknown ids are NOT_FOUND. With an access policy, a
   * listener's binding applies, and anything outside it is FORBIDDEN whether
   * or not it exists, so other environments' ids are never confirmed.
   */
  async resolveScope(args: ScopeArgs, access?: AccessPolicy): Promise<CheckedScope> {
    const request = scopeRequest(args, access);
    return checkScope(request, await findScope(this.reads, request.environmentId ?? null, request.spaceId ?? null));
  }

  /**
   * One name, as `secret(name, environmentId, spaceId)` asks: the scope's
   * checks of resolveScope, then the space's own row wins, else the
   * environment's. One statement fetches the scope and the candidate rows:
   * this is the listener's hot path.
   */
  async resolve(name: unknown, args: ScopeArgs, access?: AccessPolicy): Promise<ResolvedSecret> {
    const checkedName = check(secretNameSchema, 'name', name);
    const request = scopeRequest(args, access);
    const { scope, secrets } = await findScopeAndSecretsByName(this.reads, request.environmentId ?? null, request.spaceId ?? null, checkedName);
    checkScope(request, scope);
    const resolved = resolveSecret(checkedName, secrets);
    if (!resolved) throw new SecretNotFoundError(checkedName);
    return resolved;
  }

  /** The effective list of a scope given by arguments, checked as resolveScope does, in one statement. */
  async effectiveIn(args: ScopeArgs, access?: AccessPolicy): Promise<ResolvedSecret[]> {
    const request = scopeRequest(args, access);
    const { scope, secrets } = await findScopeAndSecrets(this.reads, request.environmentId ?? null, request.spaceId ?? null);
    checkScope(request, scope);
    return resolveEffectiveSecrets(
      secrets.filter((s) => s.spaceId === null),
      secrets.filter((s) => s.spaceId !== null),
    );
  }

  /**
   * The one way a request decrypts a value (GraphQL `value` fields and REST
   * alike): the field-level check of DESIGN §6 (only a LISTENER, only inside
   * its binding), the decryption, and the note for the audit log.
   * Synchronous while the environment key is cached (keyring.openCached).
   */
  reveal(secret: Secret, { access, readAudit }: ValueReader): string | Promise<string> {
    access.assertReadsValues();
    if (!access.canReadValue(secret)) throw new ForbiddenError('outside this token’s reach');
    const { id: secretId, environmentId, spaceId, name, version } = secret;
    const owner = { secretId, environmentId, spaceId, name, version };
    const noted = (plaintext: string) => {
      readAudit.secretRead(secret);
      return plaintext;
    };
    const value = this.keyring.openCached(secret, owner);
    return value !== undefined ? noted(value) : this.keyring.open(secret, owner).then(noted);
  }

  /**
   * Creates or replaces a value. The environment key is fetched before the
   * transaction (a provider call may be slow); inside it the row is locked,
   * the check-and-set applied, and the value sealed with the new version bound
   * into its associated data. A lost insert race retries as an update.
   */
  async upsert(command: UpsertSecretCommand, actor: Actor): Promise<Secret> {
    const environmentId = check(idSchema, 'environmentId', command.environmentId);
    const spaceId = checkOptional(idSchema, 'spaceId', command.spaceId) ?? null;
    const name = check(secretNameSchema, 'name', command.name);
    const value = check(secretValueSchema, 'value', command.value);
    const expectedVersion = checkOptional(expectedVersionSchema, 'expectedVersion', command.expectedVersion);

    for (let attempt = 1; ; attempt++) {
      const scope = await this.resolveScope({ environmentId, spaceId });
      const keyVersion = scope.currentKeyVersion;
      const key = await this.keyring.key(environmentId, keyVersion);
      try {
        const written = await this.db.transaction(async (manager) => {
          const tx = this.reads.in(manager);
          const existing = await lockSecretForWrite(tx, environmentId, spaceId, name);
          const currentVersion = existing?.version ?? 0;
          if (expectedVersion !== undefined && expectedVersion !== currentVersion) {
            throw new VersionConflictError(expectedVersion, currentVersion);
          }
          const owner = { secretId: existing?.id ?? randomUUID(), environmentId, spaceId, name, version: currentVersion + 1 };
          const sealed = sealValue(value, owner, key, keyVersion);
          const row = { ...owner, id: owner.secretId, keyVersion, ...sealed };
          const saved = existing ? await updateSecretValue(tx, row) : await insertSecret(tx, row);
          if (saved) await this.audit.append([secretRecord(AuditAction.SECRET_WRITTEN, actor, saved)], tx);
          return saved;
        });
        if (written) return written;
      } catch (error) {
        if (isRetryableConflict(error) && attempt < MAX_WRITE_ATTEMPTS) continue; // SERIALIZABLE engines, deadlocks
        const violation = constraintViolation(error);
        if (violation?.constraint === 'secret_environment_id_fkey') throw new NotFoundError('environment', 'environmentId');
        if (violation?.constraint === 'secret_space_fkey') throw new NotFoundError('space', 'spaceId');
        if (violation?.constraint !== 'secret_key_version_fkey') throw error;
        // The key version was rotated away between reading it and writing: take the new one.
      }
      if (attempt >= MAX_WRITE_ATTEMPTS) throw new Error('secret write did not settle after repeated conflicts');
    }
  }

  async delete(id: unknown, actor: Actor): Promise<Secret> {
    const secretId = check(idSchema, 'id', id);
    const deleted = await this.db.transaction(async (em) => {
      const row = await deleteSecretById(em, secretId);
      if (row) await this.audit.append([secretRecord(AuditAction.SECRET_DELETED, actor, row)], em);
      return row;
    });
    if (!deleted) throw new NotFoundError('secret');
    return deleted;
  }
}

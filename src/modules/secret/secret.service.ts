import { randomUUID } from 'node:crypto';

import type { DataSource } from 'typeorm';

import { sealValue } from '../../crypto/envelope';
import type { EnvironmentKeyring } from '../../crypto/keyring';
import { constraintViolation, isRetryableConflict } from '../../db/pg-errors';
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
  findSecretsByName,
  findSecretsInScopes,
  insertSecret,
  lockSecretForWrite,
  updateSecretValue,
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

export interface UpsertSecretCommand extends ScopeArgs {
  readonly name: unknown;
  readonly value: unknown;
  readonly expectedVersion?: unknown;
}

/* Lost insert races and key-version changes are retried; more than this means something is wrong. */
const MAX_WRITE_ATTEMPTS = 8;

export class SecretService {
  constructor(
    private readonly db: DataSource,
    private readonly keyring: Pick<EnvironmentKeyring, 'key' | 'open'>,
    private readonly audit: Pick<AuditService, 'append'>,
  ) {}

  /**
   * Checks scope arguments the way a listener's `event.secrets` uses them: a
   * space implies its environment; a space outside the given environment is
   * BAD_USER_INPUT; unknown ids are NOT_FOUND. With an access policy, a
   * listener's binding applies, and anything outside it is FORBIDDEN whether
   * or not it exists, so other environments' ids are never confirmed.
   */
  async resolveScope(args: ScopeArgs, access?: AccessPolicy): Promise<Scope & { currentKeyVersion: number }> {
    const scoped = access ? access.scopeArgs(args) : args;
    const hidden = access !== undefined && !access.isAdmin;
    const environmentId = checkOptional(idSchema, 'environmentId', scoped.environmentId);
    const spaceId = checkOptional(idSchema, 'spaceId', scoped.spaceId);
    if (!environmentId && !spaceId) {
      throw new BadUserInputError('environmentId', 'environmentId or spaceId is required');
    }
    const rows: { environment_id: string; space_id: string | null; current_key_version: number }[] = spaceId
      ? await this.db.query(
          `SELECT s.environment_id, s.id AS space_id, e.current_key_version
             FROM space s JOIN environment e ON e.id = s.environment_id WHERE s.id = $1`,
          [spaceId],
        )
      : await this.db.query(
          `SELECT id AS environment_id, NULL AS space_id, current_key_version FROM environment WHERE id = $1`,
          [environmentId],
        );
    const row = rows[0];
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

  /** One name, resolved in a checked scope: the space's row wins, else the environment's. */
  async resolve(name: unknown, scope: Scope): Promise<ResolvedSecret> {
    const checkedName = check(secretNameSchema, 'name', name);
    const candidates = await findSecretsByName(this.db, checkedName, scope.environmentId, scope.spaceId);
    const resolved = resolveSecret(checkedName, candidates);
    if (!resolved) throw new SecretNotFoundError(checkedName);
    return resolved;
  }

  /** The effective list of a checked scope, sorted by name. */
  async effective(scope: Scope): Promise<ResolvedSecret[]> {
    const rows = await findSecretsInScopes(this.db, [scope.environmentId], scope.spaceId ? [scope.spaceId] : []);
    return resolveEffectiveSecrets(
      rows.filter((s) => s.spaceId === null),
      rows.filter((s) => s.spaceId !== null),
    );
  }

  /** Decrypts one row's value and notes the read for the audit log (written once per request). */
  async reveal(secret: Secret, readAudit: Pick<ReadAuditBuffer, 'secretRead'>): Promise<string> {
    const { id: secretId, environmentId, spaceId, name, version } = secret;
    const value = await this.keyring.open(secret, { secretId, environmentId, spaceId, name, version });
    readAudit.secretRead(secret);
    return value;
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
        const written = await this.db.transaction(async (em) => {
          const existing = await lockSecretForWrite(em, environmentId, spaceId, name);
          const currentVersion = existing?.version ?? 0;
          if (expectedVersion !== undefined && expectedVersion !== currentVersion) {
            throw new VersionConflictError(expectedVersion, currentVersion);
          }
          const owner = { secretId: existing?.id ?? randomUUID(), environmentId, spaceId, name, version: currentVersion + 1 };
          const sealed = sealValue(value, owner, key, keyVersion);
          const row = { ...owner, id: owner.secretId, keyVersion, ...sealed };
          const saved = existing ? await updateSecretValue(em, row) : await insertSecret(em, row);
          if (saved) await this.audit.append([secretRecord(AuditAction.SECRET_WRITTEN, actor, saved)], em);
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

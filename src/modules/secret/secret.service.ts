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
import { Capability, type AccessPolicy } from '../access/access-policy';
import { secretRecord } from '../audit/audit-record';
import type { AuditService } from '../audit/audit.service';
import type { CheckedPlacement, PlacementArgs } from '../placement';
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
  findPlacement,
  findPlacementAndSecrets,
  findPlacementAndSecretsByName,
  insertSecret,
  lockSecretForWrite,
  updateSecretValue,
  type PlacementRow,
} from './secret.repository';

/** What a request brings to read a value: who asks, and where its reads are noted (request/value-reads.ts). */
export interface ValueReader {
  readonly access: AccessPolicy;
  readonly reads: { once(secret: Secret, decrypt: () => string | Promise<string>): string | Promise<string> };
}

export interface UpsertSecretCommand extends PlacementArgs {
  readonly name: unknown;
  readonly value: unknown;
  readonly expectedVersion?: unknown;
}

interface PlacementRequest {
  readonly environmentId?: string;
  readonly spaceId?: string;
  /** Absent for writes by ADMIN or the system, which see everything. */
  readonly access?: AccessPolicy;
}

/** Validated ids, with a listener's binding applied; at least one of them is set. */
function placementRequest(args: PlacementArgs, access?: AccessPolicy): PlacementRequest {
  const bound = access ? access.bindArgs(args) : args;
  const environmentId = checkOptional(idSchema, 'environmentId', bound.environmentId);
  const spaceId = checkOptional(idSchema, 'spaceId', bound.spaceId);
  if (!environmentId && !spaceId) throw new BadUserInputError('environmentId', 'environmentId or spaceId is required');
  return { environmentId, spaceId, access };
}

/**
 * The verdict on a looked-up placement row (absent when the ids matched
 * nothing). With an access policy, anything outside a listener's reach is
 * FORBIDDEN whether or not it exists, so other environments' ids are never
 * confirmed.
 */
function checkPlacement({ environmentId, spaceId, access }: PlacementRequest, row: PlacementRow | undefined): CheckedPlacement {
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
    private readonly prepared: PreparedQueries,
  ) {}

  /**
   * One name, as `secret(name, environmentId, spaceId)` asks, the way a
   * listener's `event.secrets` uses its arguments: a space implies its
   * environment; a space outside the given environment is BAD_USER_INPUT;
   * unknown ids are NOT_FOUND; a listener's binding applies. Then the
   * space's own row wins, else the environment's. One statement fetches the
   * placement and the candidate rows: this is the listener's hot path.
   */
  async resolve(caller: AccessPolicy, name: unknown, args: PlacementArgs): Promise<ResolvedSecret> {
    caller.assert(Capability.READ);
    const checkedName = check(secretNameSchema, 'name', name);
    const request = placementRequest(args, caller);
    const { placement, secrets } = await findPlacementAndSecretsByName(
      this.prepared,
      request.environmentId ?? null,
      request.spaceId ?? null,
      checkedName,
    );
    checkPlacement(request, placement);
    const resolved = resolveSecret(checkedName, secrets);
    if (!resolved) throw new SecretNotFoundError(checkedName);
    return resolved;
  }

  /** The effective list of a placement given by arguments, checked as `resolve` does, in one statement. */
  async effectiveIn(caller: AccessPolicy, args: PlacementArgs): Promise<ResolvedSecret[]> {
    caller.assert(Capability.READ);
    const request = placementRequest(args, caller);
    const { placement, secrets } = await findPlacementAndSecrets(this.prepared, request.environmentId ?? null, request.spaceId ?? null);
    checkPlacement(request, placement);
    return resolveEffectiveSecrets(
      secrets.filter((s) => s.spaceId === null),
      secrets.filter((s) => s.spaceId !== null),
    );
  }

  /**
   * The one way a request decrypts a value (GraphQL `value` fields and REST
   * alike): the field-level check of DESIGN §6 (only a LISTENER, only inside
   * its binding), then the decryption, once per (secret, version) per
   * request, bounded and noted for the audit log (ValueReads).
   * Synchronous while the environment key is cached (keyring.openCached).
   */
  reveal({ access, reads }: ValueReader, secret: Secret): string | Promise<string> {
    access.assertReadsValue(secret);
    return reads.once(secret, () => {
      const { id: secretId, environmentId, spaceId, name, version } = secret;
      const owner = { secretId, environmentId, spaceId, name, version };
      return this.keyring.openCached(secret, owner) ?? this.keyring.open(secret, owner);
    });
  }

  /**
   * The effective list of a placement with every value (REST's GET): refused
   * for a caller that reads no values before anything is looked up, even when
   * the list would be empty.
   */
  async revealEffective(reader: ValueReader, args: PlacementArgs): Promise<{ secret: Secret; value: string }[]> {
    reader.access.assert(Capability.READ_VALUES);
    const effective = await this.effectiveIn(reader.access, args);
    const revealed: { secret: Secret; value: string }[] = [];
    for (const { secret } of effective) {
      const value = this.reveal(reader, secret); // synchronous while the environment key is cached
      revealed.push({ secret, value: typeof value === 'string' ? value : await value });
    }
    return revealed;
  }

  /**
   * Creates or replaces a value. The environment key is fetched before the
   * transaction (a provider call may be slow); inside it the row is locked,
   * the check-and-set applied, and the value sealed with the new version bound
   * into its associated data. A lost insert race retries as an update.
   */
  async upsert(caller: AccessPolicy, command: UpsertSecretCommand): Promise<Secret> {
    caller.assert(Capability.MANAGE);
    const environmentId = check(idSchema, 'environmentId', command.environmentId);
    const spaceId = checkOptional(idSchema, 'spaceId', command.spaceId) ?? null;
    const name = check(secretNameSchema, 'name', command.name);
    const value = check(secretValueSchema, 'value', command.value);
    const expectedVersion = checkOptional(expectedVersionSchema, 'expectedVersion', command.expectedVersion);

    for (let attempt = 1; ; attempt++) {
      const request = placementRequest({ environmentId, spaceId });
      const placement = checkPlacement(request, await findPlacement(this.prepared, environmentId, spaceId));
      const keyVersion = placement.currentKeyVersion;
      const key = await this.keyring.key(environmentId, keyVersion);
      try {
        const written = await this.db.transaction(async (manager) => {
          const tx = this.prepared.in(manager);
          const existing = await lockSecretForWrite(tx, environmentId, spaceId, name);
          const currentVersion = existing?.version ?? 0;
          if (expectedVersion !== undefined && expectedVersion !== currentVersion) {
            throw new VersionConflictError(expectedVersion, currentVersion);
          }
          const owner = { secretId: existing?.id ?? randomUUID(), environmentId, spaceId, name, version: currentVersion + 1 };
          const sealed = sealValue(value, owner, key, keyVersion);
          const row = { ...owner, id: owner.secretId, keyVersion, ...sealed };
          const saved = existing ? await updateSecretValue(tx, row) : await insertSecret(tx, row);
          if (saved) await this.audit.append([secretRecord(AuditAction.SECRET_WRITTEN, caller.principal, saved)], tx);
          return saved;
        });
        if (written) return written;
      } catch (error) {
        if (isRetryableConflict(error) && attempt < MAX_WRITE_ATTEMPTS) continue; // SERIALIZABLE engines, deadlocks
        /* The key version was rotated away between reading it and writing: take the new one. Anything else is final. */
        if (constraintViolation(error)?.constraint !== 'secret_key_version_fkey') throw error;
      }
      if (attempt >= MAX_WRITE_ATTEMPTS) throw new Error('secret write did not settle after repeated conflicts');
    }
  }

  async delete(caller: AccessPolicy, id: unknown): Promise<Secret> {
    caller.assert(Capability.MANAGE);
    const secretId = check(idSchema, 'id', id);
    const deleted = await this.db.transaction(async (em) => {
      const row = await deleteSecretById(em, secretId);
      if (row) await this.audit.append([secretRecord(AuditAction.SECRET_DELETED, caller.principal, row)], em);
      return row;
    });
    if (!deleted) throw new NotFoundError('secret');
    return deleted;
  }
}

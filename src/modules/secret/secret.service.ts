import { randomUUID } from 'node:crypto';

import type { DataSource } from 'typeorm';

import { sealValue, type ValueOwner } from '../../crypto/envelope';
import type { EnvironmentKeyring } from '../../crypto/keyring';
import { constraintViolation, isRetryableConflict } from '../../db/pg-errors';
import type { PreparedQueries, Queryable } from '../../db/statements';
import { AuditAction, Secret } from '../../entities';
import {
  BadUserInputError,
  ForbiddenError,
  NotFoundError,
  SecretNotFoundError,
  VersionConflictError,
} from '../../errors';
import { Capability, type AccessPolicy } from '../access/access-policy';
import { secretRecord, type SecretTopic } from '../audit/audit-record';
import type { AuditService } from '../audit/audit.service';
import type { CheckedPlacement, PlacementArgs } from '../placement';
import {
  check,
  checkOptional,
  expectedVersionSchema,
  idSchema,
  optionalActorId,
  secretNameSchema,
  secretValueSchema,
  versionSchema,
} from '../validation';
import { batchedNameReads } from './name-reads';
import { resolveEffectiveSecrets, resolveSecret, shadowedBy, type ResolvedSecret } from './resolution';
import {
  destroySecretById,
  findDeletedSecrets,
  findPlacement,
  findPlacementAndSecrets,
  findSecretById,
  findVersion,
  insertSecret,
  lockSecretForWrite,
  purgeDeletedSecrets,
  softDeleteSecret,
  updateSecretValue,
  versionAsSecret,
  type ChangedSecret,
  type PlacementRow,
  type VersionRow,
} from './secret.repository';

/** What a request brings to read a value: who asks, and where its reads are noted (request/value-reads.ts). */
export interface ValueReader {
  readonly access: AccessPolicy;
  readonly reads: { once(secret: Secret, decrypt: () => string | Promise<string>): string | Promise<string> };
}

/** A view's arguments: a placement, and optionally an actor whose personal values come first. */
export interface ViewArgs extends PlacementArgs {
  readonly actorId?: unknown;
}

export interface UpsertSecretCommand extends ViewArgs {
  readonly name: unknown;
  readonly value: unknown;
  readonly expectedVersion?: unknown;
}

export interface RollbackSecretCommand {
  readonly id: unknown;
  readonly version: unknown;
  readonly expectedVersion?: unknown;
}

export interface SecretServiceOptions {
  /** Versions kept per secret, the current one included (SECRET_VERSIONS_KEPT). */
  readonly versionsKept: number;
  /** Days a deleted secret stays restorable before the purge destroys it (DELETED_SECRET_RETENTION_DAYS). */
  readonly deletedRetentionDays: number;
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

const actorOf = (args: { actorId?: unknown }) => optionalActorId(args.actorId);

const ownerOf = (secret: Pick<Secret, 'id' | 'environmentId' | 'spaceId' | 'name'>, version: number): ValueOwner => ({
  secretId: secret.id,
  environmentId: secret.environmentId,
  spaceId: secret.spaceId,
  name: secret.name,
  version,
});

/* Lost insert races, serialization failures and key-version changes are retried; more than this means something is wrong. */
const MAX_WRITE_ATTEMPTS = 8;
const PURGE_BATCH = 500;

/** A write's new current version, as it will be sealed. */
interface NewVersion {
  readonly value: string;
  readonly restoredFrom: number | null;
}

export class SecretService {
  /** A listener's read of one name, batched with other requests' under load (name-reads.ts). */
  private readonly nameReads: ReturnType<typeof batchedNameReads>;

  constructor(
    private readonly db: DataSource,
    private readonly keyring: Pick<EnvironmentKeyring, 'key' | 'open' | 'openCached'>,
    private readonly audit: Pick<AuditService, 'append'>,
    /** Prepared statements for the reads and the write transaction (db/statements.ts). */
    private readonly prepared: PreparedQueries,
    private readonly options: SecretServiceOptions = { versionsKept: 20, deletedRetentionDays: 30 },
  ) {
    this.nameReads = batchedNameReads(prepared);
  }

  /**
   * One name, as `secret(name, environmentId, spaceId, actorId)` asks, the
   * way a listener's `event.secrets` uses its arguments: a space implies its
   * environment; a space outside the given environment is BAD_USER_INPUT;
   * unknown ids are NOT_FOUND; a listener's binding applies. Then the first
   * candidate of (S, A), (E, A), (S), (E) wins (resolution.ts). One statement
   * fetches the placement and the candidate rows, shared with concurrent
   * requests' reads under load: this is the listener's hot path. With
   * `version`, the value is the supplying secret's at that retained version
   * (one more statement).
   */
  async resolve(caller: AccessPolicy, name: unknown, args: ViewArgs & { version?: unknown }): Promise<ResolvedSecret> {
    caller.assert(Capability.READ);
    const checkedName = check(secretNameSchema, 'name', name);
    const actorId = actorOf(args);
    const pinned = checkOptional(versionSchema, 'version', args.version);
    const request = placementRequest(args, caller);
    const { placement, secrets } = await this.nameReads({
      environmentId: request.environmentId ?? null,
      spaceId: request.spaceId ?? null,
      name: checkedName,
      actorId,
    });
    checkPlacement(request, placement);
    const resolved = resolveSecret(checkedName, secrets, actorId);
    if (!resolved) throw new SecretNotFoundError(checkedName);
    if (pinned === undefined || pinned === resolved.secret.version) return resolved;
    const row = await findVersion(this.prepared, resolved.secret.id, pinned);
    if (!row) throw new NotFoundError(`version ${pinned} of that secret`, 'version');
    return { ...resolved, secret: versionAsSecret(resolved.secret, row) };
  }

  /** The effective list of a view given by arguments, checked as `resolve` does, in one statement. */
  async effectiveIn(caller: AccessPolicy, args: ViewArgs): Promise<ResolvedSecret[]> {
    caller.assert(Capability.READ);
    const actorId = actorOf(args);
    const request = placementRequest(args, caller);
    const { placement, secrets } = await findPlacementAndSecrets(this.prepared, request.environmentId ?? null, request.spaceId ?? null, actorId);
    checkPlacement(request, placement);
    return resolveEffectiveSecrets(
      secrets.filter((s) => s.spaceId === null),
      secrets.filter((s) => s.spaceId !== null),
      actorId,
    );
  }

  /**
   * The one way a request decrypts a value (GraphQL `value` fields and REST
   * alike): the field-level check of DESIGN §6 (only a LISTENER, only inside
   * its binding), then the decryption, once per (secret, version) per
   * request, bounded and noted for the audit log (ValueReads). `secret` may be
   * a retained version (asVersion), audited as a read of that version.
   * Synchronous while the environment key is cached (keyring.openCached).
   */
  reveal({ access, reads }: ValueReader, secret: Secret): string | Promise<string> {
    access.assertReadsValue(secret);
    return reads.once(secret, () => {
      const owner = ownerOf(secret, secret.version);
      return this.keyring.openCached(secret, owner) ?? this.keyring.open(secret, owner);
    });
  }

  /** A retained version's value (`Secret.versions { value }`): a deleted secret's history is not readable until restored. */
  revealVersion(reader: ValueReader, secret: Secret, row: VersionRow): string | Promise<string> {
    reader.access.assertReadsValue(secret);
    if (secret.deletedAt !== null) throw new NotFoundError('secret');
    return this.reveal(reader, versionAsSecret(secret, row));
  }

  /**
   * The effective list of a view with every value (REST's GET): refused for
   * a caller that reads no values before anything is looked up, even when
   * the list would be empty.
   */
  async revealEffective(reader: ValueReader, args: ViewArgs): Promise<{ resolved: ResolvedSecret; value: string }[]> {
    reader.access.assert(Capability.READ_VALUES);
    const effective = await this.effectiveIn(reader.access, args);
    const revealed: { resolved: ResolvedSecret; value: string }[] = [];
    for (const resolved of effective) {
      const value = this.reveal(reader, resolved.secret); // synchronous while the environment key is cached
      revealed.push({ resolved, value: typeof value === 'string' ? value : await value });
    }
    return revealed;
  }

  /** Deleted secrets of an environment (its own rows) or of one space: what `restoreSecret` can bring back. */
  async deletedIn(caller: AccessPolicy, args: PlacementArgs): Promise<Secret[]> {
    caller.assert(Capability.MANAGE);
    const request = placementRequest(args);
    const placement = checkPlacement(request, await findPlacement(this.prepared, request.environmentId ?? null, request.spaceId ?? null));
    return findDeletedSecrets(this.prepared, placement.environmentId, placement.spaceId);
  }

  /**
   * Creates or replaces a value: a new version, the one it replaces kept in
   * history. The environment key is fetched before the transaction (a
   * provider call may be slow); inside it the row is locked, the
   * check-and-set applied (a deleted secret counts as absent:
   * `expectedVersion: 0` revives it), and the value sealed with the new
   * version bound into its associated data. Writing a deleted name revives
   * the same secret at its next version. A lost insert race retries as an
   * update.
   */
  async upsert(caller: AccessPolicy, command: UpsertSecretCommand): Promise<Secret> {
    caller.assert(Capability.MANAGE);
    const environmentId = check(idSchema, 'environmentId', command.environmentId);
    const spaceId = checkOptional(idSchema, 'spaceId', command.spaceId) ?? null;
    const actorId = actorOf(command);
    const name = check(secretNameSchema, 'name', command.name);
    const value = check(secretValueSchema, 'value', command.value);
    const expectedVersion = checkOptional(expectedVersionSchema, 'expectedVersion', command.expectedVersion);

    return this.withRetries(async () => {
      const placement = checkPlacement(placementRequest({ environmentId, spaceId }), await findPlacement(this.prepared, environmentId, spaceId));
      const key = await this.keyring.key(environmentId, placement.currentKeyVersion);
      return this.db.transaction(async (manager) => {
        const tx = this.prepared.in(manager);
        const { existing, candidates } = await lockSecretForWrite(tx, environmentId, spaceId, actorId, name);
        const live = existing && existing.deletedAt === null ? existing : undefined;
        const currentVersion = live?.version ?? 0;
        if (expectedVersion !== undefined && expectedVersion !== currentVersion) {
          throw new VersionConflictError(expectedVersion, currentVersion);
        }
        const target = existing ?? { id: randomUUID(), environmentId, spaceId, actorId, name };
        const saved = await this.commitVersion(tx, caller, target, existing, candidates, placement.currentKeyVersion, key, {
          value,
          restoredFrom: null,
        });
        if (saved) await this.record(tx, caller, AuditAction.SECRET_WRITTEN, saved, live ? 'secret:updated' : 'secret:created');
        return saved?.secret;
      });
    });
  }

  /**
   * A new version holding the value of a retained `version`, re-sealed here:
   * no value passes through the caller. Check-and-set as for upserts. A
   * deleted secret is NOT_FOUND until restored; so is a pruned version.
   * Rolling back to the current version writes a new version with the same
   * value, like any write.
   */
  async rollback(caller: AccessPolicy, command: RollbackSecretCommand): Promise<Secret> {
    caller.assert(Capability.MANAGE);
    const id = check(idSchema, 'id', command.id);
    const version = check(versionSchema, 'version', command.version);
    const expectedVersion = checkOptional(expectedVersionSchema, 'expectedVersion', command.expectedVersion);
    return this.rewrite(caller, id, AuditAction.SECRET_ROLLED_BACK, async (tx, locked) => {
      if (locked.deletedAt !== null) throw new NotFoundError('secret');
      if (expectedVersion !== undefined && expectedVersion !== locked.version) {
        throw new VersionConflictError(expectedVersion, locked.version);
      }
      const row = await findVersion(tx, locked.id, version);
      if (!row) throw new NotFoundError(`version ${version} of that secret`, 'version');
      return { value: await this.keyring.open(versionAsSecret(locked, row), ownerOf(locked, version)), restoredFrom: version };
    });
  }

  /** A deleted secret back in resolution, as a new version of its last value; a live one is BAD_USER_INPUT. */
  async restore(caller: AccessPolicy, id: unknown): Promise<Secret> {
    caller.assert(Capability.MANAGE);
    const secretId = check(idSchema, 'id', id);
    return this.rewrite(caller, secretId, AuditAction.SECRET_RESTORED, async (_tx, locked) => {
      if (locked.deletedAt === null) throw new BadUserInputError('id', 'the secret is not deleted');
      return { value: await this.keyring.open(locked, ownerOf(locked, locked.version)), restoredFrom: locked.version };
    });
  }

  /** Takes a live secret out of resolution at once; it stays restorable for DELETED_SECRET_RETENTION_DAYS. The version does not change. */
  async delete(caller: AccessPolicy, id: unknown): Promise<Secret> {
    caller.assert(Capability.MANAGE);
    const secretId = check(idSchema, 'id', id);
    const deleted = await this.db.transaction(async (em) => {
      const change = await softDeleteSecret(em, secretId);
      if (change) await this.record(em, caller, AuditAction.SECRET_DELETED, change, 'secret:deleted');
      return change?.secret;
    });
    if (!deleted) throw new NotFoundError('secret');
    return deleted;
  }

  /** Every version gone now, live or deleted; irreversible. The name is free again. */
  async destroy(caller: AccessPolicy, id: unknown): Promise<Secret> {
    caller.assert(Capability.MANAGE);
    const secretId = check(idSchema, 'id', id);
    const destroyed = await this.db.transaction(async (em) => {
      const change = await destroySecretById(em, secretId);
      /* Destroying an already-deleted secret changes no view: it is recorded, but is not a change event. */
      if (change) {
        await this.record(em, caller, AuditAction.SECRET_DESTROYED, change, change.secret.deletedAt === null ? 'secret:deleted' : null);
      }
      return change?.secret;
    });
    if (!destroyed) throw new NotFoundError('secret');
    return destroyed;
  }

  /**
   * Destroys the secrets deleted more than DELETED_SECRET_RETENTION_DAYS ago,
   * in batches; each is audited as SECRET_DESTROYED. Idempotent, and safe
   * with several instances and behind a transaction pooler: rows are claimed
   * with FOR UPDATE SKIP LOCKED inside each batch's transaction, no session
   * lock is held.
   */
  async purgeDeleted(caller: AccessPolicy): Promise<number> {
    caller.assert(Capability.MANAGE);
    let purged = 0;
    for (;;) {
      const batch = await this.db.transaction(async (em) => {
        const gone = await purgeDeletedSecrets(em, this.options.deletedRetentionDays, PURGE_BATCH);
        await this.audit.append(
          gone.map((row) => secretRecord(AuditAction.SECRET_DESTROYED, caller.principal, row)),
          em,
        );
        return gone.length;
      });
      purged += batch;
      if (batch < PURGE_BATCH) return purged;
    }
  }

  /** The existing secret `id`, rewritten at a new version whose value `produce` derives from it (rollback, restore). */
  private async rewrite(
    caller: AccessPolicy,
    id: string,
    action: AuditAction,
    produce: (tx: Queryable, locked: Secret) => Promise<NewVersion>,
  ): Promise<Secret> {
    return this.withRetries(async () => {
      const current = await findSecretById(this.prepared, id);
      if (!current) throw new NotFoundError('secret');
      const placement = checkPlacement(
        placementRequest({ environmentId: current.environmentId, spaceId: current.spaceId }),
        await findPlacement(this.prepared, current.environmentId, current.spaceId),
      );
      const key = await this.keyring.key(current.environmentId, placement.currentKeyVersion);
      /*
       * The old value is opened inside the transaction; its key is fetched
       * first so no row lock waits on a provider call. Every retained version
       * shares the current one's key version except during a rotation, when
       * an uncached one costs a call under the lock, once.
       */
      await this.keyring.key(current.environmentId, current.keyVersion);
      return this.db.transaction(async (manager) => {
        const tx = this.prepared.in(manager);
        const { existing: locked, candidates } = await lockSecretForWrite(tx, current.environmentId, current.spaceId, current.actorId, current.name);
        /* Destroyed meanwhile (and perhaps written again as a new secret): the id is gone. */
        if (!locked || locked.id !== id) throw new NotFoundError('secret');
        const wasLive = locked.deletedAt === null;
        const next = await produce(tx, locked);
        const saved = await this.commitVersion(tx, caller, locked, locked, candidates, placement.currentKeyVersion, key, next);
        await this.record(tx, caller, action, saved!, wasLive ? 'secret:updated' : 'secret:created');
        return saved?.secret;
      });
    });
  }

  /**
   * Seals `next` as the version after `existing` (or as version 1), with what
   * it shadows in its own placement recorded for overrideStale, and stores
   * it: the replaced version goes to history, which is pruned to
   * `versionsKept`. Undefined when a concurrent first write won the name.
   */
  private async commitVersion(
    tx: Queryable,
    caller: AccessPolicy,
    target: Pick<Secret, 'id' | 'environmentId' | 'spaceId' | 'actorId' | 'name'>,
    existing: Secret | undefined,
    candidates: readonly Secret[],
    keyVersion: number,
    key: Buffer,
    next: NewVersion,
  ): Promise<ChangedSecret | undefined> {
    const version = (existing?.version ?? 0) + 1;
    const shadowed = shadowedBy(target, candidates);
    const sealed = sealValue(next.value, ownerOf(target, version), key, keyVersion);
    const row = {
      ...target,
      version,
      keyVersion,
      ...sealed,
      shadowedId: shadowed?.id ?? null,
      shadowedVersion: shadowed?.version ?? null,
      writtenBy: caller.principal.tokenId,
      restoredFrom: next.restoredFrom,
    };
    return existing ? updateSecretValue(tx, row, this.options.versionsKept) : insertSecret(tx, row);
  }

  /** The audit record of a change, which is also its change event (DESIGN §12) when it has a topic. */
  private async record(tx: Queryable, caller: AccessPolicy, action: AuditAction, change: ChangedSecret, topic: SecretTopic | null): Promise<void> {
    const event = topic ? { topic, affectedSpaceIds: change.affectedSpaceIds } : {};
    await this.audit.append([{ ...secretRecord(action, caller.principal, change.secret), ...event }], tx);
  }

  /** Runs a write until it settles: serialization failures, deadlocks, a rotated-away key version and a lost insert race go again. */
  private async withRetries(write: () => Promise<Secret | undefined>): Promise<Secret> {
    for (let attempt = 1; ; attempt++) {
      try {
        const written = await write();
        if (written) return written;
      } catch (error) {
        const keyVersionGone = constraintViolation(error)?.constraint === 'secret_key_version_fkey';
        if (!(isRetryableConflict(error) || keyVersionGone) || attempt >= MAX_WRITE_ATTEMPTS) throw error;
      }
      if (attempt >= MAX_WRITE_ATTEMPTS) throw new Error('secret write did not settle after repeated conflicts');
    }
  }
}

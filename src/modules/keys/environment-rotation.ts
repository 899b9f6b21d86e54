import { dekKeyVersion, rewrapDek } from '../../crypto/envelope';
import { constraintViolation } from '../../db/pg-errors';
import { AuditAction } from '../../entities';
import { DecryptionFailedError, NotFoundError, isAppError } from '../../errors';
import type { Actor } from '../audit/audit-record';
import { check, idSchema } from '../validation';
import type { KeyRotationDeps, RotateOptions, RotateResult } from './key-rotation.types';

/*
 * `keys rotate-environment <id>`: a new environment-key version n+1 becomes
 * current (new writes use it at once), then every data key still under an
 * older version is re-wrapped to n+1 in batches, and the older versions are
 * deleted. Values are never decrypted: only DEKs are unwrapped and wrapped.
 *
 * State lives in the database, so the run is resumable: while versions older
 * than `current_key_version` are still stored, a rotation is in progress, and
 * running the command again finishes it instead of starting another one.
 *
 * Concurrency with running servers:
 * - a batch locks its rows with FOR UPDATE SKIP LOCKED, and a server's write
 *   locks the same row first, so neither overwrites the other's DEK;
 * - a write that read the old current version may still land on it; such rows
 *   are picked up by the next pass;
 * - the foreign key secret(environment_id, key_version) → environment_key
 *   refuses to delete a version still in use, so deletion is simply retried,
 *   and a write racing the deletion fails its FK check and retries with the
 *   new version (SecretService.upsert);
 * - reads never fail: both versions exist until no row uses the old one, and
 *   deletion waits `retireDelayMs` more for reads that fetched a row just
 *   before the last batch and have yet to load its key.
 */

const DEFAULT_BATCH_SIZE = 500;
const DEFAULT_RETIRE_DELAY_MS = 2_000;
/* Pauses while rows are held by writers, and how many in a row before giving up (the run stays resumable). */
const IDLE_PAUSE_MS = 50;
const MAX_IDLE_PASSES = 400;

interface StartedRotation {
  readonly version: number;
  readonly resumed: boolean;
}

/** Makes version n+1 current, or finds the rotation an earlier (or concurrent) run left in progress. */
async function startOrResume(deps: KeyRotationDeps, environmentId: string): Promise<StartedRotation> {
  const { db, keyring } = deps;
  for (;;) {
    const [state]: { current: number; oldest: number | null }[] = await db.query(
      `SELECT e.current_key_version AS current,
              (SELECT min(k.version) FROM environment_key k
                WHERE k.environment_id = e.id AND k.version < e.current_key_version) AS oldest
         FROM environment e WHERE e.id = $1`,
      [environmentId],
    );
    if (!state) throw new NotFoundError('environment', 'environmentId');
    if (state.oldest !== null) return { version: state.current, resumed: true };

    const next = state.current + 1;
    /* The provider call happens before any row is written (and before any lock is held). */
    const { key, wrapped } = await keyring.create(environmentId, next);
    const started = await db.transaction(async (em) => {
      const [row]: { current: number }[] = await em.query(
        `SELECT current_key_version AS current FROM environment WHERE id = $1 FOR UPDATE`,
        [environmentId],
      );
      if (!row) throw new NotFoundError('environment', 'environmentId');
      /* Another run got there first: join its rotation rather than start a second one. */
      if (row.current !== state.current) return false;
      await em.query(
        `INSERT INTO environment_key (environment_id, version, wrapped_key, provider_id, key_ref)
         VALUES ($1, $2, $3, $4, $5)`,
        [environmentId, next, wrapped.blob, wrapped.providerId, wrapped.keyRef],
      );
      await em.query(`UPDATE environment SET current_key_version = $2 WHERE id = $1`, [environmentId, next]);
      return true;
    });
    if (!started) {
      key.fill(0);
      continue;
    }
    keyring.remember(environmentId, next, key);
    return { version: next, resumed: false };
  }
}

async function keysOf(deps: KeyRotationDeps, environmentId: string, versions: readonly number[]) {
  const keys = new Map<number, Buffer>();
  for (const version of versions) keys.set(version, await deps.keyring.key(environmentId, version));
  return keys;
}

/*
 * Data keys live with each secret's current version (`secret`), with its
 * retained versions (`secret_version`) and with webhooks' signing secrets;
 * a DEK is bound to (owner id, environment id), the same for every version
 * of a secret.
 */
interface DataKeyTable {
  /** Selects lockable rows still under an old key version: $1 environment, $2 target version, $3 limit. */
  readonly select: string;
  /** Writes the re-wrapped DEKs: $1 environment, $2 target version, $3 row keys…, last: the DEKs. */
  readonly update: string;
  readonly keysOf: (rows: DataKeyRow[]) => unknown[][];
  readonly remaining: string;
}

interface DataKeyRow {
  secret_id: string;
  version?: number;
  wrapped_dek: Buffer;
}

const DATA_KEY_TABLES: readonly DataKeyTable[] = [
  {
    select: `SELECT id AS secret_id, wrapped_dek FROM secret WHERE environment_id = $1 AND key_version < $2 LIMIT $3 FOR UPDATE SKIP LOCKED`,
    update: `WITH moved AS (
         UPDATE secret s SET wrapped_dek = u.wrapped_dek, key_version = $2
           FROM unnest($3::uuid[], $4::bytea[]) AS u (id, wrapped_dek)
          WHERE s.id = u.id AND s.environment_id = $1
         RETURNING 1)
       SELECT count(*)::int AS n FROM moved`,
    keysOf: (rows) => [rows.map((r) => r.secret_id)],
    remaining: `SELECT count(*)::int AS n FROM secret WHERE environment_id = $1 AND key_version < $2`,
  },
  {
    select: `SELECT secret_id, version, wrapped_dek FROM secret_version WHERE environment_id = $1 AND key_version < $2
              LIMIT $3 FOR UPDATE SKIP LOCKED`,
    update: `WITH moved AS (
         UPDATE secret_version v SET wrapped_dek = u.wrapped_dek, key_version = $2
           FROM unnest($3::uuid[], $4::int[], $5::bytea[]) AS u (secret_id, version, wrapped_dek)
          WHERE v.secret_id = u.secret_id AND v.version = u.version AND v.environment_id = $1
         RETURNING 1)
       SELECT count(*)::int AS n FROM moved`,
    keysOf: (rows) => [rows.map((r) => r.secret_id), rows.map((r) => r.version)],
    remaining: `SELECT count(*)::int AS n FROM secret_version WHERE environment_id = $1 AND key_version < $2`,
  },
  {
    /* A webhook's signing secret is sealed like a value, its DEK bound to the webhook's id (modules/webhook/signing-secret.ts). */
    select: `SELECT id AS secret_id, wrapped_dek FROM webhook WHERE environment_id = $1 AND key_version < $2 LIMIT $3 FOR UPDATE SKIP LOCKED`,
    update: `WITH moved AS (
         UPDATE webhook w SET wrapped_dek = u.wrapped_dek, key_version = $2
           FROM unnest($3::uuid[], $4::bytea[]) AS u (id, wrapped_dek)
          WHERE w.id = u.id AND w.environment_id = $1
         RETURNING 1)
       SELECT count(*)::int AS n FROM moved`,
    keysOf: (rows) => [rows.map((r) => r.secret_id)],
    remaining: `SELECT count(*)::int AS n FROM webhook WHERE environment_id = $1 AND key_version < $2`,
  },
];

/** Re-wraps up to `limit` lockable DEKs still under an old version, current versions first; returns how many moved. */
async function rewrapBatch(deps: KeyRotationDeps, environmentId: string, target: number, limit: number) {
  const versionRows: { version: number }[] = await deps.db.query(
    `SELECT version FROM environment_key WHERE environment_id = $1 AND version <= $2`,
    [environmentId, target],
  );
  /* Keys are fetched (cached, or one provider call) before the transaction, so no lock waits on a provider. */
  const keys = await keysOf(deps, environmentId, versionRows.map((r) => r.version));
  const toKey = keys.get(target)!;
  for (const table of DATA_KEY_TABLES) {
    const moved = await deps.db.transaction(async (em) => {
      const rows: DataKeyRow[] = await em.query(table.select, [environmentId, target, limit]);
      if (rows.length === 0) return 0;
      const rewrapped = rows.map((row) => {
        const owner = { secretId: row.secret_id, environmentId };
        try {
          /* The blob's header, not the column, names the key that wrapped it (as on reads). */
          const fromKey = keys.get(dekKeyVersion(row.wrapped_dek));
          if (!fromKey) throw new DecryptionFailedError();
          return rewrapDek(row.wrapped_dek, owner, fromKey, toKey, target);
        } catch (error) {
          if (!isAppError(error)) throw error;
          throw new DecryptionFailedError(`a data key of secret ${row.secret_id} failed authentication; nothing was changed`);
        }
      });
      const [result]: { n: number }[] = await em.query(table.update, [environmentId, target, ...table.keysOf(rows), rewrapped]);
      return result.n;
    });
    if (moved > 0) return moved;
  }
  return 0;
}

/** Deletes the old versions, or returns undefined when a data key still uses one. */
async function retireOldVersions(deps: KeyRotationDeps, actor: Actor, environmentId: string, target: number) {
  try {
    return await deps.db.transaction(async (em) => {
      const gone: { version: number }[] = await em.query(
        `WITH gone AS (DELETE FROM environment_key WHERE environment_id = $1 AND version < $2 RETURNING version)
         SELECT version FROM gone ORDER BY version`,
        [environmentId, target],
      );
      /* One record per rotation: a concurrent run that finds nothing left to delete adds none. */
      if (gone.length > 0) {
        await deps.audit.append([{ action: AuditAction.KEY_REWRAPPED, tokenId: actor.tokenId, environmentId }], em);
      }
      return gone.map((r) => r.version);
    });
  } catch (error) {
    const constraint = constraintViolation(error)?.constraint;
    if (constraint === 'secret_key_version_fkey' || constraint === 'secret_version_key_version_fkey' || constraint === 'webhook_key_version_fkey') {
      return undefined;
    }
    throw error;
  }
}

const remainingOnOldVersions = async (deps: KeyRotationDeps, environmentId: string, target: number) => {
  let remaining = 0;
  for (const table of DATA_KEY_TABLES) {
    const [row]: { n: number }[] = await deps.db.query(table.remaining, [environmentId, target]);
    remaining += row.n;
  }
  return remaining;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function rotateEnvironmentKey(
  deps: KeyRotationDeps,
  actor: Actor,
  environmentIdInput: unknown,
  options: RotateOptions = {},
): Promise<RotateResult> {
  const environmentId = check(idSchema, 'environmentId', environmentIdInput);
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error('batch size must be a positive integer');
  const retireDelayMs = options.retireDelayMs ?? DEFAULT_RETIRE_DELAY_MS;

  const { version: target, resumed } = await startOrResume(deps, environmentId);
  let done = 0;
  let total = await remainingOnOldVersions(deps, environmentId, target);
  options.onProgress?.({ done, total });

  for (let idle = 0; idle < MAX_IDLE_PASSES; ) {
    const moved = await rewrapBatch(deps, environmentId, target, batchSize);
    if (moved > 0) {
      done += moved;
      total = Math.max(total, done);
      options.onProgress?.({ done, total });
      idle = 0;
      continue;
    }
    const remaining = await remainingOnOldVersions(deps, environmentId, target);
    if (remaining === 0) {
      await sleep(retireDelayMs);
      const retired = await retireOldVersions(deps, actor, environmentId, target);
      if (retired) return { environmentId, keyVersion: target, resumed, rewrappedDataKeys: done, retiredVersions: retired };
    } else {
      /* Rows locked by in-flight writes (skipped), or writes that landed on the old version: go again. */
      total = Math.max(total, done + remaining);
    }
    idle += 1;
    await sleep(IDLE_PAUSE_MS);
  }
  throw new Error('the rotation did not settle (rows stayed locked by writers); run it again to finish');
}

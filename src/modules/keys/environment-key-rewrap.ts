import { associatedData, generateKey, unwrapEnvironmentKey, wrapEnvironmentKey } from '../../crypto/envelope';
import type { CipherProvider, CipherProviderRegistry } from '../../crypto/provider';
import { AuditAction } from '../../entities';
import { BadUserInputError, DecryptionFailedError, KeyProviderUnavailableError, isAppError } from '../../errors';
import type { Actor } from '../audit/audit-record';
import type { KeyRotationDeps, RewrapOptions, RewrapResult } from './key-rotation.types';
import { forEachConcurrently } from './concurrency';

/*
 * `keys rewrap`: every environment key not yet under the target master key is
 * unwrapped (through the provider its blob names) and wrapped again by the
 * target. Only the `environment_key` row changes; the key itself, and so every
 * DEK and value under it, stays the same, which is why servers with the old
 * blob (or the unwrapped key) cached keep working throughout.
 *
 * Idempotent and resumable: keys already at the target (provider id, key ref)
 * are skipped without a provider call, so a second run, or a run after an
 * interruption, only does what is left. Safe alongside other runs and servers:
 * each row is replaced with a compare-and-swap on the blob that was read.
 */

const PAGE_SIZE = 200;
const DEFAULT_CONCURRENCY = 8;
const PROBE_AAD = associatedData('secretspace/rewrap-probe/v1');
/* Below every real (environment id, version) in keyset order: versions start at 1. */
const START = { environmentId: '00000000-0000-0000-0000-000000000000', version: 0 };

interface StaleKeyRow {
  environment_id: string;
  version: number;
  wrapped_key: Buffer;
}

export function targetProvider(registry: CipherProviderRegistry, providerId: string | undefined): CipherProvider {
  if (providerId === undefined) return registry.active;
  /* Precondition: the target is configured in this process (e.g. GCP_KMS_KEY_NAME for gcp-kms). */
  if (!registry.has(providerId)) {
    throw new BadUserInputError(
      'provider',
      `cipher provider '${providerId}' is not configured here (configured: ${registry.ids().join(', ')})`,
    );
  }
  return registry.get(providerId);
}

/**
 * The key ref new wraps record. Local knows it; KMS decides inside KMS (the
 * primary version can change at any time), so one throwaway Encrypt asks.
 */
export async function currentKeyRef(provider: CipherProvider): Promise<string> {
  const known = provider.primaryKeyRef?.();
  if (known) return known;
  const probe = generateKey();
  try {
    return (await provider.wrap(probe, PROBE_AAD)).keyRef;
  } catch (error) {
    if (isAppError(error)) throw error;
    throw new KeyProviderUnavailableError(provider.id);
  } finally {
    probe.fill(0);
  }
}

export async function rewrapEnvironmentKeys(
  deps: KeyRotationDeps,
  actor: Actor,
  options: RewrapOptions = {},
): Promise<RewrapResult> {
  const { db, registry, audit } = deps;
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const target = targetProvider(registry, options.providerId);
  const keyRef = await currentKeyRef(target);
  const stale = `NOT (provider_id = $1 AND key_ref = $2)`;

  const [counts]: { total: number; stale: number }[] = await db.query(
    `SELECT count(*)::int AS total, (count(*) FILTER (WHERE ${stale}))::int AS stale FROM environment_key`,
    [target.id, keyRef],
  );
  let total = counts.stale;
  let done = 0;
  let rewrapped = 0;
  let changedConcurrently = 0;
  options.onProgress?.({ done, total });

  async function rewrapOne(row: StaleKeyRow): Promise<boolean> {
    const { environment_id: environmentId, version } = row;
    const key = await unwrapEnvironmentKey(registry, row.wrapped_key, environmentId, version).catch((error) => {
      /* The operator needs to know which key cannot be opened (ids only; the run stops, nothing changed). */
      if (error instanceof DecryptionFailedError) {
        throw new DecryptionFailedError(`environment ${environmentId} key version ${version}: ${error.message}`);
      }
      throw error;
    });
    let wrapped;
    try {
      wrapped = await wrapEnvironmentKey(target, key, environmentId, version);
    } finally {
      key.fill(0);
    }
    return db.transaction(async (em) => {
      /* Compare-and-swap: a blob changed since it was read (another run) is left to whoever changed it. */
      const [swapped]: { n: number }[] = await em.query(
        `WITH swapped AS (
           UPDATE environment_key
              SET wrapped_key = $3, provider_id = $4, key_ref = $5, updated_at = now()
            WHERE environment_id = $1 AND version = $2 AND wrapped_key = $6
           RETURNING 1)
         SELECT count(*)::int AS n FROM swapped`,
        [environmentId, version, wrapped.blob, wrapped.providerId, wrapped.keyRef, row.wrapped_key],
      );
      if (swapped.n === 0) return false;
      await audit.append([{ action: AuditAction.KEY_REWRAPPED, tokenId: actor.tokenId, environmentId }], em);
      return true;
    });
  }

  /* Keyset pages keep memory flat however many environments there are. */
  let after = START;
  for (;;) {
    const page: StaleKeyRow[] = await db.query(
      `SELECT environment_id, version, wrapped_key FROM environment_key
        WHERE ${stale} AND (environment_id, version) > ($3::uuid, $4::int)
        ORDER BY environment_id, version
        LIMIT ${PAGE_SIZE}`,
      [target.id, keyRef, after.environmentId, after.version],
    );
    if (page.length === 0) break;
    const last = page[page.length - 1];
    after = { environmentId: last.environment_id, version: last.version };
    await forEachConcurrently(page, concurrency, async (row) => {
      if (await rewrapOne(row)) rewrapped += 1;
      else changedConcurrently += 1;
      done += 1;
      /* Keys made stale after the count (a new KMS primary, a new environment) are still moved. */
      total = Math.max(total, done);
      options.onProgress?.({ done, total });
    });
  }

  return {
    providerId: target.id,
    keyRef,
    environmentKeys: counts.total,
    rewrapped,
    alreadyCurrent: counts.total - counts.stale,
    changedConcurrently,
  };
}

import DataLoader from 'dataloader';
import type { DataSource } from 'typeorm';

import type { EnvironmentKeyStore } from './keyring';

interface KeyId {
  readonly environmentId: string;
  readonly version: number;
}

/**
 * Wrapped environment keys, read only on a keyring cache miss. Loads are
 * batched across concurrent requests (no caching here: the keyring caches the
 * unwrapped key), so a cold request touching many environments costs one
 * statement.
 */
export function createEnvironmentKeyStore(db: DataSource): EnvironmentKeyStore {
  const loader = new DataLoader<KeyId, Buffer | undefined, string>(
    async (ids) => {
      const rows: { environment_id: string; version: number; wrapped_key: Buffer }[] = await db.query(
        `SELECT k.environment_id, k.version, k.wrapped_key
           FROM environment_key k
           JOIN unnest($1::uuid[], $2::int[]) AS wanted (environment_id, version)
             ON wanted.environment_id = k.environment_id AND wanted.version = k.version`,
        [ids.map((id) => id.environmentId), ids.map((id) => id.version)],
      );
      const found = new Map(rows.map((r) => [`${r.environment_id}:${r.version}`, r.wrapped_key]));
      return ids.map((id) => found.get(`${id.environmentId}:${id.version}`));
    },
    { cache: false, cacheKeyFn: (id) => `${id.environmentId}:${id.version}` },
  );
  return { loadEnvironmentKeyBlob: (environmentId, version) => loader.load({ environmentId, version }) };
}

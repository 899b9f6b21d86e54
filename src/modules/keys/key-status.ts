import type { DataSource } from 'typeorm';

import type { CipherProviderRegistry } from '../../crypto/provider';
import { compareNames } from '../secret/resolution';
import type { EnvironmentKeyStatus, KeyStatus } from './key-rotation.types';

/*
 * `keys status`: where every environment key and data key stands, from the
 * copied provider_id/key_ref columns and key_version counts. Three grouped
 * statements, no provider call and no blob read, so it is cheap to run while
 * a rewrap or rotation is under way.
 */
export async function readKeyStatus(
  db: DataSource,
  registry: Pick<CipherProviderRegistry, 'active'>,
): Promise<KeyStatus> {
  const byMasterKey: { provider_id: string; key_ref: string; count: number }[] = await db.query(
    `SELECT provider_id, key_ref, count(*)::int AS count
       FROM environment_key GROUP BY provider_id, key_ref ORDER BY provider_id, key_ref`,
  );
  const environments: { id: string; name: string; current_key_version: number; versions: number[] }[] =
    await db.query(
      `SELECT e.id, e.name, e.current_key_version, array_agg(k.version ORDER BY k.version) AS versions
         FROM environment e JOIN environment_key k ON k.environment_id = e.id
        GROUP BY e.id, e.name, e.current_key_version`,
    );
  const dataKeys: { environment_id: string; key_version: number; count: number }[] = await db.query(
    `SELECT environment_id, key_version, count(*)::int AS count
       FROM (SELECT environment_id, key_version FROM secret
             UNION ALL SELECT environment_id, key_version FROM secret_version
             UNION ALL SELECT environment_id, key_version FROM webhook) k
      GROUP BY environment_id, key_version ORDER BY environment_id, key_version`,
  );

  const dataKeysOf = new Map<string, { keyVersion: number; count: number }[]>();
  for (const row of dataKeys) {
    const list = dataKeysOf.get(row.environment_id) ?? [];
    list.push({ keyVersion: row.key_version, count: row.count });
    dataKeysOf.set(row.environment_id, list);
  }
  const statuses: EnvironmentKeyStatus[] = environments
    .map((e) => ({
      environmentId: e.id,
      name: e.name,
      currentKeyVersion: e.current_key_version,
      keyVersions: e.versions.map(Number),
      dataKeys: dataKeysOf.get(e.id) ?? [],
      /* Only a rotation leaves a version below the current one behind. */
      rotationInProgress: e.versions.some((v) => Number(v) < e.current_key_version),
    }))
    .sort((a, b) => compareNames(a.name, b.name));

  return {
    activeProviderId: registry.active.id,
    primaryKeyRef: registry.active.primaryKeyRef?.() ?? null,
    environmentKeys: byMasterKey.map((r) => ({ providerId: r.provider_id, keyRef: r.key_ref, count: r.count })),
    environments: statuses,
  };
}

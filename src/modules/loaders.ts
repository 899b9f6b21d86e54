import DataLoader from 'dataloader';
import { In, type DataSource } from 'typeorm';

import type { Queryable } from '../db/statements';
import { Environment, Space, type Secret } from '../entities';
import type { AccessPolicy } from './access/access-policy';
import { compareNames, resolveEffectiveSecrets, type ResolvedSecret } from './secret/resolution';
import { placementKey, type Placement } from './placement';
import { findSecretsInPlacements } from './secret/secret.repository';

/*
 * Per-request reads for GraphQL. Batching: every nested list of a response is
 * fetched with one statement per kind, however many parents ask for it.
 * Visibility: every loader applies the request's access policy, so a thing
 * outside the token's reach reads as absent and resolvers never check
 * permissions themselves.
 */

function byId<T extends { id: string }>(rows: T[], ids: readonly string[]): (T | null)[] {
  const map = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => map.get(id) ?? null);
}

function groupBy<T>(rows: readonly T[], keyOf: (row: T) => string | null): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const key = keyOf(row);
    if (key === null) continue;
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  return groups;
}

export function createLoaders(db: DataSource, access: AccessPolicy, prepared: Queryable = db) {
  const environment = new DataLoader<string, Environment | null>(async (ids) => {
    const visible = ids.filter((id) => access.canSeeEnvironment(id));
    const rows = visible.length ? await db.getRepository(Environment).findBy({ id: In(visible) }) : [];
    return byId(rows, ids);
  });

  const space = new DataLoader<string, Space | null>(async (ids) => {
    const rows = await db.getRepository(Space).findBy({ id: In([...ids]) });
    return byId(
      rows.filter((s) => access.canSeeSpace(s)),
      ids,
    );
  });

  const spacesOfEnvironment = new DataLoader<string, Space[]>(async (environmentIds) => {
    const visible = environmentIds.filter((id) => access.canSeeEnvironment(id));
    const spaces = visible.length ? await db.getRepository(Space).findBy({ environmentId: In(visible) }) : [];
    const seen = spaces.filter((s) => access.canSeeSpace(s)).sort((a, b) => compareNames(a.name, b.name));
    for (const s of seen) space.prime(s.id, s);
    const groups = groupBy(seen, (s) => s.environmentId);
    return environmentIds.map((id) => groups.get(id) ?? []);
  });

  /** Effective secrets of each placement; an environment alone yields its own secrets. */
  const effectiveSecrets = new DataLoader<Placement, ResolvedSecret[], string>(
    async (placements) => {
      const visible = placements.filter((placement) => access.canSee(placement));
      const environmentIds = [...new Set(visible.map((s) => s.environmentId))];
      const spaceIds = [...new Set(visible.flatMap((s) => (s.spaceId ? [s.spaceId] : [])))];
      const rows = visible.length ? await findSecretsInPlacements(prepared, environmentIds, spaceIds) : [];
      const inherited = groupBy(rows, (s: Secret) => (s.spaceId === null ? s.environmentId : null));
      const own = groupBy(rows, (s: Secret) => s.spaceId);
      return placements.map((placement) =>
        access.canSee(placement)
          ? resolveEffectiveSecrets(
              inherited.get(placement.environmentId) ?? [],
              placement.spaceId ? (own.get(placement.spaceId) ?? []) : [],
            )
          : [],
      );
    },
    { cacheKeyFn: placementKey },
  );

  /** Every environment this token may see, sorted by name. */
  const environments = async (): Promise<Environment[]> => {
    const all = access.isAdmin
      ? await db.getRepository(Environment).find()
      : await db.getRepository(Environment).findBy({ id: access.principal.environmentId ?? undefined });
    for (const e of all) environment.prime(e.id, e);
    return all.sort((a, b) => compareNames(a.name, b.name));
  };

  return { environment, environments, space, spacesOfEnvironment, effectiveSecrets };
}

export type Loaders = ReturnType<typeof createLoaders>;

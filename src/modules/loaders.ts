import DataLoader from 'dataloader';
import { In, type DataSource } from 'typeorm';

import { Environment, Space, type Secret } from '../entities';
import { compareNames, resolveEffectiveSecrets, type ResolvedSecret } from './secret/resolution';
import type { Scope } from './secret/secret.service';
import { findSecretsInScopes } from './secret/secret.repository';

/*
 * Per-request batching: every nested list of a GraphQL response is fetched
 * with one statement per kind, however many parents ask for it.
 */

const scopeKey = (scope: Scope) => `${scope.environmentId}/${scope.spaceId ?? ''}`;

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

export function createLoaders(db: DataSource) {
  const environment = new DataLoader<string, Environment | null>(async (ids) =>
    byId(await db.getRepository(Environment).findBy({ id: In([...ids]) }), ids),
  );

  const space = new DataLoader<string, Space | null>(async (ids) =>
    byId(await db.getRepository(Space).findBy({ id: In([...ids]) }), ids),
  );

  const spacesOfEnvironment = new DataLoader<string, Space[]>(async (environmentIds) => {
    const spaces = await db.getRepository(Space).findBy({ environmentId: In([...environmentIds]) });
    spaces.sort((a, b) => compareNames(a.name, b.name));
    for (const s of spaces) space.prime(s.id, s);
    const groups = groupBy(spaces, (s) => s.environmentId);
    return environmentIds.map((id) => groups.get(id) ?? []);
  });

  /** Effective secrets of each scope; an environment-only scope yields its own secrets. */
  const effectiveSecrets = new DataLoader<Scope, ResolvedSecret[], string>(
    async (scopes) => {
      const environmentIds = [...new Set(scopes.map((s) => s.environmentId))];
      const spaceIds = [...new Set(scopes.flatMap((s) => (s.spaceId ? [s.spaceId] : [])))];
      const rows = await findSecretsInScopes(db, environmentIds, spaceIds);
      const inherited = groupBy(rows, (s: Secret) => (s.spaceId === null ? s.environmentId : null));
      const own = groupBy(rows, (s: Secret) => s.spaceId);
      return scopes.map((scope) =>
        resolveEffectiveSecrets(
          inherited.get(scope.environmentId) ?? [],
          scope.spaceId ? (own.get(scope.spaceId) ?? []) : [],
        ),
      );
    },
    { cacheKeyFn: scopeKey },
  );

  return { environment, space, spacesOfEnvironment, effectiveSecrets };
}

export type Loaders = ReturnType<typeof createLoaders>;

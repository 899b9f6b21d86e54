import DataLoader from 'dataloader';
import { In, type DataSource } from 'typeorm';

import type { Queryable } from '../db/statements';
import { Environment, Space, type Secret } from '../entities';
import type { AccessPolicy } from './access/access-policy';
import { compareNames, resolveEffectiveSecrets, type ResolvedSecret } from './secret/resolution';
import { placementKey, type Placement } from './placement';
import { findSecretsInPlacements, findVersions, type VersionRow } from './secret/secret.repository';
import { findDeliveries } from './webhook/webhook.repository';
import type { WebhookDelivery } from './webhook/webhook.types';

/** A placement as one actor sees it (no actor: shared secrets only). */
export interface View extends Placement {
  readonly actorId?: string | null;
}

const viewKey = (view: View) => `${placementKey(view)}/${view.actorId ?? ''}`;

/** A page of one secret's versions: `first` of them, below version `below` (a cursor) or from the newest. */
export interface VersionPage {
  readonly secretId: string;
  readonly first: number;
  readonly below: number | null;
}

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

  /** Effective secrets of each view (a placement, for an actor or not); an environment alone yields its own secrets. */
  const effectiveSecrets = new DataLoader<View, ResolvedSecret[], string>(
    async (views) => {
      const rows = await rowsByActor(views, (environmentIds, spaceIds, actorId) =>
        findSecretsInPlacements(prepared, environmentIds, spaceIds, actorId),
      );
      return views.map((view) => {
        if (!access.canSee(view)) return [];
        const of = rows.get(view.actorId ?? null) ?? [];
        return resolveEffectiveSecrets(
          of.filter((s) => s.spaceId === null && s.environmentId === view.environmentId),
          view.spaceId ? of.filter((s) => s.spaceId === view.spaceId) : [],
          view.actorId ?? null,
        );
      });
    },
    { cacheKeyFn: viewKey },
  );

  /** Personal secrets placed exactly at each view's level (the environment's own, or the space's), of one actor or of all. */
  const personalSecrets = new DataLoader<View, Secret[], string>(
    async (views) => {
      const rows = await rowsByActor(views, (environmentIds, spaceIds, actorId) =>
        findSecretsInPlacements(prepared, environmentIds, spaceIds, actorId, true),
      );
      return views.map((view) =>
        access.canSee(view)
          ? (rows.get(view.actorId ?? null) ?? [])
              .filter((s) => s.environmentId === view.environmentId && s.spaceId === view.spaceId)
              .sort((a, b) => compareNames(a.name, b.name) || compareNames(a.actorId ?? '', b.actorId ?? ''))
          : [],
      );
    },
    { cacheKeyFn: viewKey },
  );

  /** One statement per distinct actor among `views` (usually one), for the placements this token may see. */
  async function rowsByActor(
    views: readonly View[],
    find: (environmentIds: string[], spaceIds: string[], actorId: string | null) => Promise<Secret[]>,
  ): Promise<Map<string | null, Secret[]>> {
    const byActor = groupBy(
      views.filter((view) => access.canSee(view)),
      (view) => view.actorId ?? '\u0000',
    );
    const found = new Map<string | null, Secret[]>();
    await Promise.all(
      [...byActor.values()].map(async (group) => {
        const actorId = group[0].actorId ?? null;
        const environmentIds = [...new Set(group.map((v) => v.environmentId))];
        const spaceIds = [...new Set(group.flatMap((v) => (v.spaceId ? [v.spaceId] : [])))];
        found.set(actorId, await find(environmentIds, spaceIds, actorId));
      }),
    );
    return found;
  }

  /** Retained versions of each secret, newest first: one statement per distinct page shape, however many secrets. */
  const versions = new DataLoader<VersionPage, VersionRow[], string>(
    async (pages) => {
      const groups = groupBy(pages, (page) => `${page.first}/${page.below ?? ''}`);
      const found = new Map<string, VersionRow[]>();
      await Promise.all(
        [...groups.values()].map(async (group) => {
          const { first, below } = group[0];
          const rows = await findVersions(prepared, [...new Set(group.map((p) => p.secretId))], below, first + 1);
          for (const [secretId, list] of groupBy(rows, (r) => r.secret_id)) found.set(`${secretId}/${first}/${below ?? ''}`, list);
        }),
      );
      return pages.map((page) => found.get(`${page.secretId}/${page.first}/${page.below ?? ''}`) ?? []);
    },
    { cacheKeyFn: (page) => `${page.secretId}/${page.first}/${page.below ?? ''}` },
  );

  /** Every environment this token may see, sorted by name. */
  const environments = async (): Promise<Environment[]> => {
    const all = access.isAdmin
      ? await db.getRepository(Environment).find()
      : await db.getRepository(Environment).findBy({ id: access.principal.environmentId ?? undefined });
    for (const e of all) environment.prime(e.id, e);
    return all.sort((a, b) => compareNames(a.name, b.name));
  };

  /** The newest deliveries of each webhook (ADMIN only reaches webhooks): one statement per page size. */
  const deliveries = new DataLoader<{ webhookId: string; first: number }, WebhookDelivery[], string>(
    async (pages) => {
      const found = new Map<string, WebhookDelivery[]>();
      for (const [first, group] of groupBy(pages, (p) => String(p.first))) {
        const rows = await findDeliveries(prepared, [...new Set(group.map((p) => p.webhookId))], Number(first));
        for (const [webhookId, list] of groupBy(rows, (r) => r.webhookId)) found.set(`${webhookId}/${first}`, list);
      }
      return pages.map((p) => found.get(`${p.webhookId}/${p.first}`) ?? []);
    },
    { cacheKeyFn: (p) => `${p.webhookId}/${p.first}` },
  );

  return { environment, environments, space, spacesOfEnvironment, effectiveSecrets, personalSecrets, versions, deliveries };
}

export type Loaders = ReturnType<typeof createLoaders>;

/**
 * A request's loaders, built on first use: most requests (a listener's read
 * of one name, REST) never use them, and building them was a measurable
 * share of such a request's allocations. A proxy rather than a getter on the
 * context, because Apollo copies the context per operation (which would call
 * a getter).
 */
export function lazyLoaders(make: () => Loaders): Loaders {
  let loaders: Loaders | undefined;
  return new Proxy({} as Loaders, {
    get: (_target, key) => (loaders ??= make())[key as keyof Loaders],
  });
}

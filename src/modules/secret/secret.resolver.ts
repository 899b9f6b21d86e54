import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';

import { Environment, Secret, Space } from '../../entities';
import { BadUserInputError } from '../../errors';
import { Capability } from '../access/access-policy';
import { Requires } from '../access/requires';
import { listCost, pageCost } from '../cost';
import type { RequestContext } from '../request/request-context';
import { checkOptional, pageSizeSchema } from '../validation';
import type { SecretService } from './secret.service';
import {
  EffectiveSecret,
  RollbackSecretInput,
  SecretVersion,
  SecretVersionConnection,
  UpsertSecretInput,
} from './secret.types';

const VIEW_ARGS =
  "A LISTENER's arguments default to its binding; one bound to a space always resolves within that space. With actorId, that actor's personal values come first: (S, A), (E, A), (S), (E).";
const VALUE = 'Decrypted on demand, only when selected. LISTENER tokens only.';
const ACTOR = 'An actor (user, agent or guest id): its personal values win over shared ones.';

const DEFAULT_VERSIONS = 20;
const MAX_VERSIONS = 100;
const versionCursor = (version: number) => Buffer.from(`version:${version}`).toString('base64url');
function belowCursor(after: string | null | undefined): number | null {
  if (after === null || after === undefined) return null;
  const match = /^version:(\d{1,10})$/.exec(Buffer.from(after, 'base64url').toString('utf8'));
  const version = match ? Number(match[1]) : NaN;
  if (!Number.isSafeInteger(version) || version < 1) throw new BadUserInputError('after', 'after is not a cursor returned by versions');
  return version;
}

@Resolver(() => Secret)
export class SecretResolver {
  constructor(private readonly service: SecretService) {}

  @Query(() => EffectiveSecret, {
    description: `Resolves one name like a listener's event.secrets: with a spaceId the space's own secret wins, else the environment's. ${VIEW_ARGS} With version, the value is the supplying secret's at that retained version (NOT_FOUND when pruned or never written).`,
  })
  async secret(
    @Arg('name') name: string,
    @Arg('environmentId', () => ID, { nullable: true }) environmentId: string | null,
    @Arg('spaceId', () => ID, { nullable: true }) spaceId: string | null,
    @Arg('actorId', () => String, { nullable: true, description: ACTOR }) actorId: string | null,
    @Arg('version', () => Int, { nullable: true }) version: number | null,
    @Ctx() { access }: RequestContext,
  ): Promise<EffectiveSecret> {
    return this.service.resolve(access, name, { environmentId, spaceId, actorId, version });
  }

  @Query(() => [EffectiveSecret], {
    description: `The effective list of a space, or of an environment, sorted by name. ${VIEW_ARGS}`,
    complexity: listCost,
  })
  async effectiveSecrets(
    @Arg('environmentId', () => ID, { nullable: true }) environmentId: string | null,
    @Arg('spaceId', () => ID, { nullable: true }) spaceId: string | null,
    @Arg('actorId', () => String, { nullable: true, description: ACTOR }) actorId: string | null,
    @Ctx() { access }: RequestContext,
  ): Promise<EffectiveSecret[]> {
    return this.service.effectiveIn(access, { environmentId, spaceId, actorId });
  }

  @Requires(Capability.MANAGE)
  @Query(() => [Secret], {
    description: "Deleted secrets of an environment (its own) or of one space, newest deletion first: what restoreSecret can bring back.",
    complexity: listCost,
  })
  deletedSecrets(
    @Arg('environmentId', () => ID) environmentId: string,
    @Arg('spaceId', () => ID, { nullable: true }) spaceId: string | null,
    @Ctx() { access }: RequestContext,
  ): Promise<Secret[]> {
    return this.service.deletedIn(access, { environmentId, spaceId });
  }

  @Requires(Capability.MANAGE)
  @Mutation(() => Secret, { description: 'Creates or replaces a value; the version grows by one on every write, and the replaced one is kept.' })
  upsertSecret(@Arg('input') input: UpsertSecretInput, @Ctx() { access }: RequestContext): Promise<Secret> {
    return this.service.upsert(access, input);
  }

  @Requires(Capability.MANAGE)
  @Mutation(() => Secret, { description: "A new version holding a retained version's value, re-sealed by the server." })
  rollbackSecret(@Arg('input') input: RollbackSecretInput, @Ctx() { access }: RequestContext): Promise<Secret> {
    return this.service.rollback(access, input);
  }

  @Requires(Capability.MANAGE)
  @Mutation(() => ID, { description: 'Takes the secret out of resolution at once; restorable until purged. The version does not change.' })
  async deleteSecret(@Arg('id', () => ID) id: string, @Ctx() { access }: RequestContext): Promise<string> {
    return (await this.service.delete(access, id)).id;
  }

  @Requires(Capability.MANAGE)
  @Mutation(() => Secret, { description: 'A deleted secret back, as a new version of its last value.' })
  restoreSecret(@Arg('id', () => ID) id: string, @Ctx() { access }: RequestContext): Promise<Secret> {
    return this.service.restore(access, id);
  }

  @Requires(Capability.MANAGE)
  @Mutation(() => ID, { description: 'Every version gone now, live or deleted; irreversible. The name is free again.' })
  async destroySecret(@Arg('id', () => ID) id: string, @Ctx() { access }: RequestContext): Promise<string> {
    return (await this.service.destroy(access, id)).id;
  }

  @FieldResolver(() => Environment)
  async environment(@Root() secret: Secret, @Ctx() { loaders }: RequestContext): Promise<Environment> {
    return (await loaders.environment.load(secret.environmentId))!;
  }

  @FieldResolver(() => Space, { nullable: true, description: 'Null for environment-level secrets.' })
  space(@Root() secret: Secret, @Ctx() { loaders }: RequestContext): Promise<Space | null> | null {
    return secret.spaceId === null ? null : loaders.space.load(secret.spaceId);
  }

  @Requires(Capability.READ_VALUES)
  @FieldResolver(() => String, { description: VALUE })
  value(@Root() secret: Secret, @Ctx() context: RequestContext): string | Promise<string> {
    return this.service.reveal(context, secret);
  }

  @FieldResolver(() => SecretVersionConnection, {
    description: `Retained versions, newest first, the current one included (SECRET_VERSIONS_KEPT). first: 1-${MAX_VERSIONS} (default ${DEFAULT_VERSIONS}).`,
    complexity: pageCost(DEFAULT_VERSIONS),
  })
  async versions(
    @Root() secret: Secret,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() { loaders }: RequestContext,
  ): Promise<SecretVersionConnection> {
    const count = checkOptional(pageSizeSchema(MAX_VERSIONS), 'first', first) ?? DEFAULT_VERSIONS;
    const rows = await loaders.versions.load({ secretId: secret.id, first: count, below: belowCursor(after) });
    const page = rows.slice(0, count);
    const edges = page.map((row) => ({
      cursor: versionCursor(row.version),
      node: Object.assign(new SecretVersion(), {
        version: row.version,
        createdAt: row.created_at,
        tokenId: row.written_by,
        restoredFrom: row.restored_from,
        secret,
        row,
      }),
    }));
    return { edges, pageInfo: { hasNextPage: rows.length > count, endCursor: edges.at(-1)?.cursor ?? null } };
  }
}

@Resolver(() => EffectiveSecret)
export class EffectiveSecretResolver {
  constructor(private readonly service: SecretService) {}

  @Requires(Capability.READ_VALUES)
  @FieldResolver(() => String, { description: `${VALUE} With a pinned version, that version's value.` })
  value(@Root() effective: EffectiveSecret, @Ctx() context: RequestContext): string | Promise<string> {
    return this.service.reveal(context, effective.secret);
  }
}

@Resolver(() => SecretVersion)
export class SecretVersionResolver {
  constructor(private readonly service: SecretService) {}

  @Requires(Capability.READ_VALUES)
  @FieldResolver(() => String, { description: `${VALUE} Audited as a read of this version.` })
  value(@Root() version: SecretVersion, @Ctx() context: RequestContext): string | Promise<string> {
    return this.service.revealVersion(context, version.secret, version.row);
  }
}

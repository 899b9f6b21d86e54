import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';

import { Environment, Secret, SecretScope, Space } from '../../entities';
import { Capability } from '../access/access-policy';
import type { RequestContext } from '../request/request-context';
import { Requires } from '../access/requires';
import { listCost } from '../cost';
import { EffectiveSecret } from '../secret/secret.types';
import { check, idSchema, optionalActorId } from '../validation';
import type { SpaceService } from './space.service';
import { CreateSpaceInput } from './space.types';

@Resolver(() => Space)
export class SpaceResolver {
  constructor(private readonly service: SpaceService) {}

  @Query(() => Space, { nullable: true, description: 'Null when missing or out of reach.' })
  space(@Arg('id', () => ID) id: string, @Ctx() { loaders }: RequestContext): Promise<Space | null> {
    return loaders.space.load(check(idSchema, 'id', id));
  }

  @Requires(Capability.MANAGE)
  @Mutation(() => Space)
  createSpace(@Arg('input') input: CreateSpaceInput, @Ctx() { access }: RequestContext): Promise<Space> {
    return this.service.create(access, input);
  }

  @Requires(Capability.MANAGE)
  @Mutation(() => ID, { description: "Deletes the space and its overrides; the environment's secrets stay." })
  async deleteSpace(@Arg('id', () => ID) id: string, @Ctx() { access }: RequestContext): Promise<string> {
    return (await this.service.delete(access, id)).id;
  }

  @FieldResolver(() => Environment)
  async environment(@Root() space: Space, @Ctx() { loaders }: RequestContext): Promise<Environment> {
    return (await loaders.environment.load(space.environmentId))!;
  }

  @FieldResolver(() => [Secret], {
    description: "This space's own shared secrets (its overrides and additions), sorted by name.",
    complexity: listCost,
  })
  async secrets(@Root() space: Space, @Ctx() { loaders }: RequestContext): Promise<Secret[]> {
    const effective = await loaders.effectiveSecrets.load({ environmentId: space.environmentId, spaceId: space.id });
    return effective.filter((e) => e.source === SecretScope.SPACE).map((e) => e.secret);
  }

  @FieldResolver(() => [EffectiveSecret], {
    description: "The environment's secrets with this space's overrides applied, sorted by name.",
    complexity: listCost,
  })
  effectiveSecrets(
    @Root() space: Space,
    @Arg('actorId', () => String, { nullable: true, description: 'As this actor: its personal values first, (S, A), (E, A), (S), (E).' })
    actorId: string | null,
    @Ctx() { loaders }: RequestContext,
  ): Promise<EffectiveSecret[]> {
    return loaders.effectiveSecrets.load({ environmentId: space.environmentId, spaceId: space.id, actorId: optionalActorId(actorId) });
  }

  @FieldResolver(() => [Secret], {
    description: "This space's personal secrets, of one actor or (without actorId) of every actor, sorted by name.",
    complexity: listCost,
  })
  personalSecrets(
    @Root() space: Space,
    @Arg('actorId', () => String, { nullable: true }) actorId: string | null,
    @Ctx() { loaders }: RequestContext,
  ): Promise<Secret[]> {
    return loaders.personalSecrets.load({ environmentId: space.environmentId, spaceId: space.id, actorId: optionalActorId(actorId) });
  }
}

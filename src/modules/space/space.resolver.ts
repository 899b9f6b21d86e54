import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';

import { Environment, Secret, SecretScope, Space, TokenRole } from '../../entities';
import type { Context } from '../context';
import { EffectiveSecret } from '../secret/secret.types';
import { check, idSchema } from '../validation';
import type { SpaceService } from './space.service';
import { CreateSpaceInput } from './space.types';

@Resolver(() => Space)
export class SpaceResolver {
  constructor(private readonly service: SpaceService) {}

  @Authorized()
  @Query(() => Space, { nullable: true, description: 'Null when missing or out of reach.' })
  space(@Arg('id', () => ID) id: string, @Ctx() { loaders }: Context): Promise<Space | null> {
    return loaders.space.load(check(idSchema, 'id', id));
  }

  @Authorized(TokenRole.ADMIN)
  @Mutation(() => Space)
  createSpace(@Arg('input') input: CreateSpaceInput, @Ctx() { access }: Context): Promise<Space> {
    return this.service.create(input, access.principal);
  }

  @Authorized(TokenRole.ADMIN)
  @Mutation(() => ID, { description: "Deletes the space and its overrides; the environment's secrets stay." })
  async deleteSpace(@Arg('id', () => ID) id: string, @Ctx() { access }: Context): Promise<string> {
    return (await this.service.delete(id, access.principal)).id;
  }

  @FieldResolver(() => Environment)
  async environment(@Root() space: Space, @Ctx() { loaders }: Context): Promise<Environment> {
    return (await loaders.environment.load(space.environmentId))!;
  }

  @FieldResolver(() => [Secret], { description: "This space's own secrets (its overrides and additions), sorted by name." })
  async secrets(@Root() space: Space, @Ctx() { loaders }: Context): Promise<Secret[]> {
    const effective = await loaders.effectiveSecrets.load({ environmentId: space.environmentId, spaceId: space.id });
    return effective.filter((e) => e.source === SecretScope.SPACE).map((e) => e.secret);
  }

  @FieldResolver(() => [EffectiveSecret], {
    description: "The environment's secrets with this space's overrides applied, sorted by name.",
  })
  effectiveSecrets(@Root() space: Space, @Ctx() { loaders }: Context): Promise<EffectiveSecret[]> {
    return loaders.effectiveSecrets.load({ environmentId: space.environmentId, spaceId: space.id });
  }
}

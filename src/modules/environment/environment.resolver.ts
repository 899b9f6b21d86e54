import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';

import { Environment, Secret, Space } from '../../entities';
import { Capability } from '../access/access-policy';
import type { RequestContext } from '../request/request-context';
import { Requires } from '../access/requires';
import { listCost } from '../cost';
import { EffectiveSecret } from '../secret/secret.types';
import { check, idSchema, optionalActorId } from '../validation';
import type { EnvironmentService } from './environment.service';
import { CreateEnvironmentInput } from './environment.types';

@Resolver(() => Environment)
export class EnvironmentResolver {
  constructor(private readonly service: EnvironmentService) {}

  @Query(() => [Environment], { description: 'The environments this token may see, sorted by name.', complexity: listCost })
  environments(@Ctx() { loaders }: RequestContext): Promise<Environment[]> {
    return loaders.environments();
  }

  @Query(() => Environment, { nullable: true, description: 'Null when missing or out of reach.' })
  environment(@Arg('id', () => ID) id: string, @Ctx() { loaders }: RequestContext): Promise<Environment | null> {
    return loaders.environment.load(check(idSchema, 'id', id));
  }

  @Requires(Capability.MANAGE)
  @Mutation(() => Environment)
  createEnvironment(@Arg('input') input: CreateEnvironmentInput, @Ctx() { access }: RequestContext): Promise<Environment> {
    return this.service.create(access, input);
  }

  @Requires(Capability.MANAGE)
  @Mutation(() => ID, { description: 'Deletes the environment with its spaces, secrets and listener tokens.' })
  async deleteEnvironment(@Arg('id', () => ID) id: string, @Ctx() { access }: RequestContext): Promise<string> {
    return (await this.service.delete(access, id)).id;
  }

  @FieldResolver(() => [Space], { description: 'Sorted by name.', complexity: listCost })
  spaces(@Root() environment: Environment, @Ctx() { loaders }: RequestContext): Promise<Space[]> {
    return loaders.spacesOfEnvironment.load(environment.id);
  }

  @FieldResolver(() => [Secret], { description: 'Shared environment-level secrets, sorted by name.', complexity: listCost })
  async secrets(@Root() environment: Environment, @Ctx() { loaders }: RequestContext): Promise<Secret[]> {
    const effective = await loaders.effectiveSecrets.load({ environmentId: environment.id, spaceId: null });
    return effective.map((e) => e.secret);
  }

  @FieldResolver(() => [EffectiveSecret], {
    description: 'What a listener bound to this environment sees; with actorId, as that actor (its personal values first).',
    complexity: listCost,
  })
  effectiveSecrets(
    @Root() environment: Environment,
    @Arg('actorId', () => String, { nullable: true }) actorId: string | null,
    @Ctx() { loaders }: RequestContext,
  ): Promise<EffectiveSecret[]> {
    return loaders.effectiveSecrets.load({ environmentId: environment.id, spaceId: null, actorId: optionalActorId(actorId) });
  }

  @FieldResolver(() => [Secret], {
    description: "Personal secrets at environment level, of one actor or (without actorId) of every actor, sorted by name.",
    complexity: listCost,
  })
  personalSecrets(
    @Root() environment: Environment,
    @Arg('actorId', () => String, { nullable: true }) actorId: string | null,
    @Ctx() { loaders }: RequestContext,
  ): Promise<Secret[]> {
    return loaders.personalSecrets.load({ environmentId: environment.id, spaceId: null, actorId: optionalActorId(actorId) });
  }
}

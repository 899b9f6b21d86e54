import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';

import { Environment, Secret, Space, TokenRole } from '../../entities';
import type { Context } from '../context';
import { EffectiveSecret } from '../secret/secret.types';
import { check, idSchema } from '../validation';
import type { EnvironmentService } from './environment.service';
import { CreateEnvironmentInput } from './environment.types';

@Resolver(() => Environment)
export class EnvironmentResolver {
  constructor(private readonly service: EnvironmentService) {}

  @Authorized()
  @Query(() => [Environment], { description: 'The environments this token may see, sorted by name.' })
  environments(@Ctx() { loaders }: Context): Promise<Environment[]> {
    return loaders.environments();
  }

  @Authorized()
  @Query(() => Environment, { nullable: true, description: 'Null when missing or out of reach.' })
  environment(@Arg('id', () => ID) id: string, @Ctx() { loaders }: Context): Promise<Environment | null> {
    return loaders.environment.load(check(idSchema, 'id', id));
  }

  @Authorized(TokenRole.ADMIN)
  @Mutation(() => Environment)
  createEnvironment(@Arg('input') input: CreateEnvironmentInput, @Ctx() { access }: Context): Promise<Environment> {
    return this.service.create(input, access.principal);
  }

  @Authorized(TokenRole.ADMIN)
  @Mutation(() => ID, { description: 'Deletes the environment with its spaces, secrets and listener tokens.' })
  async deleteEnvironment(@Arg('id', () => ID) id: string, @Ctx() { access }: Context): Promise<string> {
    return (await this.service.delete(id, access.principal)).id;
  }

  @FieldResolver(() => [Space], { description: 'Sorted by name.' })
  spaces(@Root() environment: Environment, @Ctx() { loaders }: Context): Promise<Space[]> {
    return loaders.spacesOfEnvironment.load(environment.id);
  }

  @FieldResolver(() => [Secret], { description: 'Environment-level secrets, sorted by name.' })
  async secrets(@Root() environment: Environment, @Ctx() { loaders }: Context): Promise<Secret[]> {
    const effective = await loaders.effectiveSecrets.load({ environmentId: environment.id, spaceId: null });
    return effective.map((e) => e.secret);
  }

  @FieldResolver(() => [EffectiveSecret], { description: 'What a listener bound to this environment sees.' })
  effectiveSecrets(@Root() environment: Environment, @Ctx() { loaders }: Context): Promise<EffectiveSecret[]> {
    return loaders.effectiveSecrets.load({ environmentId: environment.id, spaceId: null });
  }
}

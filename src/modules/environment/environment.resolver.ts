import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';

import { Environment, Secret, Space } from '../../entities';
import type { Context } from '../context';
import { EffectiveSecret } from '../secret/secret.types';
import type { EnvironmentService } from './environment.service';
import { CreateEnvironmentInput } from './environment.types';

@Resolver(() => Environment)
export class EnvironmentResolver {
  constructor(private readonly service: EnvironmentService) {}

  @Query(() => [Environment], { description: 'All environments, sorted by name.' })
  environments(): Promise<Environment[]> {
    return this.service.list();
  }

  @Query(() => Environment, { nullable: true, description: 'Null when missing or out of reach.' })
  environment(@Arg('id', () => ID) id: string): Promise<Environment | null> {
    return this.service.get(id);
  }

  @Mutation(() => Environment)
  createEnvironment(@Arg('input') input: CreateEnvironmentInput): Promise<Environment> {
    return this.service.create(input);
  }

  @Mutation(() => ID, { description: 'Deletes the environment with its spaces and secrets.' })
  async deleteEnvironment(@Arg('id', () => ID) id: string): Promise<string> {
    return (await this.service.delete(id)).id;
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

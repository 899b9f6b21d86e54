import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';

import { Environment, Secret, Space } from '../../entities';
import type { Context } from '../context';
import type { SecretService } from './secret.service';
import { EffectiveSecret, UpsertSecretInput } from './secret.types';

@Resolver(() => Secret)
export class SecretResolver {
  constructor(private readonly service: SecretService) {}

  @Query(() => EffectiveSecret, {
    description:
      "Resolves one name like a listener's event.secrets: with a spaceId the space's own secret wins, else the environment's.",
  })
  async secret(
    @Arg('name') name: string,
    @Arg('environmentId', () => ID, { nullable: true }) environmentId: string | null,
    @Arg('spaceId', () => ID, { nullable: true }) spaceId: string | null,
  ): Promise<EffectiveSecret> {
    return this.service.resolve(name, await this.service.resolveScope({ environmentId, spaceId }));
  }

  @Query(() => [EffectiveSecret], { description: 'The effective list of a space, or of an environment. Sorted by name.' })
  async effectiveSecrets(
    @Arg('environmentId', () => ID, { nullable: true }) environmentId: string | null,
    @Arg('spaceId', () => ID, { nullable: true }) spaceId: string | null,
    @Ctx() { loaders }: Context,
  ): Promise<EffectiveSecret[]> {
    const scope = await this.service.resolveScope({ environmentId, spaceId });
    return loaders.effectiveSecrets.load({ environmentId: scope.environmentId, spaceId: scope.spaceId });
  }

  @Mutation(() => Secret, { description: 'Creates or replaces a value; the version grows by one on every write.' })
  upsertSecret(@Arg('input') input: UpsertSecretInput): Promise<Secret> {
    return this.service.upsert(input);
  }

  @Mutation(() => ID)
  async deleteSecret(@Arg('id', () => ID) id: string): Promise<string> {
    return (await this.service.delete(id)).id;
  }

  @FieldResolver(() => Environment)
  async environment(@Root() secret: Secret, @Ctx() { loaders }: Context): Promise<Environment> {
    return (await loaders.environment.load(secret.environmentId))!;
  }

  @FieldResolver(() => Space, { nullable: true, description: 'Null for environment-level secrets.' })
  space(@Root() secret: Secret, @Ctx() { loaders }: Context): Promise<Space | null> | null {
    return secret.spaceId === null ? null : loaders.space.load(secret.spaceId);
  }

  @FieldResolver(() => String, { description: 'Decrypted on demand, only when selected.' })
  value(@Root() secret: Secret): Promise<string> {
    return this.service.reveal(secret);
  }
}

@Resolver(() => EffectiveSecret)
export class EffectiveSecretResolver {
  constructor(private readonly service: SecretService) {}

  @FieldResolver(() => String, { description: 'Decrypted on demand, only when selected.' })
  value(@Root() effective: EffectiveSecret): Promise<string> {
    return this.service.reveal(effective.secret);
  }
}

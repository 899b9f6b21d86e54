import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';

import { Environment, Secret, Space, TokenRole } from '../../entities';
import type { Context } from '../context';
import type { SecretService } from './secret.service';
import { EffectiveSecret, UpsertSecretInput } from './secret.types';

const SCOPE_ARGS =
  "A LISTENER's arguments default to its binding; one bound to a space always resolves within that space.";

@Resolver(() => Secret)
export class SecretResolver {
  constructor(private readonly service: SecretService) {}

  @Authorized()
  @Query(() => EffectiveSecret, {
    description: `Resolves one name like a listener's event.secrets: with a spaceId the space's own secret wins, else the environment's. ${SCOPE_ARGS}`,
  })
  async secret(
    @Arg('name') name: string,
    @Arg('environmentId', () => ID, { nullable: true }) environmentId: string | null,
    @Arg('spaceId', () => ID, { nullable: true }) spaceId: string | null,
    @Ctx() { access }: Context,
  ): Promise<EffectiveSecret> {
    return this.service.resolve(name, { environmentId, spaceId }, access);
  }

  @Authorized()
  @Query(() => [EffectiveSecret], { description: `The effective list of a space, or of an environment, sorted by name. ${SCOPE_ARGS}` })
  async effectiveSecrets(
    @Arg('environmentId', () => ID, { nullable: true }) environmentId: string | null,
    @Arg('spaceId', () => ID, { nullable: true }) spaceId: string | null,
    @Ctx() { access }: Context,
  ): Promise<EffectiveSecret[]> {
    return this.service.effectiveIn({ environmentId, spaceId }, access);
  }

  @Authorized(TokenRole.ADMIN)
  @Mutation(() => Secret, { description: 'Creates or replaces a value; the version grows by one on every write.' })
  upsertSecret(@Arg('input') input: UpsertSecretInput, @Ctx() { access }: Context): Promise<Secret> {
    return this.service.upsert(input, access.principal);
  }

  @Authorized(TokenRole.ADMIN)
  @Mutation(() => ID)
  async deleteSecret(@Arg('id', () => ID) id: string, @Ctx() { access }: Context): Promise<string> {
    return (await this.service.delete(id, access.principal)).id;
  }

  @FieldResolver(() => Environment)
  async environment(@Root() secret: Secret, @Ctx() { loaders }: Context): Promise<Environment> {
    return (await loaders.environment.load(secret.environmentId))!;
  }

  @FieldResolver(() => Space, { nullable: true, description: 'Null for environment-level secrets.' })
  space(@Root() secret: Secret, @Ctx() { loaders }: Context): Promise<Space | null> | null {
    return secret.spaceId === null ? null : loaders.space.load(secret.spaceId);
  }

  @FieldResolver(() => String, { description: 'Decrypted on demand, only when selected. LISTENER tokens only.' })
  value(@Root() secret: Secret, @Ctx() context: Context): string | Promise<string> {
    return this.service.reveal(secret, context);
  }
}

@Resolver(() => EffectiveSecret)
export class EffectiveSecretResolver {
  constructor(private readonly service: SecretService) {}

  @FieldResolver(() => String, { description: 'Decrypted on demand, only when selected. LISTENER tokens only.' })
  value(@Root() effective: EffectiveSecret, @Ctx() context: Context): string | Promise<string> {
    return this.service.reveal(effective.secret, context);
  }
}

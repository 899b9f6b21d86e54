import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';

import { Environment, Secret, Space } from '../../entities';
import { Capability } from '../access/access-policy';
import type { RequestContext } from '../request/request-context';
import { Requires } from '../access/requires';
import { listCost } from '../cost';
import type { SecretService } from './secret.service';
import { EffectiveSecret, UpsertSecretInput } from './secret.types';

const PLACEMENT_ARGS =
  "A LISTENER's arguments default to its binding; one bound to a space always resolves within that space.";
const VALUE = 'Decrypted on demand, only when selected. LISTENER tokens only.';

@Resolver(() => Secret)
export class SecretResolver {
  constructor(private readonly service: SecretService) {}

  @Query(() => EffectiveSecret, {
    description: `Resolves one name like a listener's event.secrets: with a spaceId the space's own secret wins, else the environment's. ${PLACEMENT_ARGS}`,
  })
  async secret(
    @Arg('name') name: string,
    @Arg('environmentId', () => ID, { nullable: true }) environmentId: string | null,
    @Arg('spaceId', () => ID, { nullable: true }) spaceId: string | null,
    @Ctx() { access }: RequestContext,
  ): Promise<EffectiveSecret> {
    return this.service.resolve(access, name, { environmentId, spaceId });
  }

  @Query(() => [EffectiveSecret], {
    description: `The effective list of a space, or of an environment, sorted by name. ${PLACEMENT_ARGS}`,
    complexity: listCost,
  })
  async effectiveSecrets(
    @Arg('environmentId', () => ID, { nullable: true }) environmentId: string | null,
    @Arg('spaceId', () => ID, { nullable: true }) spaceId: string | null,
    @Ctx() { access }: RequestContext,
  ): Promise<EffectiveSecret[]> {
    return this.service.effectiveIn(access, { environmentId, spaceId });
  }

  @Requires(Capability.MANAGE)
  @Mutation(() => Secret, { description: 'Creates or replaces a value; the version grows by one on every write.' })
  upsertSecret(@Arg('input') input: UpsertSecretInput, @Ctx() { access }: RequestContext): Promise<Secret> {
    return this.service.upsert(access, input);
  }

  @Requires(Capability.MANAGE)
  @Mutation(() => ID)
  async deleteSecret(@Arg('id', () => ID) id: string, @Ctx() { access }: RequestContext): Promise<string> {
    return (await this.service.delete(access, id)).id;
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
}

@Resolver(() => EffectiveSecret)
export class EffectiveSecretResolver {
  constructor(private readonly service: SecretService) {}

  @Requires(Capability.READ_VALUES)
  @FieldResolver(() => String, { description: VALUE })
  value(@Root() effective: EffectiveSecret, @Ctx() context: RequestContext): string | Promise<string> {
    return this.service.reveal(context, effective.secret);
  }
}

import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';

import { ApiToken } from '../../entities';
import { Capability } from '../access/access-policy';
import { CreateApiTokenInput, CreatedApiToken } from './token.types';
import type { RequestContext } from '../request/request-context';
import { listCost } from '../cost';
import { Requires } from '../access/requires';
import type { TokenService } from './token.service';

@Resolver(() => ApiToken)
export class TokenResolver {
  constructor(private readonly service: TokenService) {}

  @Query(() => ApiToken, { description: 'The token this request carries.' })
  viewer(@Ctx() { access }: RequestContext): Promise<ApiToken> {
    return this.service.viewer(access);
  }

  @Requires(Capability.MANAGE)
  @Query(() => [ApiToken], { description: 'Every token, revoked ones included, oldest first.', complexity: listCost })
  apiTokens(@Ctx() { access }: RequestContext): Promise<ApiToken[]> {
    return this.service.list(access);
  }

  @Requires(Capability.MANAGE)
  @Mutation(() => CreatedApiToken, { description: 'The token string is in the answer and nowhere else, ever.' })
  createApiToken(@Arg('input') input: CreateApiTokenInput, @Ctx() { access }: RequestContext): Promise<CreatedApiToken> {
    return this.service.create(access, input);
  }

  @Requires(Capability.MANAGE)
  @Mutation(() => ApiToken, { description: 'Takes effect from the next request. Revoking twice changes nothing.' })
  revokeApiToken(@Arg('id', () => ID) id: string, @Ctx() { access }: RequestContext): Promise<ApiToken> {
    return this.service.revoke(access, id);
  }
}

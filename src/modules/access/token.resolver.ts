import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';

import { ApiToken, TokenRole } from '../../entities';
import type { Context } from '../context';
import { CreateApiTokenInput, CreatedApiToken } from './access.types';
import type { TokenService } from './token.service';

@Resolver(() => ApiToken)
export class TokenResolver {
  constructor(private readonly service: TokenService) {}

  @Authorized()
  @Query(() => ApiToken, { description: 'The token this request carries.' })
  async viewer(@Ctx() { access }: Context): Promise<ApiToken> {
    return (await this.service.get(access.principal.tokenId))!;
  }

  @Authorized(TokenRole.ADMIN)
  @Query(() => [ApiToken], { description: 'Every token, revoked ones included, oldest first.' })
  apiTokens(): Promise<ApiToken[]> {
    return this.service.list();
  }

  @Authorized(TokenRole.ADMIN)
  @Mutation(() => CreatedApiToken, { description: 'The token string is in the answer and nowhere else, ever.' })
  createApiToken(@Arg('input') input: CreateApiTokenInput, @Ctx() { access }: Context): Promise<CreatedApiToken> {
    return this.service.create(input, access.principal);
  }

  @Authorized(TokenRole.ADMIN)
  @Mutation(() => ApiToken, { description: 'Takes effect from the next request. Revoking twice changes nothing.' })
  revokeApiToken(@Arg('id', () => ID) id: string, @Ctx() { access }: Context): Promise<ApiToken> {
    return this.service.revoke(id, access.principal);
  }
}

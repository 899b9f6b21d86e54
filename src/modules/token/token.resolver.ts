import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';

import { ApiToken } from '../../entities';
import { Capability } from '../access/access-policy';
import { ForbiddenError } from '../../errors';
import { CreateApiTokenInput, CreatedApiToken, Session } from './token.types';
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

  @Requires(Capability.MANAGE)
  @Mutation(() => Session, {
    description:
      'Exchanges the ADMIN token of this request for an admin UI session, set as an HttpOnly, SameSite=Strict cookie. The session token is never in the answer.',
  })
  async signIn(@Ctx() { access, session }: RequestContext): Promise<Session> {
    if (!session) throw new ForbiddenError('sessions are only set over HTTP');
    const { token, apiToken } = await this.service.signIn(access);
    session.set(token, apiToken.expiresAt!);
    return { expiresAt: apiToken.expiresAt!, apiToken };
  }

  @Requires(Capability.MANAGE)
  @Mutation(() => Boolean, { description: 'Ends this admin UI session: revokes its token and clears the cookie.' })
  async signOut(@Ctx() { access, session }: RequestContext): Promise<boolean> {
    await this.service.signOut(access);
    session?.clear();
    return true;
  }
}

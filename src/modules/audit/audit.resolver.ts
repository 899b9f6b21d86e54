import { Arg, Ctx, ID, Int, Query, Resolver } from 'type-graphql';

import { Capability } from '../access/access-policy';
import type { RequestContext } from '../request/request-context';
import { Requires } from '../access/requires';
import { pageCost } from '../cost';
import { AuditAction } from '../../entities';
import type { AuditService } from './audit.service';
import { AuditEventConnection } from './audit.types';

@Resolver()
export class AuditResolver {
  constructor(private readonly service: AuditService) {}

  @Requires(Capability.MANAGE)
  @Query(() => AuditEventConnection, {
    description:
      'Newest first. `first` is 1-500 (default 50). Filters combine (AND). A cursor older than audit retention is BAD_USER_INPUT ("cursor expired").',
    complexity: pageCost(50),
  })
  async auditEvents(
    @Arg('environmentId', () => ID, { nullable: true }) environmentId: string | null,
    @Arg('tokenId', () => ID, { nullable: true, description: 'Events of one token (the token that acted).' }) tokenId: string | null,
    @Arg('secretName', () => String, { nullable: true, description: 'Events about secrets of this exact name, in any scope.' })
    secretName: string | null,
    @Arg('action', () => AuditAction, { nullable: true }) action: AuditAction | null,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() { access }: RequestContext,
  ): Promise<AuditEventConnection> {
    const page = await this.service.list(access, { environmentId, tokenId, secretName, action, first, after });
    return {
      edges: page.events.map((node, i) => ({ node, cursor: page.cursors[i] })),
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.cursors.at(-1) ?? null },
    };
  }
}

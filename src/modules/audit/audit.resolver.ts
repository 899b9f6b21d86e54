import { Arg, Ctx, ID, Int, Query, Resolver } from 'type-graphql';

import { Capability } from '../access/access-policy';
import type { RequestContext } from '../request/request-context';
import { Requires } from '../access/requires';
import { pageCost } from '../cost';
import type { AuditService } from './audit.service';
import { AuditEventConnection } from './audit.types';

@Resolver()
export class AuditResolver {
  constructor(private readonly service: AuditService) {}

  @Requires(Capability.MANAGE)
  @Query(() => AuditEventConnection, { description: 'Newest first. `first` is 1-500 (default 50).', complexity: pageCost(50) })
  async auditEvents(
    @Arg('environmentId', () => ID, { nullable: true }) environmentId: string | null,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() { access }: RequestContext,
  ): Promise<AuditEventConnection> {
    const page = await this.service.list(access, { environmentId, first, after });
    return {
      edges: page.events.map((node, i) => ({ node, cursor: page.cursors[i] })),
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.cursors.at(-1) ?? null },
    };
  }
}

import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';

import { Capability } from '../access/access-policy';
import { Requires } from '../access/requires';
import { listCost, pageCost } from '../cost';
import type { RequestContext } from '../request/request-context';
import { checkOptional, pageSizeSchema } from '../validation';
import type { WebhookService } from './webhook.service';
import { CreateWebhookInput, CreatedWebhook, Webhook, WebhookDelivery } from './webhook.types';

const DEFAULT_DELIVERIES = 20;
const MAX_DELIVERIES = 100;

@Resolver(() => Webhook)
export class WebhookResolver {
  constructor(private readonly service: WebhookService) {}

  @Requires(Capability.MANAGE)
  @Query(() => [Webhook], { description: 'Webhooks, of one environment or of all, oldest first. ADMIN only.', complexity: listCost })
  webhooks(@Arg('environmentId', () => ID, { nullable: true }) environmentId: string | null, @Ctx() { access }: RequestContext): Promise<Webhook[]> {
    return this.service.list(access, environmentId);
  }

  @Requires(Capability.MANAGE)
  @Mutation(() => CreatedWebhook, { description: 'The signing secret is in the answer and nowhere else, ever.' })
  createWebhook(@Arg('input') input: CreateWebhookInput, @Ctx() { access }: RequestContext): Promise<CreatedWebhook> {
    return this.service.create(access, input);
  }

  @Requires(Capability.MANAGE)
  @Mutation(() => ID, { description: 'Stops deliveries at once and forgets the webhook and its delivery log.' })
  async deleteWebhook(@Arg('id', () => ID) id: string, @Ctx() { access }: RequestContext): Promise<string> {
    return (await this.service.delete(access, id)).id;
  }

  @FieldResolver(() => [WebhookDelivery], {
    description: `One entry per attempt, newest first. first: 1-${MAX_DELIVERIES} (default ${DEFAULT_DELIVERIES}).`,
    complexity: pageCost(DEFAULT_DELIVERIES),
  })
  async deliveries(
    @Root() webhook: Webhook,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Ctx() { loaders }: RequestContext,
  ): Promise<WebhookDelivery[]> {
    const count = checkOptional(pageSizeSchema(MAX_DELIVERIES), 'first', first) ?? DEFAULT_DELIVERIES;
    return loaders.deliveries.load({ webhookId: webhook.id, first: count });
  }
}

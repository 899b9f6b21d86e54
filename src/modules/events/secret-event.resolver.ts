import { Arg, ID, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';

import { Capability, type AccessPolicy } from '../access/access-policy';
import { Requires } from '../access/requires';
import type { RequestContext } from '../request/request-context';
import { SecretEvent } from './secret-event.types';

/** What a subscription transport adds to the request context: subscribing on behalf of its connection. */
export interface LiveOperations {
  secretEvents(access: AccessPolicy, args: Record<string, unknown>): Promise<AsyncIterable<unknown>>;
}

export interface SubscriptionContext extends RequestContext {
  /** Set by the WebSocket transport (graphql/subscriptions.ts); subscriptions exist nowhere else. */
  readonly live?: LiveOperations;
}

/*
 * type-graphql calls `subscribe` as a plain function, without the resolver
 * instance, so the service arrives through the context: the transport binds
 * it to the connection (which is dropped when its consumer falls behind).
 */
function subscribeSecretEvents({ args, context }: SubscribeResolverData<unknown, Record<string, unknown>, SubscriptionContext>) {
  if (!context.live) throw new Error('secretEvents is served over WebSocket (graphql-transport-ws) only');
  return context.live.secretEvents(context.access, args);
}

@Resolver()
export class SecretEventResolver {
  /*
   * The method declares the field and its arguments; per event the schema
   * resolves the payload itself (graphql/schema.ts resolveSubscriptionPayloads),
   * so nothing added to this body would run.
   */
  @Requires(Capability.READ)
  @Subscription(() => SecretEvent, {
    subscribe: subscribeSecretEvents,
    description:
      'Changes to what names resolve to, following inheritance. Arguments default like the queries (a LISTENER: its binding). ' +
      'Without `after`: live from acceptance. With `after` (a cursor): replayed from the log, then live, with no gap and no duplicate. ' +
      'Completes when the environment or space is deleted. A cursor older than audit retention is BAD_USER_INPUT ("cursor expired").',
  })
  secretEvents(
    @Root() event: SecretEvent,
    @Arg('environmentId', () => ID, { nullable: true }) _environmentId: string | null,
    @Arg('spaceId', () => ID, { nullable: true }) _spaceId: string | null,
    @Arg('actorId', () => String, { nullable: true, description: 'Also the personal changes of this actor.' }) _actorId: string | null,
    @Arg('after', () => String, { nullable: true }) _after: string | null,
  ): SecretEvent {
    return event;
  }
}

import type { GraphQLSchema } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { buildSchemaSync, type ContainerType, type PubSub } from 'type-graphql';

import { TokenResolver } from '../modules/token/token.resolver';
import { AuditResolver } from '../modules/audit/audit.resolver';
import { EnvironmentResolver } from '../modules/environment/environment.resolver';
import { SecretEventResolver } from '../modules/events/secret-event.resolver';
import { EffectiveSecretResolver, SecretResolver, SecretVersionResolver } from '../modules/secret/secret.resolver';
import { SpaceResolver } from '../modules/space/space.resolver';
import { WebhookResolver } from '../modules/webhook/webhook.resolver';

export const resolvers = [
  EnvironmentResolver,
  SpaceResolver,
  SecretResolver,
  EffectiveSecretResolver,
  SecretVersionResolver,
  TokenResolver,
  AuditResolver,
  WebhookResolver,
  SecretEventResolver,
] as const;

/** Resolver classes are built by the composition root; printing the schema needs none of them. */
const noContainer: ContainerType = {
  get(resolverClass: { name?: string }) {
    throw new Error(`no container: cannot build ${resolverClass.name ?? 'a resolver'}`);
  },
};

/*
 * No authChecker: who may do what is decided by the services (each asserts
 * its capability) and, for the whole operation before it runs, by the
 * access plugin reading each field's declared capability (operation-guard.ts).
 */
/*
 * type-graphql insists on a PubSub once there is a subscription, but every
 * subscription here brings its own `subscribe` (the change feed); nothing
 * publishes through this one.
 */
const noPubSub: PubSub = {
  publish() {
    throw new Error('subscriptions publish through the change feed, not a PubSub');
  },
  subscribe() {
    throw new Error('subscriptions subscribe through the change feed, not a PubSub');
  },
};

export function buildAppSchema(container: ContainerType = noContainer): GraphQLSchema {
  return buildSchemaSync({
    resolvers,
    container,
    pubSub: noPubSub,
    scalarsMap: [{ type: Date, scalar: DateTimeResolver }],
    validate: false,
    emitSchemaFile: false,
  });
}

import type { GraphQLSchema } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { buildSchemaSync, type BuildSchemaOptions, type ContainerType, type PubSub } from 'type-graphql';

import { useDirectResolvers } from './direct-resolvers';
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

export interface AppSchemaOptions {
  /** false keeps type-graphql's own resolver on every field (the equivalence test compares both). */
  readonly directResolvers?: boolean;
}

export function buildAppSchema(container: ContainerType = noContainer, options: AppSchemaOptions = {}): GraphQLSchema {
  const build = {
    resolvers,
    container,
    pubSub: noPubSub,
    scalarsMap: [{ type: Date, scalar: DateTimeResolver }],
    validate: false,
    emitSchemaFile: false,
  } satisfies BuildSchemaOptions;
  const schema = buildSchemaSync(build);
  resolveSubscriptionPayloads(schema);
  if (options.directResolvers ?? true) useDirectResolvers(schema, build);
  return schema;
}

/*
 * A subscription's payload is the event its subscribe yields
 * (SecretEventResolver.secretEvents returns its @Root). type-graphql's
 * resolver for it would also convert and validate the field's arguments
 * (already checked once, at subscribe) for every event, asynchronously,
 * which makes each event's execution a promise; resolved directly, an
 * event executes synchronously, so the transport can send it from where it
 * is produced (graphql/shared-subscribe.ts).
 */
function resolveSubscriptionPayloads(schema: GraphQLSchema): void {
  for (const field of Object.values(schema.getSubscriptionType()?.getFields() ?? {})) {
    if (field.subscribe) field.resolve = (payload: unknown) => payload;
  }
}

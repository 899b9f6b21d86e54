import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { GraphQLSchema } from 'graphql';

import type { Config } from '../config';
import type { Logger } from '../logger';
import type { RequestContext } from '../modules/request/request-context';
import { createErrorFormatter } from './errors';
import { operationGuardPlugin } from './operation-guard';
import { outageStatusPlugin } from './outage-status';

/** graphql-js's parser limit on tokens per document. */
export const GRAPHQL_MAX_TOKENS = 2000;

/**
 * Shape limits (graphql-armor). The deepest useful query of this schema,
 * environments → spaces → effectiveSecrets → secret → space → environment
 * → name, is 7 levels; aliases make an alias bomb of 100 effectiveSecrets
 * impossible. Cost is estimated list-aware by the operation guard instead
 * of armor's flat cost limit, which does not scale with list lengths.
 * Field suggestions are hidden in production.
 */
export const graphqlLimits = (production: boolean) => ({
  maxDepth: { n: 10 },
  maxAliases: { n: 15 },
  maxDirectives: { n: 20 },
  maxTokens: { enabled: false }, // see parseOptions.maxTokens
  costLimit: { enabled: false }, // see operation-guard.ts
  blockFieldSuggestion: { enabled: production },
});

/** Apollo Server for the schema; the Fastify integration and the request lifecycle are wired by src/server.ts. */
export function createApolloServer(
  schema: GraphQLSchema,
  config: Config,
  logger: Logger,
  extraPlugins: ApolloServerPlugin<RequestContext>[] = [],
): ApolloServer<RequestContext> {
  const armor = new ApolloArmor(graphqlLimits(config.production)).protect();
  return new ApolloServer<RequestContext>({
    schema,
    validationRules: armor.validationRules,
    // graphql-js's own token limit: a parse error (400), where armor's limit throws from a plugin (500)
    parseOptions: { maxTokens: GRAPHQL_MAX_TOKENS },
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    introspection: config.introspection,
    includeStacktraceInErrorResponses: false,
    // main.ts owns signals: it drains Fastify, which stops Apollo through the drain plugin.
    stopOnTerminationSignals: false,
    hideSchemaDetailsFromClientErrors: config.production,
    formatError: createErrorFormatter(logger),
    logger,
    plugins: [
      // Secrets are never HTTP-cacheable, and per-field cache hints wrap every resolver (measurable per value).
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ...armor.plugins,
      operationGuardPlugin(),
      outageStatusPlugin(),
      ...extraPlugins,
      // Apollo's landing page loads its scripts from a CDN; the admin UI is served at / instead.
      ApolloServerPluginLandingPageDisabled(),
    ],
  });
}

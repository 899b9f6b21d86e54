/*
 * The listener client, importable as `secretspace/client`. It depends on
 * nothing but the global fetch, and never on the server's code: listeners
 * install it without the server's dependencies. Live mode alone loads two
 * packages, graphql-ws and ws, on first use.
 */
export { createSecretsClient } from './secrets-client';
export type { EffectiveSecret, ScopeOptions, SecretScope, SecretsClient, SecretsClientOptions } from './secrets-client';
export type { LiveOptions, LiveState, LiveStateDetail, WebSocketClass } from './live-feed';
export { ClientErrorCode, SecretNotFoundError, SecretsAuthError, SecretsClientError, SecretsRequestError } from './errors';

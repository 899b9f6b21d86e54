/*
 * What a listener can catch. Three kinds, because each calls for a different
 * reaction: a missing name is a configuration fact (fix the secret), an auth
 * failure needs a new or different token, and a request failure may pass on
 * its own (retry later). A transport failure is never reported as "not found".
 *
 * Messages carry names, ids, codes and HTTP statuses only: never a value,
 * never the token.
 */

/** Codes the client itself assigns when the server gave none. */
export const ClientErrorCode = {
  /** The request never got an answer: refused, reset, DNS, … */
  NETWORK_ERROR: 'NETWORK_ERROR',
  /** No answer within timeoutMs. */
  TIMEOUT: 'TIMEOUT',
  /** An HTTP error status without a GraphQL error in the body. */
  HTTP_ERROR: 'HTTP_ERROR',
  /** A 2xx answer that is not a GraphQL result. */
  BAD_RESPONSE: 'BAD_RESPONSE',
} as const;

export abstract class SecretsClientError extends Error {
  /** The server's `extensions.code` (e.g. SECRET_NOT_FOUND, FORBIDDEN), or one of ClientErrorCode. */
  abstract readonly code: string;
  /** The HTTP status, when an answer arrived. */
  readonly status?: number;

  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = options.status;
  }
}

/** The name resolves to nothing in the requested scope (server code SECRET_NOT_FOUND). */
export class SecretNotFoundError extends SecretsClientError {
  readonly code = 'SECRET_NOT_FOUND';

  constructor(
    readonly secretName: string,
    readonly scope: { readonly environmentId: string | null; readonly spaceId: string | null },
  ) {
    super(`secret ${JSON.stringify(secretName)} not found (${describeScope(scope)})`);
  }
}

/** The token is missing, unknown or revoked (401, UNAUTHENTICATED), or may not do this (403, FORBIDDEN). */
export class SecretsAuthError extends SecretsClientError {
  constructor(
    readonly code: string,
    message: string,
    status?: number,
  ) {
    super(message, { status });
  }
}

/** Network failure, timeout, server error, or any other GraphQL error (BAD_USER_INPUT, NOT_FOUND, …). */
export class SecretsRequestError extends SecretsClientError {
  constructor(
    readonly code: string,
    message: string,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

function describeScope(scope: { environmentId: string | null; spaceId: string | null }): string {
  const parts = [];
  if (scope.environmentId) parts.push(`environmentId ${scope.environmentId}`);
  if (scope.spaceId) parts.push(`spaceId ${scope.spaceId}`);
  return parts.length ? parts.join(', ') : "the token's binding";
}

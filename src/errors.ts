/*
 * Errors a client can cause. Each class has a fixed code and knows nothing
 * about HTTP; the GraphQL formatter and the REST error handler map them once.
 * Messages never contain a secret value, a key or a token: callers pass
 * names and ids only.
 */

export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  SECRET_NOT_FOUND: 'SECRET_NOT_FOUND',
  VERSION_CONFLICT: 'VERSION_CONFLICT',
  NAME_CONFLICT: 'NAME_CONFLICT',
  KEY_PROVIDER_UNAVAILABLE: 'KEY_PROVIDER_UNAVAILABLE',
  DECRYPTION_FAILED: 'DECRYPTION_FAILED',
  /** One token has too many requests in flight on this instance; retry shortly. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** Not client-caused: the database cannot be reached right now; retrying later may succeed. */
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export abstract class AppError extends Error {
  abstract readonly code: ErrorCode;
  /** Extra, value-free facts for the client (e.g. the offending field). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

export class BadUserInputError extends AppError {
  readonly code = ErrorCode.BAD_USER_INPUT;
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message, { field });
  }
}

export class UnauthenticatedError extends AppError {
  readonly code = ErrorCode.UNAUTHENTICATED;
  constructor(message = 'a valid bearer token is required') {
    super(message);
  }
}

export class ForbiddenError extends AppError {
  readonly code = ErrorCode.FORBIDDEN;
  constructor(message = 'this token may not do that') {
    super(message);
  }
}

export class NotFoundError extends AppError {
  readonly code = ErrorCode.NOT_FOUND;
  constructor(kind: string, field = 'id') {
    super(`${kind} not found`, { field });
  }
}

export class SecretNotFoundError extends AppError {
  readonly code = ErrorCode.SECRET_NOT_FOUND;
  constructor(name: string) {
    super(`no secret named ${JSON.stringify(name)} resolves here`);
  }
}

export class VersionConflictError extends AppError {
  readonly code = ErrorCode.VERSION_CONFLICT;
  constructor(expected: number, actual: number) {
    super(
      actual === 0
        ? `expected version ${expected}, but the secret does not exist`
        : `expected version ${expected}, but the current version is ${actual}`,
      { expectedVersion: expected, currentVersion: actual },
    );
  }
}

export class NameConflictError extends AppError {
  readonly code = ErrorCode.NAME_CONFLICT;
  constructor(kind: string, field = 'name') {
    super(`a ${kind} with that name already exists`, { field });
  }
}

export class KeyProviderUnavailableError extends AppError {
  readonly code = ErrorCode.KEY_PROVIDER_UNAVAILABLE;
  constructor(provider: string, reason = 'did not answer') {
    super(`key provider '${provider}' ${reason}`);
  }
}

export class DecryptionFailedError extends AppError {
  readonly code = ErrorCode.DECRYPTION_FAILED;
  constructor(message = 'stored ciphertext failed authentication') {
    super(message);
  }
}

export class RateLimitedError extends AppError {
  readonly code = ErrorCode.RATE_LIMITED;
  constructor(limit: number) {
    super(`this token already has ${limit} requests in flight; retry shortly`);
  }
}

export class ServiceUnavailableError extends AppError {
  readonly code = ErrorCode.SERVICE_UNAVAILABLE;
  constructor() {
    super('the database is unavailable; retry later');
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

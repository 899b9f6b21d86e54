import { QueryFailedError, QueryRunnerAlreadyReleasedError } from 'typeorm';

import { NameConflictError, NotFoundError, ServiceUnavailableError, isAppError, type AppError } from '../errors';

export const UNIQUE_VIOLATION = '23505';
export const FOREIGN_KEY_VIOLATION = '23503';

/** The SQLSTATE and constraint of a failed statement, when it was a constraint violation. */
export function constraintViolation(error: unknown): { code: string; constraint: string } | undefined {
  const driverError = error instanceof QueryFailedError ? (error.driverError as Record<string, unknown>) : error;
  if (!driverError || typeof driverError !== 'object') return undefined;
  const { code, constraint } = driverError as { code?: unknown; constraint?: unknown };
  if (code !== UNIQUE_VIOLATION && code !== FOREIGN_KEY_VIOLATION) return undefined;
  return { code, constraint: typeof constraint === 'string' ? constraint : '' };
}

/* SQLSTATE 08xxx (connection exception), 57Pxx (shutdown, restart), 53300 (too many connections). */
const CONNECTION_SQLSTATE = /^(08|57P|53300$)/;
const CONNECTION_MESSAGES =
  /Connection terminated|connection error|not queryable|timeout exceeded when trying to connect|ECONNREFUSED|ECONNRESET|EPIPE|ENOTFOUND|ETIMEDOUT|the database system is (starting up|shutting down)|is not currently accepting connections/i;

/** Whether a failure means "the database cannot be reached", as opposed to a bug or a bad statement. */
export function isConnectionFailure(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    // TypeORM releases a query runner whose connection failed; its transaction's next statement fails with this
    if (e instanceof QueryRunnerAlreadyReleasedError) return true;
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (CONNECTION_SQLSTATE.test(code) || CONNECTION_MESSAGES.test(code))) return true;
    if (typeof message === 'string' && CONNECTION_MESSAGES.test(message)) return true;
    e = (e as { driverError?: unknown; cause?: unknown }).driverError ?? (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Serialization failures and deadlocks: the transaction may simply be run again. */
export function isRetryableConflict(error: unknown): boolean {
  const driverError = error instanceof QueryFailedError ? (error.driverError as { code?: unknown }) : (error as { code?: unknown });
  return driverError?.code === '40001' || driverError?.code === '40P01';
}

/*
 * Constraint violations a client can cause, by constraint name: one table
 * for the whole schema, so services only catch what they retry. A foreign
 * key pointing at nothing means the named thing does not exist.
 */
const CLIENT_CONSTRAINTS: Readonly<Record<string, () => AppError>> = {
  environment_name_key: () => new NameConflictError('environment'),
  space_environment_name_key: () => new NameConflictError('space'),
  space_environment_id_fkey: () => new NotFoundError('environment', 'environmentId'),
  secret_environment_id_fkey: () => new NotFoundError('environment', 'environmentId'),
  secret_space_fkey: () => new NotFoundError('space', 'spaceId'),
  api_token_environment_id_fkey: () => new NotFoundError('environment', 'environmentId'),
  api_token_space_fkey: () => new NotFoundError('space', 'spaceId'),
};

/**
 * The one classification of failures for every edge (GraphQL, REST, CLI):
 * our own errors as they are, an unreachable database as SERVICE_UNAVAILABLE,
 * a known constraint as its client error; undefined for anything unexpected.
 */
export function toAppError(error: unknown): AppError | undefined {
  if (isAppError(error)) return error;
  if (isConnectionFailure(error)) return new ServiceUnavailableError();
  const violation = constraintViolation(error);
  return violation ? CLIENT_CONSTRAINTS[violation.constraint]?.() : undefined;
}

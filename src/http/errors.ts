import type { FastifyError } from 'fastify';

import { toAppError } from '../db/pg-errors';
import { ErrorCode, type AppError } from '../errors';
import type { Logger } from '../logger';

/*
 * Errors as HTTP answers, for every route: the status of each code, and the
 * two body shapes (GraphQL's and Flatfile REST's). Error classes know nothing
 * of HTTP; this is the one place that does.
 */

const STATUS: Record<ErrorCode, number> = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  SECRET_NOT_FOUND: 404,
  VERSION_CONFLICT: 409,
  NAME_CONFLICT: 409,
  RATE_LIMITED: 429,
  KEY_PROVIDER_UNAVAILABLE: 503,
  DECRYPTION_FAILED: 500,
  SERVICE_UNAVAILABLE: 503,
  INTERNAL_SERVER_ERROR: 500,
};

export const statusOf = (error: AppError) => STATUS[error.code];

/** Fastify's own errors (body parsing, limits) as value-free client errors. */
function frameworkError(error: FastifyError): { status: number; message: string } | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, message: 'the request body is not valid JSON' };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, message: 'the request body is too large' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, message: 'send the request body as application/json' };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, message: 'the content length does not match the body' };
    default:
      return error.statusCode && error.statusCode >= 400 && error.statusCode < 500
        ? { status: error.statusCode, message: 'the request is malformed' }
        : undefined;
  }
}

export interface ClientError {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly field?: string;
}

/** Any thrown thing as a client-safe error; the unexpected ones are logged and masked. */
export function toClientError(error: unknown, logger: Logger): ClientError {
  const known = toAppError(error);
  if (known) {
    const field = known.details.field as string | undefined;
    return { status: statusOf(known), code: known.code, message: known.message, ...(field ? { field } : {}) };
  }
  const framework = frameworkError(error as FastifyError);
  if (framework) return { ...framework, code: ErrorCode.BAD_USER_INPUT };
  logger.error({ err: error }, 'unexpected error');
  return { status: 500, code: ErrorCode.INTERNAL_SERVER_ERROR, message: 'Internal server error' };
}

/** `{ errors: [{ message, code, key? }] }`, the Flatfile REST error shape. */
export const restErrorBody = (error: ClientError) => ({
  errors: [{ message: error.message, code: error.code, ...(error.field ? { key: error.field } : {}) }],
});

/** `{ errors: [{ message, extensions: { code, field? } }] }`, GraphQL's shape, for answers made outside Apollo. */
export const graphqlErrorBody = (error: ClientError) => ({
  errors: [{ message: error.message, extensions: { code: error.code, ...(error.field ? { field: error.field } : {}) } }],
});

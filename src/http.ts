import { isUtf8 } from 'node:buffer';

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import secureJsonParse from 'secure-json-parse';

import { isConnectionFailure } from './db/pg-errors';
import { BadUserInputError, ErrorCode, ServiceUnavailableError, isAppError, type AppError } from './errors';
import type { Logger } from './logger';

/*
 * HTTP-level concerns shared by every route: the JSON body parser, and the
 * mapping of errors to status codes and bodies. Error classes know nothing
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
  if (isConnectionFailure(error)) return toClientError(new ServiceUnavailableError(), logger);
  if (isAppError(error)) {
    const field = error.details.field as string | undefined;
    return { status: statusOf(error), code: error.code, message: error.message, ...(field ? { field } : {}) };
  }
  const framework = frameworkError(error as FastifyError);
  if (framework) return { ...framework, code: ErrorCode.BAD_USER_INPUT };
  logger.error({ err: error }, 'unexpected error');
  return { status: 500, code: ErrorCode.INTERNAL_SERVER_ERROR, message: 'Internal server error' };
}

/** Sends `{ errors: [{ message, code, key? }] }`, the Flatfile REST error shape. */
export function sendRestError(reply: FastifyReply, error: ClientError): FastifyReply {
  const body = { message: error.message, code: error.code, ...(error.field ? { key: error.field } : {}) };
  return reply.code(error.status).send({ errors: [body] });
}

/**
 * JSON bodies: read as bytes so invalid UTF-8 is refused instead of being
 * silently replaced (a name or value must not change on its way in), then
 * parsed without prototype pollution. Errors never echo the body.
 */
export function registerJsonParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request: FastifyRequest, body: Buffer, done) => {
    if (body.length === 0) return done(null, undefined); // e.g. a DELETE sent with a JSON content type; routes decide
    if (!isUtf8(body)) return done(new BadUserInputError('body', 'the request body is not valid UTF-8'), undefined);
    try {
      done(null, secureJsonParse.parse(body.toString('utf8'), { protoAction: 'error', constructorAction: 'error' }));
    } catch {
      done(new BadUserInputError('body', 'the request body is not valid JSON'), undefined);
    }
  });
}

import { ApolloServerErrorCode, unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';

import { toAppError } from '../db/pg-errors';
import { ErrorCode } from '../errors';
import type { Logger } from '../logger';

/* Codes Apollo Server itself assigns to client mistakes (parse, validation, variables, request shape), and ours. */
const CLIENT_CODES = new Set<string>(
  [...Object.values(ApolloServerErrorCode), ...Object.values(ErrorCode)].filter(
    (code) => code !== ErrorCode.INTERNAL_SERVER_ERROR,
  ),
);

/**
 * The one place errors become client-visible. Known errors keep their code
 * and value-free details; anything else is logged and masked as
 * INTERNAL_SERVER_ERROR with no detail.
 */
export function createErrorFormatter(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const unwrapped = unwrapResolverError(error);
    const known = toAppError(unwrapped);
    const location = { locations: formatted.locations, path: formatted.path };
    if (known) {
      return { message: known.message, ...location, extensions: { code: known.code, ...known.details } };
    }
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && CLIENT_CODES.has(code)) {
      const reason = error instanceof GraphQLError ? error.originalError?.message : undefined;
      return { message: redactInputEcho(formatted.message, reason), ...location, extensions: { code } };
    }
    logger.error({ err: unwrapped, path: formatted.path }, 'unexpected error');
    return { message: 'Internal server error', ...location, extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
  };
}

/**
 * graphql-js echoes rejected input in its messages ("got invalid value {...}",
 * "cannot represent a non string value: ...", "Value "x" does not exist in
 * ... enum"). That input may be a secret value, so the echo is cut and only
 * the variable, the path and the rule remain. `reason` is the inner error's
 * message (the part after "; "): without it the split point cannot be known
 * safely, because the echoed input may itself contain "; ".
 */
export function redactInputEcho(message: string, reason?: string): string {
  const variable = /^(Variable "\$\w+") got invalid value /.exec(message);
  if (!variable) return redactReason(message);
  if (reason === undefined || !message.endsWith(`; ${reason}`)) return `${variable[1]} has an invalid value.`;
  const prefix = message.slice(0, message.length - reason.length - 2);
  const at = / at "([^"\\]*)"$/.exec(prefix);
  return `${variable[1]} has an invalid value${at ? ` at "${at[1]}"` : ''}; ${redactReason(reason)}`;
}

function redactReason(reason: string): string {
  return reason
    .replace(/(cannot represent [\w -]*?value)\s*:[\s\S]*$/, '$1.')
    .replace(/(Expected value of type "[^"]+"), found [\s\S]*$/, '$1.')
    .replace(/(Expected type "[^"]+")\. [\s\S]*$/, '$1.')
    .replace(/^Value [\s\S]* does not exist in "([^"]+)" enum\.[\s\S]*$/, 'Value does not exist in "$1" enum.');
}

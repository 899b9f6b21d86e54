import type { CombinedError } from '@urql/core';

/*
 * Errors as people understand them. The server's messages are value-free
 * by contract (DESIGN §4), so a BAD_USER_INPUT message may be shown; every
 * other code gets a sentence of ours, and nothing shows a stack or a bare code.
 */

export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'SECRET_NOT_FOUND'
  | 'VERSION_CONFLICT'
  | 'NAME_CONFLICT'
  | 'KEY_PROVIDER_UNAVAILABLE'
  | 'DECRYPTION_FAILED'
  | 'SERVICE_UNAVAILABLE'
  | 'NETWORK'
  | 'UNKNOWN';

export interface Problem {
  readonly code: ErrorCode;
  readonly message: string;
  readonly field?: string;
  readonly currentVersion?: number;
}

const MESSAGES: Record<ErrorCode, string> = {
  BAD_USER_INPUT: 'The server did not accept that input.',
  UNAUTHENTICATED: 'Your session has ended; sign in again.',
  FORBIDDEN: 'Your token is not allowed to do that.',
  NOT_FOUND: 'It no longer exists; someone may have deleted it.',
  SECRET_NOT_FOUND: 'That secret no longer exists; someone may have deleted it.',
  VERSION_CONFLICT: 'Someone else changed this meanwhile. Nothing was saved.',
  NAME_CONFLICT: 'That name is already taken.',
  KEY_PROVIDER_UNAVAILABLE: 'The key provider is unavailable right now, so nothing was changed. Try again in a moment.',
  DECRYPTION_FAILED: 'A stored value could not be decrypted. Ask an operator to check the keys.',
  SERVICE_UNAVAILABLE: 'The database is unavailable right now. Try again in a moment.',
  NETWORK: 'The server cannot be reached. Check your connection and try again.',
  UNKNOWN: 'Something went wrong on the server. Try again; if it persists, check the server log.',
};

const KNOWN = new Set(Object.keys(MESSAGES));

export function toProblem(error: CombinedError): Problem {
  if (error.networkError && !error.graphQLErrors.length) {
    return { code: 'NETWORK', message: MESSAGES.NETWORK };
  }
  const first = error.graphQLErrors[0];
  const extensions = (first?.extensions ?? {}) as Record<string, unknown>;
  const raw = typeof extensions.code === 'string' ? extensions.code : 'UNKNOWN';
  const code = (KNOWN.has(raw) ? raw : 'UNKNOWN') as ErrorCode;
  const field = typeof extensions.field === 'string' ? extensions.field : undefined;
  const currentVersion = typeof extensions.currentVersion === 'number' ? extensions.currentVersion : undefined;
  const message = code === 'BAD_USER_INPUT' && first?.message ? sentence(first.message) : MESSAGES[code];
  return { code, message, field, currentVersion };
}

export const isUnauthenticated = (error: CombinedError) =>
  error.response?.status === 401 ||
  error.graphQLErrors.some((e) => (e.extensions as Record<string, unknown> | undefined)?.code === 'UNAUTHENTICATED');

function sentence(text: string): string {
  const trimmed = text.trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

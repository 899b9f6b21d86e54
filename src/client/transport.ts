import { ClientErrorCode, SecretsAuthError, SecretsRequestError } from './errors';
import type { TypedDocumentString } from './generated/graphql';

export interface TransportOptions {
  /** The GraphQL endpoint. */
  readonly endpoint: string;
  readonly token: string;
  readonly timeoutMs: number;
  readonly fetch: typeof fetch;
}

/** A GraphQL error as the server sends it; only the message and the code are read. */
interface GraphQLErrorBody {
  readonly message?: unknown;
  readonly extensions?: { readonly code?: unknown };
}

const AUTH_CODES = new Set(['UNAUTHENTICATED', 'FORBIDDEN']);

/**
 * POSTs one operation and returns its data. timeoutMs bounds the whole call,
 * retry included, so a caller's wait is never longer than it asked for.
 *
 * Exactly one retry, and only when no answer arrived: a reused keep-alive
 * connection that the server closed a moment earlier fails like that, and a
 * fresh connection fixes it. An answer (any HTTP status, any GraphQL error)
 * is never retried: the server has spoken, and asking again would only
 * repeat the read in its audit log.
 */
export async function execute<TResult, TVariables>(
  options: TransportOptions,
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
): Promise<TResult> {
  const body = JSON.stringify({ query: document.toString(), variables });
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), options.timeoutMs);
  try {
    let answer: Answer;
    try {
      answer = await send(options, body, deadline.signal);
    } catch (error) {
      if (deadline.signal.aborted) throw timedOut(options, error);
      answer = await send(options, body, deadline.signal).catch((retryError: unknown) => {
        throw deadline.signal.aborted ? timedOut(options, retryError) : networkFailure(options, retryError);
      });
    }
    return interpret<TResult>(answer, options.token);
  } finally {
    clearTimeout(timer);
  }
}

interface Answer {
  readonly status: number;
  readonly text: string;
}

/* Reading the body is part of the attempt: a connection cut mid-body is a network failure too. */
async function send(options: TransportOptions, body: string, signal: AbortSignal): Promise<Answer> {
  const response = await options.fetch(options.endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      authorization: `Bearer ${options.token}`,
    },
    body,
    signal,
  });
  return { status: response.status, text: await response.text() };
}

function interpret<TResult>({ status, text }: Answer, token: string): TResult {
  const result = parseResult(text);
  const first = result?.errors?.[0];
  const code = typeof first?.extensions?.code === 'string' ? first.extensions.code : undefined;
  const serverMessage = redact(typeof first?.message === 'string' ? first.message : '', token);

  if (status === 401 || status === 403 || (code && AUTH_CODES.has(code))) {
    const authCode = code && AUTH_CODES.has(code) ? code : status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN';
    throw new SecretsAuthError(authCode, `${authCode} (HTTP ${status})${serverMessage ? `: ${serverMessage}` : ''}`, status);
  }
  if (first) {
    // Partial data is never returned: a list with one undecryptable value fails as a whole.
    throw new SecretsRequestError(code ?? 'GRAPHQL_ERROR', `${code ?? 'GRAPHQL_ERROR'}: ${serverMessage}`, { status });
  }
  if (status < 200 || status >= 300) {
    throw new SecretsRequestError(ClientErrorCode.HTTP_ERROR, `the server answered HTTP ${status}`, { status });
  }
  if (!result || typeof result.data !== 'object' || result.data === null) {
    throw new SecretsRequestError(ClientErrorCode.BAD_RESPONSE, `the server's answer (HTTP ${status}) is not a GraphQL result`, {
      status,
    });
  }
  return result.data as TResult;
}

function parseResult(text: string): { data?: unknown; errors?: GraphQLErrorBody[] } | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { data, errors } = parsed as { data?: unknown; errors?: unknown };
    return { data, errors: Array.isArray(errors) ? (errors as GraphQLErrorBody[]) : undefined };
  } catch {
    return undefined;
  }
}

/* The server never echoes a token, but a proxy in between might: never let one into an error message. */
function redact(message: string, token: string): string {
  return token ? message.split(token).join('[token]') : message;
}

function timedOut(options: TransportOptions, cause: unknown): SecretsRequestError {
  return new SecretsRequestError(ClientErrorCode.TIMEOUT, `no answer from ${origin(options)} within ${options.timeoutMs} ms`, {
    cause,
  });
}

function networkFailure(options: TransportOptions, cause: unknown): SecretsRequestError {
  return new SecretsRequestError(ClientErrorCode.NETWORK_ERROR, `could not reach ${origin(options)} (tried twice)`, { cause });
}

/* Only scheme, host and port: a URL could carry credentials in its user-info or query. */
function origin(options: TransportOptions): string {
  try {
    return new URL(options.endpoint).origin;
  } catch {
    return 'the server';
  }
}

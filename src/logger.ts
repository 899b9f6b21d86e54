import pino, { type Logger } from 'pino';

/*
 * Structured logs. Code never logs values, keys or tokens; the redaction
 * list is a second line of defence for fields that could carry one, and the
 * error serializer drops what a failed statement carries: its SQL text and
 * parameters (names, ciphertext, token hashes) never reach a log line.
 */

/** Fields of driver and TypeORM errors that echo the statement or its parameters. */
const STATEMENT_FIELDS = new Set(['query', 'parameters', 'params', 'sql', 'values', 'detail', 'where', 'internalQuery']);

function serializeError(error: unknown): unknown {
  const serialized = pino.stdSerializers.err(error as Error) as unknown as Record<string, unknown>;
  if (!serialized || typeof serialized !== 'object') return serialized;
  const safe: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(serialized)) {
    if (STATEMENT_FIELDS.has(key)) continue;
    if (key === 'driverError' && value && typeof value === 'object') {
      const { code, message, constraint, routine } = value as Record<string, unknown>;
      safe.driverError = { code, message, constraint, routine };
      continue;
    }
    safe[key] = value;
  }
  return safe;
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'secretspace' },
      serializers: { err: serializeError },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'headers.authorization',
          'headers.cookie',
          'authorization',
          'cookie',
          'token',
          'value',
          '*.token',
          '*.value',
          'variables',
          '*.variables',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

export type { Logger };

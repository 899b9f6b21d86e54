import pino, { type Logger } from 'pino';

/*
 * Structured logs. Code never logs values, keys or tokens; the redaction
 * list is a second line of defence for fields that could carry one.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'secretspace' },
      redact: {
        paths: [
          'req.headers.authorization',
          'headers.authorization',
          'authorization',
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

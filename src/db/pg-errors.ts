import { QueryFailedError } from 'typeorm';

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

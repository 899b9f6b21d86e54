/*
 * When to try a failed webhook delivery again. Exponential, so a receiver
 * that is down is not hammered; jittered, so the deliveries that failed
 * together (one outage, many events) do not all come back in the same
 * instant; capped, so a late attempt still comes within the hour.
 */

/** No wait between attempts exceeds an hour, whatever the base and the attempt number. */
export const MAX_RETRY_DELAY_MS = 60 * 60 * 1000;

export interface RetryPolicy {
  /** WEBHOOK_RETRY_BASE_MS: the wait before the second attempt, before jitter. */
  readonly baseMs: number;
  /** WEBHOOK_MAX_ATTEMPTS: attempts in all, the first included. */
  readonly maxAttempts: number;
  /** Lowers the cap below MAX_RETRY_DELAY_MS; it never raises it. */
  readonly capMs?: number;
}

export type RetryDecision = { readonly retry: true; readonly delayMs: number } | { readonly retry: false };

/**
 * What to do after attempt number `failedAttempt` (1 for the first) failed.
 * The wait before attempt n+1 is drawn uniformly from [d/2, d) (whole
 * milliseconds, rounded down) with d = min(cap, base · 2^(n-1)): "equal jitter", which spreads retries while
 * never retrying sooner than half the nominal wait. `random` returns a
 * number in [0, 1), like Math.random.
 */
export function nextRetry(failedAttempt: number, policy: RetryPolicy, random: () => number = Math.random): RetryDecision {
  /* Precondition: whole, positive counts and a positive base; anything else is a wiring mistake. */
  if (!Number.isSafeInteger(failedAttempt) || failedAttempt < 1) throw new RangeError('attempt must be a whole number from 1');
  if (!Number.isSafeInteger(policy.maxAttempts) || policy.maxAttempts < 1) throw new RangeError('maxAttempts must be at least 1');
  if (!(policy.baseMs > 0) || !Number.isFinite(policy.baseMs)) throw new RangeError('baseMs must be positive');
  if (failedAttempt >= policy.maxAttempts) return { retry: false };
  const cap = Math.min(policy.capMs ?? MAX_RETRY_DELAY_MS, MAX_RETRY_DELAY_MS);
  const nominal = Math.min(cap, policy.baseMs * 2 ** (failedAttempt - 1));
  const draw = random();
  /* Precondition: a draw outside [0, 1) would break the bounds promised above. */
  if (!(draw >= 0 && draw < 1)) throw new RangeError('random must return a number in [0, 1)');
  return { retry: true, delayMs: Math.floor(nominal / 2 + (nominal / 2) * draw) };
}

import { MAX_RETRY_DELAY_MS, nextRetry, type RetryPolicy } from '../../../src/modules/webhook/backoff';

const policy: RetryPolicy = { baseMs: 1000, maxAttempts: 10 };
const delay = (attempt: number, draw: number, p: RetryPolicy = policy) => {
  const decision = nextRetry(attempt, p, () => draw);
  if (!decision.retry) throw new Error('gave up');
  return decision.delayMs;
};

describe('nextRetry', () => {
  it('doubles the nominal wait per attempt, drawn from its upper half', () => {
    expect([1, 2, 3, 4, 9].map((n) => delay(n, 0))).toEqual([500, 1000, 2000, 4000, 128_000]);
    expect([1, 2, 3, 4, 9].map((n) => delay(n, 0.5))).toEqual([750, 1500, 3000, 6000, 192_000]);
    expect([1, 2, 3, 4, 9].map((n) => delay(n, 0.999999))).toEqual([999, 1999, 3999, 7999, 255_999]);
  });

  it('spreads retries that failed together', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    const delays = Array.from({ length: 200 }, () => {
      const decision = nextRetry(3, policy, random);
      return decision.retry ? decision.delayMs : -1;
    });
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(2000);
    expect(Math.max(...delays)).toBeLessThan(4000);
    expect(new Set(delays).size).toBeGreaterThan(150);
  });

  it('gives up after maxAttempts attempts in all', () => {
    expect(nextRetry(9, policy, () => 0).retry).toBe(true);
    expect(nextRetry(10, policy, () => 0)).toEqual({ retry: false });
    expect(nextRetry(11, policy, () => 0)).toEqual({ retry: false });
    expect(nextRetry(1, { baseMs: 1000, maxAttempts: 1 }, () => 0)).toEqual({ retry: false });
  });

  it(`never waits an hour (${MAX_RETRY_DELAY_MS} ms) or more, however large the base or the attempt`, () => {
    const huge = { baseMs: 600_000, maxAttempts: 5000 };
    expect(delay(4, 0.999999, huge)).toBe(3_599_998); // 600 s · 2³ = 80 min, capped at 60
    expect(delay(4000, 0, huge)).toBe(MAX_RETRY_DELAY_MS / 2);
    expect(delay(4000, 0.999999, huge)).toBeLessThan(MAX_RETRY_DELAY_MS);
    expect(delay(3, 0, { baseMs: 1000, maxAttempts: 10, capMs: 2000 })).toBe(1000);
    expect(delay(3, 0, { baseMs: 1000, maxAttempts: 10, capMs: 10 * MAX_RETRY_DELAY_MS })).toBe(2000);
    expect(delay(30, 0, { baseMs: 1000, maxAttempts: 100, capMs: 10 * MAX_RETRY_DELAY_MS })).toBe(MAX_RETRY_DELAY_MS / 2);
  });

  it.each([
    [0, policy],
    [1.5, policy],
    [1, { baseMs: 0, maxAttempts: 10 }],
    [1, { baseMs: Number.POSITIVE_INFINITY, maxAttempts: 10 }],
    [1, { baseMs: 1000, maxAttempts: 0 }],
  ])('refuses attempt %p with %p', (attempt, p) => {
    expect(() => nextRetry(attempt, p, () => 0)).toThrow(RangeError);
  });

  it('refuses a random source outside [0, 1)', () => {
    expect(() => nextRetry(1, policy, () => 1)).toThrow(RangeError);
    expect(() => nextRetry(1, policy, () => -0.1)).toThrow(RangeError);
    expect(() => nextRetry(1, policy, () => Number.NaN)).toThrow(RangeError);
  });

  it('uses Math.random by default, within the bounds', () => {
    for (let i = 0; i < 100; i += 1) {
      const decision = nextRetry(2, policy);
      expect(decision.retry && decision.delayMs >= 1000 && decision.delayMs < 2000).toBe(true);
    }
  });
});

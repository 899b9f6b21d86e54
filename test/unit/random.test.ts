import { freshRandomBytes } from '../../src/crypto/random';

/* Pooled random bytes: every call gets its own bytes, of the size asked, across pool refills, and never a view of the pool. */

it('hands out each byte once, at every size, across many pool refills', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 5_000; i++) {
    for (const size of [12, 32]) {
      const bytes = freshRandomBytes(size);
      expect(bytes).toHaveLength(size);
      seen.add(bytes.toString('hex'));
    }
  }
  expect(seen.size).toBe(10_000); // 2^96 and 2^256 spaces: a repeat would mean reused bytes
  expect(freshRandomBytes(10_000)).toHaveLength(10_000); // larger than the pool: drawn directly
});

it('returns copies: overwriting one changes nothing handed out before or after it', () => {
  const before = freshRandomBytes(32);
  const kept = Buffer.from(before);
  const bytes = freshRandomBytes(32);
  bytes.fill(0);
  const after = freshRandomBytes(32);
  expect(before.equals(kept)).toBe(true);
  expect(after.equals(Buffer.alloc(32))).toBe(false);
  expect(after.equals(kept)).toBe(false);
});

import fc from 'fast-check';

import { compareFeedPositions, decodeFeedCursor, encodeFeedCursor, FEED_START } from '../../src/events/feed-cursor';

/* Feed order is numeric (transaction id, then seq), whatever the digits: compared as text it would put 100 before 99. */

const decimal = fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }).map(String);
const position = fc.record({ xid: decimal, seq: decimal });
const sign = (n: number | bigint) => (n === 0 || n === 0n ? 0 : n < 0 ? -1 : 1);

it('orders positions by transaction id, then seq, as numbers', () => {
  fc.assert(
    fc.property(position, position, (a, b) => {
      const byXid = BigInt(a.xid) - BigInt(b.xid);
      expect(compareFeedPositions(a, b)).toBe(byXid !== 0n ? sign(byXid) : sign(BigInt(a.seq) - BigInt(b.seq)));
    }),
  );
  expect(compareFeedPositions({ xid: '99', seq: '5' }, { xid: '100', seq: '1' })).toBe(-1);
  expect(compareFeedPositions({ xid: '7', seq: '1000' }, { xid: '7', seq: '999' })).toBe(1);
  expect(compareFeedPositions({ xid: '7', seq: '12' }, { xid: '7', seq: '12' })).toBe(0);
  expect(compareFeedPositions(FEED_START, { xid: '1', seq: '1' })).toBe(-1);
});

it('a cursor decodes to the position it was made from, and only such cursors decode', () => {
  fc.assert(
    fc.property(position, ({ xid, seq }) => {
      const real = { xid, seq: seq === '0' ? '1' : seq };
      expect(decodeFeedCursor(encodeFeedCursor(real))).toEqual(real);
    }),
  );
  for (const text of ['event:01:2', 'event:1:0', 'event:-1:2', 'event:1:2:3', `event:${2n ** 63n}:1`]) {
    expect(() => decodeFeedCursor(Buffer.from(text).toString('base64url'))).toThrow('not a cursor returned by secretEvents');
  }
});

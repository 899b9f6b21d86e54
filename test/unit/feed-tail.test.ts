import { FeedTail } from '../../src/events/feed-tail';
import type { ChangeFeed, TailPage } from '../../src/events/change-feed';
import type { FeedRow } from '../../src/events/secret-event';
import { createLogger } from '../../src/logger';

/*
 * FeedTail's batching (EVENTS_BATCH_MS): a wake with no read in the last
 * batchMs reads at once; wakes within it make one read when it is over,
 * with every row committed meanwhile, in order.
 */

const BATCH_MS = 400;

function row(seq: number): FeedRow {
  return {
    xid: '100', seq: String(seq), at: new Date(), action: 'SECRET_WRITTEN', tokenId: null, environmentId: 'e', spaceId: null, actorId: null,
    secretId: 's', secretName: `N${seq}`, secretVersion: 1, affectedSpaceIds: [], topic: 'secret:updated', subjectTokenId: null,
  };
}

/** A feed whose committed rows the test appends; it records when each read happened. */
function fakeFeed() {
  const rows: FeedRow[] = [];
  const reads: number[] = [];
  const feed = {
    head: async () => ({ xid: '0', seq: '0' }),
    tail: async (after: { seq: string }): Promise<TailPage> => {
      reads.push(performance.now());
      return { rows: rows.filter((r) => Number(r.seq) > Number(after.seq)), held: false };
    },
  } as unknown as ChangeFeed;
  return { feed, rows, reads };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('reads a lone wake at once, and the wakes of a burst in one read per batch interval, every row once and in order', async () => {
  const { feed, rows, reads } = fakeFeed();
  const delivered: string[] = [];
  const tail = new FeedTail(feed, (r) => delivered.push(r.secretName!), { pollMs: 60_000, batchMs: BATCH_MS }, createLogger('silent'));
  await tail.start();
  try {
    await sleep(BATCH_MS * 2); // nothing read lately
    const woken = performance.now();
    rows.push(row(1));
    tail.wake();
    await sleep(10);
    expect(reads).toHaveLength(1);
    expect(reads[0] - woken).toBeLessThan(BATCH_MS / 2); // at once, not after a batch interval
    expect(delivered).toEqual(['N1']);

    /* A burst right after: five commits, five wakes, within the interval. */
    for (let seq = 2; seq <= 6; seq++) {
      rows.push(row(seq));
      tail.wake();
    }
    await sleep(10);
    expect(reads).toHaveLength(1);
    await sleep(BATCH_MS * 1.5);
    expect(reads).toHaveLength(2);
    expect(reads[1] - reads[0]).toBeGreaterThanOrEqual(BATCH_MS - 2);
    expect(delivered).toEqual(['N1', 'N2', 'N3', 'N4', 'N5', 'N6']);
  } finally {
    await tail.stop();
  }
});

it('with batchMs 0 reads on every wake that finds no read running', async () => {
  const { feed, rows, reads } = fakeFeed();
  const tail = new FeedTail(feed, () => undefined, { pollMs: 60_000, batchMs: 0 }, createLogger('silent'));
  await tail.start();
  try {
    for (let seq = 1; seq <= 3; seq++) {
      rows.push(row(seq));
      tail.wake();
      await sleep(5);
    }
    expect(reads).toHaveLength(3);
  } finally {
    await tail.stop();
  }
});

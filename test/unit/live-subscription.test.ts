import { AuditAction } from '../../src/entities';
import type { FeedPosition } from '../../src/events/feed-cursor';
import { LiveSubscription, type FeedItem, type ReplayPage } from '../../src/events/live-subscription';
import type { SecretEvent } from '../../src/events/secret-event';

/*
 * A subscriber's stream against the queue bound (EVENTS_MAX_QUEUE): live
 * events the consumer does not read drop it; what it pulled itself — a
 * replay page, the live events held while it replayed — never does.
 */

const ENV = '00000000-0000-4000-8000-000000000001';
const at = (seq: number): FeedPosition => ({ xid: String(1000 + seq), seq: String(seq) });

function item(seq: number): FeedItem {
  const event: SecretEvent = {
    cursor: `c${seq}`,
    topic: 'secret:updated',
    action: AuditAction.SECRET_WRITTEN,
    at: new Date(0),
    tokenId: null,
    environmentId: ENV,
    spaceId: null,
    actorId: null,
    secretId: '00000000-0000-4000-8000-000000000002',
    name: `N${seq}`,
    version: seq,
    affectedSpaceIds: [],
    affectedKnown: true,
  };
  return { position: at(seq), event };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function subscription(maxQueue: number, replay?: (after: FeedPosition) => Promise<ReplayPage>) {
  const overflows: number[] = [];
  const stream = new LiveSubscription({
    viewpoint: { environmentId: ENV, spaceId: null, actorId: null },
    maxQueue,
    replay,
    onOverflow: () => overflows.push(1),
    onClose: () => undefined,
  });
  return { stream, overflows };
}

async function take(stream: LiveSubscription, n: number): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 0; i < n; i++) {
    const next = await stream.next();
    if (next.done) break;
    seqs.push(next.value.version);
  }
  return seqs;
}

it('drops a consumer that leaves more than maxQueue live events unread, once', async () => {
  const { stream, overflows } = subscription(3);
  stream.begin(at(0));
  for (const seq of range(1, 5)) stream.offer(item(seq));
  expect(overflows).toHaveLength(1);
  expect(await stream.next()).toEqual({ done: true, value: undefined });
});

it('delivers a replay page larger than maxQueue whole', async () => {
  const { stream, overflows } = subscription(3, async () => ({ items: range(1, 10).map(item), through: at(10), done: true }));
  stream.begin(at(0));
  expect(await take(stream, 10)).toEqual(range(1, 10));
  expect(overflows).toEqual([]);
});

it('at the switch to live, delivers the held events after the last page whole, and live ones after them', async () => {
  let release!: () => void;
  const pageRead = new Promise<void>((resolve) => (release = resolve));
  const { stream, overflows } = subscription(3, async () => {
    await pageRead;
    return { items: range(1, 5).map(item), through: at(5), done: true };
  });
  stream.begin(at(0));
  const first = stream.next();
  for (const seq of range(4, 6)) stream.offer(item(seq)); // held while replaying; 4 and 5 come in the page too
  release();
  expect((await first).value?.version).toBe(1);
  /* Five pulled events (2-6) wait now, beyond maxQueue; live ones still have maxQueue places of their own. */
  for (const seq of range(7, 9)) stream.offer(item(seq));
  expect(overflows).toEqual([]);
  expect(await take(stream, 8)).toEqual(range(2, 9));
  expect(overflows).toEqual([]);
});

describe('pushTo', () => {
  it('hands live events to the push consumer while next() waits with nothing queued; what it refuses is queued, and nothing overtakes it', async () => {
    const { stream } = subscription(100);
    const pushed: number[] = [];
    let taking = true;
    stream.pushTo((event) => (taking ? (pushed.push(event.version), true) : false));
    stream.begin(at(0));

    stream.offer(item(1)); // nobody waits in next(): queued
    expect(pushed).toEqual([]);
    expect(await take(stream, 1)).toEqual([1]);

    const waiting = stream.next(); // the consumer waits, the queue is empty
    stream.offer(item(2));
    stream.offer(item(3));
    expect(pushed).toEqual([2, 3]);

    taking = false; // e.g. an answer that must go through next()
    stream.offer(item(4));
    taking = true;
    stream.offer(item(5)); // queued behind 4: never pushed past it
    expect(pushed).toEqual([2, 3]);
    expect((await waiting).value?.version).toBe(4);
    expect(await take(stream, 1)).toEqual([5]);
    await stream.return();
  });

  it('pushes nothing while replaying: the replay and the held events go through next() in order', async () => {
    const { stream } = subscription(100, async () => ({ items: [item(1)], through: at(1), done: true }));
    const pushed: number[] = [];
    stream.pushTo((event) => (pushed.push(event.version), true));
    stream.begin(at(0));
    stream.offer(item(2)); // held while replaying
    expect(await take(stream, 2)).toEqual([1, 2]);
    expect(pushed).toEqual([]);
    await stream.return();
  });
});

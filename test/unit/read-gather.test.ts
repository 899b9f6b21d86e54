import { randomUUID } from 'node:crypto';

import { TokenRole, type Secret } from '../../src/entities';
import { RequestContexts } from '../../src/modules/request/request-contexts';
import { recordedAuditService } from '../support/recorded-audit';

/*
 * The read audit's group commit with the request lifecycle that feeds it: a
 * batch waits for the requests still answering, and for nobody who has left
 * — finished, released unfinished, or answering for too long.
 */

const LISTENER = { tokenId: randomUUID(), role: TokenRole.LISTENER, environmentId: randomUUID(), spaceId: null };
const turn = () => new Promise((resolve) => setImmediate(resolve));

function lifecycle() {
  const { audit, statements } = recordedAuditService();
  const requests = new RequestContexts(
    { tokens: { authenticate: async () => LISTENER, authenticateToken: async () => LISTENER }, audit, loaders: () => ({}) as never },
    { maxValuesPerRequest: 1, maxConcurrentPerToken: 100 },
  );
  const reading = async (name: string) => {
    const context = await requests.open({});
    const secret = { id: randomUUID(), environmentId: LISTENER.environmentId, spaceId: null, actorId: null, name, version: 1 } as Secret;
    context.reads.once(secret, () => 'v');
    return context;
  };
  return { statements, requests, reading };
}

beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] })); // the gather time passes only when told
afterEach(() => jest.useRealTimers());

it('waits for a request still answering, and goes as soon as it is released unfinished', async () => {
  const { statements, requests, reading } = lifecycle();
  const a = await reading('A');
  const other = await requests.open({});
  const done = requests.finish(a);
  await turn();
  await turn();
  expect(statements).toEqual([]);
  requests.release(other); // aborted: it will never add a record
  await done;
  expect(statements).toEqual([['A']]);
});

it('goes as soon as the last one answering went over its bound (it adds no record)', async () => {
  const { statements, requests, reading } = lifecycle();
  const a = await reading('A');
  const greedy = await reading('B');
  expect(() => greedy.reads.once({ id: randomUUID(), version: 1 } as Secret, () => 'w')).toThrow();
  const done = requests.finish(a);
  await turn();
  expect(statements).toEqual([]);
  await expect(requests.finish(greedy)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  await done;
  expect(statements).toEqual([['A']]);
});

it('does not wait for a request answering for over a second (slow, or never released)', async () => {
  const { statements, requests, reading } = lifecycle();
  await requests.open({}); // opened and forgotten
  jest.advanceTimersByTime(1_001);
  const a = await reading('A');
  const done = requests.finish(a);
  await turn();
  await done;
  expect(statements).toEqual([['A']]);
});

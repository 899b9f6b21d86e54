import { randomUUID } from 'node:crypto';

import type { DataSource } from 'typeorm';

import type { Queryable } from '../../src/db/statements';
import { TokenRole, type Secret } from '../../src/entities';
import { AuditService } from '../../src/modules/audit/audit.service';
import { RequestContexts } from '../../src/modules/request/request-contexts';

/*
 * The read audit's group commit with the request lifecycle that feeds it: a
 * batch waits for the requests still answering, and for nobody who has left
 * — finished, released unfinished, or answering for too long.
 */

const LISTENER = { tokenId: randomUUID(), role: TokenRole.LISTENER, environmentId: randomUUID(), spaceId: null };
const turn = () => new Promise((resolve) => setImmediate(resolve));

function lifecycle() {
  const statements: string[][] = [];
  const prepared = {
    query: async (_sql: string, params: unknown[]) => {
      statements.push((JSON.parse(params[0] as string) as { secretName: string }[]).map((r) => r.secretName));
      return [];
    },
  } as unknown as Queryable;
  const audit = new AuditService({} as DataSource, prepared);
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

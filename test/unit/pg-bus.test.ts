import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';

import { decodeBusMessage } from '../../src/events/bus/bus-message';
import { PgBus } from '../../src/events/bus/pg-bus';
import { createLogger } from '../../src/logger';

/*
 * Publishing is single-flight: a message goes at the end of its turn, and
 * what is published while a notification is on its way goes, merged, in
 * the next one once it is sent. No listening connection is needed for it.
 */

function notifier() {
  const sent: { payload: string; done: (error?: Error) => void }[] = [];
  const query = jest.fn(
    (_sql: string, [, payload]: unknown[]) =>
      new Promise<unknown[]>((resolve, reject) => {
        sent.push({ payload: payload as string, done: (error) => (error ? reject(error) : resolve([])) });
      }),
  );
  return { notifier: { query }, sent, query };
}

const busWith = (notifierOf: ReturnType<typeof notifier>) =>
  new PgBus({ listenUrl: 'postgres://127.0.0.1:1/none', notifier: notifierOf.notifier, logger: createLogger('silent') });

it('sends a lone message at the end of its turn, one notification for everything published in that turn', async () => {
  const n = notifier();
  const bus = busWith(n);
  const [a, b] = [randomUUID(), randomUUID()];
  bus.publish({ changes: true });
  bus.publish({ revokedTokens: [a] });
  bus.publish({ revokedTokens: [b] });
  expect(n.query).not.toHaveBeenCalled();
  await nextTurn();
  expect(n.sent.map((s) => decodeBusMessage(s.payload))).toEqual([{ changes: true, revokedTokens: [a, b] }]);
  n.sent[0].done();
});

it('what is published while a notification is on its way goes merged in the next one, once it is sent', async () => {
  const n = notifier();
  const bus = busWith(n);
  const [first, second, third] = [randomUUID(), randomUUID(), randomUUID()];
  bus.publish({ revokedTokens: [first] });
  await nextTurn();
  expect(n.sent).toHaveLength(1);

  bus.publish({ changes: true });
  bus.publish({ deletedSpaces: [second] });
  await nextTurn();
  bus.publish({ rotatedKeys: [third] }); // a later turn, still while the first is on its way
  await nextTurn();
  expect(n.sent).toHaveLength(1); // nothing more while one is in flight

  n.sent[0].done();
  await nextTurn();
  expect(n.sent.map((s) => decodeBusMessage(s.payload))).toEqual([
    { revokedTokens: [first] },
    { changes: true, deletedSpaces: [second], rotatedKeys: [third] },
  ]);

  n.sent[1].done();
  await nextTurn();
  expect(n.sent).toHaveLength(2); // nothing was pending

  bus.publish({ changes: true }); // idle again: goes at the end of its turn
  await nextTurn();
  expect(n.sent).toHaveLength(3);
  n.sent[2].done();
});

it('a notification that fails does not hold back the next message', async () => {
  const n = notifier();
  const bus = busWith(n);
  bus.publish({ changes: true });
  await nextTurn();
  const id = randomUUID();
  bus.publish({ revokedTokens: [id] });
  n.sent[0].done(new Error('connection lost'));
  await nextTurn();
  await nextTurn();
  expect(n.sent.map((s) => decodeBusMessage(s.payload))).toEqual([{ changes: true }, { revokedTokens: [id] }]);
  n.sent[1].done();
});

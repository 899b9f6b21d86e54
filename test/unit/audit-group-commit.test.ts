import type { DataSource } from 'typeorm';

import { AuditService, encodeReads, READ_FIELDS } from '../../src/modules/audit/audit.service';
import type { AuditRecord } from '../../src/modules/audit/audit-record';
import type { Queryable } from '../../src/db/statements';
import { readNamesIn, recordedAuditService } from '../support/recorded-audit';

/*
 * Value-read records are group-committed single-flight: a batch goes at the
 * end of the turn when no insert runs, else as soon as the running one has
 * committed, carrying every record that arrived meanwhile; each caller's
 * promise settles only with its own statement.
 */

const read = (n: number) => ({ action: 'SECRET_READ', secretName: `S${n}` }) as unknown as AuditRecord;
const turn = () => new Promise((resolve) => setImmediate(resolve));

it('sends one statement per turn while idle, and everything that arrived during an insert in the next one', async () => {
  const statements: { names: string[]; commit: () => void }[] = [];
  const prepared = {
    query: (_sql: string, params: unknown[]) =>
      new Promise<unknown[]>((resolve) => {
        const names = readNamesIn(params[0]);
        statements.push({ names, commit: () => resolve([]) });
      }),
  } as unknown as Queryable;
  const audit = new AuditService({} as DataSource, prepared);
  const settled: number[] = [];
  const append = (n: number) => audit.appendSoon([read(n)]).then(() => settled.push(n));

  const first = [append(1), append(2)]; // one turn: one statement
  await turn();
  expect(statements.map((s) => s.names)).toEqual([['S1', 'S2']]);

  const later = [append(3)];
  await turn();
  later.push(append(4));
  await turn();
  later.push(append(5));
  await turn();
  expect(statements).toHaveLength(1); // waiting for the running insert, not a statement per turn
  expect(settled).toEqual([]);

  statements[0].commit();
  await Promise.all(first);
  await turn();
  expect(settled).toEqual([1, 2]);
  expect(statements.map((s) => s.names)).toEqual([['S1', 'S2'], ['S3', 'S4', 'S5']]);

  statements[1].commit();
  await Promise.all(later);
  expect(settled).toEqual([1, 2, 3, 4, 5]);

  /* Idle again: the next record goes at the end of its turn. */
  const last = append(6);
  await turn();
  expect(statements.map((s) => s.names).at(-1)).toEqual(['S6']);
  statements[2].commit();
  await last;
});

it('a failed insert fails its own callers only, and the batch waiting behind it still goes', async () => {
  let calls = 0;
  const prepared = {
    query: async () => {
      calls += 1;
      await turn();
      if (calls === 1) throw new Error('insert failed');
      return [];
    },
  } as unknown as Queryable;
  const audit = new AuditService({} as DataSource, prepared);
  const failed = audit.appendSoon([read(1)]);
  await turn();
  const behind = audit.appendSoon([read(2)]);
  await expect(failed).rejects.toThrow('insert failed');
  await expect(behind).resolves.toBeUndefined();
  expect(calls).toBe(2);
});

it('a batch that could go waits for the requests still answering, at most a moment', async () => {
  jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] }); // the gather time passes only when told
  const { audit, statements } = recordedAuditService();
  let answering = 2;
  audit.gatherReadsOf(() => answering);

  const first = audit.appendSoon([read(1)]);
  await turn();
  await turn();
  expect(statements).toEqual([]); // two others are still producing their answers
  answering = 1;
  const second = audit.appendSoon([read(2)]);
  await turn();
  expect(statements).toEqual([]);
  answering = 0;
  const none = audit.appendSoon([]); // the last one read nothing: nobody is left to wait for
  await Promise.all([first, second, none]);
  expect(statements).toEqual([['S1', 'S2']]);

  /* Somebody who never finishes (a slow mutation) holds a batch back only for the gather time. */
  answering = 1;
  const third = audit.appendSoon([read(3)]);
  await turn();
  await turn();
  expect(statements).toHaveLength(1);
  jest.runOnlyPendingTimers(); // the gather time is up
  await third;
  expect(statements).toEqual([['S1', 'S2'], ['S3']]);
  jest.useRealTimers();
});

it('encodes a read as the tuple of READ_FIELDS, nulls for what it lacks', () => {
  const record = {
    action: 'SECRET_READ',
    tokenId: 't',
    environmentId: 'e',
    spaceId: null,
    secretId: 's',
    secretName: 'DB_PASSWORD',
    secretVersion: 4,
    source: 'ENVIRONMENT',
  } as unknown as AuditRecord;
  const [tuple] = JSON.parse(encodeReads([record])) as unknown[][];
  expect(Object.fromEntries(READ_FIELDS.map((field, i) => [field, tuple[i]]))).toEqual({
    tokenId: 't',
    environmentId: 'e',
    spaceId: null,
    actorId: null,
    secretId: 's',
    secretName: 'DB_PASSWORD',
    secretVersion: 4,
    source: 'ENVIRONMENT',
  });
  expect(tuple).toHaveLength(READ_FIELDS.length);
});

import { batchedNameReads } from '../../src/modules/secret/name-reads';
import {
  FIND_PLACEMENT_AND_SECRETS_BY_NAME_SQL,
  FIND_PLACEMENTS_AND_SECRETS_BY_NAMES_SQL,
  nameDigest,
  type NameRead,
  type Queryable,
} from '../../src/modules/secret/secret.repository';

/*
 * A listener's read of one name is shared across requests, single-flight:
 * with none running it goes at the end of its turn; while one runs, every
 * read that arrives waits and goes with the others in one statement as soon
 * as it finishes. Each read gets its own rows and only its own error.
 */

const ENV = '00000000-0000-4000-8000-000000000001';
const turn = () => new Promise((resolve) => setImmediate(resolve));
const read = (name: string, actorId: string | null = null): NameRead => ({ environmentId: ENV, spaceId: null, name, actorId });

/** A database whose statements finish when the test says; each answers with one shared row per name asked. */
function heldDatabase() {
  const statements: { batch: boolean; names: string[]; finish: (error?: Error) => void }[] = [];
  const placement = { placement_environment_id: ENV, placement_space_id: null, placement_key_version: 1 };
  const row = (name: string) => ({
    ...placement,
    id: `id-${name}`,
    environment_id: ENV,
    space_id: null,
    actor_id: null,
    name,
    version: 1,
    key_version: 1,
    wrapped_dek: Buffer.alloc(0),
    ciphertext: Buffer.alloc(0),
    deleted_at: null,
  });
  const db: Queryable = {
    query: (sql: string, params: unknown[] = []) =>
      new Promise((resolve, reject) => {
        const batch = sql === FIND_PLACEMENTS_AND_SECRETS_BY_NAMES_SQL;
        expect(batch || sql === FIND_PLACEMENT_AND_SECRETS_BY_NAME_SQL).toBe(true);
        const digests = batch ? (params[2] as Buffer[]) : [params[2] as Buffer];
        const names = digests.map((d) => ['A', 'B', 'C', 'D', 'E', 'F', 'G'].find((n) => nameDigest(n).equals(d)) ?? '?');
        const rows = names.map((name, i) => (batch ? { ask: String(i + 1), ...row(name) } : row(name)));
        statements.push({ batch, names, finish: (error) => (error ? reject(error) : resolve(rows)) });
      }),
  };
  return { db, statements };
}

it('sends a read alone while none runs, and every read that arrived meanwhile together once it has finished', async () => {
  const { db, statements } = heldDatabase();
  const reads = batchedNameReads(db);
  const found: string[] = [];
  const ask = (name: string) => reads(read(name)).then((r) => found.push(`${name}:${r.secrets.map((s) => s.name).join()}`));

  const a = ask('A');
  await turn();
  expect(statements.map((s) => [s.batch, s.names])).toEqual([[false, ['A']]]);

  /* A runs: B, C and D wait, across turns. */
  const waiting = [ask('B')];
  await turn();
  waiting.push(ask('C'), ask('D'));
  await turn();
  expect(statements).toHaveLength(1);

  statements[0].finish();
  await a;
  await turn();
  expect(statements.map((s) => [s.batch, s.names])[1]).toEqual([true, ['B', 'C', 'D']]);
  expect(found).toEqual(['A:A']);

  statements[1].finish();
  await Promise.all(waiting);
  expect(found.sort()).toEqual(['A:A', 'B:B', 'C:C', 'D:D']);

  /* Idle again: alone, at the end of its turn; reads of one turn share it. */
  const idle = [ask('E'), ask('F')];
  await turn();
  expect(statements.map((s) => [s.batch, s.names])[2]).toEqual([true, ['E', 'F']]);
  statements[2].finish();
  await Promise.all(idle);
  expect(found).toContain('F:F');
});

it('fails a read with its own statement’s error, and goes on with the next batch', async () => {
  const { db, statements } = heldDatabase();
  const reads = batchedNameReads(db);
  const first = reads(read('A'));
  await turn();
  const batched = [reads(read('B')), reads(read('C', 'us_1'))];
  await turn();
  expect(statements).toHaveLength(1);

  statements[0].finish(new Error('boom'));
  await expect(first).rejects.toThrow('boom');
  await turn();
  expect(statements.map((s) => s.names)).toEqual([['A'], ['B', 'C']]);
  statements[1].finish();
  const [b, c] = await Promise.all(batched);
  expect(b.secrets.map((s) => s.name)).toEqual(['B']);
  expect(c.secrets.map((s) => s.name)).toEqual(['C']);
  expect(b.placement?.environment_id).toBe(ENV);
});

it('retries a failed batch read by read, so one bad read does not fail the others', async () => {
  const { db, statements } = heldDatabase();
  const reads = batchedNameReads(db);
  const first = reads(read('A'));
  await turn();
  const batched = [reads(read('B')), reads(read('C')), reads(read('D'))].map((p) => p.then((r) => r.secrets[0].name, (e: Error) => e.message));
  await turn();
  statements[0].finish();
  await first;
  await turn();
  statements[1].finish(Object.assign(new Error('invalid byte sequence'), { code: '22021' }));
  await turn();
  expect(statements.slice(2).map((s) => [s.batch, s.names])).toEqual([
    [false, ['B']],
    [false, ['C']],
    [false, ['D']],
  ]);
  statements[2].finish();
  statements[3].finish(Object.assign(new Error('invalid byte sequence'), { code: '22021' }));
  statements[4].finish();
  expect(await Promise.all(batched)).toEqual(['B', 'invalid byte sequence', 'D']);
});

it('fails the whole batch at once when the database is unreachable, without retrying', async () => {
  const { db, statements } = heldDatabase();
  const reads = batchedNameReads(db);
  const first = reads(read('A'));
  await turn();
  const batched = [reads(read('B')), reads(read('C'))];
  await turn();
  statements[0].finish();
  await first;
  await turn();
  statements[1].finish(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
  for (const p of batched) await expect(p).rejects.toThrow('ECONNREFUSED');
  expect(statements).toHaveLength(2);
});

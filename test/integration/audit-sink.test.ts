import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { SINK_COLUMNS } from '../../src/modules/audit/audit-sink';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createEnvironment, createSpace, dataOf, UPSERT, upsertSecret } from '../support/operations';
import { until } from '../support/until';

/*
 * AUDIT_SINK=file:<path>: one JSON line per committed audit_event row, the
 * same fields, nothing of a rolled-back transaction, never a value or token.
 * A small AUDIT_SINK_ROTATE_SIZE makes the file rotate during the test.
 */

let db: TestDatabase;
let dir: string;
beforeAll(async () => {
  db = await createTestDatabase();
  dir = mkdtempSync(path.join(os.tmpdir(), 'audit-sink-'));
});
afterAll(async () => {
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** Every line of every file of a sink directory, rotated files first (their names sort by rotation time). */
function sinkLines(sinkDir: string, file: string): Record<string, unknown>[] {
  const files = readdirSync(sinkDir).filter((f) => f.endsWith(file) && f !== file).sort();
  files.push(file);
  return files
    .flatMap((f) => readFileSync(path.join(sinkDir, f), 'utf8').split('\n'))
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

const tableRows = async (app: TestApp, where = 'true') =>
  JSON.parse(JSON.stringify(await app.sql(`SELECT ${SINK_COLUMNS} FROM audit_event WHERE ${where} ORDER BY audit_event.seq`)));

it('streams every committed row, in commit order, with the fields of the table and no value or token', async () => {
  const sinkDir = path.join(dir, 'each');
  const app = await startTestApp({
    database: db,
    keepDatabase: true,
    env: { AUDIT_SINK: `file:${path.join(sinkDir, 'audit.jsonl')}`, AUDIT_SINK_ROTATE_SIZE: '4K' },
  });
  const values = ['SINK-VALUE-one', 'SINK-VALUE-two', 'SINK-VALUE-three'];
  let reader = '';
  try {
    const env = await createEnvironment(app, 'sunk');
    const space = await createSpace(app, env, 'sunk-space');
    const written = await upsertSecret(app, { environmentId: env, name: 'A', value: values[0] });
    await upsertSecret(app, { environmentId: env, spaceId: space, name: 'A', value: values[1] });
    // a write that fails its check-and-set rolls back: no row, no line
    const conflict = await app.gql(UPSERT, { input: { environmentId: env, name: 'A', value: values[2], expectedVersion: 7 } });
    expect(conflict.errors?.[0].extensions?.code).toBe('VERSION_CONFLICT');
    reader = await app.listener(env, space);
    for (let i = 0; i < 5; i++) {
      await fetch(`${app.url}/v1/secrets?environmentId=${env}&spaceId=${space}`, { headers: { authorization: `Bearer ${reader}` } });
      await app.gql(`{ secret(name: "A") { value } }`, {}, reader);
    }
    await app.gql(`mutation($id: ID!) { deleteSecret(id: $id) }`, { id: written.id });

    const rows = await tableRows(app);
    await until('the sink has every row', () => sinkLines(sinkDir, 'audit.jsonl').length >= rows.length, 10_000);
    const lines = sinkLines(sinkDir, 'audit.jsonl');
    expect(readdirSync(sinkDir).length).toBeGreaterThan(1); // it rotated
    // requests ran one after another, so commit order is seq order
    expect(lines).toEqual(rows);
    expect(lines.filter((l) => l.action === 'SECRET_WRITTEN')).toHaveLength(2);
    expect(lines.find((l) => l.action === 'SECRET_WRITTEN')).toMatchObject({ secretName: 'A', secretVersion: 1, count: 1, xid: expect.any(String) });
    expect(lines.filter((l) => l.action === 'SECRET_READ').every((l) => l.xid === null)).toBe(true);

    const raw = readdirSync(sinkDir).map((f) => readFileSync(path.join(sinkDir, f), 'utf8')).join('');
    for (const secret of [...values, reader, reader.slice(4), ADMIN_TOKEN]) expect(raw).not.toContain(secret);
  } finally {
    await app.close();
  }
});

it('with AUDIT_READS=coalesce, streams each rolled-up window once, with its count', async () => {
  const sinkDir = path.join(dir, 'coalesce');
  const app = await startTestApp({
    database: db,
    keepDatabase: true,
    env: { AUDIT_SINK: `file:${path.join(sinkDir, 'audit.jsonl')}`, AUDIT_READS: 'coalesce', AUDIT_COALESCE_SECONDS: '1' },
  });
  try {
    const env = await createEnvironment(app, 'sunk-coalesced');
    await upsertSecret(app, { environmentId: env, name: 'B', value: 'SINK-VALUE-coalesced' });
    const reader = await app.listener(env);
    for (let i = 0; i < 4; i++) dataOf(await app.gql(`{ secret(name: "B") { value } }`, {}, reader));
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await app.container.audit.coalescer!.rollup();
    const rows = await tableRows(app, `action = 'SECRET_READ' AND environment_id = '${env}'`);
    expect(rows.reduce((n: number, r: { count: number }) => n + r.count, 0)).toBe(4);
    await until('the sink has the read', () => sinkLines(sinkDir, 'audit.jsonl').some((l) => l.action === 'SECRET_READ'), 10_000);
    expect(sinkLines(sinkDir, 'audit.jsonl').filter((l) => l.action === 'SECRET_READ')).toEqual(rows);
  } finally {
    await app.close();
  }
});

import { cpSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { execFileSync } from 'node:child_process';

import { migrations } from '../../src/migrations';
import { freePort, gqlAt, listenerAt, startServerProcess } from '../support/server-process';

/*
 * The embedded default, as `npm start` runs it: no DATABASE_URL, PGlite in
 * DATA_DIR served over a socket to the same pg driver. Smoke of the core
 * behaviour, concurrency on PGlite, and persistence across a restart.
 */

let dataDir: string;
beforeAll(() => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'ss-embedded-'));
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const ok = <T>(res: { data?: T; errors?: unknown[] }): T => {
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data!;
};

it('serves, resolves overrides, survives concurrent writes, and keeps data across a restart', async () => {
  const port = await freePort();
  const first = await startServerProcess({ DATA_DIR: dataDir }, port);
  let env: string;
  let space: string;
  let reader: string;
  try {
    expect(first.output()).toContain('generated a local master key');
    expect(statSync(path.join(dataDir, 'master.key')).mode & 0o777).toBe(0o600);
    /* A new DATA_DIR starts from the build's initdb'd cluster (its system identifier, pg_control's first 8 bytes), not from an initdb of its own. */
    const systemId = (pgdata: string) => readFileSync(path.join(pgdata, 'global', 'pg_control')).subarray(0, 8).toString('hex');
    expect(systemId(path.join(dataDir, 'pgdata'))).toBe(systemId(path.join(__dirname, '..', '..', 'dist', 'embedded-template', 'pgdata')));
    expect(statSync(path.join(dataDir, 'pgdata', 'global', 'pg_control')).mode & 0o077).toBe(0);
    expect((await fetch(`${first.url}/readyz`)).status).toBe(200);

    env = ok(await gqlAt(first.url, `mutation { createEnvironment(input: { name: "embedded" }) { id } }`)).createEnvironment.id;
    space = ok(await gqlAt(first.url, `mutation($e: ID!) { createSpace(input: { environmentId: $e, name: "s" }) { id } }`, { e: env })).createSpace.id;
    const upsert = `mutation($i: UpsertSecretInput!) { upsertSecret(input: $i) { version } }`;
    ok(await gqlAt(first.url, upsert, { i: { environmentId: env, name: 'SHARED', value: 'env' } }));
    ok(await gqlAt(first.url, upsert, { i: { environmentId: env, name: 'ENV_ONLY', value: 'env-only' } }));
    ok(await gqlAt(first.url, upsert, { i: { environmentId: env, spaceId: space, name: 'SHARED', value: 'space' } }));

    const racers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => gqlAt(first.url, upsert, { i: { environmentId: env, name: 'RACE', value: `r${i}` } })),
    );
    expect(racers.filter((r) => r.errors)).toEqual([]);
    const creators = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        gqlAt(first.url, upsert, { i: { environmentId: env, name: 'ONCE', value: `o${i}`, expectedVersion: 0 } }),
      ),
    );
    expect(creators.filter((r) => !r.errors)).toHaveLength(1);
    expect(creators.flatMap((r) => r.errors ?? []).map((e: any) => e.extensions.code)).toEqual(Array(9).fill('VERSION_CONFLICT'));
    reader = await listenerAt(first.url, env, space);
  } finally {
    expect(await first.stop('SIGTERM')).toBe(0);
  }

  const second = await startServerProcess({ DATA_DIR: dataDir }, port);
  try {
    expect(second.output()).not.toContain('generated a local master key');
    const res = ok(
      await gqlAt(second.url, `{ effectiveSecrets { name value source secret { version } } }`, {}, reader!),
    );
    expect(res.effectiveSecrets).toEqual([
      { name: 'ENV_ONLY', value: 'env-only', source: 'ENVIRONMENT', secret: { version: 1 } },
      { name: 'ONCE', value: expect.stringMatching(/^o\d$/), source: 'ENVIRONMENT', secret: { version: 1 } },
      { name: 'RACE', value: expect.stringMatching(/^r\d+$/), source: 'ENVIRONMENT', secret: { version: 20 } },
      { name: 'SHARED', value: 'space', source: 'SPACE', secret: { version: 1 } },
    ]);
  } finally {
    expect(await second.stop('SIGTERM')).toBe(0);
  }

  /* The cluster came migrated from the template, and today's partition was made before the first audit row (none went to the default partition). */
  const [names, rows, dated] = queryCluster(path.join(dataDir, 'pgdata'), [
    'SELECT name FROM migrations ORDER BY id',
    'SELECT tableoid::regclass::text AS partition, count(*)::int AS n FROM audit_event GROUP BY 1',
    DATED_PARTITIONS,
  ]);
  expect(names.map((r) => r.name)).toEqual(migrations.map((m) => m.name));
  const today = new Date().toISOString().slice(0, 10).replaceAll('-', '');
  expect(rows.map((r) => r.partition)).toEqual([`audit_event_p${today}`]);
  /* today and a week ahead (from the template when it was built this week, else made at start and by the timers) */
  expect(dated.map((r) => r.name)).toEqual(expect.arrayContaining(daysFrom(new Date(), 8).map((day) => `audit_event_p${day}`)));
});

/** `count` consecutive UTC days from `start`, as YYYYMMDD. */
const daysFrom = (start: Date, count: number) =>
  Array.from({ length: count }, (_, i) => new Date(start.getTime() + i * 86_400_000).toISOString().slice(0, 10).replaceAll('-', ''));

const DATED_PARTITIONS = `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
  WHERE i.inhparent = 'audit_event'::regclass AND c.relname ~ '^audit_event_p[0-9]{8}$'`;

/** The rows of each statement, from the cluster opened in PGlite by a child process (PGlite does not load inside jest's module system). */
function queryCluster(pgdata: string, statements: string[]): Record<string, unknown>[][] {
  const script = `
    const { PGlite } = require('@electric-sql/pglite');
    (async () => {
      const db = await PGlite.create(process.argv[1]);
      const out = [];
      for (const sql of JSON.parse(process.argv[2])) out.push((await db.query(sql)).rows);
      await db.close();
      process.stdout.write(JSON.stringify(out));
    })();`;
  const output = execFileSync(process.execPath, ['-e', script, pgdata, JSON.stringify(statements)], { cwd: path.join(__dirname, '..', '..') });
  return JSON.parse(String(output));
}

it('the build leaves the embedded template migrated, without template databases, with the build week’s partitions and no rows', () => {
  const template = path.join(__dirname, '..', '..', 'dist', 'embedded-template');
  expect(readFileSync(path.join(template, 'schema'), 'utf8').trim()).toBe(migrations.at(-1)!.name);
  const copy = mkdtempSync(path.join(os.tmpdir(), 'ss-template-'));
  try {
    cpSync(path.join(template, 'pgdata'), path.join(copy, 'pgdata'), { recursive: true }); // opening a cluster writes to it
    const [executed, databases, partitions, ...counts] = queryCluster(path.join(copy, 'pgdata'), [
      'SELECT count(*)::int AS n FROM migrations',
      'SELECT datname FROM pg_database ORDER BY datname',
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_event'::regclass ORDER BY 1`,
      ...['api_token', 'environment', 'secret', 'audit_event'].map((table) => `SELECT count(*)::int AS n FROM ${table}`),
    ]);
    expect(executed).toEqual([{ n: migrations.length }]);
    expect(databases).toEqual([{ datname: 'postgres' }]); // template0 and template1 left out: fewer files to copy
    /* the default partition, and the build's day with the week ahead, as the migration made them */
    const names = partitions.map((r) => r.name as string);
    expect(names[0]).toBe('audit_event_default');
    const dated = names.slice(1);
    const first = dated[0].slice('audit_event_p'.length);
    const firstDay = new Date(`${first.slice(0, 4)}-${first.slice(4, 6)}-${first.slice(6)}T00:00:00Z`);
    expect(dated).toEqual(daysFrom(firstDay, 8).map((day) => `audit_event_p${day}`));
    expect(counts).toEqual(Array(4).fill([{ n: 0 }]));
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});

it('writes a first ADMIN token to DATA_DIR when none is configured, and refuses a second server there', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ss-embedded-lock-'));
  const first = await startServerProcess({ DATA_DIR: dir, BOOTSTRAP_ADMIN_TOKEN: '' }, await freePort());
  try {
    const file = path.join(dir, 'admin.token');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const token = readFileSync(file, 'utf8').trim();
    expect(token).toMatch(/^sst_/);
    expect(first.output()).toContain(file);
    expect(first.output()).not.toContain(token);
    const viewer = await gqlAt(first.url, `{ viewer { role } }`, {}, token);
    expect(viewer.data).toEqual({ viewer: { role: 'ADMIN' } });
    await expect(startServerProcess({ DATA_DIR: dir }, await freePort())).rejects.toThrow(/in use by process/);
  } finally {
    await first.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

it('keeps history, rolls back, deletes and restores, and resolves personal values on PGlite too', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ss-embedded-versions-'));
  const server = await startServerProcess({ DATA_DIR: dir, SECRET_VERSIONS_KEPT: '3' }, await freePort());
  try {
    const env = ok(await gqlAt(server.url, `mutation { createEnvironment(input: { name: "history" }) { id } }`)).createEnvironment.id;
    const space = ok(await gqlAt(server.url, `mutation($e: ID!) { createSpace(input: { environmentId: $e, name: "s" }) { id } }`, { e: env })).createSpace.id;
    const upsert = `mutation($i: UpsertSecretInput!) { upsertSecret(input: $i) { id version } }`;
    let id = '';
    for (let i = 1; i <= 5; i++) id = ok(await gqlAt(server.url, upsert, { i: { environmentId: env, name: 'H', value: `h${i}` } })).upsertSecret.id;
    ok(await gqlAt(server.url, upsert, { i: { environmentId: env, spaceId: space, name: 'H', value: 'h-space' } }));
    ok(await gqlAt(server.url, upsert, { i: { environmentId: env, name: 'H', value: 'h-mine', actorId: 'us_ag_1' } }));
    const reader = await listenerAt(server.url, env, space);
    const value = async (vars: string) => ok(await gqlAt(server.url, `{ secret(name: "H"${vars}) { value overrideStale } }`, {}, reader)).secret;

    expect(await value(', actorId: "us_ag_1"')).toEqual({ value: 'h-mine', overrideStale: false });
    expect(await value('')).toEqual({ value: 'h-space', overrideStale: false });
    const versions = ok(
      await gqlAt(server.url, `query($e: ID!) { environment(id: $e) { secrets { versions { edges { node { version value } } } } } }`, { e: env }, reader),
    ).environment.secrets[0].versions.edges.map((e: any) => e.node);
    expect(versions).toEqual([
      { version: 5, value: 'h5' },
      { version: 4, value: 'h4' },
      { version: 3, value: 'h3' },
    ]);
    expect(ok(await gqlAt(server.url, `mutation($id: ID!) { rollbackSecret(input: { id: $id, version: 3 }) { version } }`, { id })).rollbackSecret.version).toBe(6);
    ok(await gqlAt(server.url, `mutation($id: ID!) { deleteSecret(id: $id) }`, { id }));
    expect(ok(await gqlAt(server.url, `mutation($id: ID!) { restoreSecret(id: $id) { version } }`, { id })).restoreSecret.version).toBe(7);
    const envOnly = ok(await gqlAt(server.url, `query($e: ID) { secret(name: "H", environmentId: $e) { value } }`, { e: env }, await listenerAt(server.url, env)));
    expect(envOnly.secret.value).toBe('h3');
  } finally {
    expect(await server.stop('SIGTERM')).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  }
});

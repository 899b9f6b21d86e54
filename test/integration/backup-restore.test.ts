import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { startTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { rotationOf } from '../support/keys';
import { createEnvironment, createSpace, upsertSecret } from '../support/operations';
import { postgresBin } from '../support/pg-cluster';
import { freePort, gqlAt, listenerAt, startServerProcess } from '../support/server-process';

/*
 * Backup and restore as notes/README-backup.md tells operators to do it.
 * PostgreSQL: pg_dump -Fc, pg_restore into a new database; with the same
 * master key every value of every environment (rotated keys included) reads
 * back; with another master key, or the same id with other bytes, every
 * read is DECRYPTION_FAILED and no value at all comes back. Embedded: stop
 * the server, archive DATA_DIR without master.key, keep the key apart;
 * restore both and every value reads back; restore without the key and
 * reads fail the same way.
 */

const run = promisify(execFile);
const OTHER_KEYS = `other-1:${Buffer.alloc(32, 9).toString('base64')}`;
const SAME_ID_OTHER_BYTES = `test-1:${Buffer.alloc(32, 8).toString('base64')}`;

/** name@scope → value, as written. */
type Expected = Map<string, string>;

/* BIG is 64,000 bytes of UTF-8, near the 64 KiB limit. */
const valueOf = (environment: number, name: string, round: number) =>
  name === 'BIG' ? `${environment}:${round}:`.padEnd(32_000, 'é') : `${name} in ${environment} #${round} ✓ — ünïcode`;

/** Writes two environments (one with a space and overrides, one rotated), each secret more than once. */
async function seed(app: TestApp): Promise<{ expected: Expected; environments: { id: string; spaceId: string }[] }> {
  const expected: Expected = new Map();
  const environments: { id: string; spaceId: string }[] = [];
  for (let e = 0; e < 2; e++) {
    const id = await createEnvironment(app, `backup-${e}`);
    const spaceId = await createSpace(app, id, 'space');
    environments.push({ id, spaceId });
    for (let round = 0; round < 2; round++) {
      for (const name of ['A', 'B', 'BIG']) {
        const value = valueOf(e, name, round);
        await upsertSecret(app, { environmentId: id, name, value });
        expected.set(`${id}/${name}@env`, value);
      }
      const override = `override ${e} #${round}`;
      await upsertSecret(app, { environmentId: id, spaceId, name: 'A', value: override });
      expected.set(`${id}/A@${spaceId}`, override);
    }
  }
  await rotationOf(app).rotateEnvironment(environments[1].id); // its secrets now span two environment key versions
  await upsertSecret(app, { environmentId: environments[1].id, name: 'AFTER_ROTATION', value: 'written under key version 2' });
  expected.set(`${environments[1].id}/AFTER_ROTATION@env`, 'written under key version 2');
  return { expected, environments };
}

type Gql = (query: string, variables: Record<string, unknown>, token: string) => Promise<{ status: number; data?: any; errors?: any[] }>;

/** Every stored row, environment- and space-level, through listener tokens: name@scope → value, and the error codes seen. */
async function readAll(gql: Gql, listeners: Map<string, string>, environments: { id: string; spaceId: string }[]) {
  const values: Expected = new Map();
  const codes: string[] = [];
  const bodies: string[] = [];
  for (const { id, spaceId } of environments) {
    const res = await gql(
      `query($e: ID!, $s: ID!) { environment(id: $e) { secrets { name value } } space(id: $s) { secrets { name value } } }`,
      { e: id, s: spaceId },
      listeners.get(id)!,
    );
    bodies.push(JSON.stringify(res));
    for (const error of res.errors ?? []) codes.push(error.extensions?.code);
    for (const s of res.data?.environment?.secrets ?? []) values.set(`${id}/${s.name}@env`, s.value);
    for (const s of res.data?.space?.secrets ?? []) values.set(`${id}/${s.name}@${spaceId}`, s.value);
  }
  return { values, codes: [...new Set(codes)], bodies: bodies.join('\n') };
}

describe('PostgreSQL: pg_dump and pg_restore', () => {
  let source: TestDatabase;
  let dumpDir: string;
  const restored: TestDatabase[] = [];
  beforeAll(async () => {
    source = await createTestDatabase();
    dumpDir = mkdtempSync(path.join(os.tmpdir(), 'ss-dump-'));
  });
  afterAll(async () => {
    await Promise.all([source, ...restored].map((d) => d?.drop()));
    rmSync(dumpDir, { recursive: true, force: true });
  });

  async function restoreInto(): Promise<TestDatabase> {
    const target = await createTestDatabase();
    restored.push(target);
    await run(path.join(postgresBin(), 'pg_restore'), ['--no-owner', '--exit-on-error', '-d', target.url, path.join(dumpDir, 'secretspace.dump')]);
    return target;
  }

  it('restores every value with the same master key; another key reads nothing', async () => {
    const app = await startTestApp({ database: source, keepDatabase: true });
    let seeded: Awaited<ReturnType<typeof seed>>;
    const listeners = new Map<string, string>();
    try {
      seeded = await seed(app);
      for (const { id } of seeded.environments) listeners.set(id, await app.listener(id));
      expect((await readAll(app.gql, listeners, seeded.environments)).values).toEqual(seeded.expected);
    } finally {
      await app.close();
    }

    // the documented procedure (notes/README-backup.md), servers running or not
    await run(path.join(postgresBin(), 'pg_dump'), ['-Fc', '-d', source.url, '-f', path.join(dumpDir, 'secretspace.dump')]);

    const same = await startTestApp({ database: await restoreInto(), keepDatabase: true });
    try {
      const back = await readAll(same.gql, listeners, seeded.environments);
      expect(back.codes).toEqual([]);
      expect(back.values).toEqual(seeded.expected);
      expect((await same.gql(`{ viewer { role } }`, {}, listeners.values().next().value)).data).toEqual({ viewer: { role: 'LISTENER' } });
    } finally {
      await same.close();
    }

    for (const keys of [OTHER_KEYS, SAME_ID_OTHER_BYTES]) {
      const other = await startTestApp({ database: await restoreInto(), keepDatabase: true, env: { LOCAL_MASTER_KEYS: keys } });
      try {
        const back = await readAll(other.gql, listeners, seeded.environments);
        expect({ keys: keys.split(':')[0], codes: back.codes, values: back.values.size }).toEqual({
          keys: keys.split(':')[0],
          codes: ['DECRYPTION_FAILED'],
          values: 0,
        });
        for (const value of seeded.expected.values()) expect(back.bodies).not.toContain(value.slice(0, 20));
        const rest = await fetch(`${other.url}/v1/secrets?environmentId=${seeded.environments[0].id}`, {
          headers: { authorization: `Bearer ${listeners.get(seeded.environments[0].id)}` },
        });
        expect([rest.status, ((await rest.json()) as any).errors[0].code]).toEqual([500, 'DECRYPTION_FAILED']);
      } finally {
        await other.close();
      }
    }
  });
});

describe('embedded: stop, archive DATA_DIR without the key, restore', () => {
  let base: string;
  beforeAll(() => {
    base = mkdtempSync(path.join(os.tmpdir(), 'ss-embedded-backup-'));
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('restores every value with the key kept apart; without it every read is DECRYPTION_FAILED', async () => {
    const live = path.join(base, 'live');
    const port = await freePort();
    const gql: Gql = (query, variables, token) => gqlAt(`http://127.0.0.1:${port}`, query, variables, token);
    let server = await startServerProcess({ DATA_DIR: live }, port);
    const expected: Expected = new Map();
    const environments: { id: string; spaceId: string }[] = [];
    const listeners = new Map<string, string>();
    try {
      const id = (await gqlAt(server.url, `mutation { createEnvironment(input: { name: "embedded" }) { id } }`)).data.createEnvironment.id;
      const spaceId = (await gqlAt(server.url, `mutation($e: ID!) { createSpace(input: { environmentId: $e, name: "s" }) { id } }`, { e: id })).data
        .createSpace.id;
      environments.push({ id, spaceId });
      for (const [name, scope] of [['A', null], ['BIG', null], ['A', spaceId]] as const) {
        const value = scope ? 'space override' : valueOf(0, name, 1);
        const res = await gqlAt(server.url, `mutation($i: UpsertSecretInput!) { upsertSecret(input: $i) { version } }`, {
          i: { environmentId: id, spaceId: scope, name, value },
        });
        expect(res.errors).toBeUndefined();
        expected.set(`${id}/${name}@${scope ?? 'env'}`, value);
      }
      listeners.set(id, await listenerAt(server.url, id));
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0); // the files are consistent only when the server is stopped
    }

    // backup: the data without the key, and the key on its own
    const archive = path.join(base, 'data.tar');
    await run('tar', ['-C', live, '--exclude=./master.key', '-cpf', archive, '.']);
    const keyCopy = path.join(base, 'master.key.backup');
    copyFileSync(path.join(live, 'master.key'), keyCopy);
    rmSync(live, { recursive: true, force: true }); // the machine is gone

    const restore = async (name: string, withKey: boolean) => {
      const dir = path.join(base, name);
      mkdirSync(dir, { mode: 0o700 });
      await run('tar', ['-C', dir, '-xpf', archive]);
      if (withKey) copyFileSync(keyCopy, path.join(dir, 'master.key'));
      return dir;
    };

    server = await startServerProcess({ DATA_DIR: await restore('restored', true) }, port);
    try {
      const back = await readAll(gql, listeners, environments);
      expect(back.codes).toEqual([]);
      expect(back.values).toEqual(expected);
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }

    server = await startServerProcess({ DATA_DIR: await restore('keyless', false) }, port);
    try {
      expect(server.output()).toContain('generated a local master key'); // a new key: the old values cannot be opened
      const back = await readAll(gql, listeners, environments);
      expect({ codes: back.codes, values: back.values.size }).toEqual({ codes: ['DECRYPTION_FAILED'], values: 0 });
      for (const value of expected.values()) expect(back.bodies).not.toContain(value.slice(0, 20));
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
  });
});

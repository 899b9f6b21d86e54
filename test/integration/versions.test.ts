import { randomUUID } from 'node:crypto';

import { startTestApp, type TestApp } from '../support/app';
import { rotationOf } from '../support/keys';
import { createEnvironment, createSpace, dataOf, databaseFingerprint, errorCode, upsertSecret } from '../support/operations';

/*
 * DESIGN §11 through GraphQL and REST: history, pinned reads, rollback,
 * soft delete, restore, revive, destroy, purge, stale overrides, and the
 * keys that cover every retained version.
 */

let app: TestApp;
let env: string;
let space: string;
let reader: string;
const KEPT = 4;

beforeAll(async () => {
  app = await startTestApp({ env: { SECRET_VERSIONS_KEPT: String(KEPT) } });
  env = await createEnvironment(app, 'versions');
  space = await createSpace(app, env, 'versions-space');
  reader = await app.listener(env);
});
afterAll(() => app?.close());

const write = (name: string, value: string, extra: Record<string, unknown> = {}) =>
  upsertSecret(app, { environmentId: env, name, value, ...extra } as never);
const mutate = (query: string, variables: Record<string, unknown>) => app.gql(query, variables);
const read = (name: string, extra = '', variables: Record<string, unknown> = {}) =>
  app.gql(`query($n: String!${extra ? `, ${extra}` : ''}) { secret(name: $n${extra ? ', version: $v' : ''}) { value secret { id version } } }`, { n: name, ...variables }, reader);
const ROLLBACK = `mutation($i: RollbackSecretInput!) { rollbackSecret(input: $i) { id version } }`;
const RESTORE = `mutation($id: ID!) { restoreSecret(id: $id) { id version deletedAt } }`;
const DELETE = `mutation($id: ID!) { deleteSecret(id: $id) }`;
const DESTROY = `mutation($id: ID!) { destroySecret(id: $id) }`;

async function versionsOf(id: string, as?: string, args = '') {
  const res = await app.gql(
    `query($e: ID!) { environment(id: $e) { secrets { id versions${args} { edges { cursor node { version createdAt tokenId restoredFrom ${as ? 'value' : ''} } } pageInfo { hasNextPage endCursor } } } } }`,
    { e: env },
    as,
  );
  return dataOf(res).environment.secrets.find((s: { id: string }) => s.id === id).versions;
}

const auditOf = (secretId: string) =>
  app.sql<{ action: string; secret_version: number; topic: string | null }>(
    `SELECT action, secret_version, topic FROM audit_event WHERE secret_id = $1 AND action <> 'SECRET_READ' ORDER BY seq`,
    [secretId],
  );

describe('history', () => {
  it('every write keeps the version it replaces, newest first, with who wrote it', async () => {
    const { id } = await write('HIST', 'h1');
    await write('HIST', 'h2');
    await write('HIST', 'h3');
    const admin = dataOf(await app.gql(`{ viewer { id } }`)).viewer.id;
    const versions = await versionsOf(id);
    expect(versions.edges.map((e: any) => e.node.version)).toEqual([3, 2, 1]);
    expect(versions.edges.every((e: any) => e.node.tokenId === admin && e.node.restoredFrom === null)).toBe(true);
    expect(versions.pageInfo.hasNextPage).toBe(false);
  });

  it('pages with first and after', async () => {
    const { id } = await write('PAGED', 'p1');
    await write('PAGED', 'p2');
    await write('PAGED', 'p3');
    const first = await versionsOf(id, undefined, '(first: 2)');
    expect(first.edges.map((e: any) => e.node.version)).toEqual([3, 2]);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const rest = await versionsOf(id, undefined, `(first: 2, after: "${first.pageInfo.endCursor}")`);
    expect(rest.edges.map((e: any) => e.node.version)).toEqual([1]);
    expect(rest.pageInfo.hasNextPage).toBe(false);
    const res = await app.gql(`query($e: ID!) { environment(id: $e) { secrets { versions(after: "bogus") { edges { cursor } } } } }`, { e: env });
    expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it(`keeps exactly the last SECRET_VERSIONS_KEPT (${KEPT}) versions, the current one included`, async () => {
    const { id } = await write('KEEP', 'k1');
    for (let i = 2; i <= 7; i++) await write('KEEP', `k${i}`);
    expect((await versionsOf(id)).edges.map((e: any) => e.node.version)).toEqual([7, 6, 5, 4]);
    const [{ n }] = await app.sql(`SELECT count(*)::int AS n FROM secret_version WHERE secret_id = $1`, [id]);
    expect(n).toBe(KEPT - 1);
  });

  it('a listener reads each retained value, audited as a read of that version', async () => {
    const { id } = await write('READ_OLD', 'old-1');
    await write('READ_OLD', 'old-2');
    const versions = await versionsOf(id, reader);
    expect(versions.edges.map((e: any) => [e.node.version, e.node.value])).toEqual([
      [2, 'old-2'],
      [1, 'old-1'],
    ]);
    const reads = await app.sql(`SELECT secret_version FROM audit_event WHERE secret_id = $1 AND action = 'SECRET_READ' ORDER BY secret_version`, [id]);
    expect(reads).toEqual([{ secret_version: 1 }, { secret_version: 2 }]);
  });

  it('an ADMIN never reads an old value', async () => {
    const { id } = await write('ADMIN_OLD', 'admin-old-1');
    const res = await app.gql(`query($e: ID!) { environment(id: $e) { secrets { id versions { edges { node { value } } } } } }`, { e: env });
    expect(res.errors?.some((e) => e.extensions?.code === 'FORBIDDEN')).toBe(true);
    expect(JSON.stringify(res)).not.toContain('admin-old-1');
    expect(id).toBeDefined();
  });

  it('reading 20 versions costs one statement', async () => {
    const many = await startTestApp({ env: { SECRET_VERSIONS_KEPT: '20', TOKEN_CACHE_TTL_MS: '0' } });
    try {
      const e = await createEnvironment(many, 'twenty');
      for (let i = 0; i < 20; i++) await upsertSecret(many, { environmentId: e, name: 'TWENTY', value: `t${i}` });
      const count = async (query: string) => {
        await many.gql(query, { e });
        const before = many.container.database.observer.statements;
        const res = await many.gql(query, { e });
        return { res, statements: many.container.database.observer.statements - before };
      };
      const without = await count(`query($e: ID!) { environment(id: $e) { secrets { id } } }`);
      const withVersions = await count(`query($e: ID!) { environment(id: $e) { secrets { id versions(first: 20) { edges { node { version } } } } } }`);
      expect(dataOf(withVersions.res).environment.secrets[0].versions.edges).toHaveLength(20);
      expect(withVersions.statements - without.statements).toBe(1);
    } finally {
      await many.close();
    }
  });
});

describe('pinned reads', () => {
  it('secret(version) answers the supplying secret at that retained version', async () => {
    await write('PIN', 'pin-1');
    await write('PIN', 'pin-2');
    const pinned = await read('PIN', '$v: Int', { v: 1 });
    expect(dataOf(pinned).secret).toMatchObject({ value: 'pin-1', secret: { version: 1 } });
    expect(dataOf(await read('PIN')).secret.value).toBe('pin-2');
  });

  it('a pruned or never-written version is NOT_FOUND', async () => {
    for (let i = 1; i <= KEPT + 2; i++) await write('PRUNED', `pr${i}`);
    expect(errorCode(await read('PRUNED', '$v: Int', { v: 1 }))).toBe('NOT_FOUND');
    expect(errorCode(await read('PRUNED', '$v: Int', { v: 99 }))).toBe('NOT_FOUND');
    expect(errorCode(await read('PRUNED', '$v: Int', { v: 0 }))).toBe('BAD_USER_INPUT');
  });

  it('the listener client exposes it', async () => {
    const { createSecretsClient } = await import('../../src/client');
    await write('PIN_CLIENT', 'client-1');
    await write('PIN_CLIENT', 'client-2');
    const client = createSecretsClient({ url: `${app.url}/graphql`, token: reader });
    expect(await client.secrets('PIN_CLIENT', { version: 1 })).toBe('client-1');
    expect(await client.secrets('PIN_CLIENT')).toBe('client-2');
  });
});

describe('rollback', () => {
  it('writes a new version holding an old value, re-sealed by the server', async () => {
    const { id } = await write('RB', 'rb-1');
    await write('RB', 'rb-2');
    const rolled = dataOf(await mutate(ROLLBACK, { i: { id, version: 1 } })).rollbackSecret;
    expect(rolled).toEqual({ id, version: 3 });
    expect(dataOf(await read('RB')).secret.value).toBe('rb-1');
    const versions = await versionsOf(id);
    expect(versions.edges[0].node).toMatchObject({ version: 3, restoredFrom: 1 });
    expect((await auditOf(id)).at(-1)).toEqual({ action: 'SECRET_ROLLED_BACK', secret_version: 3, topic: 'secret:updated' });
  });

  it('to the current version writes a new version with the same value', async () => {
    const { id } = await write('RB_SAME', 'same');
    expect(dataOf(await mutate(ROLLBACK, { i: { id, version: 1 } })).rollbackSecret.version).toBe(2);
    expect(dataOf(await read('RB_SAME')).secret.value).toBe('same');
  });

  it('is check-and-set, and refuses bad targets with nothing written', async () => {
    const { id } = await write('RB_BAD', 'b1');
    await write('RB_BAD', 'b2');
    for (let i = 3; i <= KEPT + 2; i++) await write('RB_BAD', `b${i}`);
    const before = await databaseFingerprint(app);
    const cases: [Record<string, unknown>, string][] = [
      [{ id, version: 2, expectedVersion: 1 }, 'VERSION_CONFLICT'],
      [{ id, version: 1 }, 'NOT_FOUND'], // pruned
      [{ id, version: 999 }, 'NOT_FOUND'],
      [{ id: randomUUID(), version: 1 }, 'NOT_FOUND'],
      [{ id: 'nope', version: 1 }, 'BAD_USER_INPUT'],
      [{ id, version: 0 }, 'BAD_USER_INPUT'],
    ];
    for (const [input, code] of cases) expect([input, errorCode(await mutate(ROLLBACK, { i: input }))]).toEqual([input, code]);
    expect(await databaseFingerprint(app)).toBe(before);
  });
});

describe('soft delete, restore, revive, destroy', () => {
  it('a delete takes the secret out of resolution at once and keeps it, at its version', async () => {
    const { id } = await write('SOFT', 'soft-1');
    await write('SOFT', 'soft-2');
    expect(dataOf(await mutate(DELETE, { id })).deleteSecret).toBe(id);
    expect(errorCode(await read('SOFT'))).toBe('SECRET_NOT_FOUND');
    const list = dataOf(await app.gql(`{ effectiveSecrets { name } }`, {}, reader)).effectiveSecrets.map((s: any) => s.name);
    expect(list).not.toContain('SOFT');
    const rest = await fetch(`${app.url}/v1/secrets?environmentId=${env}`, { headers: { authorization: `Bearer ${reader}` } });
    expect(((await rest.json()) as any).data.map((s: any) => s.name)).not.toContain('SOFT');
    const deleted = dataOf(await app.gql(`query($e: ID!) { deletedSecrets(environmentId: $e) { id name version deletedAt } }`, { e: env })).deletedSecrets;
    expect(deleted.find((s: any) => s.id === id)).toMatchObject({ name: 'SOFT', version: 2, deletedAt: expect.any(String) });
    expect(errorCode(await mutate(DELETE, { id }))).toBe('NOT_FOUND');
  });

  it('a deleted secret is not rolled back or read at a version until restored', async () => {
    const { id } = await write('SOFT_RB', 'x1');
    await write('SOFT_RB', 'x2');
    await mutate(DELETE, { id });
    const before = await databaseFingerprint(app);
    expect(errorCode(await mutate(ROLLBACK, { i: { id, version: 1 } }))).toBe('NOT_FOUND');
    expect(errorCode(await read('SOFT_RB', '$v: Int', { v: 1 }))).toBe('SECRET_NOT_FOUND');
    expect(await databaseFingerprint(app)).toBe(before);
  });

  it('restore brings it back as a new version of its last value; a live one is BAD_USER_INPUT', async () => {
    const { id } = await write('RESTORE', 'r1');
    await write('RESTORE', 'r2');
    await mutate(DELETE, { id });
    const restored = dataOf(await mutate(RESTORE, { id })).restoreSecret;
    expect(restored).toEqual({ id, version: 3, deletedAt: null });
    expect(dataOf(await read('RESTORE')).secret.value).toBe('r2');
    expect((await versionsOf(id)).edges[0].node).toMatchObject({ version: 3, restoredFrom: 2 });
    const before = await databaseFingerprint(app);
    expect(errorCode(await mutate(RESTORE, { id }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await mutate(RESTORE, { id: randomUUID() }))).toBe('NOT_FOUND');
    expect(await databaseFingerprint(app)).toBe(before);
    expect((await auditOf(id)).map((a) => [a.action, a.topic])).toEqual([
      ['SECRET_WRITTEN', 'secret:created'],
      ['SECRET_WRITTEN', 'secret:updated'],
      ['SECRET_DELETED', 'secret:deleted'],
      ['SECRET_RESTORED', 'secret:created'],
    ]);
  });

  it('writing a deleted name revives the same secret at the next version; for check-and-set it is absent', async () => {
    const { id } = await write('REVIVE', 'v1');
    await mutate(DELETE, { id });
    const before = await databaseFingerprint(app);
    const conflict = await app.gql(
      `mutation($i: UpsertSecretInput!) { upsertSecret(input: $i) { version } }`,
      { i: { environmentId: env, name: 'REVIVE', value: 'v2', expectedVersion: 1 } },
    );
    expect(conflict.errors?.[0].extensions).toMatchObject({ code: 'VERSION_CONFLICT', currentVersion: 0 });
    expect(await databaseFingerprint(app)).toBe(before);
    expect(await write('REVIVE', 'v2', { expectedVersion: 0 })).toMatchObject({ id, version: 2 });
    expect(dataOf(await read('REVIVE')).secret.value).toBe('v2');
  });

  it('destroy removes every version now; the old id is NOT_FOUND everywhere and the name starts over', async () => {
    const { id } = await write('DESTROY', 'd1');
    await write('DESTROY', 'd2');
    await mutate(DELETE, { id });
    expect(dataOf(await mutate(DESTROY, { id })).destroySecret).toBe(id);
    expect(await app.sql(`SELECT 1 FROM secret_version WHERE secret_id = $1`, [id])).toEqual([]);
    for (const [query, variables] of [
      [RESTORE, { id }],
      [DELETE, { id }],
      [DESTROY, { id }],
      [ROLLBACK, { i: { id, version: 1 } }],
    ] as const) {
      expect(errorCode(await mutate(query, variables))).toBe('NOT_FOUND');
    }
    expect((await write('DESTROY', 'again')).version).toBe(1);
    // destroying a secret that was already deleted changed no view: recorded, but not an event
    expect((await auditOf(id)).at(-1)).toEqual({ action: 'SECRET_DESTROYED', secret_version: 2, topic: null });
  });

  it('DELETE /v1/secrets/:id is the same soft delete', async () => {
    const { id } = await write('REST_SOFT', 'rest-soft');
    const res = await fetch(`${app.url}/v1/secrets/${id}`, { method: 'DELETE', headers: { authorization: 'Bearer test-bootstrap-admin-token-0123456789abcdef' } });
    expect(res.status).toBe(200);
    expect(dataOf(await mutate(RESTORE, { id })).restoreSecret.version).toBe(2);
  });

  it('the purge destroys what was deleted before retention, idempotently, audited', async () => {
    const { id: old } = await write('PURGE_OLD', 'p');
    const { id: recent } = await write('PURGE_RECENT', 'p');
    await mutate(DELETE, { id: old });
    await mutate(DELETE, { id: recent });
    await app.sql(`UPDATE secret SET deleted_at = now() - interval '31 days' WHERE id = $1`, [old]);
    const { AccessPolicy } = await import('../../src/modules/access/access-policy');
    expect(await app.container.secrets.purgeDeleted(AccessPolicy.system)).toBe(1);
    expect(await app.container.secrets.purgeDeleted(AccessPolicy.system)).toBe(0);
    expect(await app.sql(`SELECT id FROM secret WHERE id = ANY($1)`, [[old, recent]])).toEqual([{ id: recent }]);
    expect((await auditOf(old)).at(-1)).toMatchObject({ action: 'SECRET_DESTROYED' });
  });
});

describe('overrideStale', () => {
  const view = async () =>
    dataOf(await app.gql(`query($s: ID!) { space(id: $s) { effectiveSecrets { name source overrideStale overrides { version } } } }`, { s: space }))
      .space.effectiveSecrets;
  const stale = async (name: string) => (await view()).find((s: any) => s.name === name).overrideStale;

  it('is false when set over the current environment value, true once that changes, false again when the override is rewritten', async () => {
    await write('STALE', 'env-1');
    await write('STALE', 'space-1', { spaceId: space });
    expect(await stale('STALE')).toBe(false);
    await write('STALE', 'env-2');
    expect(await stale('STALE')).toBe(true);
    await write('STALE', 'space-2', { spaceId: space });
    expect(await stale('STALE')).toBe(false);
  });

  it('is true when the value underneath appears or is deleted', async () => {
    await write('APPEARS', 'space-only', { spaceId: space });
    expect(await stale('APPEARS')).toBe(false);
    const { id } = await write('APPEARS', 'env-now');
    expect(await stale('APPEARS')).toBe(true);
    await write('APPEARS', 'space-again', { spaceId: space });
    expect(await stale('APPEARS')).toBe(false);
    await mutate(DELETE, { id });
    expect(await stale('APPEARS')).toBe(true);
  });
});

describe('encryption of every version', () => {
  it('no plaintext of any version is in the database', async () => {
    const values = ['plain-hist-AAAA-1', 'plain-hist-AAAA-2', 'plain-hist-AAAA-3'];
    for (const v of values) await write('NO_PLAIN', v);
    /* Every row as text (bytea as hex): neither the value nor its bytes in hex may appear. */
    const dump = [
      ...(await app.sql(`SELECT t::text AS row FROM secret t`)),
      ...(await app.sql(`SELECT t::text AS row FROM secret_version t`)),
    ]
      .map((r) => r.row)
      .join('\n');
    for (const v of values) {
      expect(dump).not.toContain(v);
      expect(dump).not.toContain(Buffer.from(v).toString('hex'));
    }
  });

  it("a version's ciphertext copied onto another version fails with DECRYPTION_FAILED", async () => {
    const { id } = await write('COPIED', 'copy-1');
    await write('COPIED', 'copy-2');
    await write('COPIED', 'copy-3');
    await app.sql(
      `UPDATE secret_version t SET wrapped_dek = s.wrapped_dek, ciphertext = s.ciphertext
         FROM secret_version s WHERE s.secret_id = $1 AND s.version = 1 AND t.secret_id = $1 AND t.version = 2`,
      [id],
    );
    const res = await read('COPIED', '$v: Int', { v: 2 });
    expect(errorCode(res)).toBe('DECRYPTION_FAILED');
    expect(JSON.stringify(res)).not.toContain('copy-1');
    expect(dataOf(await read('COPIED', '$v: Int', { v: 1 })).secret.value).toBe('copy-1');
  });

  it('rotation then a restart leaves every retained version readable', async () => {
    const e = await createEnvironment(app, 'rotate-history');
    const token = await app.listener(e);
    const { id } = await upsertSecret(app, { environmentId: e, name: 'R', value: 'r-1' });
    await upsertSecret(app, { environmentId: e, name: 'R', value: 'r-2' });
    await upsertSecret(app, { environmentId: e, name: 'R', value: 'r-3' });
    await rotationOf(app).rotateEnvironment(e, { retireDelayMs: 0 });
    expect(await app.sql(`SELECT DISTINCT key_version FROM secret_version WHERE secret_id = $1`, [id])).toEqual([{ key_version: 2 }]);
    const database = { url: (app.container.database.dataSource.options as { url: string }).url, drop: async () => undefined };
    const second = await startTestApp({ database: database as never, keepDatabase: true, env: { SECRET_VERSIONS_KEPT: String(KEPT) } });
    try {
      for (const [v, value] of [[1, 'r-1'], [2, 'r-2'], [3, 'r-3']] as const) {
        const res = await second.gql(`query($v: Int) { secret(name: "R", version: $v) { value } }`, { v }, token);
        expect(dataOf(res).secret.value).toBe(value);
      }
    } finally {
      await second.close();
    }
  });
});

describe('concurrency', () => {
  it('50 parallel mixed calls on one secret leave a contiguous history, no version twice', async () => {
    const { id } = await write('MIXED', 'm0');
    const calls = Array.from({ length: 50 }, (_, i) => {
      switch (i % 4) {
        case 0:
          return write('MIXED', `m${i}`).catch(() => undefined);
        case 1:
          return mutate(ROLLBACK, { i: { id, version: 1 } });
        case 2:
          return mutate(DELETE, { id });
        default:
          return mutate(RESTORE, { id });
      }
    });
    const answers = await Promise.all(calls);
    for (const answer of answers) {
      const codes = (answer as any)?.errors?.map((e: any) => e.extensions?.code) ?? [];
      expect(codes.filter((c: string) => !['NOT_FOUND', 'BAD_USER_INPUT'].includes(c))).toEqual([]);
    }
    const [current] = await app.sql(`SELECT version FROM secret WHERE id = $1`, [id]);
    const history = (await app.sql(`SELECT version FROM secret_version WHERE secret_id = $1 ORDER BY version`, [id])).map((r) => r.version);
    const expected = Array.from({ length: Math.min(KEPT - 1, current.version - 1) }, (_, i) => current.version - history.length + i);
    expect(history).toEqual(expected);
    expect(history.at(-1)).toBe(current.version - 1);
  });
});

describe('deleting what holds history', () => {
  it('an environment whose secrets have retained versions is deleted with them', async () => {
    const e = await createEnvironment(app, 'doomed-with-history');
    const s = await createSpace(app, e, 'doomed-space');
    await upsertSecret(app, { environmentId: e, name: 'H', value: 'h1' });
    await upsertSecret(app, { environmentId: e, name: 'H', value: 'h2' });
    await upsertSecret(app, { environmentId: e, spaceId: s, name: 'H', value: 's1' });
    await upsertSecret(app, { environmentId: e, spaceId: s, name: 'H', value: 's2' });
    expect(dataOf(await mutate(`mutation($id: ID!) { deleteEnvironment(id: $id) }`, { id: e })).deleteEnvironment).toBe(e);
    expect(await app.sql(`SELECT count(*)::int AS n FROM secret_version WHERE environment_id = $1`, [e])).toEqual([{ n: 0 }]);
  });
});

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';

import { ADMIN_TOKEN, TEST_MASTER_KEYS, startTestApp, type TestApp } from '../support/app';
import { createEnvironment, createSpace, dataOf, errorCode, upsertSecret } from '../support/operations';

let app: TestApp;
let env: string;
let space: string;

beforeAll(async () => {
  // token lookups uncached, so every request's statements are counted whole (events-coherence.test.ts counts the cache)
  app = await startTestApp({ env: { TOKEN_CACHE_TTL_MS: '0' } });
  env = await createEnvironment(app, 'tokens');
  space = await createSpace(app, env, 's');
});
afterAll(() => app?.close());

const CREATE = `mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token apiToken { id name role environmentId spaceId createdAt lastUsedAt revokedAt } } }`;

describe('tokens', () => {
  it('are random, at least 256 bits, prefixed, shown once and stored only as a SHA-256 hash', async () => {
    const a = dataOf(await app.gql(CREATE, { i: { name: 'one', role: 'LISTENER', environmentId: env } })).createApiToken;
    const b = dataOf(await app.gql(CREATE, { i: { name: 'two', role: 'LISTENER', environmentId: env } })).createApiToken;
    for (const { token } of [a, b]) {
      expect(token).toMatch(/^sst_[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(token.slice(4), 'base64url')).toHaveLength(32);
    }
    expect(a.token).not.toBe(b.token);
    const [row] = await app.sql(`SELECT token_hash FROM api_token WHERE id = $1`, [a.apiToken.id]);
    expect(row.token_hash.equals(createHash('sha256').update(a.token).digest())).toBe(true);
    const dump = JSON.stringify(await app.sql(`SELECT t.*::text FROM api_token t`)) + JSON.stringify(await app.sql(`SELECT a.*::text FROM audit_event a`));
    expect(dump).not.toContain(a.token.slice(4));
    expect(dump).not.toContain(ADMIN_TOKEN);
    const listed = JSON.stringify(dataOf(await app.gql(`{ apiTokens { id name role } }`)));
    expect(listed).toContain(a.apiToken.id);
    expect(listed).not.toContain(a.token);
  });

  it('the bootstrap admin token was registered at start-up, and viewer shows the caller', async () => {
    const viewer = dataOf(await app.gql(`{ viewer { name role environmentId spaceId revokedAt lastUsedAt } }`)).viewer;
    expect(viewer).toMatchObject({ name: 'bootstrap', role: 'ADMIN', environmentId: null, spaceId: null, revokedAt: null });
    expect(new Date(viewer.lastUsedAt).getTime()).toBeGreaterThan(Date.now() - 120_000);
  });

  it('a listener bound by spaceId alone gets the space’s environment', async () => {
    const created = dataOf(await app.gql(CREATE, { i: { name: 'by space', role: 'LISTENER', spaceId: space } })).createApiToken;
    expect(created.apiToken).toMatchObject({ role: 'LISTENER', environmentId: env, spaceId: space });
    const viewer = dataOf(await app.gql(`{ viewer { id environmentId spaceId } }`, {}, created.token)).viewer;
    expect(viewer).toEqual({ id: created.apiToken.id, environmentId: env, spaceId: space });
  });

  it.each([
    ['an ADMIN bound to an environment', () => ({ name: 'x', role: 'ADMIN', environmentId: env }), 'BAD_USER_INPUT', 'environmentId'],
    ['a LISTENER without a binding', () => ({ name: 'x', role: 'LISTENER' }), 'BAD_USER_INPUT', 'environmentId'],
    ['a LISTENER of an unknown environment', () => ({ name: 'x', role: 'LISTENER', environmentId: '00000000-0000-4000-8000-000000000000' }), 'NOT_FOUND', 'environmentId'],
    ['a space outside the environment', () => ({ name: 'x', role: 'LISTENER', environmentId: '00000000-0000-4000-8000-000000000000', spaceId: space }), 'BAD_USER_INPUT', 'spaceId'],
    ['an empty name', () => ({ name: '', role: 'LISTENER', environmentId: env }), 'BAD_USER_INPUT', 'name'],
  ])('refuses %s', async (_label, input, code, field) => {
    const before = await app.sql(`SELECT count(*)::int AS n FROM api_token`);
    const res = await app.gql(CREATE, { i: input() });
    expect(errorCode(res)).toBe(code);
    expect(res.errors![0].extensions?.field).toBe(field);
    expect(await app.sql(`SELECT count(*)::int AS n FROM api_token`)).toEqual(before);
  });

  it('revocation takes effect on the next request', async () => {
    const created = dataOf(await app.gql(CREATE, { i: { name: 'short-lived', role: 'LISTENER', environmentId: env } })).createApiToken;
    expect((await app.gql(`{ viewer { id } }`, {}, created.token)).status).toBe(200);
    const revoked = dataOf(await app.gql(`mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }`, { id: created.apiToken.id }));
    expect(revoked.revokeApiToken.revokedAt).not.toBeNull();
    const after = await app.gql(`{ viewer { id } }`, {}, created.token);
    expect([after.status, after.errors?.[0].extensions?.code]).toEqual([401, 'UNAUTHENTICATED']);
    const again = await app.gql(`mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }`, { id: created.apiToken.id });
    expect(dataOf(again).revokeApiToken.revokedAt).toBe(revoked.revokeApiToken.revokedAt);
  });

  it('deleting an environment removes its listener tokens', async () => {
    const doomed = await createEnvironment(app, 'doomed');
    const token = await app.listener(doomed);
    await app.gql(`mutation($id: ID!) { deleteEnvironment(id: $id) }`, { id: doomed });
    expect((await app.gql(`{ viewer { id } }`, {}, token)).status).toBe(401);
  });
});

describe('audit log', () => {
  const events = async (environmentId?: string, first = 100) =>
    dataOf(
      await app.gql(
        `query($e: ID, $f: Int) { auditEvents(environmentId: $e, first: $f) { edges { cursor node { id at action tokenId environmentId spaceId secretName secretVersion source } } pageInfo { hasNextPage endCursor } } }`,
        { e: environmentId, f: first },
      ),
    ).auditEvents;

  it('records creations, writes, reads with provenance, deletes and token changes, newest first, without values', async () => {
    const e = await createEnvironment(app, 'audited');
    const s = await createSpace(app, e, 'audited-space');
    await upsertSecret(app, { environmentId: e, name: 'API', value: 'AUDIT-VALUE-env' });
    await upsertSecret(app, { environmentId: e, name: 'API', value: 'AUDIT-VALUE-env2' });
    const override = await upsertSecret(app, { environmentId: e, spaceId: s, name: 'API', value: 'AUDIT-VALUE-space' });
    await upsertSecret(app, { environmentId: e, name: 'OTHER', value: 'AUDIT-VALUE-other' });
    const reader = await app.listener(e, s);
    const readerId = dataOf(await app.gql(`{ viewer { id } }`, {}, reader)).viewer.id;
    await app.gql(`{ effectiveSecrets { name value } }`, {}, reader);
    await app.gql(`mutation($id: ID!) { deleteSecret(id: $id) }`, { id: override.id });

    const adminId = dataOf(await app.gql(`{ viewer { id } }`)).viewer.id;
    const list = await events(e);
    const actions = list.edges.map((edge: any) => edge.node);
    expect(actions.map((n: any) => n.action)).toEqual([
      'SECRET_DELETED',
      'SECRET_READ',
      'SECRET_READ',
      'TOKEN_CREATED',
      'SECRET_WRITTEN',
      'SECRET_WRITTEN',
      'SECRET_WRITTEN',
      'SECRET_WRITTEN',
      'SPACE_CREATED',
      'ENVIRONMENT_CREATED',
    ]);
    const reads = actions.filter((n: any) => n.action === 'SECRET_READ');
    expect(reads).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ tokenId: readerId, secretName: 'API', source: 'SPACE', secretVersion: 1, spaceId: s }),
        expect.objectContaining({ tokenId: readerId, secretName: 'OTHER', source: 'ENVIRONMENT', secretVersion: 1, spaceId: null }),
      ]),
    );
    const writes = actions.filter((n: any) => n.action === 'SECRET_WRITTEN');
    expect(writes.map((n: any) => [n.secretName, n.secretVersion, n.source, n.tokenId])).toEqual([
      ['OTHER', 1, 'ENVIRONMENT', adminId],
      ['API', 1, 'SPACE', adminId],
      ['API', 2, 'ENVIRONMENT', adminId],
      ['API', 1, 'ENVIRONMENT', adminId],
    ]);
    const dump = JSON.stringify(await app.sql(`SELECT a::text FROM audit_event a`));
    expect(dump).not.toContain('AUDIT-VALUE');
    expect(dump).not.toContain(reader);
  });

  it('pages with opaque cursors and filters by environment', async () => {
    const e = await createEnvironment(app, 'paged');
    for (let i = 0; i < 5; i++) await upsertSecret(app, { environmentId: e, name: `P${i}`, value: 'v' });
    const first = await events(e, 2);
    expect(first.edges).toHaveLength(2);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const res = await app.gql(
      `query($e: ID, $a: String) { auditEvents(environmentId: $e, first: 10, after: $a) { edges { node { secretName action environmentId } } pageInfo { hasNextPage } } }`,
      { e, a: first.pageInfo.endCursor },
    );
    const rest = dataOf(res).auditEvents;
    expect(rest.edges.map((edge: any) => edge.node.secretName)).toEqual(['P2', 'P1', 'P0', null]);
    expect(rest.edges.every((edge: any) => edge.node.environmentId === e)).toBe(true);
    expect(rest.pageInfo.hasNextPage).toBe(false);
    expect(errorCode(await app.gql(`{ auditEvents(after: "bogus") { edges { cursor } } }`))).toBe('BAD_USER_INPUT');
    expect(errorCode(await app.gql(`{ auditEvents(first: 0) { edges { cursor } } }`))).toBe('BAD_USER_INPUT');
    expect(errorCode(await app.gql(`{ auditEvents(first: 501) { edges { cursor } } }`))).toBe('BAD_USER_INPUT');
  });

  it('is append-only in the database', async () => {
    await expect(app.sql(`UPDATE audit_event SET action = 'SECRET_READ'`)).rejects.toThrow(/append-only/);
    await expect(app.sql(`DELETE FROM audit_event`)).rejects.toThrow(/append-only/);
  });

  it('a read of 500 values adds one audit statement, not one per value', async () => {
    const e = await createEnvironment(app, 'five-hundred');
    for (let i = 0; i < 500; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => upsertSecret(app, { environmentId: e, name: `K${i + j}`, value: `v${i + j}` })));
    }
    const reader = await app.listener(e);
    await app.gql(`{ viewer { id } }`, {}, reader); // stamps lastUsedAt, as any active token has
    const observer = app.container.database.observer;
    const before = observer.statements;
    const res = await app.gql(`{ effectiveSecrets { name value } }`, {}, reader);
    const statements = observer.statements - before;
    expect(dataOf(res).effectiveSecrets).toHaveLength(500);
    // token lookup, scope and secrets in one statement, one audit insert
    expect(statements).toBe(3);
    const [{ n }] = await app.sql(`SELECT count(*)::int AS n FROM audit_event WHERE environment_id = $1 AND action = 'SECRET_READ'`, [e]);
    expect(n).toBe(500);
  });

  it('withholds the values when the read cannot be audited', async () => {
    const e = await createEnvironment(app, 'unauditable');
    await upsertSecret(app, { environmentId: e, name: 'HIDDEN', value: 'WITHHELD-VALUE' });
    const reader = await app.listener(e);
    await app.sql(`ALTER TABLE audit_event ADD CONSTRAINT no_reads_for_test CHECK (action <> 'SECRET_READ' OR environment_id <> '${e}')`);
    try {
      const res = await app.gql(`{ secret(name: "HIDDEN") { value } }`, {}, reader);
      expect(res.errors?.[0].extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(JSON.stringify(res)).not.toContain('WITHHELD-VALUE');
    } finally {
      await app.sql(`ALTER TABLE audit_event DROP CONSTRAINT no_reads_for_test`);
    }
  });
});

describe('token CLI', () => {
  const CLI = path.join(__dirname, '..', '..', 'dist', 'src', 'cli', 'index.js');
  const run = async (...args: string[]) => {
    const databaseUrl = (app.container.database.dataSource.options as { url: string }).url;
    return promisify(execFile)(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl, LOCAL_MASTER_KEYS: TEST_MASTER_KEYS },
    });
  };

  it('creates a listener token that works, lists it without the secret part, and revokes it', async () => {
    const created = await run('token', 'create', '--role', 'LISTENER', '--environment', env, '--name', 'from-cli');
    const token = created.stdout.trim();
    expect(token).toMatch(/^sst_/);
    expect(created.stderr).toMatch(/shown only now/);
    const viewer = dataOf(await app.gql(`{ viewer { id name role environmentId } }`, {}, token)).viewer;
    expect(viewer).toMatchObject({ name: 'from-cli', role: 'LISTENER', environmentId: env });

    const listed = await run('token', 'list');
    expect(listed.stdout).toContain(viewer.id);
    expect(listed.stdout).not.toContain(token.slice(4));

    await run('token', 'revoke', viewer.id);
    expect((await app.gql(`{ viewer { id } }`, {}, token)).status).toBe(401);
    const audited = await app.sql(`SELECT action, token_id FROM audit_event WHERE subject_token_id = $1 ORDER BY seq`, [viewer.id]);
    expect(audited).toEqual([
      { action: 'TOKEN_CREATED', token_id: null },
      { action: 'TOKEN_REVOKED', token_id: null },
    ]);
  });

  it('reports bad input with its code and a non-zero exit', async () => {
    await expect(run('token', 'create', '--role', 'LISTENER')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('[BAD_USER_INPUT]'),
    });
  });
});

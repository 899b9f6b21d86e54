import { startTestApp, TEST_MASTER_KEYS, type TestApp } from '../support/app';
import { createEnvironment, createSpace, dataOf, errorCode, upsertSecret } from '../support/operations';

/*
 * What reaches the database: no plaintext value, no unwrapped key; and what
 * happens when stored bytes are moved or changed: DECRYPTION_FAILED, never a
 * wrong value.
 */

let app: TestApp;
let env: string;
let otherEnv: string;
let space: string;
const MARKERS = ['PLAINTEXT-MARKER-env-4f1c', 'PLAINTEXT-MARKER-space-9a2e', 'PLAINTEXT-MARKER-other-77b0'];

beforeAll(async () => {
  app = await startTestApp();
  env = await createEnvironment(app, 'at-rest');
  otherEnv = await createEnvironment(app, 'at-rest-other');
  space = await createSpace(app, env, 'space');
  await upsertSecret(app, { environmentId: env, name: 'A', value: MARKERS[0] });
  await upsertSecret(app, { environmentId: env, spaceId: space, name: 'A', value: MARKERS[1] });
  await upsertSecret(app, { environmentId: otherEnv, name: 'A', value: MARKERS[2] });
  await upsertSecret(app, { environmentId: env, name: 'B', value: 'short' });
});
afterAll(() => app?.close());

async function everyStoredByte(): Promise<Buffer> {
  const tables = await app.sql<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
  );
  const chunks: Buffer[] = [];
  for (const { table_name } of tables) {
    const columns = await app.sql<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1`,
      [table_name],
    );
    for (const row of await app.sql(`SELECT * FROM "${table_name}"`)) {
      for (const { column_name } of columns) {
        const cell = row[column_name];
        chunks.push(Buffer.isBuffer(cell) ? cell : Buffer.from(String(cell)));
      }
    }
    const [{ text }] = await app.sql<{ text: string }>(`SELECT coalesce(string_agg(t::text, '\n'), '') AS text FROM "${table_name}" t`);
    chunks.push(Buffer.from(text));
  }
  return Buffer.concat(chunks);
}

/** Values are read by a LISTENER of the environment (ADMIN tokens never read them). */
const readValue = async (name: string, scope: { e?: string; s?: string }) =>
  app.gql(
    `query($n: String!, $e: ID, $s: ID) { secret(name: $n, environmentId: $e, spaceId: $s) { name value } }`,
    { n: name, ...scope },
    await app.listener(scope.e ?? env),
  );

describe('at rest', () => {
  it('a raw dump of every table holds no plaintext value and no unwrapped or master key', async () => {
    const dump = await everyStoredByte();
    for (const marker of MARKERS) {
      expect(dump.includes(Buffer.from(marker))).toBe(false);
      expect(dump.includes(Buffer.from(Buffer.from(marker).toString('hex')))).toBe(false);
      expect(dump.includes(Buffer.from(Buffer.from(marker).toString('base64')))).toBe(false);
    }
    for (const environmentId of [env, otherEnv]) {
      const key = await app.container.keyring.key(environmentId, 1);
      expect(dump.includes(key)).toBe(false);
      expect(dump.includes(Buffer.from(key.toString('hex')))).toBe(false);
    }
    const master = Buffer.from(TEST_MASTER_KEYS.split(':')[1], 'base64');
    expect(dump.includes(master)).toBe(false);
    // And the values are really there, encrypted: they read back.
    expect(dataOf(await readValue('A', { s: space })).secret.value).toBe(MARKERS[1]);
  });

  it('stores self-describing blobs: env-key version in the DEK blob, provider and key id in the key blob', async () => {
    const [secret] = await app.sql(`SELECT wrapped_dek, ciphertext, key_version FROM secret WHERE environment_id = $1 AND name = 'B'`, [env]);
    expect(secret.wrapped_dek[0]).toBe(1);
    expect(secret.wrapped_dek.readUInt32BE(1)).toBe(secret.key_version);
    expect(secret.ciphertext[0]).toBe(1);
    const [key] = await app.sql(`SELECT wrapped_key, provider_id, key_ref FROM environment_key WHERE environment_id = $1`, [env]);
    expect([key.provider_id, key.key_ref]).toEqual(['local', 'test-1']);
    expect(key.wrapped_key.includes(Buffer.from('local'))).toBe(true);
    expect(key.wrapped_key.includes(Buffer.from('test-1'))).toBe(true);
  });
});

describe('tampering', () => {
  async function withRowRestored(id: string, run: () => Promise<void>) {
    const [original] = await app.sql(`SELECT wrapped_dek, ciphertext FROM secret WHERE id = $1`, [id]);
    try {
      await run();
    } finally {
      await app.sql(`UPDATE secret SET wrapped_dek = $2, ciphertext = $3 WHERE id = $1`, [id, original.wrapped_dek, original.ciphertext]);
    }
  }
  const idOf = async (environmentId: string, name: string, spaceId: string | null = null) =>
    (
      await app.sql(`SELECT id FROM secret WHERE environment_id = $1 AND name = $2 AND space_id IS NOT DISTINCT FROM $3`, [
        environmentId,
        name,
        spaceId,
      ])
    )[0].id as string;

  it.each([
    ['another secret of the same environment', () => idOf(env, 'B'), () => idOf(env, 'A')],
    ['the override of the same name', () => idOf(env, 'A', space), () => idOf(env, 'A')],
    ['the same name in another environment', () => idOf(otherEnv, 'A'), () => idOf(env, 'A')],
  ])('ciphertext copied from %s fails with DECRYPTION_FAILED', async (_label, sourceId, targetId) => {
    const [source, target] = [await sourceId(), await targetId()];
    await withRowRestored(target, async () => {
      await app.sql(
        `UPDATE secret t SET wrapped_dek = s.wrapped_dek, ciphertext = s.ciphertext FROM secret s WHERE s.id = $1 AND t.id = $2`,
        [source, target],
      );
      const res = await app.gql(`query($id: ID!) { environment(id: $id) { secrets { id value } } }`, { id: env }, await app.listener(env));
      const codes = (res.errors ?? []).map((e) => e.extensions?.code);
      expect(codes).toContain('DECRYPTION_FAILED');
      expect(JSON.stringify(res)).not.toContain('PLAINTEXT-MARKER');
    });
    expect(dataOf(await readValue('A', { e: env })).secret.value).toBe(MARKERS[0]);
  });

  it.each(['wrapped_dek', 'ciphertext'])('a flipped byte anywhere in %s fails with DECRYPTION_FAILED', async (column) => {
    const id = await idOf(env, 'B');
    const [row] = await app.sql(`SELECT ${column} AS blob FROM secret WHERE id = $1`, [id]);
    const blob: Buffer = row.blob;
    await withRowRestored(id, async () => {
      for (const position of [0, 1, 4, 5, 12, Math.floor(blob.length / 2), blob.length - 17, blob.length - 1]) {
        const tampered = Buffer.from(blob);
        tampered[position] ^= 0x01;
        await app.sql(`UPDATE secret SET ${column} = $2 WHERE id = $1`, [id, tampered]);
        const res = await readValue('B', { e: env });
        expect({ position, code: errorCode(res) }).toEqual({ position, code: 'DECRYPTION_FAILED' });
      }
    });
    expect(dataOf(await readValue('B', { e: env })).secret.value).toBe('short');
  });

  it('a query that does not select value decrypts nothing, so it succeeds over a corrupt row', async () => {
    const id = await idOf(env, 'B');
    await withRowRestored(id, async () => {
      await app.sql(`UPDATE secret SET ciphertext = '\\x00'::bytea WHERE id = $1`, [id]);
      const metadata = await app.gql(`query($e: ID) { effectiveSecrets(environmentId: $e) { name source secret { id version } } }`, { e: env });
      expect(metadata.errors).toBeUndefined();
      expect(dataOf(metadata).effectiveSecrets.map((s: { name: string }) => s.name)).toEqual(['A', 'B']);
      const withValue = await app.gql(`query($e: ID) { effectiveSecrets(environmentId: $e) { name value } }`, { e: env }, await app.listener(env));
      expect(withValue.errors?.map((e) => e.extensions?.code)).toEqual(['DECRYPTION_FAILED']);
    });
  });
});

describe('tampered environment key', () => {
  it('a flipped byte in the wrapped environment key fails with DECRYPTION_FAILED after the cache is cold', async () => {
    const db = await import('../support/database');
    const database = await db.createTestDatabase();
    const first = await startTestApp({ database, keepDatabase: true });
    const e = await createEnvironment(first, 'key-tamper');
    await upsertSecret(first, { environmentId: e, name: 'K', value: 'kv' });
    await first.close();

    const second = await startTestApp({ database });
    try {
      const [row] = await second.sql(`SELECT wrapped_key FROM environment_key WHERE environment_id = $1`, [e]);
      const tampered = Buffer.from(row.wrapped_key);
      tampered[tampered.length - 5] ^= 0x80;
      await second.sql(`UPDATE environment_key SET wrapped_key = $2 WHERE environment_id = $1`, [e, tampered]);
      const res = await second.gql(`query($e: ID) { secret(name: "K", environmentId: $e) { value } }`, { e }, await second.listener(e));
      expect(errorCode(res)).toBe('DECRYPTION_FAILED');
      const write = await second.gql(`mutation($e: ID!) { upsertSecret(input: { environmentId: $e, name: "K", value: "new" }) { version } }`, { e });
      expect(errorCode(write)).toBe('DECRYPTION_FAILED');
      expect(await second.sql(`SELECT version FROM secret WHERE environment_id = $1`, [e])).toEqual([{ version: 1 }]);
    } finally {
      await second.close();
    }
  });
});

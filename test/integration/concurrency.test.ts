import { startTestApp, type TestApp } from '../support/app';
import { UPSERT, createEnvironment, createSpace, dataOf } from '../support/operations';

let app: TestApp;
let env: string;
let space: string;

beforeAll(async () => {
  app = await startTestApp();
  env = await createEnvironment(app, 'concurrency');
  space = await createSpace(app, env, 'busy');
});
afterAll(() => app?.close());

const PARALLEL = 50;

async function race(inputs: Record<string, unknown>[]) {
  const results = await Promise.all(inputs.map((input) => app.gql(UPSERT, { input })));
  const ok = results.filter((r) => !r.errors);
  const codes = results.flatMap((r) => (r.errors ?? []).map((e) => e.extensions?.code));
  return { ok, codes };
}

const rowsNamed = (name: string) =>
  app.sql<{ version: number; space_id: string | null }>(`SELECT version, space_id FROM secret WHERE name = $1`, [name]);

describe.each([
  ['environment level', () => ({ environmentId: env })],
  ['space level', () => ({ environmentId: env, spaceId: space })],
])('%s: %i parallel upserts of one name', (label, scope) => {
  const name = `RACE_${label.replace(' ', '_')}`;

  it('without expectedVersion: one row, every write succeeds, version = number of writes', async () => {
    const { ok, codes } = await race(Array.from({ length: PARALLEL }, (_, i) => ({ ...scope(), name, value: `v${i}` })));
    expect(codes).toEqual([]);
    expect(ok).toHaveLength(PARALLEL);
    const versions = ok.map((r) => dataOf(r).upsertSecret.version).sort((a: number, b: number) => a - b);
    expect(versions).toEqual(Array.from({ length: PARALLEL }, (_, i) => i + 1));
    const rows = await rowsNamed(name);
    expect(rows).toHaveLength(1);
    expect(rows[0].version).toBe(PARALLEL);
  });

  it('create-only (expectedVersion 0): exactly one wins, the rest are VERSION_CONFLICT', async () => {
    const createName = `${name}_CREATE`;
    const { ok, codes } = await race(
      Array.from({ length: PARALLEL }, (_, i) => ({ ...scope(), name: createName, value: `v${i}`, expectedVersion: 0 })),
    );
    expect(ok).toHaveLength(1);
    expect(codes).toEqual(Array(PARALLEL - 1).fill('VERSION_CONFLICT'));
    expect(await rowsNamed(createName)).toEqual([expect.objectContaining({ version: 1 })]);
  });

  it('check-and-set at the current version: exactly one wins', async () => {
    const rows = await rowsNamed(name);
    const current = rows[0].version;
    const { ok, codes } = await race(
      Array.from({ length: PARALLEL }, (_, i) => ({ ...scope(), name, value: `cas${i}`, expectedVersion: current })),
    );
    expect(ok).toHaveLength(1);
    expect(new Set(codes)).toEqual(new Set(['VERSION_CONFLICT']));
    expect((await rowsNamed(name))[0].version).toBe(current + 1);
  });

  it('mixed writers: the version equals the number of successful writes', async () => {
    const mixedName = `${name}_MIXED`;
    const { ok, codes } = await race(
      Array.from({ length: PARALLEL }, (_, i) => ({
        ...scope(),
        name: mixedName,
        value: `m${i}`,
        ...(i % 3 === 0 ? { expectedVersion: i % 2 } : {}),
      })),
    );
    expect(codes.every((c) => c === 'VERSION_CONFLICT')).toBe(true);
    const rows = await rowsNamed(mixedName);
    expect(rows).toHaveLength(1);
    expect(rows[0].version).toBe(ok.length);
  });
});

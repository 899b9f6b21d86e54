import { ADMIN_TOKEN, startTestApp, type TestApp } from '../support/app';
import { createEnvironment, createSpace, dataOf, upsertSecret } from '../support/operations';

/*
 * Mixed load from 32 connections: reads (GraphQL and REST), writes,
 * overrides, deletes and check-and-set increments of one hot secret. It must
 * end with zero 5xx, every acknowledged write readable with its acknowledged
 * version, no lost update, and no read that returns another name's value.
 * LOAD_SECONDS sets the duration (CI: 10 s; `npm run test:load`: 60 s).
 */

const SECONDS = Number(process.env.LOAD_SECONDS ?? 10);
const WORKERS = 32;
const NAMES_PER_WORKER = 3;

let app: TestApp;
let env: string;
let space: string;
let reader: string;

beforeAll(async () => {
  app = await startTestApp({ env: { DB_POOL_SIZE: '16' } });
  env = await createEnvironment(app, 'load');
  space = await createSpace(app, env, 'load-space');
  await upsertSecret(app, { environmentId: env, name: 'HOT', value: 'HOT:init' });
  reader = await app.listener(env);
});
afterAll(() => app?.close());

type State = { version: number; value: string } | 'deleted';

interface Tally {
  requests: number;
  serverErrors: { status: number; body: string }[];
  unexpected: string[];
  casWins: number;
  /** name@scope → last acknowledged state */
  acknowledged: Map<string, State>;
}

async function post(path: string, token: string, body: unknown) {
  const response = await fetch(`${app.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

async function worker(id: number, deadline: number, tally: Tally): Promise<void> {
  const names = Array.from({ length: NAMES_PER_WORKER }, (_, i) => `W${id}_N${i}`);
  const ids = new Map<string, string>();
  let seq = 0;
  const note = (res: { status: number; body: any }, allowed: string[] = []) => {
    tally.requests += 1;
    if (res.status >= 500) tally.serverErrors.push({ status: res.status, body: JSON.stringify(res.body).slice(0, 200) });
    const code = res.body?.errors?.[0]?.extensions?.code ?? res.body?.errors?.[0]?.code;
    if (code && !allowed.includes(code)) tally.unexpected.push(`${code}: ${res.body.errors[0].message}`);
    return code as string | undefined;
  };
  while (Date.now() < deadline) {
    const roll = Math.random();
    const name = names[Math.floor(Math.random() * names.length)];
    const scoped = Math.random() < 0.4; // space-level override
    const key = `${name}@${scoped ? 'space' : 'env'}`;
    if (roll < 0.4) {
      // read: one name through GraphQL, or the whole space through REST
      if (Math.random() < 0.5) {
        const res = await post('/graphql', reader, {
          query: `query($n: String!, $s: ID) { secret(name: $n, spaceId: $s) { name value } }`,
          variables: { n: name, s: space },
        });
        if (!note(res, ['SECRET_NOT_FOUND'])) {
          const value: string = res.body.data.secret.value;
          if (!value.startsWith(`${name}:`)) tally.unexpected.push(`read ${name} gave a value of another name`);
        }
      } else {
        const response = await fetch(`${app.url}/v1/secrets?environmentId=${env}&spaceId=${space}`, {
          headers: { authorization: `Bearer ${reader}` },
        });
        const res = { status: response.status, body: (await response.json()) as any };
        if (!note(res)) {
          for (const s of res.body.data) {
            if (!s.value.startsWith(`${s.name}:`)) tally.unexpected.push(`REST read ${s.name} gave a value of another name`);
          }
        }
      }
    } else if (roll < 0.78) {
      const value = `${name}:${id}:${++seq}`;
      const res = await post('/graphql', ADMIN_TOKEN, {
        query: `mutation($i: UpsertSecretInput!) { upsertSecret(input: $i) { id version } }`,
        variables: { i: { environmentId: env, spaceId: scoped ? space : null, name, value } },
      });
      if (!note(res)) {
        tally.acknowledged.set(key, { version: res.body.data.upsertSecret.version, value });
        ids.set(key, res.body.data.upsertSecret.id);
      }
    } else if (roll < 0.88) {
      const secretId = ids.get(key);
      if (!secretId) continue;
      const res = await post('/graphql', ADMIN_TOKEN, { query: `mutation($id: ID!) { deleteSecret(id: $id) }`, variables: { id: secretId } });
      if (!note(res)) {
        tally.acknowledged.set(key, 'deleted');
        ids.delete(key);
      }
    } else {
      // check-and-set increment of the shared HOT secret
      const current = await post('/graphql', ADMIN_TOKEN, {
        query: `query($e: ID) { secret(name: "HOT", environmentId: $e) { secret { version } } }`,
        variables: { e: env },
      });
      if (note(current)) continue;
      const version: number = current.body.data.secret.secret.version;
      const res = await post('/graphql', ADMIN_TOKEN, {
        query: `mutation($i: UpsertSecretInput!) { upsertSecret(input: $i) { version } }`,
        variables: { i: { environmentId: env, name: 'HOT', value: `HOT:${id}:${version + 1}`, expectedVersion: version } },
      });
      if (!note(res, ['VERSION_CONFLICT']) && res.body.data) tally.casWins += 1;
    }
  }
}

it(`${WORKERS} connections of mixed load for ${SECONDS} s: no 5xx, no lost or torn write`, async () => {
  const tally: Tally = { requests: 0, serverErrors: [], unexpected: [], casWins: 0, acknowledged: new Map() };
  const deadline = Date.now() + SECONDS * 1000;
  await Promise.all(Array.from({ length: WORKERS }, (_, id) => worker(id, deadline, tally)));

  expect(tally.serverErrors).toEqual([]);
  expect(tally.unexpected).toEqual([]);
  expect(tally.requests).toBeGreaterThan(WORKERS * SECONDS);

  // every acknowledged write is what the database holds now, at its acknowledged version
  const rows = await app.sql<{ name: string; space_id: string | null; version: number }>(
    `SELECT name, space_id, version FROM secret WHERE environment_id = $1 AND deleted_at IS NULL`,
    [env],
  );
  const stored = new Map(rows.map((r) => [`${r.name}@${r.space_id ? 'space' : 'env'}`, r.version]));
  const effective = dataOf(
    await app.gql(`query($s: ID!) { space(id: $s) { secrets { name value version } } environment(id: "${env}") { secrets { name value version } } }`, { s: space }, reader),
  );
  const values = new Map<string, { value: string; version: number }>();
  for (const s of effective.environment.secrets) values.set(`${s.name}@env`, s);
  for (const s of effective.space.secrets) values.set(`${s.name}@space`, s);
  for (const [key, state] of tally.acknowledged) {
    if (state === 'deleted') {
      expect({ key, stored: stored.get(key) }).toEqual({ key, stored: undefined });
    } else {
      expect({ key, version: stored.get(key), value: values.get(key)?.value }).toEqual({ key, version: state.version, value: state.value });
    }
  }

  // no lost update: the hot secret's version counts every successful check-and-set
  expect(stored.get('HOT@env')).toBe(1 + tally.casWins);
  expect(tally.casWins).toBeGreaterThan(0);
}, (SECONDS + 60) * 1000);

import { startAuditTimers, type AuditTimers } from '../../src/modules/audit/audit-timers';
import { startTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createEnvironment, dataOf, upsertSecret } from '../support/operations';

/*
 * AUDIT_READS=coalesce on three instances of one database, each running its
 * own rollup timer, with concurrent readers on all of them: the counts of
 * the rolled-up rows add up to exactly the reads served.
 */

const WINDOW_SECONDS = 1;
const INSTANCES = 3;
let db: TestDatabase;
let apps: TestApp[];
let timers: AuditTimers[];

beforeAll(async () => {
  db = await createTestDatabase();
  apps = [];
  for (let i = 0; i < INSTANCES; i++) {
    apps.push(
      await startTestApp({ database: db, keepDatabase: true, env: { AUDIT_READS: 'coalesce', AUDIT_COALESCE_SECONDS: String(WINDOW_SECONDS) } }),
    );
  }
  timers = apps.map((app) => startAuditTimers(app.container));
});
afterAll(async () => {
  await Promise.all((timers ?? []).map((t) => t.stop()));
  for (const app of apps ?? []) await app.close();
  await db?.drop();
});

const restList = async (app: TestApp, environmentId: string, token: string): Promise<string[]> => {
  const response = await fetch(`${app.url}/v1/secrets?environmentId=${environmentId}`, { headers: { authorization: `Bearer ${token}` } });
  if (response.status !== 200) throw new Error(`GET /v1/secrets: ${response.status}`);
  return ((await response.json()) as { data: { name: string }[] }).data.map((s) => s.name);
};

it('counts every read exactly, across instances, windows and versions', async () => {
  const [first] = apps;
  const env = await createEnvironment(first, 'coalesced');
  for (let i = 0; i < 20; i++) await upsertSecret(first, { environmentId: env, name: `S${i}`, value: `value-${i}` });
  const hot = await first.listener(env);
  const [{ id: hotId }] = await first.sql(`SELECT id FROM api_token WHERE name = $1`, [`listener ${env}/`]);

  const served = new Map<string, number>(); // secret name → reads served
  const count = (name: string) => served.set(name, (served.get(name) ?? 0) + 1);
  const deadline = Date.now() + 3500;
  let wrote = false;
  const reader = async (app: TestApp, useRest: boolean) => {
    while (Date.now() < deadline) {
      if (useRest) for (const name of await restList(app, env, hot)) count(name);
      else {
        const res = await app.gql(`{ secret(name: "S3") { name value } }`, {}, hot);
        count(dataOf(res).secret.name);
      }
      if (!wrote && Date.now() > deadline - 2000) {
        wrote = true; // a new version mid-run: its reads are another (token, secret, version)
        await upsertSecret(first, { environmentId: env, name: 'S3', value: 'value-3-v2' });
      }
    }
  };
  await Promise.all(apps.flatMap((app) => [reader(app, true), reader(app, true), reader(app, false)]));
  const total = [...served.values()].reduce((a, b) => a + b, 0);

  await new Promise((resolve) => setTimeout(resolve, (WINDOW_SECONDS + 0.2) * 1000)); // the last window closes
  await Promise.all(apps.map((app) => app.container.audit.coalescer!.rollup()));
  expect(await first.sql(`SELECT count(*)::int AS n FROM audit_read_window`)).toEqual([{ n: 0 }]);

  const rows = await first.sql(
    `SELECT secret_name AS name, secret_version AS version, sum(count)::int AS reads, count(*)::int AS rows
       FROM audit_event WHERE action = 'SECRET_READ' AND token_id = $1 GROUP BY 1, 2`,
    [hotId],
  );
  const byName = new Map<string, number>();
  for (const r of rows) byName.set(r.name, (byName.get(r.name) ?? 0) + r.reads);
  expect(Object.fromEntries(byName)).toEqual(Object.fromEntries(served));
  expect(rows.filter((r) => r.name === 'S3').map((r) => r.version).sort()).toEqual([1, 2]);
  const rowCount = rows.reduce((a, r) => a + r.rows, 0);
  expect(rowCount).toBeLessThan(total / 5);

  // auditEvents shows the counts and the span of each window
  const events = dataOf(
    await first.gql(`query($t: ID) { auditEvents(tokenId: $t, action: SECRET_READ, first: 500) { edges { node { at count firstAt lastAt secretName } } } }`, {
      t: hotId,
    }),
  ).auditEvents.edges.map((e: any) => e.node);
  expect(events.reduce((a: number, n: any) => a + n.count, 0)).toBe(total);
  for (const n of events) {
    expect(new Date(n.firstAt).getTime()).toBeLessThanOrEqual(new Date(n.lastAt).getTime());
    expect(new Date(n.lastAt).getTime() - new Date(n.firstAt).getTime()).toBeLessThan(WINDOW_SECONDS * 1000);
    expect(n.at).toBe(n.lastAt);
  }
});

it('withholds the values when the reads cannot be counted', async () => {
  const [app] = apps;
  const env = await createEnvironment(app, 'uncountable');
  await upsertSecret(app, { environmentId: env, name: 'HIDDEN', value: 'WITHHELD-COALESCED' });
  const reader = await app.listener(env);
  await app.sql(`ALTER TABLE audit_read_window ADD CONSTRAINT no_reads_for_test CHECK (environment_id <> '${env}')`);
  try {
    const res = await app.gql(`{ secret(name: "HIDDEN") { value } }`, {}, reader);
    expect(res.errors?.[0].extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(JSON.stringify(res)).not.toContain('WITHHELD-COALESCED');
    const rest = await fetch(`${app.url}/v1/secrets?environmentId=${env}`, { headers: { authorization: `Bearer ${reader}` } });
    expect(rest.status).toBe(500);
    expect(await rest.text()).not.toContain('WITHHELD-COALESCED');
  } finally {
    await app.sql(`ALTER TABLE audit_read_window DROP CONSTRAINT no_reads_for_test`);
  }
});

import { startTestApp, type TestApp } from '../support/app';
import { brokenOutagePromises, newLoadReport, prepareLoadFixture, runLoad, summarize, verifyLoad, type OutageWindow } from '../support/mixed-load';
import { startPgCluster, type PgCluster } from '../support/pg-cluster';
import { dataOf } from '../support/operations';
import { pgbouncerInstalled, startPgBouncer, type PgBouncer } from '../support/pgbouncer';
import { openSession } from '../support/ws';

/*
 * Behind Debian's PgBouncer 1.18 in transaction pooling mode (DESIGN §9),
 * with fewer server connections than the servers' pools, so consecutive
 * transactions of one pooled client land on different backends:
 * DB_PREPARED_STATEMENTS=false makes a mixed load run without a single
 * error, and two instances starting together migrate one after the other
 * (the migration lock is transaction-scoped); and a PostgreSQL restart
 * behind the pooler is 503 and nothing else, recovered from within 2 s;
 * and with DATABASE_LISTEN_URL giving LISTEN its direct path, change
 * events and revocations cross instances as without a pooler. POOLER_LOAD_SECONDS sets the
 * load's duration (CI: 8; FAULTS_FULL=1: 60).
 */

const SECONDS = Number(process.env.POOLER_LOAD_SECONDS ?? (process.env.FAULTS_FULL === '1' ? 60 : 8));
const WORKERS = 16;
const POOLED = { DB_PREPARED_STATEMENTS: 'false' };

if (!pgbouncerInstalled()) throw new Error('pgbouncer is not installed: apt-get install -y pgbouncer (.ci/run does)');

let cluster: PgCluster;
let bouncer: PgBouncer;
beforeAll(async () => {
  cluster = await startPgCluster();
  bouncer = await startPgBouncer({ targetPort: cluster.port, poolMode: 'transaction', poolSize: 4 });
});
afterAll(async () => {
  await bouncer?.stop();
  await cluster?.remove();
});

let databases = 0;
async function pooledDatabase() {
  const name = `pooled_${++databases}`;
  await cluster.createDatabase(name);
  return { name, url: bouncer.url(name), drop: async () => undefined }; // the whole cluster goes afterwards
}

it('two instances starting at once behind the pooler both migrate, one after the other', async () => {
  const database = await pooledDatabase();
  const apps = await Promise.all([0, 1].map(() => startTestApp({ database, keepDatabase: true, env: POOLED })));
  try {
    const applied = await apps[0].sql<{ name: string }>(`SELECT name FROM migrations ORDER BY id`);
    expect(applied.length).toBeGreaterThan(0);
    expect(new Set(applied.map((m) => m.name)).size).toBe(applied.length); // each ran once
    const leftover = await cluster.sql(`SELECT objid FROM pg_locks WHERE locktype = 'advisory'`);
    expect(leftover).toEqual([]); // no session lock left behind on some backend
    for (const app of apps) expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
  } finally {
    await Promise.all(apps.map((app) => app.close()));
  }
});

describe('a mixed load through the pooler', () => {
  let apps: TestApp[];
  let databaseName: string;
  beforeAll(async () => {
    const database = await pooledDatabase();
    databaseName = database.name;
    apps = [];
    for (let i = 0; i < 2; i++) apps.push(await startTestApp({ database, keepDatabase: true, env: POOLED }));
  });
  afterAll(() => Promise.all(apps?.map((app) => app.close()) ?? []));

  it(`${WORKERS} connections across two instances for ${SECONDS} s: zero errors, every acknowledged write stored`, async () => {
    const fixture = await prepareLoadFixture(apps[0].url, 'pooled');
    const report = await runLoad({ targets: apps.map((a) => a.url), workers: WORKERS, fixture, until: Date.now() + SECONDS * 1000 });

    expect(summarize(report.failures)).toEqual({});
    expect(await verifyLoad(apps[1].url, fixture, report)).toEqual([]);
    expect(report.acknowledgedWrites).toBeGreaterThan(WORKERS * SECONDS);
    expect(report.hotWins.length).toBeGreaterThan(0);

    const pools = await bouncer.show<{ database: string; pool_mode: string }>('POOLS');
    expect(pools.filter((p) => p.database.startsWith('pooled_')).map((p) => p.pool_mode)).toEqual(
      expect.arrayContaining(['transaction']),
    );
    const servers = await bouncer.show<{ database: string }>('SERVERS');
    expect(servers.filter((s) => s.database === databaseName).length).toBeLessThanOrEqual(4); // 20 pooled clients on ≤ 4 backends
  }, (SECONDS + 60) * 1000);

  it('(control) with named prepared statements the same pooler breaks requests', async () => {
    const database = await pooledDatabase();
    const app = await startTestApp({ database, keepDatabase: true, env: { DB_PREPARED_STATEMENTS: 'true' } });
    try {
      const fixture = await prepareLoadFixture(app.url, 'named').catch(() => undefined);
      const report = fixture ? await runLoad({ targets: [app.url], workers: 8, fixture, until: Date.now() + 2000 }) : undefined;
      expect(fixture === undefined || report!.failures.length > 0).toBe(true);
    } finally {
      await app.close();
    }
  });
});

it('with DATABASE_LISTEN_URL past the pooler, events and revocations cross instances', async () => {
  const database = await pooledDatabase();
  const env = { ...POOLED, DATABASE_LISTEN_URL: cluster.url(database.name) };
  const [a, b] = [await startTestApp({ database, keepDatabase: true, env }), await startTestApp({ database, keepDatabase: true, env })];
  try {
    for (const app of [a, b]) expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
    const environmentId = dataOf(await a.gql(`mutation { createEnvironment(input: { name: "pooled-events" }) { id } }`)).createEnvironment.id;
    const created = dataOf(
      await a.gql(`mutation($e: ID!) { createApiToken(input: { name: "pooled listener", role: LISTENER, environmentId: $e }) { token apiToken { id } } }`, {
        e: environmentId,
      }),
    ).createApiToken;
    const session = await openSession(b.url, { token: created.token });
    try {
      const stream = session.subscribe({ environmentId });
      await new Promise((r) => setTimeout(r, 300));
      dataOf(await a.gql(`mutation($e: ID!) { upsertSecret(input: { environmentId: $e, name: "POOLED_EVENT", value: "pooled-value-1" }) { id } }`, { e: environmentId }));
      const [event] = await stream.waitFor(1, 5_000);
      expect(event).toMatchObject({ name: 'POOLED_EVENT', topic: 'secret:created', environmentId });

      expect((await b.gql(`{ __typename }`, {}, created.token)).status).toBe(200); // known to B, cached there
      dataOf(await a.gql(`mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }`, { id: created.apiToken.id }));
      const started = Date.now();
      while ((await b.gql(`{ __typename }`, {}, created.token)).status !== 401) {
        expect(Date.now() - started).toBeLessThan(1_000);
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(await session.closed).toEqual({ code: 4403, reason: 'token revoked' });
    } finally {
      await session.close();
    }
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

it('PostgreSQL restarted behind the pooler: only 503 meanwhile, recovered within 2 s, nothing lost', async () => {
  const database = await pooledDatabase();
  const app = await startTestApp({ database, keepDatabase: true, env: POOLED });
  try {
    const fixture = await prepareLoadFixture(app.url, 'pooled-outage');
    const report = newLoadReport();
    const window: OutageWindow = { what: 'restart behind the pooler', from: 0, back: Infinity };
    const outage = (async () => {
      await new Promise((r) => setTimeout(r, 1500));
      window.from = Date.now();
      await cluster.stop('fast');
      await new Promise((r) => setTimeout(r, 3000));
      await cluster.start();
      window.back = Date.now();
      await new Promise((r) => setTimeout(r, 3500));
    })();
    await runLoad({ targets: [app.url], workers: WORKERS, fixture, until: outage, report });

    expect(summarize(brokenOutagePromises(report.failures, [window], 2000))).toEqual({});
    expect(report.failures.length).toBeGreaterThan(0); // the outage reached the clients through the pooler
    expect(await verifyLoad(app.url, fixture, report)).toEqual([]);
  } finally {
    await app.close();
  }
}, 60_000);

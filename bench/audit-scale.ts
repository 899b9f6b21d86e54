import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';

import { Client } from 'pg';

/*
 * Issue 16's measurements (notes/README-audit.md quotes them):
 *
 *   node dist/bench/audit-scale.js [--only=indexes,reads,query] [--rows=10000000] [--server=path/to/dist/src/main.js]
 *
 * - indexes: bytes per row and insert cost of each audit_event index, on
 *   standalone copies of a partition filled with 200,000 read rows (20
 *   tokens, 5 environments, 50 names, interleaved as a fleet writes them);
 * - reads: the real server as a process (dist/src/main.js, or --server= for
 *   another build, e.g. the commit before), per AUDIT_READS mode: 1,000 REST
 *   lists of 50 secrets by one listener, then audit rows, bytes and read
 *   throughput;
 * - query: auditEvents first page and a page deep, each filter, on a table of
 *   --rows rows (default 10 million) over 90 daily partitions.
 * Every part uses a throwaway database on the local PostgreSQL.
 */

const ADMIN_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const KEYS = `bench-1:${Buffer.alloc(32, 9).toString('base64')}`;
const ADMIN_TOKEN = `bench-admin-${randomBytes(16).toString('hex')}`;
const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const only = new Set((args.get('only') ?? 'indexes,reads,query').split(','));
const SERVER = path.resolve(args.get('server') ?? path.join(__dirname, '..', 'src', 'main.js'));

async function withClient<T>(url: string, run: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

async function throwawayDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `secretspace_audit_bench_${randomBytes(4).toString('hex')}`;
  await withClient(ADMIN_URL, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => withClient(ADMIN_URL, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined) };
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });

interface Server {
  readonly url: string;
  stop(): Promise<void>;
}

async function startServer(databaseUrl: string, env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [SERVER], {
    env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl, LOCAL_MASTER_KEYS: KEYS, BOOTSTRAP_ADMIN_TOKEN: ADMIN_TOKEN, PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start:\n${output}`);
    if (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', () => resolve()), child.kill('SIGTERM')))),
  };
}

async function gql(url: string, query: string, variables?: Record<string, unknown>, token = ADMIN_TOKEN) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const body = (await res.json()) as { data?: any; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n: number, digits = 0) => n.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const table = (rows: (string | number)[][]) => {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  for (const r of rows) console.log(`| ${r.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`);
};

/* A read row as the server writes one for a REST list: token, environment, secret, name, version, source. */
const READ_ROWS = (n: number, names = 50) => `
  SELECT gen_random_uuid() AS id, now() AS at, 'SECRET_READ'::varchar AS action, t.token AS token_id, e.env AS environment_id,
         NULL::uuid AS space_id, gen_random_uuid() AS secret_id, 'SERVICE_SECRET_' || (i % ${names}) AS secret_name,
         1 + i % 3 AS secret_version, 'ENVIRONMENT'::varchar AS source
    FROM generate_series(1, ${n}) i,
         LATERAL (SELECT ('00000000-0000-4000-8000-' || lpad(((i / ${names}) % 20)::text, 12, '0'))::uuid AS token) t,
         LATERAL (SELECT ('00000000-0000-4000-9000-' || lpad(((i / ${names}) % 5)::text, 12, '0'))::uuid AS env) e`;

async function migrate(url: string): Promise<void> {
  // the server runs the migrations at start-up; stop it at once
  const server = await startServer(url, { LOG_LEVEL: 'warn' });
  await server.stop();
}

async function indexes(): Promise<void> {
  const db = await throwawayDatabase();
  try {
    await migrate(db.url);
    await withClient(db.url, async (c) => {
      const defs: { name: string; def: string }[] = (
        await c.query(`SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE tablename = 'audit_event' ORDER BY 1`)
      ).rows;
      const ROWS = 200_000;
      await c.query(`CREATE TABLE bench_source AS SELECT row_number() OVER () AS n, r.* FROM (${READ_ROWS(ROWS)}) r`);
      await c.query(`CREATE INDEX ON bench_source (n)`);
      const variants: [string, string[]][] = [['heap only', []], ...defs.map((d) => [d.name, [d.name]] as [string, string[]]), ['all', defs.map((d) => d.name)]];
      const results: (string | number)[][] = [['variant', 'bytes/row (heap or index)', 'insert µs/row', 'µs/row over heap only']];
      let heapUs = 0;
      for (const [label, names] of variants) {
        await c.query(`DROP TABLE IF EXISTS bench_copy`);
        await c.query(`CHECKPOINT`);
        await c.query(`CREATE TABLE bench_copy (LIKE audit_event INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY)`);
        for (const d of defs.filter((x) => names.includes(x.name))) {
          await c.query(d.def.replace(/INDEX \S+ ON (ONLY )?public\.audit_event/, `INDEX ${d.name}_copy ON bench_copy`));
        }
        let us = Infinity;
        for (let trial = 0; trial < 3; trial++) {
          await c.query(`TRUNCATE bench_copy`);
          const started = process.hrtime.bigint();
          await c.query(
            `INSERT INTO bench_copy (id, at, action, token_id, environment_id, space_id, secret_id, secret_name, secret_version, source)
             SELECT id, at, action, token_id, environment_id, space_id, secret_id, secret_name, secret_version, source
               FROM bench_source ORDER BY n`,
          );
          us = Math.min(us, Number(process.hrtime.bigint() - started) / 1e3 / ROWS);
        }
        if (label === 'heap only') heapUs = us;
        const sizes = (
          await c.query(
            `SELECT pg_relation_size('bench_copy') AS heap, coalesce(sum(pg_relation_size(indexrelid)), 0)::bigint AS idx
               FROM pg_index WHERE indrelid = 'bench_copy'::regclass`,
          )
        ).rows[0];
        const bytes = label === 'heap only' ? Number(sizes.heap) / ROWS : Number(sizes.idx) / ROWS;
        results.push([label, fmt(bytes, 1), fmt(us, 1), label === 'heap only' ? '-' : fmt(us - heapUs, 1)]);
      }
      // the partial indexes hold admin actions and change events only: a read row costs them nothing
      console.log(`\n## audit_event indexes (${fmt(ROWS)} read rows, one INSERT ... SELECT, best of 3; partial indexes get no read row)\n`);
      table(results);
    });
  } finally {
    await db.drop();
  }
}

async function reads(): Promise<void> {
  const results: (string | number)[][] = [['mode', 'lists', 'reads', 'audit rows', 'audit bytes', 'bytes/read', 'rows per 1,000 lists', 'lists/s (16 concurrent)']];
  for (const mode of (args.get('modes') ?? 'each,coalesce').split(',')) {
    const db = await throwawayDatabase();
    const server = await startServer(db.url, { AUDIT_READS: mode, LOG_LEVEL: 'warn', DB_POOL_SIZE: '10' });
    try {
      const env = (await gql(server.url, `mutation { createEnvironment(input: { name: "bench" }) { id } }`)).createEnvironment.id;
      for (let i = 0; i < 50; i += 10) {
        await Promise.all(
          Array.from({ length: 10 }, (_, j) =>
            gql(server.url, `mutation($i: UpsertSecretInput!) { upsertSecret(input: $i) { id } }`, {
              i: { environmentId: env, name: `SERVICE_SECRET_${i + j}`, value: `value-${i + j}-${randomBytes(8).toString('hex')}` },
            }),
          ),
        );
      }
      const token = (await gql(server.url, `mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token } }`, { i: { name: 'hot', role: 'LISTENER', environmentId: env } }))
        .createApiToken.token;
      const list = async () => {
        const res = await fetch(`${server.url}/v1/secrets?environmentId=${env}`, { headers: { authorization: `Bearer ${token}` } });
        if (res.status !== 200) throw new Error(`GET /v1/secrets ${res.status}`);
        return ((await res.json()) as { data: unknown[] }).data.length;
      };
      const size = async () =>
        withClient(db.url, async (c) => {
          const staged = (await c.query(`SELECT to_regclass('audit_read_window') IS NOT NULL AS yes`)).rows[0].yes;
          const r = (
            await c.query(`
              SELECT (SELECT count(*) FROM audit_event WHERE action = 'SECRET_READ')::int AS rows,
                     ((SELECT ${staged ? 'coalesce(sum(count), 0)' : 'count(*)'} FROM audit_event WHERE action = 'SECRET_READ')
                       + ${staged ? '(SELECT coalesce(sum(count), 0) FROM audit_read_window)' : '0'})::int AS counted,
                     coalesce((SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = 'audit_event'::regclass),
                              pg_total_relation_size('audit_event'))::bigint AS bytes`)
          ).rows[0];
          return { rows: r.rows, counted: r.counted, bytes: Number(r.bytes) };
        });
      await list(); // warm
      const before = await size();
      const LISTS = 1000;
      let served = 0;
      let next = 0;
      const started = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next++ < LISTS) {
            const n = await list();
            served += n;
          }
        }),
      );
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (mode === 'coalesce') await new Promise((r) => setTimeout(r, 66_000)); // the window closes; the server's own timer rolls it up
      const after = await size();
      const rows = after.rows - before.rows;
      const bytes = after.bytes - before.bytes;
      if (after.counted - before.counted !== served) throw new Error(`counted ${after.counted - before.counted} of ${served} reads`);
      results.push([mode, LISTS, served, rows, fmt(bytes), fmt(bytes / served, 1), fmt((rows / LISTS) * 1000), fmt(LISTS / seconds)]);
    } finally {
      await server.stop();
      await db.drop();
    }
  }
  console.log(`\n## 1,000 REST lists of 50 secrets by one listener (server: ${path.relative(process.cwd(), SERVER)})\n`);
  table(results);
}

async function query(): Promise<void> {
  const ROWS = Number(args.get('rows') ?? 10_000_000);
  const DAYS = 90;
  const db = await throwawayDatabase();
  try {
    await migrate(db.url);
    let adminToken = '';
    await withClient(db.url, async (c) => {
      const started = Date.now();
      await c.query(`
        DO $$
        DECLARE day date;
        BEGIN
          FOR day IN SELECT generate_series((now() AT TIME ZONE 'UTC')::date - ${DAYS}, (now() AT TIME ZONE 'UTC')::date - 1, interval '1 day')::date LOOP
            EXECUTE format('CREATE TABLE %I PARTITION OF audit_event FOR VALUES FROM (%L) TO (%L)',
                           'audit_event_p' || to_char(day, 'YYYYMMDD'), day::text || ' 00:00:00+00', (day + 1)::text || ' 00:00:00+00');
          END LOOP;
        END $$`);
      // oldest first, so seq grows with time as in a real log; 1 row in 1,000 is an admin action
      const CHUNK = 1_000_000;
      for (let from = 0; from < ROWS; from += CHUNK) {
        await c.query(`
          INSERT INTO audit_event (at, id, action, token_id, environment_id, secret_id, secret_name, secret_version, source, xid)
          SELECT now() - interval '${DAYS} days' + (i::float8 / ${ROWS}) * interval '${DAYS} days', gen_random_uuid(),
                 CASE WHEN i % 1000 = 0 THEN 'SECRET_WRITTEN' ELSE 'SECRET_READ' END,
                 ('00000000-0000-4000-8000-' || lpad((i % 200)::text, 12, '0'))::uuid,
                 ('00000000-0000-4000-9000-' || lpad((i % 20)::text, 12, '0'))::uuid,
                 gen_random_uuid(), 'SERVICE_SECRET_' || (i % 500), 1 + i % 5, 'ENVIRONMENT',
                 CASE WHEN i % 1000 = 0 THEN pg_current_xact_id() END
            FROM generate_series(${from + 1}, ${Math.min(from + CHUNK, ROWS)}) i`);
        process.stderr.write(`  seeded ${fmt(Math.min(from + CHUNK, ROWS))} rows (${fmt((Date.now() - started) / 1000)} s)\n`);
      }
      await c.query(`VACUUM ANALYZE audit_event`);
      const size = (await c.query(`SELECT sum(pg_total_relation_size(inhrelid))::bigint AS b FROM pg_inherits WHERE inhparent = 'audit_event'::regclass`)).rows[0];
      process.stderr.write(`  ${fmt(ROWS)} rows: ${fmt(Number(size.b) / 1e9, 2)} GB with indexes (${fmt(Number(size.b) / ROWS, 0)} bytes/row)\n`);
    });
    const server = await startServer(db.url, { LOG_LEVEL: 'warn' });
    adminToken = ADMIN_TOKEN;
    try {
      const deep = Buffer.from(`audit:${Math.floor(ROWS / 2)}`).toString('base64url');
      const Q = `query($e: ID, $t: ID, $n: String, $a: AuditAction, $after: String) {
        auditEvents(environmentId: $e, tokenId: $t, secretName: $n, action: $a, first: 50, after: $after) {
          edges { cursor node { id at action tokenId environmentId secretName secretVersion source count } } pageInfo { hasNextPage endCursor } } }`;
      const cases: [string, Record<string, unknown>][] = [
        ['first page', {}],
        ['page at seq 5,000,000 (half way)', { after: deep }],
        ['environmentId, first page', { e: '00000000-0000-4000-9000-000000000007' }],
        ['environmentId, deep', { e: '00000000-0000-4000-9000-000000000007', after: deep }],
        ['tokenId, first page', { t: '00000000-0000-4000-8000-000000000042' }],
        ['tokenId, deep', { t: '00000000-0000-4000-8000-000000000042', after: deep }],
        ['secretName, first page', { n: 'SERVICE_SECRET_123' }],
        ['secretName, deep', { n: 'SERVICE_SECRET_123', after: deep }],
        ['action SECRET_WRITTEN (0.1% of rows), first page', { a: 'SECRET_WRITTEN' }],
        ['action SECRET_WRITTEN, deep', { a: 'SECRET_WRITTEN', after: deep }],
        ['action SECRET_READ, deep', { a: 'SECRET_READ', after: deep }],
      ];
      const results: (string | number)[][] = [['auditEvents(first: 50)', 'median ms (HTTP, 7 runs)', 'max ms']];
      for (const [label, vars] of cases) {
        const times: number[] = [];
        for (let i = 0; i < 7; i++) {
          const t = process.hrtime.bigint();
          const data = await gql(server.url, Q, vars, adminToken);
          times.push(Number(process.hrtime.bigint() - t) / 1e6);
          if (data.auditEvents.edges.length !== 50) throw new Error(`${label}: ${data.auditEvents.edges.length} rows`);
        }
        results.push([label, fmt(median(times), 1), fmt(Math.max(...times), 1)]);
      }
      console.log(`\n## auditEvents on ${fmt(ROWS)} rows in ${DAYS + 8} partitions\n`);
      table(results);
    } finally {
      await server.stop();
    }
  } finally {
    await db.drop();
  }
}

async function main(): Promise<void> {
  if (only.has('indexes')) await indexes();
  if (only.has('reads')) await reads();
  if (only.has('query')) await query();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

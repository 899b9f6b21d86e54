import 'reflect-metadata';

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Pool } from 'pg';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

import { hashToken } from '../src/modules/access/token.service';
import { SYSTEM_ACTOR } from '../src/modules/audit/audit.service';
import { startBaselineServer, type BaselineServer } from './baseline';
import { coldStart } from './cold-start';
import { openBenchDatabase, type BenchDatabase } from './database';
import { decryptMicro, type DecryptMicroResult } from './decrypt-micro';
import type { LoadJob } from './load';
import { LoadClient } from './load-client';
import { formatSummary } from './profile-summary';
import { AllocationProfiler, Profiler } from './profiler';
import { formatTable, formatTargets, scalingSvg, type ScenarioResult, type TargetVerdict } from './report';
import { seedScope, shapeOf, type SeededScope } from './seed';
import { startServer, type RunningServer } from './server';
import { DbCpuMeter, GcMeter, RssSampler } from './system';

/*
 * `npm run bench [-- --quick] [-- --embedded] [-- --only=read,rest,scaling,write,cold] [-- --profile | --heap-profile] [-- --experiments]`
 * (`node dist/bench/run.js --replot` redraws the SVG from bench/results.json)
 *
 * Starts the real server in this process (container + Fastify on an
 * ephemeral port) beside a framework-free node:http baseline doing the same
 * work, seeds data through the services, and drives both with autocannon
 * from a child process, so this process's CPU (process.cpuUsage) is server
 * CPU only. See bench/README.md.
 */

const SCENARIOS = ['read', 'rest', 'scaling', 'cold', 'write'] as const;
type ScenarioGroup = (typeof SCENARIOS)[number];

interface Options {
  readonly quick: boolean;
  /** Extra rows that measure candidate fixes: unprepared and merged statements, decryption variants. */
  readonly experiments: boolean;
  readonly embedded: boolean;
  readonly profile: boolean;
  /** Allocation profile (V8 sampling heap profiler) of each measured window instead of a CPU profile. */
  readonly heapProfile: boolean;
  readonly only: ReadonlySet<ScenarioGroup>;
}

function parseOptions(argv: readonly string[]): Options {
  let quick = false;
  let embedded = false;
  let profile = false;
  let experiments = false;
  let heapProfile = false;
  let only = new Set<ScenarioGroup>(SCENARIOS);
  for (const arg of argv) {
    if (arg === '--quick') quick = true;
    else if (arg === '--embedded') embedded = true;
    else if (arg === '--profile') profile = true;
    else if (arg === '--experiments') experiments = true;
    else if (arg === '--heap-profile') heapProfile = true;
    else if (arg.startsWith('--only=')) {
      const wanted = arg.slice('--only='.length).split(',').filter(Boolean);
      for (const w of wanted) if (!(SCENARIOS as readonly string[]).includes(w)) throw new Error(`--only: unknown scenario ${w} (${SCENARIOS.join(', ')})`);
      only = new Set(wanted as ScenarioGroup[]);
    } else throw new Error(`unknown option ${arg} (--quick, --embedded, --profile, --heap-profile, --experiments, --only=${SCENARIOS.join(',')})`);
  }
  return { quick, embedded, profile, heapProfile, experiments, only };
}

interface Plan {
  readonly warmupSec: number;
  readonly durationSec: number;
  readonly sizes: readonly number[];
  readonly restSize: number;
  readonly coldEnvironments: number;
  readonly readConnections: number;
  readonly listConnections: number;
  readonly writeConnections: number;
  /** Fewer completed requests than this in the planned duration: measure by count instead. */
  readonly minRequests: number;
  /** Warm-up of a slow (seconds per request) scenario: this many requests per connection. */
  readonly slowWarmupPerConnection: number;
}

const FULL: Plan = {
  warmupSec: 3,
  durationSec: 10,
  sizes: [10, 100, 1000, 5000],
  restSize: 50,
  coldEnvironments: 20,
  readConnections: 10,
  listConnections: 2,
  writeConnections: 10,
  minRequests: 12,
  slowWarmupPerConnection: 2,
};

const QUICK: Plan = { ...FULL, warmupSec: 0.5, durationSec: 1.5, coldEnvironments: 5, minRequests: 4, slowWarmupPerConnection: 1 };

/*
 * A run cut off by time leaves requests in flight whose server CPU spills
 * into whatever comes next. Runs expected to complete fewer than this many
 * requests are measured by count (every request completes), and each
 * measurement starts once the server has gone quiet.
 */
const COUNT_BELOW = 200;
const FIRST_WARMUP_SEC = 2;

/* Targets of issue 6, as ratios measured in the same run. */
const TARGET = {
  graphqlReadRatio: 0.5,
  restRatio: 0.7,
  /** The largest list may cost this many times the next one, per unit of size ratio (5,000 vs 1,000: 6×). */
  linearSlack: 6 / 5,
  marginalCpuUs: 25,
};

const READ = 'query Read($n: String!, $s: ID) { secret(name: $n, spaceId: $s) { value source } }';
const LIST = 'query List($s: ID) { effectiveSecrets(spaceId: $s) { name value source } }';
const UPSERT = 'mutation Upsert($i: UpsertSecretInput!) { upsertSecret(input: $i) { id version } }';
const WRITE_VALUE = 'w'.repeat(48);

const gqlBody = (query: string, variables: Record<string, unknown>) => JSON.stringify({ query, variables });

const REPO = path.resolve(__dirname, '..', '..');
const BENCH_DIR = path.join(REPO, 'bench');

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

const processStart = performance.now();
const log = (message: string) => process.stderr.write(`[bench ${((performance.now() - processStart) / 1000).toFixed(1).padStart(5)} s] ${message}\n`);

/** Waits until this process uses under a tenth of a core over 100 ms (requests cut off by a timed run have finished), at most 20 s. */
async function settle(): Promise<void> {
  const deadline = performance.now() + 20_000;
  while (performance.now() < deadline) {
    const before = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const used = process.cpuUsage(before);
    if (used.user + used.system < 10_000) return;
  }
}

type SampleCheck = (body: unknown) => string | undefined;

/* Sample checks: the first response of every measured run is parsed and compared name by name. */
function checkList(expected: ReadonlyMap<string, string>, listOf: (body: any) => { name: string; value: string }[] | undefined): SampleCheck { // eslint-disable-line @typescript-eslint/no-explicit-any
  return (body) => {
    const list = listOf(body);
    if (!Array.isArray(list)) return 'no list in the response';
    if (list.length !== expected.size) return `${list.length} secrets, expected ${expected.size}`;
    for (const { name, value } of list) if (expected.get(name) !== value) return `wrong value for ${name}`;
    return undefined;
  };
}

function checkRead(expected: ReadonlyMap<string, string>, valueOf: (body: any) => string | undefined): SampleCheck { // eslint-disable-line @typescript-eslint/no-explicit-any
  const values = new Set(expected.values());
  return (body) => (values.has(valueOf(body) ?? '') ? undefined : 'the value read is not one that was written');
}

async function main(): Promise<void> {
  if (process.argv[2] === '--replot') {
    /* Redraws bench/results.svg from bench/results.json, without measuring anything. */
    const report = JSON.parse(readFileSync(path.join(BENCH_DIR, 'results.json'), 'utf8'));
    writeFileSync(path.join(BENCH_DIR, 'results.svg'), svgOf(report.results, report));
    process.stdout.write('wrote bench/results.svg from bench/results.json\n');
    return;
  }
  const options = parseOptions(process.argv.slice(2));
  const plan = options.quick ? QUICK : FULL;
  const startedAt = new Date();
  const wallStart = performance.now();
  const loadBefore = os.loadavg();
  const runTag = randomBytes(3).toString('hex');

  const database: BenchDatabase = await openBenchDatabase({ embedded: options.embedded, databaseUrl: process.env.DATABASE_URL });
  log(`database: ${database.description}`);
  const adminToken = `bench-admin-${randomBytes(24).toString('hex')}`;
  const env: Record<string, string> = {
    ...database.env,
    LOCAL_MASTER_KEYS: process.env.LOCAL_MASTER_KEYS ?? `bench-1:${randomBytes(32).toString('base64')}`,
    LOG_LEVEL: 'warn',
    BOOTSTRAP_ADMIN_TOKEN: adminToken,
    DB_POOL_SIZE: process.env.DB_POOL_SIZE ?? '10',
    // `DB_PREPARED_STATEMENTS=false npm run bench` measures the pooler-friendly unnamed statements
    ...(process.env.DB_PREPARED_STATEMENTS ? { DB_PREPARED_STATEMENTS: process.env.DB_PREPARED_STATEMENTS } : {}),
  };

  let server: RunningServer | undefined;
  let baseline: BaselineServer | undefined;
  let baselinePool: Pool | undefined;
  let asyncCommitPool: Pool | undefined;
  let load: LoadClient | undefined;
  const rss = new RssSampler();
  const gc = new GcMeter();
  const profiler = options.profile ? new Profiler() : undefined;
  const allocations = options.heapProfile ? new AllocationProfiler() : undefined;
  const results: ScenarioResult[] = [];
  const createdEnvironments: string[] = [];
  let disposed = false;
  const dispose = async () => {
    if (disposed) return;
    disposed = true;
    load?.close();
    await baseline?.close().catch(() => undefined);
    if (baselinePool && database.kind !== 'embedded') await baselinePool.end().catch(() => undefined);
    await asyncCommitPool?.end().catch(() => undefined);
    await server?.close().catch((error: unknown) => log(`closing the server: ${String(error)}`));
    if (database.kind === 'external') await cleanUpExternal(env, createdEnvironments, adminToken);
    await database.dispose().catch((error: unknown) => log(`disposing of the database: ${String(error)}`));
    profiler?.close();
    allocations?.close();
    rss.stop();
    gc.stop();
  };
  process.once('SIGINT', () => {
    log('interrupted: cleaning up');
    void dispose().finally(() => process.exit(130));
  });

  try {
    const startup = performance.now();
    server = await startServer(env);
    log(`server up in ${(performance.now() - startup).toFixed(0)} ms at ${server.url}`);
    const { container } = server;
    const poolSize = container.config.dbPoolSize;
    /* The baseline's own pg Pool; the embedded database takes one connection only, so there it shares the server's. */
    baselinePool =
      database.kind === 'embedded'
        ? ((container.database.dataSource.driver as PostgresDriver).master as Pool)
        : new Pool({ connectionString: database.url, max: poolSize });
    /* --experiments: a second pool whose commits do not wait for the WAL flush (not for the embedded database). */
    asyncCommitPool =
      options.experiments && database.kind !== 'embedded'
        ? new Pool({ connectionString: database.url, max: poolSize, options: '-c synchronous_commit=off' })
        : undefined;
    baseline = await startBaselineServer(baselinePool, container.keyring, { asyncCommitPool });
    const dbCpu = await DbCpuMeter.create(database.kind === 'embedded' ? undefined : baselinePool, database.url);
    load = new LoadClient();
    const loadPid = load.pid;

    /* Seeding, through the services. */
    const seedStart = performance.now();
    const wanted = options.only;
    const readScope =
      wanted.has('read') || wanted.has('rest') ? await seedScope(container, `bench ${runTag} read`, shapeOf(plan.restSize)) : undefined;
    const scaling = new Map<number, SeededScope>();
    if (wanted.has('scaling')) {
      for (const size of plan.sizes) scaling.set(size, await seedScope(container, `bench ${runTag} list ${size}`, shapeOf(size), { bulk: true }));
    }
    const writeEnvironment = wanted.has('write')
      ? (await container.environments.create({ name: `bench ${runTag} write` }, SYSTEM_ACTOR)).id
      : undefined;
    for (const scope of [readScope, ...scaling.values()]) if (scope) createdEnvironments.push(scope.environmentId);
    if (writeEnvironment) createdEnvironments.push(writeEnvironment);
    if (database.kind !== 'embedded') await baselinePool.query('ANALYZE');
    const seeded = [readScope, ...scaling.values()].reduce((n, s) => n + (s ? s.expected.size : 0), 0);
    log(`seeded ${seeded} effective secrets in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);
    rss.takePeakMb();

    const observer = container.database.observer;
    const baselineServer = baseline;
    /* The server's statements (TypeORM's logger) plus the baseline's; only one of them is under load at a time. */
    const countStatements = () => observer.statements + baselineServer.statements;
    const serverUrl = server.url;
    const baselineUrl = baseline.url;
    const loader = load;

    interface Measure {
      readonly id: string;
      readonly scenario: number;
      readonly label: string;
      readonly job: Omit<LoadJob, 'durationSec'>;
      readonly secrets?: number;
      readonly ratioTo?: string;
      readonly check?: SampleCheck;
      /** Seconds per request: warm up by count, not by time. */
      readonly slow?: boolean;
    }

    const warmedUp = new Set<string>();
    const measure = async (spec: Measure): Promise<ScenarioResult> => {
      const { connections } = spec.job;
      /* The first row served by each server also warms its code (JIT, pools) and the load generator: give it longer. */
      const warmupSec = warmedUp.has(spec.job.url) ? plan.warmupSec : Math.max(plan.warmupSec, FIRST_WARMUP_SEC);
      warmedUp.add(spec.job.url);
      const warm = spec.slow
        ? await loader.run({ ...spec.job, amount: plan.slowWarmupPerConnection * connections })
        : await loader.run({ ...spec.job, durationSec: warmupSec });
      await settle();
      const expected = warm.rps * plan.durationSec;
      const amount = expected < COUNT_BELOW ? Math.ceil(Math.max(plan.minRequests, expected) / connections) * connections : undefined;
      log(`${spec.id}: warm-up ${warm.requests} requests; measuring ${amount ? `${amount} requests` : `${plan.durationSec} s`} with ${connections} connections`);
      rss.takePeakMb();
      const dbBefore = await dbCpu?.snapshot();
      await profiler?.start();
      await allocations?.start();
      const statementsBefore = countStatements();
      gc.take();
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      const r = await loader.run(amount ? { ...spec.job, amount } : { ...spec.job, durationSec: plan.durationSec });
      const wallMs = performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      const statements = countStatements() - statementsBefore;
      const gcMs = gc.take();
      if (profiler) {
        const profile = await profiler.stop();
        const dir = path.join(BENCH_DIR, 'profiles');
        mkdirSync(dir, { recursive: true });
        writeFileSync(path.join(dir, `${spec.id}.cpuprofile`), JSON.stringify(profile));
        const summary = formatSummary(spec.id, profile, 30);
        writeFileSync(path.join(dir, `${spec.id}.txt`), `${summary}\n`);
        process.stderr.write(`\n${summary}\n\n`);
      }
      if (allocations) {
        const { total, byFunction, raw } = await allocations.stop();
        const perRequest = total / Math.max(r.requests, 1);
        const lines = [
          `${spec.id}: ${(total / 1024 / 1024).toFixed(1)} MB allocated over ${r.requests} requests = ${(perRequest / 1024).toFixed(0)} KB per request` +
            (spec.secrets ? `, ${(perRequest / spec.secrets).toFixed(0)} bytes per secret` : ''),
          ...byFunction.slice(0, 30).map(([name, bytes]) => `  ${((bytes / total) * 100).toFixed(1).padStart(5)}%  ${(bytes / Math.max(r.requests, 1) / 1024).toFixed(1).padStart(8)} KB/req  ${name}`),
        ];
        const dir = path.join(BENCH_DIR, 'profiles');
        mkdirSync(dir, { recursive: true });
        writeFileSync(path.join(dir, `${spec.id}.allocations.txt`), `${lines.join('\n')}\n`);
        writeFileSync(path.join(dir, `${spec.id}.heapprofile`), JSON.stringify(raw));
        process.stderr.write(`\n${lines.join('\n')}\n\n`);
      }
      const dbAfter = await dbCpu?.snapshot();
      let problem: string | undefined;
      if (r.sampleStatus !== 200) problem = `first response had status ${r.sampleStatus}: ${r.sample.slice(0, 300)}`;
      else {
        try {
          problem = spec.check?.(JSON.parse(r.sample));
        } catch {
          problem = 'first response is not JSON';
        }
      }
      if (problem) log(`${spec.id}: sample check failed: ${problem}`);
      const errors = r.non2xx + r.errors + r.bodyErrors + (problem ? 1 : 0);
      if (errors) log(`${spec.id}: ${r.non2xx} non-2xx, ${r.errors} socket errors/timeouts, ${r.bodyErrors} bodies with errors`);
      const cpuMicros = cpu.user + cpu.system;
      const requests = Math.max(r.requests, 1);
      const result: ScenarioResult = {
        id: spec.id,
        scenario: spec.scenario,
        label: spec.label,
        connections: spec.job.connections,
        ...(spec.secrets === undefined ? {} : { secrets: spec.secrets }),
        requests: r.requests,
        rps: r.rps,
        p50: r.p50,
        p99: r.p99,
        mean: r.mean,
        errors,
        ...(spec.ratioTo ? { ratioTo: spec.ratioTo } : {}),
        statementsPerRequest: statements / requests,
        serverCpuUsPerRequest: cpuMicros / requests,
        gcShare: (gcMs * 1000) / Math.max(cpuMicros, 1),
        ...(spec.secrets ? { serverCpuUsPerSecret: cpuMicros / requests / spec.secrets } : {}),
        ...(dbCpu && dbBefore && dbAfter ? { dbCpuUsPerRequest: dbCpu.microsBetween(dbBefore, dbAfter) / requests } : {}),
        serverCores: cpuMicros / 1000 / wallMs,
        loadgenCores: r.loadCpuMicros / 1000 / r.durationMs,
        peakRssMb: rss.takePeakMb(),
        extra: { wallMs, measuredBy: amount ? 'count' : 'duration', bytes: r.bytes, p90: r.p90, maxMs: r.max, loadgenPid: loadPid, ...(problem ? { sampleProblem: problem } : {}) },
      };
      results.push(result);
      log(
        `${spec.id}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, ${errors} errors, ` +
          `${result.serverCpuUsPerRequest!.toFixed(0)} µs CPU/req`,
      );
      return result;
    };

    const json = { 'content-type': 'application/json' };
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

    /* Scenarios 1 and 2: one name, read by a listener. */
    if (readScope && wanted.has('read')) {
      const names = [...readScope.expected.keys()];
      const { environmentId, spaceId, token, expected } = readScope;
      await measure({
        id: 'baseline-read',
        scenario: 1,
        label: 'baseline: node:http + pg, 1 statement, 1 decrypt',
        job: { url: baselineUrl, method: 'GET', path: `/secret?name={{pick}}&environmentId=${environmentId}&spaceId=${spaceId}`, picks: names, headers: {}, connections: plan.readConnections, expectIncludes: '"value"' },
        check: checkRead(expected, (b) => b?.data?.secret?.value),
      });
      await measure({
        id: 'baseline-read-4stmt',
        scenario: 1,
        label: 'baseline + token, scope, audit (4 statements)',
        ratioTo: 'baseline-read',
        job: { url: baselineUrl, method: 'GET', path: `/secret-audited?name={{pick}}&spaceId=${spaceId}`, picks: names, headers: bearer(token), connections: plan.readConnections, expectIncludes: '"value"' },
        check: checkRead(expected, (b) => b?.data?.secret?.value),
      });
      if (options.experiments) {
        /* Layer by layer: node:http, Fastify, Fastify + Apollo + token lookup, then the read itself. */
        await measure({
          id: 'baseline-noop',
          scenario: 1,
          label: 'experiment: node:http, no work',
          ratioTo: 'baseline-read',
          job: { url: baselineUrl, method: 'GET', path: '/noop', headers: {}, connections: plan.readConnections, expectIncludes: '"ok"' },
        });
        await measure({
          id: 'fastify-healthz',
          scenario: 1,
          label: 'experiment: Fastify GET /healthz, no work',
          ratioTo: 'baseline-read',
          job: { url: serverUrl, method: 'GET', path: '/healthz', headers: {}, connections: plan.readConnections, expectIncludes: '"ok"' },
        });
        await measure({
          id: 'graphql-typename',
          scenario: 1,
          label: 'experiment: GraphQL { __typename }, LISTENER (token lookup)',
          ratioTo: 'baseline-read',
          job: { url: serverUrl, method: 'POST', path: '/graphql', headers: { ...json, ...bearer(token) }, body: gqlBody('query T { __typename }', {}), connections: plan.readConnections, expectIncludes: '"Query"' },
        });
        await measure({
          id: 'baseline-read-4stmt-unnamed',
          scenario: 1,
          label: 'experiment: the 4 statements unprepared (as TypeORM)',
          ratioTo: 'baseline-read',
          job: { url: baselineUrl, method: 'GET', path: `/secret-audited-unnamed?name={{pick}}&spaceId=${spaceId}`, picks: names, headers: bearer(token), connections: plan.readConnections, expectIncludes: '"value"' },
          check: checkRead(expected, (b) => b?.data?.secret?.value),
        });
        await measure({
          id: 'baseline-read-2stmt',
          scenario: 1,
          label: 'experiment: token+scope+rows in 1 statement, + audit',
          ratioTo: 'baseline-read',
          job: { url: baselineUrl, method: 'GET', path: `/secret-merged?name={{pick}}&spaceId=${spaceId}`, picks: names, headers: bearer(token), connections: plan.readConnections, expectIncludes: '"value"' },
          check: checkRead(expected, (b) => b?.data?.secret?.value),
        });
        await measure({
          id: 'baseline-read-2stmt-batched-audit',
          scenario: 1,
          label: 'experiment: 2 statements, audit rows of concurrent reads in 1 insert',
          ratioTo: 'baseline-read',
          job: { url: baselineUrl, method: 'GET', path: `/secret-merged-batched?name={{pick}}&spaceId=${spaceId}`, picks: names, headers: bearer(token), connections: plan.readConnections, expectIncludes: '"value"' },
          check: checkRead(expected, (b) => b?.data?.secret?.value),
        });
        if (asyncCommitPool) {
          await measure({
            id: 'baseline-read-2stmt-async-commit',
            scenario: 1,
            label: 'experiment: 2 statements, audit insert with synchronous_commit=off',
            ratioTo: 'baseline-read',
            job: { url: baselineUrl, method: 'GET', path: `/secret-merged-async-commit?name={{pick}}&spaceId=${spaceId}`, picks: names, headers: bearer(token), connections: plan.readConnections, expectIncludes: '"value"' },
            check: checkRead(expected, (b) => b?.data?.secret?.value),
          });
        }
      }
      await measure({
        id: 'graphql-read',
        scenario: 2,
        label: 'GraphQL secret(name, spaceId), LISTENER',
        ratioTo: 'baseline-read',
        job: { url: serverUrl, method: 'POST', path: '/graphql', headers: { ...json, ...bearer(token) }, body: gqlBody(READ, { n: '{{pick}}', s: spaceId }), picks: names, connections: plan.readConnections, expectIncludes: '"value"' },
        check: checkRead(expected, (b) => b?.data?.secret?.value),
      });
    }

    /* Scenario 3: the Flatfile-compatible list of a space with 50 effective secrets. */
    if (readScope && wanted.has('rest')) {
      const { environmentId, spaceId, token, expected } = readScope;
      await measure({
        id: `baseline-list-${plan.restSize}`,
        scenario: 3,
        label: `baseline: effective list of ${plan.restSize}`,
        secrets: plan.restSize,
        job: { url: baselineUrl, method: 'GET', path: `/list?environmentId=${environmentId}&spaceId=${spaceId}`, headers: {}, connections: plan.readConnections, expectIncludes: '"value"' },
        check: checkList(expected, (b) => b?.data),
      });
      await measure({
        id: `rest-${plan.restSize}`,
        scenario: 3,
        label: `REST GET /v1/secrets (${plan.restSize} effective)`,
        secrets: plan.restSize,
        ratioTo: `baseline-list-${plan.restSize}`,
        job: { url: serverUrl, method: 'GET', path: `/v1/secrets?environmentId=${environmentId}&spaceId=${spaceId}`, headers: bearer(token), connections: plan.readConnections, expectIncludes: '"value"' },
        check: checkList(expected, (b) => b?.data),
      });
    }

    let decrypt: DecryptMicroResult | undefined;
    if (options.experiments) {
      await settle();
      decrypt = decryptMicro();
      log(
        `decryption per value, CPU: openValue ${decrypt.openValueUs.toFixed(1)} µs, fewer-allocations variant ${decrypt.leanUs.toFixed(1)} µs, ` +
          `two bare AES-GCM deciphers ${decrypt.twoDeciphersUs.toFixed(1)} µs, one ${decrypt.oneDecipherUs.toFixed(1)} µs`,
      );
    }

    /* Scenario 4: effectiveSecrets { name value source } as the list grows. */
    for (const [size, scope] of scaling) {
      const { environmentId, spaceId, token, expected } = scope;
      await measure({
        id: `baseline-list-${size}`,
        scenario: 4,
        label: `baseline: effective list of ${size}`,
        secrets: size,
        slow: size >= 1000,
        job: { url: baselineUrl, method: 'GET', path: `/list?environmentId=${environmentId}&spaceId=${spaceId}`, headers: {}, connections: plan.listConnections, expectIncludes: '"value"' },
        check: checkList(expected, (b) => b?.data),
      });
      await measure({
        id: `graphql-list-${size}`,
        scenario: 4,
        label: `GraphQL effectiveSecrets, ${size} secrets`,
        secrets: size,
        slow: size >= 1000,
        ratioTo: `baseline-list-${size}`,
        job: { url: serverUrl, method: 'POST', path: '/graphql', headers: { ...json, ...bearer(token) }, body: gqlBody(LIST, { s: spaceId }), connections: plan.listConnections, expectIncludes: '"effectiveSecrets"' },
        check: checkList(expected, (b) => b?.data?.effectiveSecrets),
      });
    }

    /* Scenario 6: writes, distinct names (inserts) and one name (updates contending for one row lock). */
    if (writeEnvironment) {
      const e = writeEnvironment;
      const admin = { ...json, ...bearer(adminToken) };
      const checkVersion = (versionOf: (b: any) => unknown): SampleCheck => (b) => (Number(versionOf(b)) >= 1 ? undefined : 'no version in the response'); // eslint-disable-line @typescript-eslint/no-explicit-any
      let job = 0;
      const tag = () => `${runTag}_${job++}`;
      await measure({
        id: 'baseline-write-distinct',
        scenario: 6,
        label: 'baseline write: new name each (tx: lock, seal, insert, audit)',
        job: { url: baselineUrl, method: 'POST', path: `/write?environmentId=${e}&name=BASE_${tag()}_{{seq}}`, headers: {}, body: WRITE_VALUE, connections: plan.writeConnections, expectIncludes: '"version"' },
        check: checkVersion((b) => b?.data?.version),
      });
      await measure({
        id: 'graphql-upsert-distinct',
        scenario: 6,
        label: 'GraphQL upsertSecret, new name each, ADMIN',
        ratioTo: 'baseline-write-distinct',
        job: { url: serverUrl, method: 'POST', path: '/graphql', headers: admin, body: gqlBody(UPSERT, { i: { environmentId: e, name: `GQL_${tag()}_{{seq}}`, value: WRITE_VALUE } }), connections: plan.writeConnections, expectIncludes: '"upsertSecret"' },
        check: checkVersion((b) => b?.data?.upsertSecret?.version),
      });
      await measure({
        id: 'baseline-write-same',
        scenario: 6,
        label: 'baseline write: one name (row lock contended)',
        job: { url: baselineUrl, method: 'POST', path: `/write?environmentId=${e}&name=BASE_SAME`, headers: {}, body: WRITE_VALUE, connections: plan.writeConnections, expectIncludes: '"version"' },
        check: checkVersion((b) => b?.data?.version),
      });
      await measure({
        id: 'graphql-upsert-same',
        scenario: 6,
        label: 'GraphQL upsertSecret, one name, ADMIN',
        ratioTo: 'baseline-write-same',
        job: { url: serverUrl, method: 'POST', path: '/graphql', headers: admin, body: gqlBody(UPSERT, { i: { environmentId: e, name: 'GQL_SAME', value: WRITE_VALUE } }), connections: plan.writeConnections, expectIncludes: '"upsertSecret"' },
        check: checkVersion((b) => b?.data?.upsertSecret?.version),
      });
    }

    /* Scenario 5: restarts. The embedded database has one owner, so the main server stops first (once requests cut off by the last run are done). */
    await settle();
    load.close();
    load = undefined;
    await baseline.close();
    baseline = undefined;
    if (database.kind !== 'embedded') await baselinePool.end();
    baselinePool = undefined;
    await asyncCommitPool?.end();
    asyncCommitPool = undefined;
    await server.close();
    server = undefined;
    if (wanted.has('cold')) {
      log(`cold start: ${plan.coldEnvironments} environments, fake KMS answering in 50 ms`);
      results.push(...(await coldStart({ env, environments: plan.coldEnvironments, rss, created: createdEnvironments })));
    }

    /* Ratios, targets, output. */
    const byId = new Map(results.map((r) => [r.id, r]));
    /* Table order: by scenario number (cold start runs last because it restarts the server). */
    const ordered = [...results].sort((a, b) => a.scenario - b.scenario);
    const finalResults = ordered.map((r) => {
      const base = r.ratioTo ? byId.get(r.ratioTo) : undefined;
      return base?.rps && r.rps !== undefined ? { ...r, ratio: r.rps / base.rps } : r;
    });
    const finalById = new Map(finalResults.map((r) => [r.id, r]));
    const targets = evaluateTargets(finalById, plan);
    const peakRssMb = process.resourceUsage().maxRSS / 1024;

    const table = formatTable(finalResults);
    const verdicts = formatTargets(targets);
    process.stdout.write(`\n${table}\n\n${verdicts}\n\n`);
    for (const r of finalResults) if (r.notes) process.stdout.write(`${r.id}: ${r.notes}\n`);
    process.stdout.write(`peak RSS of the bench process (server + baseline): ${peakRssMb.toFixed(0)} MB\n`);
    if (decrypt) {
      process.stdout.write(
        `experiment, decryption CPU per value: openValue ${decrypt.openValueUs.toFixed(1)} µs; fewer allocations ${decrypt.leanUs.toFixed(1)} µs; ` +
          `AES-GCM floor ${decrypt.twoDeciphersUs.toFixed(1)} µs (2 deciphers), ${decrypt.oneDecipherUs.toFixed(1)} µs (1, cached data keys)\n`,
      );
    }

    const complete = options.only.size === SCENARIOS.length && !options.profile && !options.heapProfile;
    const report = {
      commit: git(['rev-parse', 'HEAD']),
      workingTreeDirty: (git(['status', '--porcelain', '--untracked-files=no']) ?? '') !== '',
      date: startedAt.toISOString(),
      node: process.version,
      machine: {
        cores: os.cpus().length,
        cpuModel: os.cpus()[0]?.model,
        memoryMb: Math.round(os.totalmem() / 1024 / 1024),
        platform: `${os.platform()} ${os.release()}`,
        loadAverageAtStart: loadBefore,
        loadAverageAtEnd: os.loadavg(),
      },
      database: { kind: database.kind, description: database.description, poolSize: env.DB_POOL_SIZE },
      mode: options.quick ? 'quick' : 'full',
      plan,
      options: { embedded: options.embedded, only: [...options.only], profile: options.profile, experiments: options.experiments },
      durationSec: (performance.now() - wallStart) / 1000,
      peakRssMb,
      notes: [
        'CPU columns are server-process CPU (process.cpuUsage: main thread, libuv and GC threads) per request; the load generator runs in a child process and is not counted.',
        'DB CPU is the CPU of the PostgreSQL backends of the bench database (from /proc), when PostgreSQL runs on this machine.',
        'Ratios are requests/s against the framework-free baseline row named in ratioTo, measured in the same run.',
        'The load generator shares the machine with the server (see cores srv/load).',
      ],
      results: finalResults,
      targets,
      ...(decrypt ? { experiments: { decryptPerValue: decrypt } } : {}),
    };
    if (complete) {
      writeFileSync(path.join(BENCH_DIR, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
      writeFileSync(path.join(BENCH_DIR, 'results.svg'), svgOf(finalResults, report));
      process.stdout.write(`wrote bench/results.json and bench/results.svg (${report.durationSec.toFixed(0)} s)\n`);
    } else {
      const dir = path.join(BENCH_DIR, 'profiles');
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'results.partial.json'), `${JSON.stringify(report, null, 2)}\n`);
      process.stdout.write(`partial or profiled run: wrote bench/profiles/results.partial.json only (${report.durationSec.toFixed(0)} s)\n`);
    }
    if (finalResults.some((r) => r.errors > 0)) process.exitCode = 1;
  } finally {
    await dispose();
  }
}

function evaluateTargets(byId: ReadonlyMap<string, ScenarioResult>, plan: Plan): TargetVerdict[] {
  const targets: TargetVerdict[] = [];
  const read = byId.get('graphql-read');
  if (read?.ratio !== undefined) {
    targets.push({
      id: 'graphql-read-ratio',
      description: `GraphQL listener read ≥ ${TARGET.graphqlReadRatio}× baseline throughput`,
      measured: `${read.ratio.toFixed(2)}× (${read.rps!.toFixed(0)} vs ${byId.get('baseline-read')!.rps!.toFixed(0)} req/s)`,
      pass: read.ratio >= TARGET.graphqlReadRatio,
    });
  }
  const rest = byId.get(`rest-${plan.restSize}`);
  if (rest?.ratio !== undefined) {
    targets.push({
      id: 'rest-ratio',
      description: `REST list of ${plan.restSize} ≥ ${TARGET.restRatio}× baseline throughput`,
      measured: `${rest.ratio.toFixed(2)}× (${rest.rps!.toFixed(0)} vs ${byId.get(`baseline-list-${plan.restSize}`)!.rps!.toFixed(0)} req/s)`,
      pass: rest.ratio >= TARGET.restRatio,
    });
  }
  const [small, large] = plan.sizes.slice(-2);
  const a = byId.get(`graphql-list-${small}`);
  const b = byId.get(`graphql-list-${large}`);
  if (a?.serverCpuUsPerRequest && b?.serverCpuUsPerRequest && a.p50 && b.p50) {
    const allowed = (large / small) * TARGET.linearSlack;
    const cpuRatio = b.serverCpuUsPerRequest / a.serverCpuUsPerRequest;
    const latencyRatio = b.p50 / a.p50;
    targets.push({
      id: 'list-linear-cpu',
      description: `effectiveSecrets server CPU/request, ${large} vs ${small} secrets ≤ ${allowed.toFixed(0)}×`,
      measured: `${cpuRatio.toFixed(2)}× (${(a.serverCpuUsPerRequest / 1000).toFixed(1)} → ${(b.serverCpuUsPerRequest / 1000).toFixed(1)} ms)`,
      pass: cpuRatio <= allowed,
    });
    targets.push({
      id: 'list-linear-latency',
      description: `effectiveSecrets p50 latency, ${large} vs ${small} secrets ≤ ${allowed.toFixed(0)}×`,
      measured: `${latencyRatio.toFixed(2)}× (${a.p50} → ${b.p50} ms)`,
      pass: latencyRatio <= allowed,
    });
    const marginal = (b.serverCpuUsPerRequest - a.serverCpuUsPerRequest) / (large - small);
    const baseA = byId.get(`baseline-list-${small}`)?.serverCpuUsPerRequest;
    const baseB = byId.get(`baseline-list-${large}`)?.serverCpuUsPerRequest;
    const baseMarginal = baseA !== undefined && baseB !== undefined ? (baseB - baseA) / (large - small) : undefined;
    targets.push({
      id: 'list-marginal-cpu',
      description: `server CPU per extra secret (${small}→${large}) < ${TARGET.marginalCpuUs} µs`,
      measured: `${marginal.toFixed(1)} µs${baseMarginal === undefined ? '' : ` (baseline: ${baseMarginal.toFixed(1)} µs)`}`,
      pass: marginal < TARGET.marginalCpuUs,
    });
  }
  for (const id of ['cold-inprocess', 'cold-process']) {
    const cold = byId.get(id);
    if (!cold) continue;
    const calls = (cold.extra?.kmsCalls as { decrypt: number; encrypt: number }).decrypt;
    const n = cold.extra?.environments as number;
    targets.push({
      id: `${id}-kms-calls`,
      description: `${id === 'cold-inprocess' ? 'cold start (in-process restart)' : 'cold start (new process, concurrent reads)'}: one KMS call per environment`,
      measured: `${calls} Decrypt calls for ${n} environments`,
      pass: calls === n,
    });
  }
  const failing = [...byId.values()].filter((r) => r.errors > 0);
  targets.push({
    id: 'no-errors',
    description: 'errors in every scenario = 0',
    measured: failing.length ? failing.map((r) => `${r.id}: ${r.errors}`).join(', ') : '0',
    pass: failing.length === 0,
  });
  return targets;
}

function svgOf(results: readonly ScenarioResult[], report: { commit?: string; date: string; machine: { cores: number }; mode: string }): string {
  const series = [
    { name: 'GraphQL effectiveSecrets', color: '#1f77b4', prefix: 'graphql-list-' },
    { name: 'baseline (node:http + pg)', color: '#ff7f0e', prefix: 'baseline-list-' },
  ].map(({ name, color, prefix }) => ({
    name,
    color,
    points: results
      .filter((r) => r.scenario === 4 && r.id.startsWith(prefix) && r.secrets && r.mean !== undefined && r.serverCpuUsPerSecret !== undefined)
      .map((r) => ({ secrets: r.secrets!, mean: r.mean!, p99: r.p99!, cpuUsPerSecret: r.serverCpuUsPerSecret! })),
  }));
  return scalingSvg(series, {
    title: 'Secretspace: effective list scaling',
    subtitle: `${report.mode} run, ${report.date.slice(0, 16).replace('T', ' ')} UTC, commit ${(report.commit ?? 'unknown').slice(0, 8)}, ${report.machine.cores} cores`,
    cpuTargetUs: TARGET.marginalCpuUs,
  });
}

/** With someone else's DATABASE_URL: delete the bench's environments (spaces, secrets, tokens cascade) and revoke its admin token. */
async function cleanUpExternal(env: Record<string, string>, environmentIds: readonly string[], adminToken: string): Promise<void> {
  let server: RunningServer | undefined;
  try {
    server = await startServer(env);
    for (const id of environmentIds) await server.container.environments.delete(id, SYSTEM_ACTOR).catch(() => undefined);
    const rows: { id: string }[] = await server.container.database.dataSource.query('SELECT id FROM api_token WHERE token_hash = $1', [hashToken(adminToken)]);
    for (const { id } of rows) await server.container.tokens.revoke(id, SYSTEM_ACTOR);
  } catch (error) {
    log(`cleaning up the external database: ${String(error)}`);
  } finally {
    await server?.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});

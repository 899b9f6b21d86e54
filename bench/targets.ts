import type { Plan } from './plan';
import type { ScenarioResult, TargetVerdict } from './report';

/*
 * The targets of issue 6 and of "Performance, round two", judged on rows of
 * the same run: throughput ratios are against the baseline row measured
 * minutes before, never against a number from another day.
 */

export const TARGET = {
  graphqlReadRatio: 0.5,
  /** Statements per audited listener read at 10 connections (token lookups and audit rows batched across requests). */
  readStatements: 1.2,
  restRatio: 0.7,
  /** The largest list may cost this many times the next one, per unit of size ratio (5,000 vs 1,000: 6×). */
  linearSlack: 6 / 5,
  marginalCpuUs: 25,
  /** Server CPU per extra secret, as a multiple of the baseline's own. */
  marginalCpuRatio: 1.2,
  upsertRatio: 0.7,
  startMs: 2000,
  cliMs: 1500,
  /** Network requests of 10,000 reads on a warm live cache. */
  liveClientRequests: 0,
  /** Fan-out: commit → the last of the subscriptions, p99 per write. */
  fanoutMs: 500,
  /** …while the writer keeps this share of its planned rate. */
  fanoutRateShare: 0.95,
} as const;

const ms = (value: number) => `${value.toFixed(0)} ms`;
const unavailable = (row: ScenarioResult | undefined) => row?.extra?.unavailable as string | undefined;

export function evaluateTargets(byId: ReadonlyMap<string, ScenarioResult>, plan: Plan): TargetVerdict[] {
  const targets: TargetVerdict[] = [];
  const rps = (id: string) => byId.get(id)?.rps ?? Number.NaN;

  const read = byId.get('graphql-read');
  if (read?.ratio !== undefined) {
    const audited = byId.get('baseline-read-4stmt')?.rps;
    targets.push({
      id: 'graphql-read-ratio',
      description: `GraphQL listener read (audited) ≥ ${TARGET.graphqlReadRatio}× baseline throughput`,
      measured:
        `${read.ratio.toFixed(2)}× (${read.rps!.toFixed(0)} vs ${rps('baseline-read').toFixed(0)} req/s)` +
        (audited ? `; ${(read.rps! / audited).toFixed(2)}× of the baseline running the same statements unbatched` : ''),
      pass: read.ratio >= TARGET.graphqlReadRatio,
    });
  }
  if (read?.statementsPerRequest !== undefined) {
    targets.push({
      id: 'graphql-read-statements',
      description: `statements per audited listener read at ${read.connections} connections ≤ ${TARGET.readStatements}`,
      measured: `${read.statementsPerRequest.toFixed(2)} (${read.extra?.statements} statements / ${read.requests} requests)`,
      pass: read.statementsPerRequest <= TARGET.readStatements,
    });
  }
  const unnamed = byId.get('graphql-read-unnamed');
  if (unnamed) {
    const why = unavailable(unnamed);
    const db = (r: ScenarioResult | undefined) => (r?.dbCpuUsPerRequest === undefined ? '–' : r.dbCpuUsPerRequest.toFixed(0));
    targets.push({
      id: 'prepared-statements',
      description: 'listener read, DB_PREPARED_STATEMENTS=false vs default (named)',
      measured: why ?? `${unnamed.ratio?.toFixed(2)}× throughput (${unnamed.rps?.toFixed(0)} vs ${rps('graphql-read').toFixed(0)} req/s); DB CPU ${db(unnamed)} vs ${db(read)} µs/req`,
      pass: undefined,
    });
  }

  const uncached = byId.get('graphql-read-uncached');
  if (uncached) {
    const why = unavailable(uncached);
    const perRead = (r: ScenarioResult | undefined) => (r?.statementsPerRequest === undefined ? '–' : r.statementsPerRequest.toFixed(2));
    targets.push({
      id: 'token-cache-statements',
      description: 'statements per listener read, token cache off (TOKEN_CACHE_TTL_MS=0) → on (default)',
      measured:
        why ??
        `${perRead(uncached)} → ${perRead(read)} statements/read; ${uncached.rps?.toFixed(0)} → ${read?.rps?.toFixed(0) ?? '–'} req/s; ` +
          `DB CPU ${uncached.dbCpuUsPerRequest?.toFixed(0) ?? '–'} → ${read?.dbCpuUsPerRequest?.toFixed(0) ?? '–'} µs/req`,
      pass: undefined,
    });
  }

  const rest = byId.get(`rest-${plan.restSize}`);
  if (rest?.ratio !== undefined) {
    targets.push({
      id: 'rest-ratio',
      description: `REST list of ${plan.restSize} ≥ ${TARGET.restRatio}× baseline throughput`,
      measured: `${rest.ratio.toFixed(2)}× (${rest.rps!.toFixed(0)} vs ${rps(`baseline-list-${plan.restSize}`).toFixed(0)} req/s)`,
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
    if (baseMarginal !== undefined && baseMarginal > 0) {
      targets.push({
        id: 'list-marginal-cpu-ratio',
        description: `server CPU per extra secret (${small}→${large}) ≤ ${TARGET.marginalCpuRatio}× the baseline's`,
        measured: `${(marginal / baseMarginal).toFixed(2)}× (${marginal.toFixed(1)} vs ${baseMarginal.toFixed(1)} µs)`,
        pass: marginal / baseMarginal <= TARGET.marginalCpuRatio,
      });
    }
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

  for (const kind of ['distinct', 'same'] as const) {
    const upsert = byId.get(`graphql-upsert-${kind}`);
    if (upsert?.ratio === undefined) continue;
    targets.push({
      id: `upsert-${kind}-ratio`,
      description: `GraphQL upsertSecret, ${kind === 'distinct' ? 'new names' : 'one contended name'} ≥ ${TARGET.upsertRatio}× the baseline's writes`,
      measured: `${upsert.ratio.toFixed(2)}× (${upsert.rps!.toFixed(0)} vs ${rps(`baseline-write-${kind}`).toFixed(0)} req/s)`,
      pass: upsert.ratio >= TARGET.upsertRatio,
    });
  }

  const processTarget = (id: string, description: string, limitMs: number, detail: (row: ScenarioResult) => string) => {
    const row = byId.get(id);
    if (!row) return;
    const why = unavailable(row);
    const typical = row.p50;
    targets.push({
      id,
      description: `${description} < ${(limitMs / 1000).toFixed(1)} s`,
      measured: why ?? (typical === undefined ? `no run succeeded (${row.notes})` : `${ms(typical)} (${detail(row)})`),
      pass: why ? undefined : typical !== undefined && row.errors === 0 && typical < limitMs,
    });
  };
  const starts = (row: ScenarioResult) =>
    `median of ${row.requests} fresh start${row.requests === 1 ? '' : 's'}; restart ${ms((row.extra?.restartP50Ms as number | undefined) ?? Number.NaN)}`;
  processTarget('start-embedded', 'npm start → /healthz 200, embedded (fresh DATA_DIR)', TARGET.startMs, starts);
  processTarget('start-postgres', 'npm start → /healthz 200, PostgreSQL (fresh database)', TARGET.startMs, starts);
  processTarget('cli-token-list', 'npm run cli -- token list, wall time', TARGET.cliMs, (row) => `median of ${row.requests} run${row.requests === 1 ? '' : 's'}`);

  const liveClient = byId.get('live-client-requests');
  const liveRequests = liveClient?.extra?.networkRequests;
  if (typeof liveRequests === 'number') {
    targets.push({
      id: 'live-client-requests',
      description: `live client: ${liveClient!.requests?.toLocaleString('en-US')} secrets() calls on a warm live cache make ${TARGET.liveClientRequests} network requests`,
      measured: `${liveRequests} requests`,
      pass: liveRequests <= TARGET.liveClientRequests && liveClient!.extra?.warm === true,
    });
  }

  const targetRate = plan.fanoutRates[0];
  const fan = byId.get(`fanout-${targetRate}`);
  if (fan) {
    const why = unavailable(fan);
    const x = fan.extra ?? {};
    const rateOk = (fan.rps ?? 0) >= targetRate * TARGET.fanoutRateShare;
    targets.push({
      id: 'fanout-latency',
      description:
        `an event reaches all of ${plan.fanoutSubscriptions.toLocaleString('en-US')} subscriptions on ${plan.fanoutInstances} instances ` +
        `within ${TARGET.fanoutMs} ms of commit (p99) under ${targetRate} writes/s`,
      measured:
        why ??
        `p50 ${fan.p50 ?? '–'} ms, p99 ${fan.p99 ?? '–'} ms from \`at\` (from the mutation's response: p99 ${x.fromResponseP99Ms ?? '–'} ms) at ${fan.rps?.toFixed(0)} writes/s; ` +
          `${Number(x.delivered).toLocaleString('en-US')} of ${Number(x.expected).toLocaleString('en-US')} deliveries` +
          (Number(x.missing) ? ` (${Number(x.missing).toLocaleString('en-US')} missing)` : ''),
      pass: why ? undefined : Number(x.missing) === 0 && fan.p99 !== undefined && fan.p99 <= TARGET.fanoutMs && rateOk,
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

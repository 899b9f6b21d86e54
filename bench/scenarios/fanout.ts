import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

import { Pool } from 'pg';

import type { Command, Report, Status, SubscriptionSpec } from '../fanout-subscribers';
import { log } from '../log';
import { startServerProcess, type ServerProcess } from '../processes';
import type { Plan } from '../plan';
import type { ScenarioResult } from '../report';
import { percentile } from '../stats';
import { clockTicksPerSecond, cpuTicksOf, DbCpuMeter, peakRssMbOf } from '../system';
import type { Scenario } from './scenario';

/*
 * Scenario 9 (issue 12): fan-out. Two server processes of the built tree on
 * the bench's PostgreSQL; 1,000 `secretEvents` subscriptions spread over
 * them (one WebSocket each, held by a child process, half environment-wide
 * and half on one of ten spaces, under ten LISTENER tokens); a writer in
 * this process paced at 200 environment-level writes a second, alternating
 * between the instances, every one visible to every subscription. Measured:
 * for each write, the time from its commit to its arrival at the last of
 * the 1,000 subscriptions. The commit time is the event's `at` (PostgreSQL's
 * now() of the writing transaction: its start, so this overstates the
 * latency by the transaction's own length); the mutation's response time, a
 * little after the commit, is in the notes. PASS: every event reached every
 * subscription, p99 ≤ 500 ms, and the writer kept ≥ 95% of its rate.
 */

export const FANOUT_TARGET_MS = 500;
const TOKENS = 10;
const SPACES = 10;
const NAMES = 100;
const MAX_IN_FLIGHT = 64;
const ID = 'fanout';

const UPSERT = 'mutation($i: UpsertSecretInput!) { upsertSecret(input: $i) { name version } }';

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function gql<T>(url: string, token: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (!body.data || body.errors) throw new Error(`${response.status}: ${JSON.stringify(body.errors).slice(0, 300)}`);
  return body.data;
}

/** The subscriber fleet's child process, one command at a time. */
class Fleet {
  private readonly child: ChildProcess;
  private waiting: { resolve: (message: unknown) => void; reject: (error: Error) => void } | undefined;

  constructor() {
    this.child = fork(path.join(__dirname, '..', 'fanout-subscribers.js'), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (message) => {
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.resolve(message);
    });
    this.child.on('exit', (code) => this.waiting?.reject(new Error(`subscriber process exited with ${code}`)));
  }

  send<T>(command: Command): Promise<T> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve: resolve as (message: unknown) => void, reject };
      this.child.send(command);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  close(): void {
    if (this.child.connected) this.child.disconnect();
  }
}

interface Write {
  readonly sentAt: number;
  respondedAt?: number;
  key?: string;
  failed?: string;
}

const cpuMicros = (pids: readonly number[]) => {
  const perSecond = clockTicksPerSecond();
  return pids.reduce((sum, pid) => sum + ((cpuTicksOf(pid) ?? 0) / perSecond) * 1e6, 0);
};

function histogramPercentile(histogram: readonly number[], p: number): number | undefined {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const rank = Math.ceil((p / 100) * total);
  let seen = 0;
  for (let ms = 0; ms < histogram.length; ms++) {
    seen += histogram[ms];
    if (seen >= rank) return ms;
  }
  return histogram.length - 1;
}

const labelOf = (plan: FanoutPlan, rate: number) =>
  `fan-out: ${plan.fanoutSubscriptions.toLocaleString('en-US')} subscriptions over ${plan.fanoutInstances} instances, ${rate} writes/s`;

type FanoutPlan = Pick<Plan, 'fanoutSubscriptions' | 'fanoutInstances' | 'fanoutRates' | 'fanoutSec'>;

export const fanout: Scenario = {
  name: 'fanout',
  phase: 'stopped',
  async prepare(session) {
    const { plan } = session;
    return async () => {
      if (session.database.kind === 'embedded') {
        const why = 'n/a (embedded database: one server process at a time)';
        for (const rate of plan.fanoutRates) {
          session.results.push({ id: `${ID}-${rate}`, scenario: 9, label: `${labelOf(plan, rate)}: ${why}`, errors: 0, peakRssMb: Number.NaN, notes: why, extra: { unavailable: why } });
        }
        return;
      }
      session.results.push(...(await measureFanout(session.env, session.adminToken, session.database.url!, plan, session.runTag)));
    };
  },
};

async function measureFanout(
  env: Record<string, string>,
  adminToken: string,
  databaseUrl: string,
  plan: FanoutPlan,
  runTag: string,
): Promise<ScenarioResult[]> {
  const servers: ServerProcess[] = [];
  const fleet = new Fleet();
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  try {
    for (let i = 0; i < plan.fanoutInstances; i++) servers.push(await startServerProcess(env));
    const urls = servers.map((s) => s.url);
    const environmentId = (await gql<{ createEnvironment: { id: string } }>(urls[0], adminToken, 'mutation($n: String!) { createEnvironment(input: { name: $n }) { id } }', { n: `bench ${runTag} fanout` }))
      .createEnvironment.id;
    const spaces: string[] = [];
    for (let i = 0; i < SPACES; i++) {
      spaces.push((await gql<{ createSpace: { id: string } }>(urls[0], adminToken, 'mutation($e: ID!, $n: String!) { createSpace(input: { environmentId: $e, name: $n }) { id } }', { e: environmentId, n: `fanout ${i}` })).createSpace.id);
    }
    const tokens: string[] = [];
    for (let i = 0; i < TOKENS; i++) {
      const input = { name: `bench fanout ${i}`, role: 'LISTENER', environmentId };
      tokens.push((await gql<{ createApiToken: { token: string } }>(urls[0], adminToken, 'mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token } }', { i: input })).createApiToken.token);
    }
    const subscriptions: SubscriptionSpec[] = Array.from({ length: plan.fanoutSubscriptions }, (_, i) => ({
      url: urls[i % urls.length],
      token: tokens[Math.floor(i / urls.length) % TOKENS],
      variables: Math.floor(i / urls.length) % 2 ? { spaceId: spaces[i % SPACES] } : {},
    }));

    let writeCount = 0;
    const write = async (url: string, name: string): Promise<string> => {
      const value = `fanout value ${writeCount++} ${randomBytes(6).toString('hex')}`;
      const { upsertSecret } = await gql<{ upsertSecret: { name: string; version: number } }>(url, adminToken, UPSERT, { i: { environmentId, name, value } });
      return `${upsertSecret.name}@${upsertSecret.version}`;
    };

    const openedAt = performance.now();
    const opened = await fleet.send<Status>({ type: 'open', subscriptions });
    log(`${ID}: ${opened.opened} subscriptions open (${opened.failed} failed) in ${((performance.now() - openedAt) / 1000).toFixed(1)} s`);
    /* Live from acceptance: write markers until every subscription has received one. */
    const liveBy = performance.now() + 60_000;
    for (let i = 0; ; i++) {
      const status = await fleet.send<Status>({ type: 'status' });
      if (status.live >= status.opened || performance.now() > liveBy) break;
      await write(urls[i % urls.length], 'MARKER');
      await sleep(300);
    }
    await sleep(1000); // the last markers' deliveries drain

    const rows: ScenarioResult[] = [];
    for (const rate of plan.fanoutRates) {
      rows.push(await measureRate(rate));
      await sleep(2000);
    }
    return rows;

  async function measureRate(rate: number): Promise<ScenarioResult> {
    const id = `${ID}-${rate}`;
    const prefix = `FAN${rate}_`;
    await fleet.send<Status>({ type: 'measure', prefix });

    /* The writer: one write every 1/rate s on a fixed schedule (no drift), at most MAX_IN_FLIGHT at a time. */
    const writes: Write[] = [];
    const planned = Math.round(plan.fanoutSec * rate);
    const interval = 1000 / rate;
    const pids = servers.map((s) => s.pid);
    const dbCpu = await DbCpuMeter.create(pool, databaseUrl);
    const dbBefore = await dbCpu?.snapshot();
    const cpuBefore = cpuMicros(pids);
    const subscriberCpuBefore = cpuMicros([fleet.pid!]);
    const started = now();
    let inFlight = 0;
    let skipped = 0;
    const pending: Promise<void>[] = [];
    for (let i = 0; i < planned; i++) {
      const wait = started + i * interval - now();
      if (wait > 0) await sleep(wait);
      if (inFlight >= MAX_IN_FLIGHT) {
        skipped += 1;
        continue;
      }
      const record: Write = { sentAt: now() };
      writes.push(record);
      inFlight += 1;
      pending.push(
        write(urls[i % urls.length], `${prefix}${i % NAMES}`).then(
          (key) => {
            record.key = key;
            record.respondedAt = now();
          },
          (error: unknown) => {
            record.failed = String((error as Error).message).slice(0, 200);
          },
        ).finally(() => (inFlight -= 1)),
      );
    }
    await Promise.all(pending);
    const writeSeconds = (now() - started) / 1000;
    const done = writes.filter((w) => w.key);

    /* Every delivery, or no progress for 5 s (at most 60 s). */
    const expected = done.length * opened.opened;
    let status = await fleet.send<Status>({ type: 'status' });
    for (let last = status.delivered, stalledSince = now(), deadline = now() + 60_000; status.delivered < expected && now() < deadline; ) {
      await sleep(200);
      status = await fleet.send<Status>({ type: 'status' });
      if (status.delivered > last) [last, stalledSince] = [status.delivered, now()];
      else if (now() - stalledSince > 5000) break;
    }
    const deliveredSeconds = (now() - started) / 1000;
    const serverCpu = cpuMicros(pids) - cpuBefore;
    const subscriberCpu = cpuMicros([fleet.pid!]) - subscriberCpuBefore;
    const dbAfter = await dbCpu?.snapshot();
    const report = await fleet.send<Report>({ type: 'report' });

    const reachAll: number[] = [];
    const fromResponse: number[] = [];
    const atLead: number[] = [];
    let missing = 0;
    for (const w of done) {
      const arrivals = report.events[w.key!];
      if (!arrivals || arrivals.count < opened.opened) missing += opened.opened - (arrivals?.count ?? 0);
      if (!arrivals) continue;
      reachAll.push(arrivals.last - arrivals.at);
      fromResponse.push(arrivals.last - w.respondedAt!);
      atLead.push(w.respondedAt! - arrivals.at);
    }
    const round = (v: number | undefined) => (v === undefined ? undefined : Math.round(v));
    const closedByCode = Object.entries(report.closed).map(([code, n]) => `${n}× ${code}`).join(', ');
    const failedWrites = writes.filter((w) => w.failed);
    const p50 = round(percentile(reachAll, 50));
    const p99 = round(percentile(reachAll, 99));
    const deliveryP50 = histogramPercentile(report.histogram, 50);
    const deliveryP99 = histogramPercentile(report.histogram, 99);
    const achieved = done.length / writeSeconds;
    const rss = Math.max(...servers.map((s) => peakRssMbOf(s.pid) ?? 0));
    log(
      `${id}: ${done.length} writes at ${achieved.toFixed(0)}/s; ${report.delivered} of ${expected} deliveries; reach-all p50 ${p50} ms, p99 ${p99} ms; ` +
        `per delivery p50 ${deliveryP50} ms, p99 ${deliveryP99} ms${closedByCode ? `; closed: ${closedByCode}` : ''}`,
    );
    return {
      id,
      scenario: 9,
      label: labelOf(plan, rate),
      connections: opened.opened,
      requests: done.length,
      rps: achieved,
      p50,
      p99,
      errors: failedWrites.length + opened.failed + Object.values(report.closed).reduce((a, b) => a + b, 0),
      serverCpuUsPerRequest: serverCpu / Math.max(done.length, 1),
      ...(dbCpu && dbBefore && dbAfter ? { dbCpuUsPerRequest: dbCpu.microsBetween(dbBefore, dbAfter) / Math.max(done.length, 1) } : {}),
      serverCores: serverCpu / 1e6 / deliveredSeconds,
      loadgenCores: subscriberCpu / 1e6 / deliveredSeconds,
      peakRssMb: rss || Number.NaN,
      notes:
        `p50/p99: commit (\`at\`) → arrival at the last of ${opened.opened} subscriptions, per write; ` +
        `from the mutation's response instead: p50 ${round(percentile(fromResponse, 50))} ms, p99 ${round(percentile(fromResponse, 99))} ms ` +
        `(\`at\` precedes the response by p50 ${round(percentile(atLead, 50))} ms); per delivery p50 ${deliveryP50} ms, p99 ${deliveryP99} ms; ` +
        `${report.delivered.toLocaleString('en-US')} of ${expected.toLocaleString('en-US')} deliveries (${missing.toLocaleString('en-US')} missing); ` +
        `${planned} writes planned, ${skipped} skipped (${MAX_IN_FLIGHT} in flight), ${failedWrites.length} failed` +
        `${closedByCode ? `; subscriptions closed by the server: ${closedByCode}` : ''}; server CPU (both instances) ${(serverCpu / 1e6).toFixed(1)} s, subscribers' ${(subscriberCpu / 1e6).toFixed(1)} s, over ${deliveredSeconds.toFixed(1)} s`,
      extra: {
        subscriptions: opened.opened,
        openFailures: opened.failed,
        planned,
        skipped,
        failedWrites: failedWrites.length,
        firstWriteFailure: failedWrites[0]?.failed,
        expected,
        delivered: report.delivered,
        missing,
        closed: report.closed,
        deliveryP50Ms: deliveryP50,
        deliveryP99Ms: deliveryP99,
        fromResponseP50Ms: round(percentile(fromResponse, 50)),
        fromResponseP99Ms: round(percentile(fromResponse, 99)),
        maxReachAllMs: round(Math.max(...reachAll, 0)),
        writeSeconds,
        deliveredSeconds,
        subscriberPid: fleet.pid,
        targetMs: FANOUT_TARGET_MS,
        targetRate: rate,
      },
    };
  }
  } finally {
    fleet.close();
    await Promise.all(servers.map((s) => s.stop()));
    await pool.end();
  }
}

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import type { LoadJob } from './load';
import type { LoadClient } from './load-client';
import { log } from './log';
import { PROFILES_DIR } from './paths';
import type { Plan } from './plan';
import { formatSummary } from './profile-summary';
import type { AllocationProfiler, Profiler } from './profiler';
import type { ScenarioResult } from './report';
import type { DbCpuMeter, GcMeter, RssSampler } from './system';

/*
 * One measured row: a warm-up, a wait until the serving process is quiet,
 * then the load run with this process's CPU (process.cpuUsage: server CPU
 * only, the load generator is a child process), the endpoint's statement
 * count, GC pauses, the database backends' CPU and peak RSS taken around it.
 */

/*
 * A run cut off by time leaves requests in flight whose server CPU spills
 * into whatever comes next. Runs expected to complete fewer than this many
 * requests are measured by count (every request completes), and each
 * measurement starts once the server has gone quiet.
 */
const COUNT_BELOW = 200;
/** The first row served by each server also warms its code (JIT, pools) and the load generator. */
const FIRST_WARMUP_SEC = 2;

/** Waits until this process uses under a tenth of a core over 100 ms (requests cut off by a timed run have finished), at most 20 s. */
export async function settle(): Promise<void> {
  const deadline = performance.now() + 20_000;
  while (performance.now() < deadline) {
    const before = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const used = process.cpuUsage(before);
    if (used.user + used.system < 10_000) return;
  }
}

/** Something under load: its address, and the SQL statements it has sent so far. */
export interface Endpoint {
  readonly url: string;
  statements(): number;
}

/** Checks the first response of a run, parsed; returns what is wrong with it. */
export type SampleCheck = (body: unknown) => string | undefined;

/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are checked field by field */
/** Every name of the effective list, with its value. */
export function checkList(expected: ReadonlyMap<string, string>, listOf: (body: any) => { name: string; value: string }[] | undefined): SampleCheck {
  return (body) => {
    const list = listOf(body);
    if (!Array.isArray(list)) return 'no list in the response';
    if (list.length !== expected.size) return `${list.length} secrets, expected ${expected.size}`;
    for (const { name, value } of list) if (expected.get(name) !== value) return `wrong value for ${name}`;
    return undefined;
  };
}

/** A value that was written (names cycle, so any of them). */
export function checkRead(expected: ReadonlyMap<string, string>, valueOf: (body: any) => string | undefined): SampleCheck {
  const values = new Set(expected.values());
  return (body) => (values.has(valueOf(body) ?? '') ? undefined : 'the value read is not one that was written');
}

/** A write's answer carries the version it wrote. */
export const checkVersion =
  (versionOf: (body: any) => unknown): SampleCheck =>
  (body) =>
    Number(versionOf(body)) >= 1 ? undefined : 'no version in the response';
/* eslint-enable @typescript-eslint/no-explicit-any */

export interface MeasureSpec {
  readonly id: string;
  readonly scenario: number;
  readonly label: string;
  readonly endpoint: Endpoint;
  readonly job: Omit<LoadJob, 'durationSec' | 'amount' | 'url'>;
  readonly secrets?: number;
  readonly ratioTo?: string;
  readonly check?: SampleCheck;
  /** Seconds per request: warm up by count, not by time. */
  readonly slow?: boolean;
}

export interface MeterSet {
  readonly rss: RssSampler;
  readonly gc: GcMeter;
  readonly dbCpu: DbCpuMeter | undefined;
  readonly profiler: Profiler | undefined;
  readonly allocations: AllocationProfiler | undefined;
}

export class Measurer {
  private readonly warmedUp = new Set<string>();

  constructor(
    private readonly plan: Plan,
    private readonly load: LoadClient,
    private readonly meters: MeterSet,
    /** Receives every row measured. */
    private readonly results: ScenarioResult[],
  ) {}

  async measure(spec: MeasureSpec): Promise<ScenarioResult> {
    const { plan, load, meters } = this;
    const { url } = spec.endpoint;
    const { connections } = spec.job;
    const warmupSec = this.warmedUp.has(url) ? plan.warmupSec : Math.max(plan.warmupSec, FIRST_WARMUP_SEC);
    this.warmedUp.add(url);
    const warm = spec.slow
      ? await load.run({ ...spec.job, url, amount: plan.slowWarmupPerConnection * connections })
      : await load.run({ ...spec.job, url, durationSec: warmupSec });
    await settle();
    const expected = warm.rps * plan.durationSec;
    const amount = expected < COUNT_BELOW ? Math.ceil(Math.max(plan.minRequests, expected) / connections) * connections : undefined;
    log(`${spec.id}: warm-up ${warm.requests} requests; measuring ${amount ? `${amount} requests` : `${plan.durationSec} s`} with ${connections} connections`);

    meters.rss.takePeakMb();
    const dbBefore = await meters.dbCpu?.snapshot();
    await meters.profiler?.start();
    await meters.allocations?.start();
    const statementsBefore = spec.endpoint.statements();
    meters.gc.take();
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const r = await load.run(amount ? { ...spec.job, url, amount } : { ...spec.job, url, durationSec: plan.durationSec });
    const wallMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const statements = spec.endpoint.statements() - statementsBefore;
    const gcMs = meters.gc.take();
    await this.saveProfiles(spec, r.requests);
    const dbAfter = await meters.dbCpu?.snapshot();

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
      connections,
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
      ...(meters.dbCpu && dbBefore && dbAfter ? { dbCpuUsPerRequest: meters.dbCpu.microsBetween(dbBefore, dbAfter) / requests } : {}),
      serverCores: cpuMicros / 1000 / wallMs,
      loadgenCores: r.loadCpuMicros / 1000 / r.durationMs,
      peakRssMb: meters.rss.takePeakMb(),
      extra: {
        wallMs,
        measuredBy: amount ? 'count' : 'duration',
        bytes: r.bytes,
        p90: r.p90,
        maxMs: r.max,
        statements,
        loadgenPid: load.pid,
        ...(problem ? { sampleProblem: problem } : {}),
      },
    };
    this.results.push(result);
    log(`${spec.id}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, ${errors} errors, ${result.serverCpuUsPerRequest!.toFixed(0)} µs CPU/req`);
    return result;
  }

  /** --profile / --heap-profile: the window's profile and its summary → bench/profiles/<id>.*. */
  private async saveProfiles(spec: MeasureSpec, requests: number): Promise<void> {
    const { profiler, allocations } = this.meters;
    if (!profiler && !allocations) return;
    mkdirSync(PROFILES_DIR, { recursive: true });
    if (profiler) {
      const profile = await profiler.stop();
      writeFileSync(path.join(PROFILES_DIR, `${spec.id}.cpuprofile`), JSON.stringify(profile));
      const summary = formatSummary(spec.id, profile, 30);
      writeFileSync(path.join(PROFILES_DIR, `${spec.id}.txt`), `${summary}\n`);
      process.stderr.write(`\n${summary}\n\n`);
    }
    if (allocations) {
      const { total, byFunction, raw } = await allocations.stop();
      const n = Math.max(requests, 1);
      const perRequest = total / n;
      const lines = [
        `${spec.id}: ${(total / 1024 / 1024).toFixed(1)} MB allocated over ${requests} requests = ${(perRequest / 1024).toFixed(0)} KB per request` +
          (spec.secrets ? `, ${(perRequest / spec.secrets).toFixed(0)} bytes per secret` : ''),
        ...byFunction.slice(0, 30).map(([name, bytes]) => `  ${((bytes / total) * 100).toFixed(1).padStart(5)}%  ${(bytes / n / 1024).toFixed(1).padStart(8)} KB/req  ${name}`),
      ];
      writeFileSync(path.join(PROFILES_DIR, `${spec.id}.allocations.txt`), `${lines.join('\n')}\n`);
      writeFileSync(path.join(PROFILES_DIR, `${spec.id}.heapprofile`), JSON.stringify(raw));
      process.stderr.write(`\n${lines.join('\n')}\n\n`);
    }
  }
}

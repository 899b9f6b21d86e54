import { startFakeKms } from '../../test/support/fake-kms';
import { log } from '../log';
import { startServerProcess } from '../processes';
import type { ScenarioResult } from '../report';
import { seedEnvironments, valueFor } from '../seed';
import { startServer, type RunningServer } from '../server';
import { percentile } from '../stats';
import { peakRssMbOf, type RssSampler } from '../system';
import type { Scenario } from './scenario';

/*
 * Scenario 5: the first read after a restart, with Cloud KMS faked on
 * loopback (real gRPC, real client) answering in 50 ms. Every environment's
 * key is wrapped by KMS; a restart starts with an empty key cache, so each
 * environment's first read costs one Decrypt and no read after it costs one.
 *
 *   in-process restart: a new container and server in this process
 *     (module loading already paid), first reads one environment at a time,
 *     then a warm read of each;
 *   process restart: `node dist/src/main.js` from scratch, and every
 *     environment read 4 times at once (concurrent misses must share a call).
 */

export const KMS_LATENCY_MS = 50;
const READS_PER_ENVIRONMENT_IN_BURST = 4;

const READ = 'query Read($n: String!, $e: ID) { secret(name: $n, environmentId: $e) { value source } }';

interface Environment {
  readonly environmentId: string;
  readonly token: string;
  readonly names: string[];
}

async function timedRead(url: string, environment: Environment, name: string): Promise<{ ms: number; ok: boolean }> {
  const started = performance.now();
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${environment.token}` },
    body: JSON.stringify({ query: READ, variables: { n: name, e: environment.environmentId } }),
  });
  const body = (await response.json()) as { data?: { secret?: { value?: string } }; errors?: unknown[] };
  const ms = performance.now() - started;
  const ok = response.status === 200 && !body.errors && body.data?.secret?.value === valueFor(environment.environmentId, name);
  return { ms, ok };
}

async function coldStart(options: {
  env: Record<string, string>;
  environments: number;
  rss: RssSampler;
  /** Receives the ids of the environments created, for clean-up. */
  created: string[];
}): Promise<ScenarioResult[]> {
  const kms = await startFakeKms({ latencyMs: 0 });
  const kmsEnv = { ...options.env, CIPHER_PROVIDER: 'gcp-kms', GCP_KMS_KEY_NAME: kms.keyName, GCP_KMS_ENDPOINT: kms.endpoint };
  let server: RunningServer | undefined;
  try {
    server = await startServer(kmsEnv);
    const environments = await seedEnvironments(server.container, `bench cold ${Date.now()}`, options.environments, 3);
    options.created.push(...environments.map((e) => e.environmentId));
    await server.close();
    server = undefined;

    /* In-process restart: empty key cache, one environment after another. */
    kms.reset();
    kms.setLatency(KMS_LATENCY_MS);
    options.rss.takePeakMb();
    let started = performance.now();
    server = await startServer(kmsEnv);
    const inProcessStartupMs = performance.now() - started;
    const first: number[] = [];
    const warm: number[] = [];
    let errors = 0;
    for (const environment of environments) {
      const read = await timedRead(server.url, environment, environment.names[0]);
      first.push(read.ms);
      if (!read.ok) errors++;
    }
    for (const environment of environments) {
      const read = await timedRead(server.url, environment, environment.names[1]);
      warm.push(read.ms);
      if (!read.ok) errors++;
    }
    const inProcessCalls = { ...kms.calls };
    await server.close();
    server = undefined;
    const inProcessRss = options.rss.takePeakMb();

    /* Process restart: a new `node dist/src/main.js`, then every environment read at once. */
    kms.reset();
    kms.setLatency(KMS_LATENCY_MS);
    const child = await startServerProcess(kmsEnv);
    const processStartupMs = child.readyMs;
    const burst: number[] = [];
    let burstErrors = 0;
    started = performance.now();
    await Promise.all(
      environments.flatMap((environment) =>
        Array.from({ length: READS_PER_ENVIRONMENT_IN_BURST }, async (_, i) => {
          const read = await timedRead(child.url, environment, environment.names[i % environment.names.length]);
          burst.push(read.ms);
          if (!read.ok) burstErrors++;
        }),
      ),
    );
    const burstMs = performance.now() - started;
    const processCalls = { ...kms.calls };
    const childRss = peakRssMbOf(child.pid);
    await child.stop();

    const n = environments.length;
    return [
      {
        id: 'cold-inprocess',
        scenario: 5,
        label: `cold: 1st read/env after in-process restart (${n} envs, one at a time)`,
        requests: n,
        p50: percentile(first, 50),
        p99: percentile(first, 99),
        mean: first.reduce((a, b) => a + b, 0) / n,
        errors,
        peakRssMb: inProcessRss,
        notes: `startup ${inProcessStartupMs.toFixed(0)} ms; KMS Decrypt calls ${inProcessCalls.decrypt} for ${n} environments; warm read p50 ${percentile(warm, 50)?.toFixed(1)} ms`,
        extra: {
          environments: n,
          kmsLatencyMs: KMS_LATENCY_MS,
          startupMs: inProcessStartupMs,
          kmsCalls: inProcessCalls,
          firstReadMs: first,
          warmReadP50Ms: percentile(warm, 50),
          warmReadP99Ms: percentile(warm, 99),
        },
      },
      {
        id: 'cold-process',
        scenario: 5,
        label: `cold: new server process, ${n} envs × ${READS_PER_ENVIRONMENT_IN_BURST} reads at once`,
        requests: burst.length,
        p50: percentile(burst, 50),
        p99: percentile(burst, 99),
        mean: burst.reduce((a, b) => a + b, 0) / burst.length,
        errors: burstErrors,
        peakRssMb: childRss ?? Number.NaN,
        notes: `spawn→/healthz ${processStartupMs.toFixed(0)} ms; burst ${burstMs.toFixed(0)} ms; KMS Decrypt calls ${processCalls.decrypt} for ${n} environments`,
        extra: {
          environments: n,
          readsPerEnvironment: READS_PER_ENVIRONMENT_IN_BURST,
          kmsLatencyMs: KMS_LATENCY_MS,
          startupMs: processStartupMs,
          burstMs,
          kmsCalls: processCalls,
        },
      },
    ];
  } finally {
    await server?.close();
    await kms.stop();
  }
}

export const cold: Scenario = {
  name: 'cold',
  phase: 'stopped',
  async prepare(session) {
    return async () => {
      log(`cold start: ${session.plan.coldEnvironments} environments, fake KMS answering in ${KMS_LATENCY_MS} ms`);
      const rows = await coldStart({ env: session.env, environments: session.plan.coldEnvironments, rss: session.rss, created: session.createdEnvironments });
      session.results.push(...rows);
    };
  },
};

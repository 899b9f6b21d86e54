import autocannon from 'autocannon';

/*
 * The load generator, run as a child process of the bench (bench/run.ts) so
 * its CPU is never counted as server CPU: the parent measures
 * process.cpuUsage() around each job, and this process only ever sends
 * requests. Jobs arrive over IPC; functions cannot cross a process boundary,
 * so dynamic requests are templates: `{{seq}}` becomes a counter unique to the
 * job, `{{pick}}` cycles through `picks`.
 */

export interface LoadJob {
  readonly url: string;
  readonly method: 'GET' | 'POST';
  /** Path and query; may hold `{{seq}}` and `{{pick}}`. */
  readonly path: string;
  readonly headers: Record<string, string>;
  /** Request body; may hold `{{seq}}` and `{{pick}}` (already JSON-safe). */
  readonly body?: string;
  readonly picks?: readonly string[];
  readonly connections: number;
  /** Run for this long (in-flight requests are cut off at the end)… */
  readonly durationSec?: number;
  /** …or until this many requests have completed. */
  readonly amount?: number;
  /** Every response body must contain this (besides not containing `"errors"`). */
  readonly expectIncludes?: string;
}

export interface LoadResult {
  readonly requests: number;
  readonly rps: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly mean: number;
  readonly max: number;
  readonly non2xx: number;
  /** Socket errors and timeouts. */
  readonly errors: number;
  /** 2xx responses whose body held `"errors"` or lacked `expectIncludes`. */
  readonly bodyErrors: number;
  readonly durationMs: number;
  readonly bytes: number;
  /** The first response body (truncated), for the parent's own checks. */
  readonly sample: string;
  readonly sampleStatus: number;
  /** CPU this load generator spent, microseconds. */
  readonly loadCpuMicros: number;
}

type Message = { id: number; job: LoadJob };

const SAMPLE_CHARS = 2_000_000;

export async function runLoad(job: LoadJob): Promise<LoadResult> {
  const dynamic = /\{\{(seq|pick)\}\}/.test(job.path + (job.body ?? ''));
  let seq = 0;
  let pickAt = 0;
  const fill = (template: string) =>
    template.replace(/\{\{(seq|pick)\}\}/g, (_match, kind: string) => {
      if (kind === 'seq') return String(seq);
      const picks = job.picks ?? [];
      return picks[pickAt++ % picks.length] ?? '';
    });

  let sample = '';
  let lastResponseAt = 0;
  let sampleStatus = 0;
  const request: autocannon.Request = {
    method: job.method,
    path: job.path,
    headers: job.headers,
    ...(job.body === undefined ? {} : { body: job.body }),
    onResponse: (status: number, body: string) => {
      lastResponseAt = performance.now();
      if (sampleStatus === 0) {
        sampleStatus = status;
        sample = body.slice(0, SAMPLE_CHARS);
      }
    },
    ...(dynamic
      ? {
          setupRequest: (req: autocannon.Request) => {
            seq += 1;
            return { ...req, path: fill(job.path), ...(job.body === undefined ? {} : { body: fill(job.body) }) };
          },
        }
      : {}),
  };

  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const result = await autocannon({
    url: job.url,
    connections: job.connections,
    ...(job.amount ? { amount: job.amount } : { duration: job.durationSec ?? 10 }),
    timeout: 30,
    /* autocannon checks its stop flag once per sample interval (1 s by default): 100 ms keeps short runs short. */
    sampleInt: 100,
    requests: [request],
    verifyBody: (raw) => {
      const body = String(raw ?? '');
      return !body.includes('"errors"') && (!job.expectIncludes || body.includes(job.expectIncludes));
    },
  });
  /* Requests per second over the span in which the counted responses arrived, not autocannon's shutdown. */
  const durationMs = (lastResponseAt || performance.now()) - started;
  const cpu = process.cpuUsage(cpuBefore);
  const requests = result.requests.total;
  return {
    requests,
    rps: requests / (durationMs / 1000),
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    mean: result.latency.average,
    max: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    bodyErrors: result.mismatches,
    durationMs,
    bytes: result.throughput.total,
    sample,
    sampleStatus,
    loadCpuMicros: cpu.user + cpu.system,
  };
}

if (require.main === module && process.send) {
  process.on('message', (message: Message) => {
    runLoad(message.job).then(
      (result) => process.send!({ id: message.id, result }),
      (error: unknown) => process.send!({ id: message.id, error: String((error as Error)?.stack ?? error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}

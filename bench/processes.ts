import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';

import { CLI_JS, MAIN_JS } from './paths';

/*
 * The built product as separate processes: `node dist/src/main.js` (what
 * `npm start` runs after its build) and `node dist/src/cli/index.js` (`npm run
 * cli`), with only the settings given (no inherited environment but PATH).
 */

/* The events settings of the bench's own environment pass through, to measure them (EVENTS_BATCH_MS=100 npm run bench -- --only=fanout). */
const PASSED = Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('EVENTS_')) as [string, string][]);
const BASE_ENV = { PATH: process.env.PATH ?? '', METADATA_SERVER_DETECTION: 'none', LOG_LEVEL: 'warn', ...PASSED };
/* Node flags for the spawned servers, e.g. BENCH_SERVER_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof". */
const SERVER_ARGS = (process.env.BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean);

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  /** Spawn to the first 200 of /healthz, ms. */
  readonly readyMs: number;
  stop(): Promise<void>;
}

const builtFile = (file: string) => {
  if (!existsSync(file)) throw new Error(`${file} is missing (the bench build compiles it)`);
  return file;
};

/** Spawns the server and polls /healthz every 10 ms until it answers 200 (at most 60 s). */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const main = builtFile(MAIN_JS);
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [...SERVER_ARGS, main], {
    env: { ...BASE_ENV, HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = started + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server process exited with ${child.exitCode}: ${stderr.slice(0, 2000)}`);
    if (performance.now() > deadline) {
      await stop();
      throw new Error(`server process did not answer /healthz within 60 s: ${stderr.slice(0, 2000)}`);
    }
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { url, pid: child.pid!, readyMs: performance.now() - started, stop };
}

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Spawn to exit, ms. */
  readonly wallMs: number;
}

/** Runs one CLI command to its end. */
export function runCli(args: readonly string[], env: Record<string, string>): Promise<CliRun> {
  const cli = builtFile(CLI_JS);
  const started = performance.now();
  const child = spawn(process.execPath, [cli, ...args], { env: { ...BASE_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr, wallMs: performance.now() - started }));
  });
}

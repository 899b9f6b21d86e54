import { readFileSync } from 'node:fs';

import { freePort, startServerProcess, type ServerProcess } from './server-process';

/*
 * Several real server processes on one database, as behind a load
 * balancer: each keeps its port across restarts, so a client pointed at it
 * sees what a client of a restarted instance sees (refused connections,
 * 503 while it drains) and then the new process. For the many-instances
 * and soak suites; cross-instance checks (a revoked token, later change
 * events and cache coherence) go through `everywhere`.
 */

export interface Instance {
  readonly index: number;
  readonly port: number;
  readonly url: string;
  /** The current process (a new one after each restart). */
  readonly process: ServerProcess;
  readonly restarts: number;
}

export interface Instances {
  readonly all: readonly Instance[];
  readonly urls: readonly string[];
  /** SIGTERM (drain), then a new process on the same port; resolves when it listens. */
  restart(index: number): Promise<{ stoppedAt: number; exitCode: number | null; listeningAt: number }>;
  /** Runs `check` against every instance and returns its results in instance order. */
  everywhere<T>(check: (url: string, instance: Instance) => Promise<T>): Promise<T[]>;
  /** Every log line of every process so far, restarted ones included. */
  output(): string;
  stop(): Promise<void>;
}

export async function startInstances(count: number, env: Record<string, string>): Promise<Instances> {
  const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
  const outputs: string[] = [];
  const processes = await Promise.all(ports.map((port) => startServerProcess(env, port)));
  const all = processes.map((process, index) => ({ index, port: ports[index], url: process.url, process, restarts: 0 }));
  return {
    all,
    urls: all.map((i) => i.url),
    async restart(index) {
      const instance = all[index];
      const stoppedAt = Date.now();
      const exitCode = await instance.process.stop('SIGTERM');
      outputs.push(instance.process.output());
      all[index] = { ...instance, process: await startServerProcess(env, instance.port), restarts: instance.restarts + 1 };
      return { stoppedAt, exitCode, listeningAt: Date.now() };
    },
    everywhere: (check) => Promise.all(all.map((instance) => check(instance.url, instance))),
    output: () => [...outputs, ...all.map((i) => i.process.output())].join('\n'),
    async stop() {
      await Promise.all(all.map((i) => i.process.stop('SIGTERM')));
    },
  };
}

/** Resident set size of a process in bytes (Linux /proc). */
export function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!kb) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb[1]) * 1024;
}

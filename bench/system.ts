import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';

import type { Pool } from 'pg';

/*
 * Process-level measurements: peak RSS sampled on a timer, GC pauses, and
 * the CPU of the PostgreSQL backends serving this bench's database (read
 * from /proc, so only for a PostgreSQL on this machine).
 */

export class RssSampler {
  private peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 100) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): number {
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) this.peak = rss;
    return rss;
  }

  /** The peak since the last reset, in MB, and starts a new window. */
  takePeakMb(): number {
    this.sample();
    const peak = this.peak;
    this.peak = 0;
    return peak / 1024 / 1024;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Peak RSS (VmHWM) of a process, MB; undefined off Linux or once it is gone. */
export function peakRssMbOf(pid: number): number | undefined {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export function clockTicksPerSecond(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** utime + stime of a process, in clock ticks; undefined when it cannot be read. */
export function cpuTicksOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

export interface DbCpuSnapshot {
  readonly ticks: ReadonlyMap<number, number>;
}

/**
 * CPU of the backends connected to this database: the server's pool, the
 * baseline's pool. Other clients of the same database would be counted too
 * (a throwaway database has none).
 */
export class DbCpuMeter {
  private readonly ticksPerSecond = clockTicksPerSecond();

  private constructor(private readonly pool: Pool) {}

  /** Undefined when the database is not a PostgreSQL whose processes this machine can see. */
  static async create(pool: Pool | undefined, url: string | undefined): Promise<DbCpuMeter | undefined> {
    if (!pool || !url || process.platform !== 'linux') return undefined;
    const host = new URL(url).hostname;
    if (!['127.0.0.1', 'localhost', '::1', '[::1]', ''].includes(host)) return undefined;
    const meter = new DbCpuMeter(pool);
    const snapshot = await meter.snapshot();
    return snapshot.ticks.size > 0 ? meter : undefined;
  }

  async snapshot(): Promise<DbCpuSnapshot> {
    const { rows } = await this.pool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database()');
    const ticks = new Map<number, number>();
    for (const { pid } of rows) {
      const t = cpuTicksOf(pid);
      if (t !== undefined) ticks.set(pid, t);
    }
    return { ticks };
  }

  /** CPU microseconds spent between two snapshots; a backend that started in between counts from zero. */
  microsBetween(before: DbCpuSnapshot, after: DbCpuSnapshot): number {
    let ticks = 0;
    for (const [pid, t] of after.ticks) ticks += t - (before.ticks.get(pid) ?? 0);
    return (ticks / this.ticksPerSecond) * 1e6;
  }
}

/** Main-thread GC pause time of this process (PerformanceObserver 'gc' entries). */
export class GcMeter {
  private pausedMs = 0;
  private readonly observer: PerformanceObserver;

  constructor() {
    this.observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) this.pausedMs += entry.duration;
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** Milliseconds of GC pauses since the last call. */
  take(): number {
    const ms = this.pausedMs;
    this.pausedMs = 0;
    return ms;
  }

  stop(): void {
    this.observer.disconnect();
  }
}

import { Session } from 'node:inspector';

import type { CpuProfile } from './profile-summary';

/*
 * V8's CPU profiler on this process (the one serving requests), started and
 * stopped around one measured window, so a profile holds only that
 * scenario's server work: the same sampler `node --cpu-prof` uses, without
 * the seeding and start-up around it.
 */
export class Profiler {
  private readonly session = new Session();

  constructor(private readonly intervalMicros = 250) {
    this.session.connect();
  }

  private post<T>(method: string, params?: object): Promise<T> {
    return new Promise((resolve, reject) =>
      this.session.post(method, params, (error, result) => (error ? reject(error) : resolve(result as T))),
    );
  }

  async start(): Promise<void> {
    await this.post('Profiler.enable');
    await this.post('Profiler.setSamplingInterval', { interval: this.intervalMicros });
    await this.post('Profiler.start');
  }

  async stop(): Promise<CpuProfile> {
    const { profile } = await this.post<{ profile: CpuProfile }>('Profiler.stop');
    await this.post('Profiler.disable');
    return profile;
  }

  close(): void {
    this.session.disconnect();
  }
}

interface SamplingHeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingHeapNode[];
}

/**
 * Bytes allocated per function over a window (V8's sampling heap profiler,
 * collected objects included); the raw profile loads in Chrome DevTools as a
 * .heapprofile.
 */
export class AllocationProfiler {
  private readonly session = new Session();

  constructor(private readonly samplingIntervalBytes = 16_384) {
    this.session.connect();
  }

  private post<T>(method: string, params?: object): Promise<T> {
    return new Promise((resolve, reject) =>
      this.session.post(method, params, (error, result) => (error ? reject(error) : resolve(result as T))),
    );
  }

  async start(): Promise<void> {
    await this.post('HeapProfiler.enable');
    await this.post('HeapProfiler.startSampling', {
      samplingInterval: this.samplingIntervalBytes,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  }

  /** Allocated bytes by function (`name url:line`), largest first, and the total. */
  async stop(): Promise<{ total: number; byFunction: [string, number][]; raw: unknown }> {
    const { profile } = await this.post<{ profile: { head: SamplingHeapNode } }>('HeapProfiler.stopSampling');
    await this.post('HeapProfiler.disable');
    const byFunction = new Map<string, number>();
    let total = 0;
    const visit = (node: SamplingHeapNode) => {
      const { functionName, url, lineNumber } = node.callFrame;
      const short = url.includes('node_modules/') ? url.slice(url.lastIndexOf('node_modules/') + 13) : url.includes('/dist/') ? url.slice(url.indexOf('/dist/') + 1) : url;
      const key = `${functionName || '(anonymous)'} ${short}${url ? `:${lineNumber + 1}` : ''}`;
      byFunction.set(key, (byFunction.get(key) ?? 0) + node.selfSize);
      total += node.selfSize;
      for (const child of node.children) visit(child);
    };
    visit(profile.head);
    return { total, byFunction: [...byFunction].sort((a, b) => b[1] - a[1]), raw: profile };
  }

  close(): void {
    this.session.disconnect();
  }
}

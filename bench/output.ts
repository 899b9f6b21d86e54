import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { BENCH_DIR, PROFILES_DIR, REPO } from './paths';
import { scalingSvg, type ScenarioResult } from './report';
import { TARGET } from './targets';

/*
 * Where a run's results go: bench/results.json (gitignored) after a
 * complete run, bench/profiles/results.partial.json after a partial or
 * profiled one, and the tracked bench/results.svg only when asked (--plot,
 * or --replot from results.json).
 */

const RESULTS_JSON = path.join(BENCH_DIR, 'results.json');
const RESULTS_SVG = path.join(BENCH_DIR, 'results.svg');

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** What every report records about where and when it was measured. */
export function provenance(loadAverageAtStart: number[]) {
  return {
    commit: git(['rev-parse', 'HEAD']),
    workingTreeDirty: (git(['status', '--porcelain', '--untracked-files=no']) ?? '') !== '',
    node: process.version,
    machine: {
      cores: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memoryMb: Math.round(os.totalmem() / 1024 / 1024),
      platform: `${os.platform()} ${os.release()}`,
      loadAverageAtStart,
      loadAverageAtEnd: os.loadavg(),
    },
  };
}

interface PlotSource {
  readonly commit?: string;
  readonly date: string;
  readonly machine: { readonly cores: number };
  readonly mode: string;
  readonly results: readonly ScenarioResult[];
}

export function svgOf(report: PlotSource): string {
  const series = [
    { name: 'GraphQL effectiveSecrets', color: '#1f77b4', prefix: 'graphql-list-' },
    { name: 'baseline (node:http + pg)', color: '#ff7f0e', prefix: 'baseline-list-' },
  ].map(({ name, color, prefix }) => ({
    name,
    color,
    points: report.results
      .filter((r) => r.scenario === 4 && r.id.startsWith(prefix) && r.secrets && r.mean !== undefined && r.serverCpuUsPerSecret !== undefined)
      .map((r) => ({ secrets: r.secrets!, mean: r.mean!, p99: r.p99!, cpuUsPerSecret: r.serverCpuUsPerSecret! })),
  }));
  return scalingSvg(series, {
    title: 'Secretspace: effective list scaling',
    subtitle: `${report.mode} run, ${report.date.slice(0, 16).replace('T', ' ')} UTC, commit ${(report.commit ?? 'unknown').slice(0, 8)}, ${report.machine.cores} cores`,
    cpuTargetUs: TARGET.marginalCpuUs,
  });
}

/** --replot: bench/results.svg from bench/results.json, measuring nothing. */
export function replot(): void {
  const report = JSON.parse(readFileSync(RESULTS_JSON, 'utf8')) as PlotSource;
  writeFileSync(RESULTS_SVG, svgOf(report));
  process.stdout.write('wrote bench/results.svg from bench/results.json\n');
}

export function writeReport<R extends PlotSource & { readonly durationSec: number }>(report: R, options: { complete: boolean; plot: boolean }): void {
  const written: string[] = [];
  if (options.complete) {
    writeFileSync(RESULTS_JSON, `${JSON.stringify(report, null, 2)}\n`);
    written.push('bench/results.json');
  } else {
    mkdirSync(PROFILES_DIR, { recursive: true });
    writeFileSync(path.join(PROFILES_DIR, 'results.partial.json'), `${JSON.stringify(report, null, 2)}\n`);
    written.push('bench/profiles/results.partial.json (partial or profiled run)');
  }
  if (options.plot && report.results.some((r) => r.scenario === 4)) {
    writeFileSync(RESULTS_SVG, svgOf(report));
    written.push('bench/results.svg');
  } else if (options.plot) process.stdout.write('--plot: no scaling rows in this run, bench/results.svg left as it was\n');
  process.stdout.write(`wrote ${written.join(' and ')} (${report.durationSec.toFixed(0)} s)\n`);
}

/*
 * What a bench run prints and writes: the terminal table, the target
 * verdicts, and the SVG plot of the scaling series (hand-written, no
 * plotting dependency).
 */

export interface ScenarioResult {
  /** Stable id, e.g. `graphql-read`, `graphql-list-1000`. */
  readonly id: string;
  /** The scenario this row belongs to (1-9, bench/README.md), which orders the table. */
  readonly scenario: number;
  readonly label: string;
  readonly connections?: number;
  /** Values per request (list scenarios). */
  readonly secrets?: number;
  readonly requests?: number;
  readonly rps?: number;
  /** Latency, ms. */
  readonly p50?: number;
  readonly p99?: number;
  readonly mean?: number;
  /** non-2xx + socket errors/timeouts + bodies with `errors` + failed sample checks. */
  readonly errors: number;
  /** rps of this row / rps of `ratioTo`. */
  readonly ratio?: number;
  readonly ratioTo?: string;
  /** SQL statements sent per request (TypeORM's count for the server, the baseline's own count). */
  readonly statementsPerRequest?: number;
  /** Server-process CPU (user + system) per request, µs. */
  readonly serverCpuUsPerRequest?: number;
  readonly serverCpuUsPerSecret?: number;
  /** GC pause time / server CPU time. */
  readonly gcShare?: number;
  /** CPU of this database's PostgreSQL backends per request, µs (local PostgreSQL only). */
  readonly dbCpuUsPerRequest?: number;
  /** Cores used by the server process / the load generator during the run. */
  readonly serverCores?: number;
  readonly loadgenCores?: number;
  readonly peakRssMb: number;
  readonly notes?: string;
  readonly extra?: Record<string, unknown>;
}

export interface TargetVerdict {
  readonly id: string;
  readonly description: string;
  readonly measured: string;
  /** Undefined: reported without a target, or not measurable in this run (`measured` says n/a). */
  readonly pass: boolean | undefined;
}

const fmt = (value: number | undefined, digits = 0) =>
  value === undefined || !Number.isFinite(value) ? '–' : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/* autocannon records whole milliseconds: 0 means under one. */
const fmtMs = (value: number | undefined) =>
  value === undefined ? '–' : value === 0 ? '<1' : value < 10 ? fmt(value, 1) : fmt(value, 0);

export function formatTable(results: readonly ScenarioResult[]): string {
  const header = ['#', 'scenario', 'conn', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'ratio', 'SQL/req', 'CPU µs/req', 'CPU µs/secret', 'GC', 'DB CPU µs/req', 'cores srv/load', 'peak RSS MB'];
  const rows = results.map((r) => [
    String(r.scenario),
    r.label,
    r.connections === undefined ? '–' : String(r.connections),
    fmt(r.rps, r.rps !== undefined && r.rps < 100 ? 1 : 0),
    fmtMs(r.p50),
    fmtMs(r.p99),
    String(r.errors),
    r.ratio === undefined ? '–' : `${r.ratio.toFixed(2)}×`,
    fmt(r.statementsPerRequest, 1),
    fmt(r.serverCpuUsPerRequest),
    fmt(r.serverCpuUsPerSecret, 1),
    r.gcShare === undefined ? '–' : `${(r.gcShare * 100).toFixed(0)}%`,
    fmt(r.dbCpuUsPerRequest),
    r.serverCores === undefined ? '–' : `${r.serverCores.toFixed(2)}/${(r.loadgenCores ?? 0).toFixed(2)}`,
    fmt(r.peakRssMb),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatTargets(targets: readonly TargetVerdict[]): string {
  const mark = (t: TargetVerdict) => (t.pass === true ? 'PASS' : t.pass === false ? 'MISS' : t.measured.startsWith('n/a') ? 'n/a ' : 'INFO');
  return targets.map((t) => `${mark(t)}  ${t.description}: ${t.measured}`).join('\n');
}

export interface ScalingPoint {
  readonly secrets: number;
  readonly mean: number;
  readonly p99: number;
  readonly cpuUsPerSecret: number;
}

export interface ScalingSeries {
  readonly name: string;
  readonly color: string;
  readonly points: readonly ScalingPoint[];
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= min * 0.999 && v <= max * 1.001) ticks.push(v);
    }
  }
  return ticks;
}

const label = (v: number) => (v >= 1000 ? `${v / 1000}k` : v >= 1 ? String(v) : v.toPrecision(2));

/**
 * Two panels over the same x axis (secrets per request, log scale): latency
 * (mean solid, p99 dashed; autocannon's p50 is whole milliseconds) and server
 * CPU per secret, both log scale, one line per series, with the 25 µs
 * marginal-cost target drawn for reference.
 */
export function scalingSvg(series: readonly ScalingSeries[], options: { title: string; subtitle: string; cpuTargetUs: number }): string {
  const width = 960;
  const height = 440;
  const panel = { top: 70, bottom: 370, width: 380 };
  const lefts = [70, 545];
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="80"><text x="10" y="40">no scaling data</text></svg>\n`;
  const xs = all.map((p) => p.secrets);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const lx = (v: number, left: number) =>
    left + (xMax === xMin ? panel.width / 2 : ((Math.log10(v) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * panel.width);

  const logAxis = (values: number[]) => {
    const positive = values.filter((v) => v > 0);
    const min = 10 ** Math.floor(Math.log10(Math.min(...positive)));
    const max = 10 ** Math.ceil(Math.log10(Math.max(...positive)));
    const y = (v: number) =>
      panel.bottom - ((Math.log10(Math.max(v, min)) - Math.log10(min)) / (Math.log10(max) - Math.log10(min) || 1)) * (panel.bottom - panel.top);
    return { min, max, y };
  };
  const latency = logAxis(all.flatMap((p) => [p.mean, p.p99]));
  const cpu = logAxis([options.cpuTargetUs, ...all.map((p) => p.cpuUsPerSecret)]);

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  out.push(`<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="600">${escapeXml(options.title)}</text>`);
  out.push(`<text x="${width / 2}" y="44" text-anchor="middle" fill="#555">${escapeXml(options.subtitle)}</text>`);

  const frame = (left: number, title: string, yTicks: number[], y: (v: number) => number, yFormat: (v: number) => string, yTitle: string) => {
    out.push(`<text x="${left + panel.width / 2}" y="${panel.top - 8}" text-anchor="middle" font-weight="600">${escapeXml(title)}</text>`);
    for (const t of yTicks) {
      const py = y(t).toFixed(1);
      out.push(`<line x1="${left}" x2="${left + panel.width}" y1="${py}" y2="${py}" stroke="#eee"/>`);
      out.push(`<text x="${left - 6}" y="${py}" text-anchor="end" dominant-baseline="middle" fill="#444">${yFormat(t)}</text>`);
    }
    for (const t of logTicks(xMin, xMax)) {
      const px = lx(t, left).toFixed(1);
      out.push(`<line x1="${px}" x2="${px}" y1="${panel.top}" y2="${panel.bottom}" stroke="#f3f3f3"/>`);
      out.push(`<text x="${px}" y="${panel.bottom + 16}" text-anchor="middle" fill="#444">${label(t)}</text>`);
    }
    out.push(`<rect x="${left}" y="${panel.top}" width="${panel.width}" height="${panel.bottom - panel.top}" fill="none" stroke="#999"/>`);
    out.push(`<text x="${left + panel.width / 2}" y="${panel.bottom + 36}" text-anchor="middle">effective secrets per request (log)</text>`);
    out.push(
      `<text transform="translate(${left - 48} ${(panel.top + panel.bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(yTitle)}</text>`,
    );
  };

  const polyline = (points: [number, number][], color: string, dashed: boolean) => {
    out.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2"${dashed ? ' stroke-dasharray="6 4"' : ''} points="${points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>`,
    );
    for (const [x, y] of points) out.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3" fill="${color}"/>`);
  };

  const [latLeft, cpuLeft] = lefts;
  frame(latLeft, 'latency (mean solid, p99 dashed)', logTicks(latency.min, latency.max), latency.y, label, 'ms (log)');
  frame(cpuLeft, 'server CPU per secret (CPU per request / secrets)', logTicks(cpu.min, cpu.max), cpu.y, label, 'µs per secret (log)');
  const targetY = cpu.y(options.cpuTargetUs).toFixed(1);
  out.push(`<line x1="${cpuLeft}" x2="${cpuLeft + panel.width}" y1="${targetY}" y2="${targetY}" stroke="#c00" stroke-dasharray="2 3"/>`);
  out.push(`<text x="${cpuLeft + panel.width - 4}" y="${Number(targetY) + 14}" text-anchor="end" fill="#c00">${options.cpuTargetUs} µs: target for the marginal cost</text>`);

  for (const s of series) {
    const sorted = [...s.points].sort((a, b) => a.secrets - b.secrets);
    polyline(sorted.map((p) => [lx(p.secrets, latLeft), latency.y(p.mean)]), s.color, false);
    polyline(sorted.map((p) => [lx(p.secrets, latLeft), latency.y(p.p99)]), s.color, true);
    polyline(sorted.map((p) => [lx(p.secrets, cpuLeft), cpu.y(p.cpuUsPerSecret)]), s.color, false);
  }
  series.forEach((s, i) => {
    const x = 80 + i * 260;
    out.push(`<line x1="${x}" x2="${x + 24}" y1="${height - 14}" y2="${height - 14}" stroke="${s.color}" stroke-width="3"/>`);
    out.push(`<text x="${x + 30}" y="${height - 10}">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

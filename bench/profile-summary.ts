import { readFileSync } from 'node:fs';
import path from 'node:path';

/*
 * Top self-time functions of a V8 .cpuprofile (from `node --cpu-prof` or
 * `npm run bench -- --profile`), and the same time grouped by package, so a
 * profile can be read in a terminal:
 *
 *   node dist/bench/profile-summary.js bench/profiles/graphql-read.cpuprofile [top]
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  readonly name: string;
  readonly where: string;
  readonly group: string;
  readonly ms: number;
  readonly share: number;
}

/** node_modules/<package>, node:internal, (garbage collector), or the project's own folder. */
export function groupOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?/, 'node:').split('/')[0];
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + '/dist/'.length).split('/').slice(0, 2).join('/');
  return path.basename(url);
}

const shortUrl = (url: string) => {
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) return url.slice(modules + 'node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
};

/** Node ids under the bench's own Profiler.start/stop calls (the inspector dispatching them): not server work. */
function artifacts(profile: CpuProfile): Set<number> {
  const marked = new Set<number>();
  const visit = (id: number, inside: boolean, byId: Map<number, ProfileNode>) => {
    const node = byId.get(id)!;
    const here = inside || node.callFrame.url.endsWith('bench/profiler.js');
    if (here) marked.add(id);
    for (const child of node.children ?? []) visit(child, here, byId);
  };
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const children = new Set(profile.nodes.flatMap((node) => node.children ?? []));
  for (const node of profile.nodes) if (!children.has(node.id)) visit(node.id, false, byId);
  return marked;
}

export function summarize(profile: CpuProfile): { total: number; functions: SelfTime[]; groups: SelfTime[] } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const skip = artifacts(profile);
  const selfMicros = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    if (skip.has(id)) continue;
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const functions = new Map<string, { name: string; where: string; group: string; micros: number }>();
  const groups = new Map<string, number>();
  let total = 0;
  for (const [id, micros] of selfMicros) {
    const { callFrame } = byId.get(id)!;
    const name = callFrame.functionName || '(anonymous)';
    total += micros;
    if (name === '(idle)' || name === '(program)') continue;
    const where = callFrame.url ? `${shortUrl(callFrame.url)}:${callFrame.lineNumber + 1}` : '';
    const key = `${name}@${where}`;
    const group = groupOf(callFrame.url, name);
    const entry = functions.get(key) ?? { name, where, group, micros: 0 };
    entry.micros += micros;
    functions.set(key, entry);
    groups.set(group, (groups.get(group) ?? 0) + micros);
  }
  const idle = [...selfMicros].reduce((sum, [id, micros]) => {
    const name = byId.get(id)!.callFrame.functionName;
    return name === '(idle)' || name === '(program)' ? sum + micros : sum;
  }, 0);
  const busy = total - idle;
  const rank = (entries: { name: string; where: string; group: string; micros: number }[]) =>
    entries
      .sort((a, b) => b.micros - a.micros)
      .map((e) => ({ name: e.name, where: e.where, group: e.group, ms: e.micros / 1000, share: busy ? e.micros / busy : 0 }));
  return {
    total: busy / 1000,
    functions: rank([...functions.values()]),
    groups: rank([...groups].map(([group, micros]) => ({ name: group, where: '', group, micros }))),
  };
}

/**
 * Inclusive time (self + callees) per function, each sample counted once per
 * function on its stack; and, for the heaviest native frames (syscalls,
 * OpenSSL), which JavaScript functions called them.
 */
export function inclusive(profile: CpuProfile, natives = 3): { functions: SelfTime[]; nativeCallers: Map<string, SelfTime[]> } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const keyOf = (node: ProfileNode) => {
    const { functionName, url, lineNumber } = node.callFrame;
    return `${functionName || '(anonymous)'}\t${url ? `${shortUrl(url)}:${lineNumber + 1}` : ''}\t${groupOf(url, functionName)}`;
  };
  const totals = new Map<string, number>();
  const nativeSelf = new Map<string, number>();
  const callers = new Map<string, Map<string, number>>();
  let busy = 0;
  const skip = artifacts(profile);
  for (let i = 0; i < profile.samples.length; i++) {
    if (skip.has(profile.samples[i])) continue;
    const leaf = byId.get(profile.samples[i])!;
    const delta = profile.timeDeltas[i] ?? 0;
    const leafName = leaf.callFrame.functionName;
    if (leafName === '(idle)' || leafName === '(program)') continue;
    busy += delta;
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const key = keyOf(byId.get(id)!);
      if (seen.has(key)) continue;
      seen.add(key);
      totals.set(key, (totals.get(key) ?? 0) + delta);
    }
    if (!leaf.callFrame.url && !leafName.startsWith('(')) {
      nativeSelf.set(leafName, (nativeSelf.get(leafName) ?? 0) + delta);
      /* The nearest caller that is not node's own plumbing. */
      let caller: ProfileNode | undefined;
      for (let id = parent.get(leaf.id); id !== undefined; id = parent.get(id)) {
        const node = byId.get(id)!;
        if (node.callFrame.url && !node.callFrame.url.startsWith('node:')) {
          caller = node;
          break;
        }
      }
      const callerKey = caller ? keyOf(caller) : '(node internals only)\t\t';
      const map = callers.get(leafName) ?? new Map<string, number>();
      map.set(callerKey, (map.get(callerKey) ?? 0) + delta);
      callers.set(leafName, map);
    }
  }
  const toSelfTime = ([key, micros]: [string, number]): SelfTime => {
    const [name, where, group] = key.split('\t');
    return { name, where, group, ms: micros / 1000, share: busy ? micros / busy : 0 };
  };
  const nativeCallers = new Map<string, SelfTime[]>();
  for (const [name] of [...nativeSelf].sort((a, b) => b[1] - a[1]).slice(0, natives)) {
    nativeCallers.set(name, [...callers.get(name)!].sort((a, b) => b[1] - a[1]).slice(0, 4).map(toSelfTime));
  }
  return { functions: [...totals].sort((a, b) => b[1] - a[1]).map(toSelfTime), nativeCallers };
}

const PLUMBING = /^(processTicksAndRejections|runMicrotasks|\(root\)|\(anonymous\)|emit|listOnTimeout|processTimers|onStreamRead|Socket\._onTimeout)$/;

export function formatSummary(title: string, profile: CpuProfile, top = 25): string {
  const { total, functions, groups } = summarize(profile);
  const deep = inclusive(profile);
  const pct = (share: number) => `${(share * 100).toFixed(1).padStart(5)}%`;
  const lines = [`${title}: ${total.toFixed(0)} ms of busy samples ("(idle)", "(program)" and the profiler's own calls excluded)`, '', 'top self time by function:'];
  for (const f of functions.slice(0, top)) lines.push(`  ${pct(f.share)} ${f.ms.toFixed(0).padStart(6)} ms  ${f.name}  ${f.where}`);
  lines.push('', 'self time by package / folder:');
  for (const g of groups.slice(0, 20)) lines.push(`  ${pct(g.share)} ${g.ms.toFixed(0).padStart(6)} ms  ${g.name}`);
  lines.push('', 'heaviest native frames, by nearest non-node caller:');
  for (const [name, callers] of deep.nativeCallers) {
    lines.push(`  ${name}:`);
    for (const c of callers) lines.push(`    ${pct(c.share)} ${c.ms.toFixed(0).padStart(6)} ms  ${c.name}  ${c.where}`);
  }
  lines.push('', 'inclusive time (self + callees) by function:');
  for (const f of deep.functions.filter((f) => !PLUMBING.test(f.name)).slice(0, top)) {
    lines.push(`  ${pct(f.share)} ${f.ms.toFixed(0).padStart(6)} ms  ${f.name}  ${f.where}`);
  }
  return lines.join('\n');
}

if (require.main === module) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node dist/bench/profile-summary.js <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  process.stdout.write(`${formatSummary(path.basename(file), profile, top ? Number(top) : 25)}\n`);
}

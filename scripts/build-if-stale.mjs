#!/usr/bin/env node
/*
 * `npm start` and `npm run cli` build only when the tree is stale: a full
 * build (tsc twice, the UI bundle) takes many seconds, and a restart should
 * not pay for it. Stale means no stamp yet, or a source, config or lockfile
 * newer than the stamp the last successful build left. `npm run build`
 * always builds (and leaves the stamp).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stamp = path.join(root, 'dist', '.build-stamp');
const inputs = ['src', 'scripts', 'schema.graphql', 'package.json', 'package-lock.json', 'ormconfig.ts', 'codegen.ts'];
const isConfig = (name) => /^(tsconfig.*\.json|vite\.config\.[cm]?[jt]s)$/.test(name);

function newest(entry) {
  if (!existsSync(entry)) return 0;
  const stat = statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const child of readdirSync(entry)) {
    if (child === 'node_modules' || child === 'dist') continue;
    latest = Math.max(latest, newest(path.join(entry, child)));
  }
  return latest;
}

if (process.argv.includes('--stamp')) {
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
  process.exit(0);
}

const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
const sources = Math.max(
  ...inputs.map((entry) => newest(path.join(root, entry))),
  ...readdirSync(root).filter(isConfig).map((name) => statSync(path.join(root, name)).mtimeMs),
);
if (built > sources) process.exit(0);

process.stderr.write('secretspace: building (sources changed since the last build)\n');
const result = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
process.exit(result.status ?? 1);

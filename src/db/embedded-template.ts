import { cpSync, existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';

/*
 * `npm run build` leaves the cluster PGlite's initdb makes, with the
 * build's migrations applied, in dist/embedded-template
 * (scripts/embedded-template.mjs): a new DATA_DIR starts from a copy of it
 * instead of running initdb in WebAssembly and every migration, which takes
 * seconds. Only the PGlite version that made it uses it; without it (a tree
 * built another way) PGlite runs initdb and the server the migrations, as
 * before. The copy (~510 files, 0.1–0.4 s, more on a busy disk) is made on the database's own
 * thread (embedded-worker.ts), so it overlaps the server loading its code.
 */
const TEMPLATE_DIRS = [path.resolve(__dirname, '..', '..', 'embedded-template'), path.resolve(__dirname, '..', '..', 'dist', 'embedded-template')];

export function seedFromTemplate(pgdata: string): void {
  if (existsSync(pgdata)) return; // an existing cluster (or whatever is there) is PGlite's to open
  const template = TEMPLATE_DIRS.find((dir) => existsSync(path.join(dir, 'pgdata', 'PG_VERSION')));
  if (!template || readVersion(path.join(template, 'pglite-version')) !== pgliteVersion()) return;
  const partial = `${pgdata}.partial`;
  rmSync(partial, { recursive: true, force: true });
  cpSync(path.join(template, 'pgdata'), partial, { recursive: true });
  renameSync(partial, pgdata); // whole or not at all: an interrupted copy leaves only the .partial
}

function readVersion(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

function pgliteVersion(): string | undefined {
  const main = require.resolve('@electric-sql/pglite'); // …/pglite/dist/index.cjs
  return JSON.parse(readFileSync(path.join(path.dirname(main), '..', 'package.json'), 'utf8')).version as string;
}

#!/usr/bin/env node
/*
 * Part of `npm run build`: the embedded database's cluster as PGlite's
 * initdb leaves it, in dist/embedded-template/, so that a first start on a
 * new DATA_DIR copies it (a fraction of a second) instead of running initdb
 * in WebAssembly (several seconds). It holds no schema and nothing of any
 * install: migrations, keys and the admin token are made at start, as
 * always. It is used only by the PGlite version that made it (src/db/embedded.ts).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { PGlite } from '@electric-sql/pglite';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const target = path.join(root, 'dist', 'embedded-template');
const { version } = JSON.parse(readFileSync(path.join(root, 'node_modules', '@electric-sql', 'pglite', 'package.json'), 'utf8'));

const made = path.join(target, 'pglite-version');
if (existsSync(path.join(target, 'pgdata', 'PG_VERSION')) && existsSync(made) && readFileSync(made, 'utf8').trim() === version) process.exit(0);

mkdirSync(path.dirname(target), { recursive: true });
const work = mkdtempSync(`${target}.partial-`); // beside the target: renamed into place whole
try {
  const db = await PGlite.create(path.join(work, 'pgdata'));
  await db.close();
  writeFileSync(path.join(work, 'pglite-version'), `${version}\n`);
  rmSync(target, { recursive: true, force: true });
  renameSync(work, target);
} catch (error) {
  rmSync(work, { recursive: true, force: true });
  throw error;
}

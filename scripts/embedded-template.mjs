#!/usr/bin/env node
/*
 * Part of `npm run build` (after tsc): the embedded database's cluster as
 * PGlite's initdb leaves it, with this build's migrations applied, in
 * dist/embedded-template/, so that a first start on a new DATA_DIR copies it
 * (a fraction of a second) instead of running initdb in WebAssembly
 * (several seconds) and then every migration (about a second). It holds
 * nothing of any install: keys, tokens and audit rows are made at start, as
 * always. The audit log's daily partitions the migration creates (the
 * build's day and the week ahead) stay: a first start in that week finds
 * today's made, which in PGlite took ~0.3 s of it; a start on a later day
 * creates today's before it writes anything, as every start does, and the
 * build's past days are empty partitions that retention drops like any
 * other. It is used only by the PGlite version that made it
 * (src/db/embedded.ts); a template older than the code is brought up to
 * date by the migrations at start like any older database. template0 and
 * template1 are left out (see migrate()).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const target = path.join(root, 'dist', 'embedded-template');
const { version } = JSON.parse(readFileSync(path.join(root, 'node_modules', '@electric-sql', 'pglite', 'package.json'), 'utf8'));
require('reflect-metadata'); // before the entities' decorators run
const { createDataSource } = require(path.join(root, 'dist', 'src', 'db', 'database.js'));
const { migrations } = require(path.join(root, 'dist', 'src', 'migrations', 'index.js'));
/*
 * What a template is made of, each in a file beside its cluster: another
 * PGlite, newer migrations or another layout (what this script leaves out)
 * make it again.
 */
const stamps = { 'pglite-version': version, schema: migrations.at(-1).name, layout: 'no-template-databases, dated-partitions' };

const read = (file) => (existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined);
if (existsSync(path.join(target, 'pgdata', 'PG_VERSION')) && Object.entries(stamps).every(([file, value]) => read(path.join(target, file)) === value)) {
  process.exit(0);
}

mkdirSync(path.dirname(target), { recursive: true });
const work = mkdtempSync(`${target}.partial-`); // beside the target: renamed into place whole
try {
  const db = await PGlite.create(path.join(work, 'pgdata'));
  try {
    await migrate(db, work);
  } finally {
    await db.close();
  }
  for (const [file, value] of Object.entries(stamps)) writeFileSync(path.join(work, file), `${value}\n`);
  rmSync(target, { recursive: true, force: true });
  renameSync(work, target);
} catch (error) {
  rmSync(work, { recursive: true, force: true });
  throw error;
}

/** This build's migrations, over a socket as the server runs them; then the template databases go. */
async function migrate(db, dir) {
  const socketDir = path.join(dir, 'socket');
  mkdirSync(socketDir);
  const port = 5432;
  const server = new PGLiteSocketServer({ db, path: path.join(socketDir, `.s.PGSQL.${port}`), maxConnections: 1 });
  await server.start();
  const dataSource = createDataSource({ host: socketDir, port }, 1);
  try {
    await dataSource.initialize();
    await dataSource.runMigrations({ transaction: 'each' });
    /*
     * template0 and template1 are for creating databases; PGlite serves one
     * database (postgres) and nothing here creates another. Their ~300 files
     * each were most of what a first start copies, and that copy is bound by
     * the disk (0.15 s to over 1 s on this machine).
     */
    for (const name of ['template0', 'template1']) {
      await dataSource.query(`ALTER DATABASE ${name} IS_TEMPLATE false`);
      await dataSource.query(`DROP DATABASE ${name}`);
    }
    await dataSource.query('CHECKPOINT');
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await server.stop();
    rmSync(socketDir, { recursive: true, force: true });
  }
}

/*
 * `node test/support/codegen-into.cjs <outDir>`: runs the project's codegen
 * config (codegen.ts) programmatically, writing every output into outDir
 * instead of the work tree, and prints { committedPath: freshPath } as JSON.
 *
 * A child process rather than jest: @graphql-codegen/cli requires ES-module
 * dependencies, which Node 20 loads but jest's CommonJS runtime cannot.
 */
const fs = require('node:fs');
const path = require('node:path');

const { generate, loadCodegenConfig } = require('@graphql-codegen/cli');

async function main() {
  const outDir = process.argv[2];
  if (!outDir) throw new Error('usage: codegen-into.cjs <outDir>');
  const root = path.resolve(__dirname, '..', '..');
  const { config } = await loadCodegenConfig({ configFilePath: path.join(root, 'codegen.ts') });
  const pairs = {};
  const generates = {};
  const directories = [];
  for (const [target, output] of Object.entries(config.generates)) {
    const committed = path.resolve(root, target);
    const fresh = path.join(outDir, path.relative(root, committed));
    // a preset's target is a directory (trailing separator): compare each file it holds
    const isDirectory = /[\\/]$/.test(target);
    if (isDirectory) directories.push([committed, fresh]);
    else pairs[committed] = fresh;
    generates[isDirectory ? fresh + path.sep : fresh] = output;
  }
  await generate({ ...config, cwd: root, generates, silent: true }, true);
  for (const [committed, fresh] of directories) {
    const names = new Set([...fs.readdirSync(committed), ...fs.readdirSync(fresh)]);
    for (const name of names) pairs[path.join(committed, name)] = path.join(fresh, name);
  }
  process.stdout.write(JSON.stringify(pairs));
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});

/*
 * `node test/support/codegen-into.cjs <outDir>`: runs the project's codegen
 * config (codegen.ts) programmatically, writing every output into outDir
 * instead of the work tree, and prints { committedPath: freshPath } as JSON.
 *
 * A child process rather than jest: @graphql-codegen/cli requires ES-module
 * dependencies, which Node 20 loads but jest's CommonJS runtime cannot.
 */
const path = require('node:path');

const { generate, loadCodegenConfig } = require('@graphql-codegen/cli');

async function main() {
  const outDir = process.argv[2];
  if (!outDir) throw new Error('usage: codegen-into.cjs <outDir>');
  const root = path.resolve(__dirname, '..', '..');
  const { config } = await loadCodegenConfig({ configFilePath: path.join(root, 'codegen.ts') });
  const pairs = {};
  const generates = {};
  for (const [target, output] of Object.entries(config.generates)) {
    const committed = path.resolve(root, target);
    const fresh = path.join(outDir, path.relative(root, committed));
    pairs[committed] = fresh;
    generates[fresh] = output;
  }
  await generate({ ...config, cwd: root, generates, silent: true }, true);
  process.stdout.write(JSON.stringify(pairs));
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});

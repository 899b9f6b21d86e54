import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

/*
 * examples/listener as `npm run example:listener` runs it (after the build
 * that `npm test` does first): compiled against the built client's
 * declarations, then run against a real server process on the embedded
 * database. Keeps the README's instructions true.
 */
const run = promisify(execFile);
const root = path.join(__dirname, '..', '..');

it('the example listener reads its secrets through the client and through @flatfile/listener', async () => {
  if (!existsSync(path.join(root, 'dist', 'src', 'client', 'index.d.ts')) || !existsSync(path.join(root, 'dist', 'src', 'main.js'))) {
    throw new Error('dist is missing: run `npm run build` first');
  }
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  await run(process.execPath, [tsc, '-p', path.join(root, 'examples', 'listener', 'tsconfig.json')], { cwd: root });
  const { stdout } = await run(process.execPath, [path.join(root, 'dist', 'examples', 'listener', 'run.js')], {
    cwd: root,
    timeout: 90_000,
  });
  const lines = stdout.split('\n').map((line) => line.trim().replace(/\s+/g, ' '));
  expect(lines).toEqual(
    expect.arrayContaining([
      "event.secrets('SLACK_TOKEN') → xoxb-acme",
      "event.secrets('API_URL') → https://api.example.com",
      "client secrets('SLACK_TOKEN', { spaceId }) → xoxb-acme",
      "client secrets('SLACK_TOKEN', { spaceId: null }) → xoxb-environment",
      'client effectiveSecrets() API_URL → https://api.example.com (ENVIRONMENT, v1)',
      "client secrets('NOT_CONFIGURED') → SecretNotFoundError (SECRET_NOT_FOUND)",
    ]),
  );
  expect(lines.some((line) => /^client effectiveSecrets\(\) SLACK_TOKEN → xoxb-acme \(SPACE, overrides [0-9a-f-]{36}, v1\)$/.test(line))).toBe(true);
}, 120_000);

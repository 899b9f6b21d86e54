import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { freePort, gqlAt, startServerProcess } from '../support/server-process';

/*
 * DATA_DIR as an unprivileged operator runs it (DESIGN §8): the server, as
 * `nobody`, keeps every file it creates there owner-only (PGlite sets 0666
 * on its catalogs if left alone), another unprivileged user can read none of
 * it, and a DATA_DIR that others could reach is refused before anything is
 * written into it. Needs root to switch users (CI runs as root).
 */

const NOBODY = { uid: 65534, gid: 65534 };
const STRANGER = 65533; // another unprivileged user, in no group of nobody's
const asUser = (uid: number, gid: number) => ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--'];
const rootOnly = process.getuid?.() === 0 ? it : it.skip;

/*
 * The server runs from this checkout as `nobody`, so every directory above
 * it must be traversable by others. A clean clone in a `mktemp -d`
 * directory (0700, as CI makes it) is not: such ancestors get o+x
 * (traverse, not list) for the duration of this file and are restored.
 */
const widened: { dir: string; mode: number }[] = [];
beforeAll(() => {
  for (let dir = path.resolve(__dirname, '..', '..'); ; dir = path.dirname(dir)) {
    const mode = lstatSync(dir).mode & 0o7777;
    if (!(mode & 0o001)) {
      chmodSync(dir, mode | 0o001);
      widened.push({ dir, mode });
    }
    if (dir === path.dirname(dir)) break;
  }
});
afterAll(() => {
  for (const { dir, mode } of widened) chmodSync(dir, mode);
});

let base: string;
beforeEach(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'ss-modes-'));
  chmodSync(base, 0o755); // the parent is reachable; DATA_DIR itself decides
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

/** Every path under `dir` (itself included) whose mode is not owner-only or whose owner is not `uid`. */
function notPrivate(dir: string, uid: number): string[] {
  const bad: string[] = [];
  const visit = (p: string) => {
    const stat = lstatSync(p);
    const expected = stat.isDirectory() || stat.isSocket() ? 0o700 : 0o600;
    if (!stat.isSymbolicLink() && ((stat.mode & 0o777) !== expected || stat.uid !== uid)) {
      bad.push(`${path.relative(dir, p) || '.'} ${(stat.mode & 0o777).toString(8)} uid ${stat.uid}`);
    }
    if (stat.isDirectory()) for (const child of readdirSync(p)) visit(path.join(p, child));
  };
  visit(dir);
  return bad;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

/** What a stranger gets when trying to read a file or list a directory: the exit status and stderr of the attempt. */
function strangerAttempt(command: string[]): { status: number | null; stderr: string } {
  const result = spawnSync(asUser(STRANGER, STRANGER)[0], [...asUser(STRANGER, STRANGER).slice(1), ...command], { encoding: 'utf8' });
  return { status: result.status, stderr: result.stderr };
}

rootOnly('an unprivileged server keeps DATA_DIR and every file in it owner-only, before and after a stop', async () => {
  const home = path.join(base, 'home');
  mkdirSync(home, { mode: 0o755 });
  chownSync(home, NOBODY.uid, NOBODY.gid);
  const dataDir = path.join(home, 'data'); // missing: the server creates it
  const server = await startServerProcess({ DATA_DIR: dataDir, BOOTSTRAP_ADMIN_TOKEN: '' }, await freePort(), {
    prefix: asUser(NOBODY.uid, NOBODY.gid),
  });
  let stopped = false;
  try {
    const admin = readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
    const env = await gqlAt(server.url, `mutation { createEnvironment(input: { name: "modes" }) { id } }`, {}, admin);
    const write = await gqlAt(
      server.url,
      `mutation($e: ID!) { upsertSecret(input: { environmentId: $e, name: "N", value: "value-on-disk" }) { version } }`,
      { e: env.data.createEnvironment.id },
      admin,
    );
    expect(write.data).toEqual({ upsertSecret: { version: 1 } });

    const files = filesUnder(dataDir);
    expect(files.length).toBeGreaterThan(900); // PGlite's catalogs, WAL, the key, the token
    expect(files.map((f) => path.basename(f))).toEqual(expect.arrayContaining(['master.key', 'admin.token', 'pg_control']));
    expect(notPrivate(dataDir, NOBODY.uid)).toEqual([]);

    for (const file of ['master.key', 'admin.token', 'pgdata/global/pg_control']) {
      const attempt = strangerAttempt(['cat', path.join(dataDir, file)]);
      expect({ file, ...attempt }).toEqual({ file, status: 1, stderr: expect.stringContaining('Permission denied') });
    }
    expect(strangerAttempt(['ls', dataDir])).toEqual({ status: 2, stderr: expect.stringContaining('Permission denied') });

    expect(await server.stop('SIGTERM')).toBe(0);
    stopped = true;
    expect(notPrivate(dataDir, NOBODY.uid)).toEqual([]);
  } finally {
    if (!stopped) await server.stop('SIGKILL');
  }
});

it.each(['0755', '0750', '0701'])('refuses an existing DATA_DIR with mode %s and writes nothing into it', async (octal) => {
  const dataDir = path.join(base, 'data');
  mkdirSync(dataDir);
  chmodSync(dataDir, parseInt(octal, 8));
  const start = startServerProcess({ DATA_DIR: dataDir }, await freePort());
  await expect(start).rejects.toThrow(`DATA_DIR ${dataDir} has mode ${octal}: it must not be group- or world-accessible`);
  await expect(start).rejects.toThrow(`fix it with: chmod 700 ${dataDir}`);
  expect(readdirSync(dataDir)).toEqual([]);
});

rootOnly("refuses a DATA_DIR that belongs to another user", async () => {
  const dataDir = path.join(base, 'data');
  mkdirSync(dataDir, { mode: 0o700 });
  const start = startServerProcess({ DATA_DIR: dataDir }, await freePort(), { prefix: asUser(NOBODY.uid, NOBODY.gid) });
  await expect(start).rejects.toThrow(`DATA_DIR ${dataDir} is owned by user 0, not by the user running the server (65534)`);
});

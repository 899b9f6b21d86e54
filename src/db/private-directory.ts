import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/*
 * DATA_DIR holds the embedded database (catalogs, WAL with names, ids and
 * token hashes), the generated master key and the first ADMIN token. Like
 * PostgreSQL with its data directory, the server refuses one that other
 * local users can reach, and keeps what it writes there owner-only.
 */

export class InsecureDirectoryError extends Error {
  override readonly name = 'InsecureDirectoryError';
}

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

/**
 * Creates `dir` (mode 0700) if it is missing; otherwise checks that it is a
 * directory of this user that no group or other user can reach.
 */
export function preparePrivateDirectory(dir: string, setting = 'DATA_DIR'): void {
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700); // the mode given to mkdir is narrowed by the umask, never widened: make it exact
    return;
  }
  const stat = statSync(dir); // a symbolic link to the real directory is fine: the directory itself is checked
  if (!stat.isDirectory()) throw new InsecureDirectoryError(`${setting} ${dir} is not a directory`);
  if (process.platform === 'win32') return; // no POSIX modes: access is the ACLs' business
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) {
    throw new InsecureDirectoryError(
      `${setting} ${dir} is owned by user ${stat.uid}, not by the user running the server (${uid}); ` +
        `give it to this user (chown) or choose another ${setting}`,
    );
  }
  if (stat.mode & 0o077) {
    throw new InsecureDirectoryError(
      `${setting} ${dir} has mode ${octal(stat.mode)}: it must not be group- or world-accessible ` +
        `(it holds the embedded database and its keys); fix it with: chmod 700 ${dir}`,
    );
  }
}

/**
 * Takes group and other permissions off everything under `dir`. PGlite's
 * WebAssembly file layer sets modes itself, ignoring the process umask (the
 * initial catalogs come out 0666, relation cache files 0644).
 */
export function restrictTree(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const child = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    try {
      const { mode } = lstatSync(child);
      if (mode & 0o077) chmodSync(child, mode & 0o700);
      if (entry.isDirectory()) restrictTree(child);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; // a temporary file already gone
    }
  }
}

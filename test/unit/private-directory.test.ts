import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { InsecureDirectoryError, preparePrivateDirectory, restrictTree } from '../../src/db/private-directory';

let base: string;
beforeEach(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'ss-private-'));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const mode = (p: string) => statSync(p).mode & 0o777;

describe('preparePrivateDirectory', () => {
  it('creates a missing directory (and its parents) with mode 0700, whatever the umask', () => {
    const previous = process.umask(0o000);
    try {
      const dir = path.join(base, 'a', 'data');
      preparePrivateDirectory(dir);
      expect(mode(dir)).toBe(0o700);
    } finally {
      process.umask(previous);
    }
  });

  it('accepts an existing 0700 directory and leaves it alone', () => {
    const dir = path.join(base, 'data');
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(path.join(dir, 'kept'), 'x');
    preparePrivateDirectory(dir);
    expect([mode(dir), readdirSync(dir)]).toEqual([0o700, ['kept']]);
  });

  it.each(['0755', '0750', '0710', '0701', '0777'])('refuses an existing directory with mode %s, naming the mode and the fix', (octal) => {
    const dir = path.join(base, 'data');
    const bits = parseInt(octal, 8);
    mkdirSync(dir);
    chmodSync(dir, bits);
    expect(() => preparePrivateDirectory(dir)).toThrow(InsecureDirectoryError);
    expect(() => preparePrivateDirectory(dir)).toThrow(`has mode ${octal}: it must not be group- or world-accessible`);
    expect(() => preparePrivateDirectory(dir)).toThrow(`chmod 700 ${dir}`);
    expect(mode(dir)).toBe(bits); // refused, not silently changed
  });

  it('refuses a file where the directory should be', () => {
    const file = path.join(base, 'data');
    writeFileSync(file, '');
    expect(() => preparePrivateDirectory(file)).toThrow('is not a directory');
  });
});

describe('restrictTree', () => {
  it('takes group and other bits off every file and directory below, keeping the owner bits', () => {
    mkdirSync(path.join(base, 'sub', 'deeper'), { recursive: true });
    const files = ['a', 'sub/b', 'sub/deeper/c'].map((f) => path.join(base, f));
    for (const f of files) writeFileSync(f, '');
    chmodSync(files[0], 0o666);
    chmodSync(files[1], 0o644);
    chmodSync(files[2], 0o400);
    chmodSync(path.join(base, 'sub'), 0o755);
    chmodSync(path.join(base, 'sub', 'deeper'), 0o775);
    restrictTree(base);
    expect(files.map(mode)).toEqual([0o600, 0o600, 0o400]);
    expect([mode(path.join(base, 'sub')), mode(path.join(base, 'sub', 'deeper'))]).toEqual([0o700, 0o700]);
  });
});

describe('preparePrivateDirectory through a symbolic link', () => {
  it('checks the directory the link points to', () => {
    const real = path.join(base, 'real');
    mkdirSync(real, { mode: 0o700 });
    const link = path.join(base, 'link');
    symlinkSync(real, link);
    expect(() => preparePrivateDirectory(link)).not.toThrow();
    chmodSync(real, 0o755);
    expect(() => preparePrivateDirectory(link)).toThrow('has mode 0755');
  });
});

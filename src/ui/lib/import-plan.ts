import type { DotenvEntry } from './dotenv';

export interface ExistingSecret {
  readonly id: string;
  readonly name: string;
  readonly version: number;
}

export interface PlannedWrite {
  readonly name: string;
  readonly line: number;
  /** `new`: the name does not exist here yet; `replace`: a new version of an existing secret. */
  readonly kind: 'new' | 'replace';
  /** Check-and-set: 0 creates only; otherwise the version the preview showed. */
  readonly expectedVersion: number;
}

/**
 * What an import would do, by name only. Values are never compared with
 * the stored ones: telling an admin whether a pasted value equals the
 * stored one would let them test guesses (and the UI cannot read values).
 */
export function planImport(entries: readonly DotenvEntry[], existing: readonly ExistingSecret[]): PlannedWrite[] {
  const byName = new Map(existing.map((secret) => [secret.name, secret]));
  return entries.map((entry) => {
    const current = byName.get(entry.name);
    return current
      ? { name: entry.name, line: entry.line, kind: 'replace', expectedVersion: current.version }
      : { name: entry.name, line: entry.line, kind: 'new', expectedVersion: 0 };
  });
}

/** Where a space's effective value comes from, in the words of DESIGN §14. */
export type SourceWord = 'Inherited' | 'Overridden' | 'Space only' | 'Personal';

export interface Provenance {
  readonly source: 'ENVIRONMENT' | 'SPACE';
  readonly actorId?: string | null;
  readonly overrides?: unknown;
}

export function sourceWord(row: Provenance): SourceWord {
  if (row.actorId) return 'Personal';
  if (row.source === 'ENVIRONMENT') return 'Inherited';
  return row.overrides ? 'Overridden' : 'Space only';
}

/** Flatfile-style actor ids: 1–128 printable ASCII characters, no spaces (DESIGN §10). */
export const isActorId = (text: string) => /^[\x21-\x7e]{1,128}$/.test(text);

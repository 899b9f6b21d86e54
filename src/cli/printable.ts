/**
 * A name as the CLI prints it: quoted, with every control, format
 * (bidirectional controls, zero-width characters) and unpaired surrogate
 * escaped as \u{…}, so a stored name can never reorder or hide what a
 * terminal shows. New names cannot hold these (modules/validation.ts);
 * rows written before that rule existed still print safely.
 */
export function printable(name: string): string {
  const escaped = [...name]
    .map((c) => (/[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u.test(c) ? `\\u{${c.codePointAt(0)!.toString(16)}}` : c))
    .join('');
  return `"${escaped.replaceAll('"', '\\"')}"`;
}

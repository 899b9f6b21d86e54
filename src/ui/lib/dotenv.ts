/*
 * Parses pasted `.env` text for bulk import. Pure, no DOM: unit-tested in
 * test/unit/ui/dotenv.test.ts.
 *
 * Not the `dotenv` package: it reads files through `fs`, and it forgives what
 * an import must refuse (a line it cannot read is skipped, a duplicate
 * silently wins). Here every such line is a problem, and any problem blocks
 * the import. Problems name lines and names, never a value: a line that
 * cannot be read may itself be a pasted secret.
 *
 * Accepted: `NAME=value`, optional `export `, `#` comment lines, blank lines,
 * spaces around `=`, unquoted values (a ` #` starts a trailing comment),
 * 'single' and `backtick` quotes (literal), "double" quotes (\n \r \t \" \\
 * escapes), and quoted values spanning several lines.
 */

export interface DotenvEntry {
  readonly name: string;
  readonly value: string;
  /** 1-based line where the entry starts. */
  readonly line: number;
}

export interface DotenvProblem {
  readonly line: number;
  readonly message: string;
}

export interface DotenvResult {
  readonly entries: readonly DotenvEntry[];
  readonly problems: readonly DotenvProblem[];
}

/** Letters, digits and `_ . - : /`, not starting with a digit or punctuation: the names a .env file can carry. */
const NAME = /^[A-Za-z_][A-Za-z0-9_.:/-]*$/;
const MAX_NAME_LENGTH = 1024;
const MAX_VALUE_BYTES = 64 * 1024;
const QUOTES = new Set(['"', "'", '`']);
const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' };

export function parseDotenv(text: string): DotenvResult {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const entries: DotenvEntry[] = [];
  const problems: DotenvProblem[] = [];
  const firstLine = new Map<string, number>();

  for (let index = 0; index < lines.length; index++) {
    const lineNumber = index + 1;
    const line = lines[index]!.trim();
    if (line === '' || line.startsWith('#')) continue;

    const body = line.replace(/^export\s+/, '');
    const equals = body.indexOf('=');
    if (equals <= 0) {
      problems.push({ line: lineNumber, message: `Line ${lineNumber} is not NAME=value.` });
      continue;
    }
    const name = body.slice(0, equals).trim();
    const rest = body.slice(equals + 1).trimStart();

    let value: string;
    const quote = rest.charAt(0);
    if (QUOTES.has(quote)) {
      const read = readQuoted(quote, rest.slice(1), lines, index);
      if (!read) {
        problems.push({ line: lineNumber, message: `Line ${lineNumber}: the quoted value of ${shown(name)} is never closed.` });
        break; // everything after an unclosed quote belongs to it
      }
      index = read.lastIndex;
      if (!/^\s*(#.*)?$/.test(read.after)) {
        problems.push({ line: read.lastIndex + 1, message: `Line ${read.lastIndex + 1}: unexpected text after the closing quote of ${shown(name)}.` });
        continue;
      }
      value = read.value;
    } else {
      value = rest.replace(/\s+#.*$/, '').trimEnd();
    }

    if (!NAME.test(name) || name.length > MAX_NAME_LENGTH) {
      problems.push({
        line: lineNumber,
        message: `Line ${lineNumber}: ${shown(name)} is not a valid name (letters, digits and _ . - : /, starting with a letter or _).`,
      });
      continue;
    }
    const seen = firstLine.get(name);
    if (seen !== undefined) {
      problems.push({ line: lineNumber, message: `${name} is set twice (lines ${seen} and ${lineNumber}); keep one.` });
      continue;
    }
    firstLine.set(name, lineNumber);
    if (value === '') {
      problems.push({ line: lineNumber, message: `Line ${lineNumber}: ${name} has an empty value; a secret needs at least one character.` });
      continue;
    }
    if (new TextEncoder().encode(value).length > MAX_VALUE_BYTES) {
      problems.push({ line: lineNumber, message: `Line ${lineNumber}: the value of ${name} is larger than 64 KiB.` });
      continue;
    }
    entries.push({ name, value, line: lineNumber });
  }
  return { entries, problems };
}

/** Reads a quoted value that may continue on the following lines; undefined when it never closes. */
function readQuoted(
  quote: string,
  start: string,
  lines: readonly string[],
  index: number,
): { value: string; after: string; lastIndex: number } | undefined {
  let value = '';
  let text = start;
  for (let current = index; current < lines.length; current++) {
    if (current > index) {
      value += '\n';
      text = lines[current]!;
    }
    for (let i = 0; i < text.length; i++) {
      const char = text.charAt(i);
      if (char === quote) return { value, after: text.slice(i + 1), lastIndex: current };
      if (quote === '"' && char === '\\' && i + 1 < text.length) {
        const next = text.charAt(i + 1);
        value += ESCAPES[next] ?? `\\${next}`;
        i++;
        continue;
      }
      value += char;
    }
  }
  return undefined;
}

/** A name as shown in a problem: quoted, shortened, so a stray long line does not flood the preview. */
function shown(name: string): string {
  return `"${name.length > 40 ? `${name.slice(0, 40)}…` : name}"`;
}

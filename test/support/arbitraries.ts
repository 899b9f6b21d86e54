import fc from 'fast-check';

/*
 * fast-check generators for hostile input (DESIGN §1 rules at their edges),
 * shared by the fuzz suites, and the run settings they share: FUZZ_RUNS
 * (default 25; FAULTS_FULL=1: 400) and FUZZ_SEED to replay a failure.
 */

export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? (process.env.FAULTS_FULL === '1' ? 400 : 25));
export const FUZZ_TIME_LIMIT_MS = 150_000;
/*
 * A jest timeout must never cut a property short: its runs would go on in the
 * background and write into the next property's database fingerprints.
 */
export const FUZZ_TEST_TIMEOUT_MS = FUZZ_TIME_LIMIT_MS + 120_000;

/** One seed per suite, printed first so that even a run killed by a timeout can be replayed. */
export function fuzzSettings(suite: string): fc.Parameters<unknown> {
  const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  process.stdout.write(`${suite}: fast-check seed ${seed} (replay with FUZZ_SEED=${seed}), ${FUZZ_RUNS} runs per property\n`);
  // a property stops generating after FUZZ_TIME_LIMIT_MS (and passes on what it ran); tests must allow longer
  return { seed, numRuns: FUZZ_RUNS, endOnFailure: false, interruptAfterTimeLimit: FUZZ_TIME_LIMIT_MS };
}

const TRICKY_CHARACTERS = [
  'a', 'Z', '0', ':', '.', '-', '/', ' ', '_', '"', '\\', '{', '$', '%', "'",
  'é', 'e\u0301', 'ß', 'İ', 'ﬁ', '한', '🔑', '👩‍💻', '\u0000', '\u0007', '\u007f', '\u0085', '\u00a0', '\u2028',
  '\u202e', '\u2066', '\u200b', '\u200d', '\u2060', '\ufeff', '\ufffd', '\uffff', '\u{10ffff}',
];

/** Short text from several alphabets: every code point, graphemes, and a hand-picked set of troublemakers. */
export const text = (maxLength = 24) =>
  fc.oneof(
    fc.string({ unit: 'grapheme', maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: fc.constantFrom(...TRICKY_CHARACTERS), maxLength }),
  );

const control = fc.oneof(fc.integer({ min: 0, max: 0x1f }), fc.integer({ min: 0x7f, max: 0x9f })).map((c) => String.fromCharCode(c));
const whitespace = fc.constantFrom(' ', '\t', '\n', '\r', '\u000b', '\u00a0', '\u1680', '\u2003', '\u2028', '\u3000', '\ufeff');
const longRun = (around: number) =>
  fc.tuple(fc.integer({ min: around - 4, max: around + 4 }), fc.constantFrom('N', 'é', '한', '🔑')).map(([n, c]) => c.repeat(n));

/** Names at and past every rule of DESIGN §1: lengths around `maxChars`, control characters, whitespace at the edges, lone surrogates. */
export const names = (maxChars: number) =>
  fc.oneof(
    { weight: 4, arbitrary: text() },
    fc.tuple(text(8), control, text(8)).map(([a, c, b]) => a + c + b),
    fc.tuple(whitespace, text(8)).map(([w, t]) => w + t),
    fc.tuple(text(8), whitespace).map(([t, w]) => t + w),
    fc.tuple(text(8), fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff'), text(4)).map(([a, s, b]) => a + s + b),
    longRun(maxChars),
    fc.constant(''),
  );

const characterCount = (s: string) => [...s].length;

/** Whether DESIGN §1 refuses a name for certain. */
/* DESIGN §1's look-alike rule: bidi controls and zero-width characters. */
const LOOK_ALIKE = /[\u202a-\u202e\u2066-\u2069\u200b-\u200d\u2060\ufeff]/u;

/**
 * Whether a server may refuse a name: it breaks a rule above, or DESIGN §1's
 * NFC and look-alike rule (which the server may not enforce yet; once it
 * does, these names are refused, and either way an accepted name must read
 * back unchanged).
 */
export function nameMayBeRefused(name: string, maxChars: number): boolean {
  return nameBreaksRules(name, maxChars) || (name.isWellFormed() && name.normalize('NFC') !== name) || LOOK_ALIKE.test(name);
}

export function nameBreaksRules(name: string, maxChars: number): boolean {
  return (
    !name.isWellFormed() ||
    characterCount(name) === 0 ||
    characterCount(name) > maxChars ||
    /\p{Cc}/u.test(name) ||
    /^\s|\s$/u.test(name)
  );
}

/** A string of exactly `bytes` bytes of UTF-8, from characters of one width. */
function ofBytes(bytes: number, character: string): string {
  const width = Buffer.byteLength(character);
  return character.repeat(Math.floor(bytes / width)) + 'a'.repeat(bytes % width);
}

export const MAX_VALUE_BYTES = 64 * 1024;

/** Values: sizes around 64 KiB in characters of 1-4 bytes, short text of every kind, lone surrogates, empty. */
export const values = fc.oneof(
  { weight: 3, arbitrary: text(40).filter((s) => s.length > 0) },
  fc.tuple(fc.integer({ min: -4, max: 4 }), fc.constantFrom('a', 'é', '€', '🔑')).map(([d, c]) => ofBytes(MAX_VALUE_BYTES + d, c)),
  fc.tuple(text(8), fc.constantFrom('\ud800', '\udfff')).map(([t, s]) => t + s),
  fc.constant(''),
  fc.constant('\u0000'),
);

export function valueBreaksRules(value: string): boolean {
  const bytes = Buffer.byteLength(value);
  return !value.isWellFormed() || bytes === 0 || bytes > MAX_VALUE_BYTES;
}

/** Ids: unknown UUIDs, the given real ones (also upper-cased or padded), and strings that are no UUID at all. */
export const ids = (...real: string[]) =>
  fc.oneof(
    fc.uuid(),
    fc.constantFrom(...real),
    fc.constantFrom(...real).map((id) => id.toUpperCase()),
    fc.constantFrom(...real).map((id) => ` ${id}`),
    fc.constantFrom(...real).map((id) => `${id.slice(0, -1)}g`),
    fc.constant('00000000-0000-0000-0000-000000000000'),
    text(40),
    fc.string({ minLength: 1000, maxLength: 3000 }),
  );

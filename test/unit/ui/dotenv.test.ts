import { parseDotenv } from '../../../src/ui/lib/dotenv';
import { planImport } from '../../../src/ui/lib/import-plan';

const values = (text: string) => Object.fromEntries(parseDotenv(text).entries.map((e) => [e.name, e.value]));

describe('parseDotenv', () => {
  it('reads plain, exported, spaced and commented lines', () => {
    const text = ['# a comment', '', 'A=1', 'export B=two words', '  C = spaced  ', 'D=x#not-a-comment', 'E=value # trailing'].join('\n');
    expect(parseDotenv(text)).toEqual({
      entries: [
        { name: 'A', value: '1', line: 3 },
        { name: 'B', value: 'two words', line: 4 },
        { name: 'C', value: 'spaced', line: 5 },
        { name: 'D', value: 'x#not-a-comment', line: 6 },
        { name: 'E', value: 'value', line: 7 },
      ],
      problems: [],
    });
  });

  it('keeps single and backtick quotes literal and expands escapes in double quotes', () => {
    expect(values(`S='a\\nb # c'\nT=\`x "y"\`\nD="l1\\nl2\\t\\"q\\" \\\\ \\x" # note`)).toEqual({
      S: 'a\\nb # c',
      T: 'x "y"',
      D: 'l1\nl2\t"q" \\ \\x',
    });
  });

  it('reads quoted values over several lines, with CRLF line ends', () => {
    const result = parseDotenv('KEY="-----BEGIN-----\r\nabc\r\n-----END-----"\r\nNEXT=1');
    expect(result.problems).toEqual([]);
    expect(result.entries).toEqual([
      { name: 'KEY', value: '-----BEGIN-----\nabc\n-----END-----', line: 1 },
      { name: 'NEXT', value: '1', line: 4 },
    ]);
  });

  it('reports duplicates with both lines', () => {
    const result = parseDotenv('A=1\nB=2\nA=3');
    expect(result.problems).toEqual([{ line: 3, message: 'A is set twice (lines 1 and 3); keep one.' }]);
    expect(result.entries.map((e) => e.name)).toEqual(['A', 'B']);
  });

  it.each([
    ['1ABC=x', 'is not a valid name'],
    ['WITH SPACE=x', 'is not a valid name'],
    ['=x', 'is not NAME=value'],
    ['just-a-line', 'is not NAME=value'],
    ['EMPTY=', 'has an empty value'],
    ['EMPTY=""', 'has an empty value'],
    ["OPEN='never closed", 'is never closed'],
    ['AFTER="x" junk', 'unexpected text after the closing quote'],
  ])('refuses %j with a problem, not an entry', (line, message) => {
    const result = parseDotenv(line);
    expect(result.entries).toEqual([]);
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]!.message).toContain(message);
  });

  it('refuses a value over 64 KiB', () => {
    expect(parseDotenv(`BIG=${'x'.repeat(64 * 1024 + 1)}`).problems[0]!.message).toContain('larger than 64 KiB');
    expect(parseDotenv(`OK=${'x'.repeat(64 * 1024)}`).problems).toEqual([]);
  });

  it('never puts a value in a problem', () => {
    const secret = 'sk_live_do_not_echo_me';
    const text = [secret, `1BAD=${secret}`, `DUP=${secret}`, `DUP=${secret}`, `Q="${secret}" ${secret}`, `OPEN="${secret}`].join('\n');
    const { problems } = parseDotenv(text);
    expect(problems.length).toBeGreaterThanOrEqual(4);
    for (const problem of problems) expect(problem.message).not.toContain(secret);
  });
});

describe('planImport', () => {
  it('marks names new or replacing by name, with the version to check against', () => {
    const { entries } = parseDotenv('NEW=a\nOLD=b');
    expect(planImport(entries, [{ id: 's1', name: 'OLD', version: 4 }])).toEqual([
      { name: 'NEW', line: 1, kind: 'new', expectedVersion: 0 },
      { name: 'OLD', line: 2, kind: 'replace', expectedVersion: 4 },
    ]);
  });
});

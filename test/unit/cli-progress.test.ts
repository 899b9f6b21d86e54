import { printable } from '../../src/cli/printable';
import { Writable } from 'node:stream';

import { createProgressReporter } from '../../src/cli/progress';

/* The CLI's progress output: a bar on a terminal, sparse plain lines elsewhere; counts only. */

function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY, columns: 120 });
  return { stream, text: () => chunks.join('') };
}

afterEach(() => jest.useRealTimers());

it('prints plain lines off a terminal: the first, at most one a second, and the last', () => {
  jest.useFakeTimers({ now: 0 });
  const { stream, text } = fakeStream(false);
  const progress = createProgressReporter('data keys', stream);
  progress.update({ done: 0, total: 100 });
  for (let done = 1; done < 100; done++) progress.update({ done, total: 100 });
  jest.setSystemTime(1_500);
  progress.update({ done: 100, total: 120 }); // more rows appeared
  jest.setSystemTime(1_600);
  progress.update({ done: 110, total: 120 });
  progress.stop();
  expect(text()).toBe('data keys: 0/100\ndata keys: 100/120\ndata keys: 110/120\n');
});

it('prints the finished count once, even when the last update was already printed', () => {
  const { stream, text } = fakeStream(false);
  const progress = createProgressReporter('environment keys', stream);
  progress.update({ done: 0, total: 2 });
  progress.update({ done: 2, total: 2 });
  progress.stop();
  expect(text()).toBe('environment keys: 0/2\nenvironment keys: 2/2\n');
});

it('draws a cli-progress bar on a terminal and leaves the final count on screen', () => {
  const { stream, text } = fakeStream(true);
  const progress = createProgressReporter('data keys', stream);
  progress.update({ done: 0, total: 10 });
  progress.update({ done: 10, total: 10 });
  progress.stop();
  expect(text()).toContain('data keys [');
  expect(text()).toContain('100% | 10/10');
});

it('writes nothing when no progress was ever reported', () => {
  for (const tty of [true, false]) {
    const { stream, text } = fakeStream(tty);
    createProgressReporter('x', stream).stop();
    expect(text()).toBe('');
  }
});

describe('printable', () => {
  it('escapes bidi controls, zero-width characters and controls, and keeps the rest', () => {
    expect(printable('invoice\u202Etxt.exe')).toBe('"invoice\\u{202e}txt.exe"');
    expect(printable('DB\u200BPASS\nWORD')).toBe('"DB\\u{200b}PASS\\u{a}WORD"');
    expect(printable('Zürich "prod" ☃')).toBe('"Zürich \\"prod\\" ☃"');
  });
});

import { Presets, SingleBar } from 'cli-progress';

import type { KeyProgress } from '../modules/keys/key-rotation.types';

/*
 * Progress of a long key operation, on stderr so stdout stays the result
 * (machine-readable with --json). A bar on a terminal; on a pipe or a log
 * file, plain lines at most once a second (and at the end), which read well
 * in CI logs. Only counts are ever shown.
 */

export interface ProgressReporter {
  update(progress: KeyProgress): void;
  stop(): void;
}

const PLAIN_INTERVAL_MS = 1_000;

export function createProgressReporter(
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
): ProgressReporter {
  return stream.isTTY ? barReporter(label, stream) : plainReporter(label, stream);
}

function barReporter(label: string, stream: NodeJS.WriteStream): ProgressReporter {
  const bar = new SingleBar(
    { format: `${label} [{bar}] {percentage}% | {value}/{total} | {duration_formatted}`, stream, hideCursor: true },
    Presets.shades_classic,
  );
  let started = false;
  return {
    update({ done, total }) {
      if (!started) {
        bar.start(total, done);
        started = true;
        return;
      }
      bar.setTotal(total);
      bar.update(done);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

function plainReporter(label: string, stream: NodeJS.WriteStream): ProgressReporter {
  let last: KeyProgress | undefined;
  let printedAt = 0;
  let printed: KeyProgress | undefined;
  const print = (progress: KeyProgress) => {
    stream.write(`${label}: ${progress.done}/${progress.total}\n`);
    printed = progress;
    printedAt = Date.now();
  };
  return {
    update(progress) {
      last = progress;
      if (!printed || progress.done === progress.total || Date.now() - printedAt >= PLAIN_INTERVAL_MS) {
        if (printed?.done !== progress.done || printed.total !== progress.total) print(progress);
      }
    },
    stop() {
      if (last && (printed?.done !== last.done || printed.total !== last.total)) print(last);
    },
  };
}

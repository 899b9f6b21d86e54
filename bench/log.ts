const processStart = performance.now();

/** Progress on stderr, stamped with seconds since the bench started (stdout carries the table). */
export const log = (message: string): void => {
  process.stderr.write(`[bench ${((performance.now() - processStart) / 1000).toFixed(1).padStart(5)} s] ${message}\n`);
};

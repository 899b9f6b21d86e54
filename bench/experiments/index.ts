import { log } from '../log';
import { settle } from '../measure';
import type { BenchSession } from '../session';
import { decryptMicro, type DecryptMicroResult } from './decrypt-micro';
import { measureLayers } from './layers';

/*
 * `--experiments`: measurements that produced findings (recorded in
 * README.md's performance section), kept to re-check them; never part of
 * the default run. bench/experiments/statements.ts runs on its own.
 */

export interface ExperimentResults {
  readonly decryptPerValue: DecryptMicroResult;
}

export async function runExperiments(session: BenchSession): Promise<ExperimentResults> {
  await measureLayers(session);
  await settle();
  const decrypt = decryptMicro();
  log(
    `decryption per value, CPU: openValue ${decrypt.openValueUs.toFixed(1)} µs, fewer-allocations variant ${decrypt.leanUs.toFixed(1)} µs, ` +
      `two bare AES-GCM deciphers ${decrypt.twoDeciphersUs.toFixed(1)} µs, one ${decrypt.oneDecipherUs.toFixed(1)} µs`,
  );
  return { decryptPerValue: decrypt };
}

export function formatExperiments(results: ExperimentResults): string {
  const d = results.decryptPerValue;
  return (
    `experiment, decryption CPU per value: openValue ${d.openValueUs.toFixed(1)} µs; fewer allocations ${d.leanUs.toFixed(1)} µs; ` +
    `AES-GCM floor ${d.twoDeciphersUs.toFixed(1)} µs (2 deciphers), ${d.oneDecipherUs.toFixed(1)} µs (1, cached data keys)`
  );
}

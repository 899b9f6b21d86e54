import { InvalidArgumentError, type Command } from 'commander';

import { AccessPolicy } from '../modules/access/access-policy';
import type { KeyStatus } from '../modules/keys/key-rotation.types';
import { printable } from './printable';
import type { WithContainer } from './with-container';
import { createProgressReporter, type ProgressReporter } from './progress';

/*
 * `keys rewrap | rotate-environment | status` (DESIGN §5). Results go to
 * stdout (JSON with --json), progress to stderr. Nothing printed here is ever
 * key material or a value: only ids, counts, provider ids and master-key
 * references (a local key id or a KMS CryptoKeyVersion name).
 */

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

function positiveInt(raw: string): number {
  const parsed = Number(raw);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('must be a positive integer');
  return parsed;
}

/** Runs `work` with a progress reporter that is stopped however it ends, so the terminal is left clean. */
async function withProgress<T>(label: string, work: (progress: ProgressReporter) => Promise<T>): Promise<T> {
  const progress = createProgressReporter(label);
  try {
    return await work(progress);
  } finally {
    progress.stop();
  }
}

export function registerKeyCommands(program: Command, withContainer: WithContainer): void {
  const keys = program.command('keys').description('re-wrap and rotate encryption keys; safe while servers run');

  keys
    .command('rewrap')
    .description(
      're-wrap every environment key under the current master key of the active provider, or of --provider; ' +
        'values and data keys are untouched; resumable, and a no-op when nothing is left to move',
    )
    .option('--provider <id>', 'wrap under this provider instead (e.g. gcp-kms to migrate from local); it must be configured')
    .option('--concurrency <n>', 'environment keys re-wrapped in parallel', positiveInt, 8)
    .option('--json', 'print the result as JSON')
    .action(async (options: { provider?: string; concurrency: number; json?: boolean }) => {
      const result = await withContainer((c) =>
        withProgress('environment keys', (progress) =>
          c.keys.rewrapAll(AccessPolicy.system, {
            providerId: options.provider,
            concurrency: options.concurrency,
            onProgress: (p) => progress.update(p),
          }),
        ),
      );
      if (options.json) return out(JSON.stringify(result));
      out(
        `re-wrapped ${result.rewrapped} of ${result.environmentKeys} environment keys under ${result.providerId} ` +
          `${result.keyRef} (${result.alreadyCurrent} already there` +
          `${result.changedConcurrently ? `, ${result.changedConcurrently} changed by another run` : ''})`,
      );
    });

  keys
    .command('rotate-environment <id>')
    .description(
      'give an environment a new key version, re-wrap its data keys to it in batches and delete the old version; ' +
        'values are never decrypted; run it again to finish an interrupted rotation',
    )
    .option('--batch-size <n>', 'data keys re-wrapped per transaction', positiveInt, 500)
    .option('--json', 'print the result as JSON')
    .action(async (id: string, options: { batchSize: number; json?: boolean }) => {
      const result = await withContainer((c) =>
        withProgress('data keys', (progress) =>
          c.keys.rotateEnvironment(AccessPolicy.system, id, {
            batchSize: options.batchSize,
            onProgress: (p) => progress.update(p),
          }),
        ),
      );
      if (options.json) return out(JSON.stringify(result));
      out(
        `environment ${result.environmentId}: key version ${result.keyVersion}${result.resumed ? ' (resumed)' : ''}; ` +
          `${result.rewrappedDataKeys} data keys re-wrapped; retired version(s) ${result.retiredVersions.join(', ') || 'none'}`,
      );
    });

  keys
    .command('status')
    .description('environment keys per provider and master key; data keys per environment and key version')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const status = await withContainer((c) => c.keys.status(AccessPolicy.system));
      if (options.json) return out(JSON.stringify(status));
      for (const line of formatStatus(status)) out(line);
    });
}

export function formatStatus(status: KeyStatus): string[] {
  const lines = [
    `active provider: ${status.activeProviderId}${status.primaryKeyRef ? ` (wraps with ${status.primaryKeyRef})` : ''}`,
    'environment keys by provider and master key:',
  ];
  for (const k of status.environmentKeys) lines.push(`  ${String(k.count).padStart(8)}  ${k.providerId}  ${k.keyRef}`);
  lines.push('data keys by environment and key version:');
  for (const e of status.environments) {
    const deks = e.dataKeys.map((d) => `v${d.keyVersion}: ${d.count}`).join(', ') || 'none';
    const state = e.rotationInProgress ? `; rotation in progress (versions ${e.keyVersions.join(', ')})` : '';
    lines.push(`  ${e.environmentId}  ${printable(e.name)}  current v${e.currentKeyVersion}  ${deks}${state}`);
  }
  const rotating = status.environments.filter((e) => e.rotationInProgress).length;
  if (rotating) lines.push(`${rotating} rotation(s) in progress: run keys rotate-environment <id> to finish`);
  return lines;
}

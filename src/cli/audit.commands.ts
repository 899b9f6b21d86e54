import type { Command } from 'commander';

import { AccessPolicy } from '../modules/access/access-policy';
import type { WithContainer } from './with-container';

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const day = (at: Date | null) => (at ? at.toISOString() : '-');

/** `audit prune | partitions`: retention by hand, with the same code and locks as the server's timer. */
export function registerAuditCommands(program: Command, withContainer: WithContainer): void {
  const audit = program.command('audit').description('audit log partitions and retention');

  audit
    .command('prune')
    .description('create the partitions ahead and drop those past AUDIT_RETENTION_DAYS (waits for a running instance to finish its own)')
    .option('--json', 'print {"created", "dropped"} as JSON')
    .action(async (options: { json?: boolean }) => {
      const result = await withContainer((c) => c.auditRetention.maintain(AccessPolicy.system, { wait: true }));
      if (options.json) return out(JSON.stringify({ created: result.created, dropped: result.dropped }));
      for (const name of result.created) out(`created ${name}`);
      for (const p of result.dropped) out(`dropped ${p.name}  ${day(p.from)} .. ${day(p.to)}  seq ${p.minSeq ?? '-'}..${p.maxSeq ?? '-'}`);
      if (!result.created.length && !result.dropped.length) out('nothing to do');
    });

  audit
    .command('partitions')
    .description('the partitions of audit_event, oldest first')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const partitions = await withContainer((c) => c.auditRetention.partitions(AccessPolicy.system));
      if (options.json) return out(JSON.stringify(partitions));
      for (const p of partitions) out(`${p.name.padEnd(24)} ${p.isDefault ? 'DEFAULT' : `${day(p.from)} .. ${day(p.to)}`}`);
    });
}

import type { Command } from 'commander';

import { AccessPolicy } from '../modules/access/access-policy';
import type { WithContainer } from './with-container';

/** `secrets purge`: destroy deleted secrets past DELETED_SECRET_RETENTION_DAYS, as the server's timer does. */
export function registerSecretCommands(program: Command, withContainer: WithContainer): void {
  const secrets = program.command('secrets').description('secret maintenance');
  secrets
    .command('purge')
    .description('destroy every secret deleted more than DELETED_SECRET_RETENTION_DAYS ago (idempotent; safe while servers run)')
    .option('--json', 'print {"purged"} as JSON')
    .action(async (options: { json?: boolean }) => {
      const purged = await withContainer((c) => c.secrets.purgeDeleted(AccessPolicy.system));
      process.stdout.write(options.json ? `${JSON.stringify({ purged })}\n` : `purged ${purged} deleted secret(s)\n`);
    });
}

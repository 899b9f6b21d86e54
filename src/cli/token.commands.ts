import type { Command } from 'commander';

import { TokenRole } from '../entities';
import { AccessPolicy } from '../modules/access/access-policy';
import { printable } from './printable';
import type { WithContainer } from './with-container';

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/** `token create | list | revoke`: the same service and rules as the GraphQL mutations. */
export function registerTokenCommands(program: Command, withContainer: WithContainer): void {
  const token = program.command('token').description('create, list and revoke API tokens');

  token
    .command('create')
    .description('create a token; it is printed once, on stdout, and stored only as a hash')
    .requiredOption('--role <role>', 'ADMIN or LISTENER')
    .option('--name <name>', 'what uses this token', 'cli')
    .option('--environment <id>', "a LISTENER's environment")
    .option('--space <id>', "a LISTENER's space (implies its environment)")
    .option('--expires-at <date-time>', 'when the token stops working, ISO 8601 with a time zone (e.g. 2027-01-31T00:00:00Z)')
    .option('--json', 'print {"token", "apiToken"} as JSON')
    .action(async (options: { role: string; name: string; environment?: string; space?: string; expiresAt?: string; json?: boolean }) => {
      const created = await withContainer((c) =>
        c.tokens.create(AccessPolicy.system, {
            name: options.name,
            role: options.role.toUpperCase() as TokenRole,
            environmentId: options.environment,
            spaceId: options.space,
            expiresAt: options.expiresAt,
        }),
      );
      if (options.json) return out(JSON.stringify(created));
      out(created.token);
      process.stderr.write(
        `created ${created.apiToken.role} token ${created.apiToken.id}; it is shown only now: store it somewhere safe\n`,
      );
    });

  token
    .command('list')
    .description('every token (never the token strings), oldest first')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const tokens = await withContainer((c) => c.tokens.list(AccessPolicy.system));
      if (options.json) return out(JSON.stringify(tokens.map(({ tokenHash: _hash, ...rest }) => rest)));
      for (const t of tokens) {
        const binding = t.role === TokenRole.LISTENER ? ` env=${t.environmentId}${t.spaceId ? ` space=${t.spaceId}` : ''}` : '';
        const state = t.revokedAt ? `revoked ${t.revokedAt.toISOString()}` : 'active';
        out(`${t.id}  ${t.role.padEnd(8)} ${state.padEnd(32)} ${printable(t.name)}${binding}`);
      }
    });

  token
    .command('revoke <id>')
    .description('revoke a token; it stops working on its next request')
    .action(async (id: string) => {
      const revoked = await withContainer((c) => c.tokens.revoke(AccessPolicy.system, id));
      out(`revoked ${revoked.id}`);
    });
}

#!/usr/bin/env node
import 'reflect-metadata';

import { Command, CommanderError } from 'commander';

import { ConfigError } from '../config';
import { toAppError } from '../db/pg-errors';
import { registerAuditCommands } from './audit.commands';
import { registerSecretCommands } from './secrets.commands';
import { registerKeyCommands } from './keys.commands';
import { registerTokenCommands } from './token.commands';
import { withContainer } from './with-container';

/*
 * `npm run cli -- <command>`: operator tasks against the configured database
 * (same settings as the server). On the embedded database the server must be
 * stopped first: one process owns DATA_DIR.
 */

export function buildProgram(): Command {
  const program = new Command('secretspace')
    .description('Secretspace operator commands')
    .showHelpAfterError()
    .exitOverride();
  registerTokenCommands(program, withContainer);
  registerKeyCommands(program, withContainer);
  registerAuditCommands(program, withContainer);
  registerSecretCommands(program, withContainer);
  return program;
}

async function main(): Promise<void> {
  process.umask(0o077); // before anything is created: whatever the CLI writes is its user's alone
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode);
    const known = toAppError(error);
    const message = error instanceof ConfigError ? error.message : known ? known.message : `failed: ${(error as Error).message}`;
    const code = known ? ` [${known.code}]` : '';
    process.stderr.write(`secretspace: ${message}${code}\n`);
    process.exit(1);
  }
}

void main();

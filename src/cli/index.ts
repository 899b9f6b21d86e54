#!/usr/bin/env node
import 'reflect-metadata';

import { Command, CommanderError } from 'commander';

import { ConfigError, loadConfig } from '../config';
import { createContainer, type Container } from '../container';
import { isAppError } from '../errors';
import { createLogger } from '../logger';
import { registerKeyCommands } from './keys.commands';
import { registerTokenCommands } from './token.commands';

/*
 * `npm run cli -- <command>`: operator tasks against the configured database
 * (same settings as the server). On the embedded database the server must be
 * stopped first: one process owns DATA_DIR.
 */

export type WithContainer = <T>(run: (container: Container) => Promise<T>) => Promise<T>;

const withContainer: WithContainer = async (run) => {
  const config = loadConfig();
  const logger = createLogger(process.env.LOG_LEVEL ?? 'warn', process.stderr);
  const container = await createContainer(config, logger);
  try {
    return await run(container);
  } finally {
    await container.close();
  }
};

export function buildProgram(): Command {
  const program = new Command('secretspace')
    .description('Secretspace operator commands')
    .showHelpAfterError()
    .exitOverride();
  registerTokenCommands(program, withContainer);
  registerKeyCommands(program, withContainer);
  return program;
}

async function main(): Promise<void> {
  process.umask(0o077); // before anything is created: whatever the CLI writes is its user's alone
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode);
    const message = error instanceof ConfigError || isAppError(error) ? error.message : `failed: ${(error as Error).message}`;
    const code = isAppError(error) ? ` [${error.code}]` : '';
    process.stderr.write(`secretspace: ${message}${code}\n`);
    process.exit(1);
  }
}

void main();

import { writeFileSync } from 'node:fs';
import path from 'node:path';

import type { Container } from './container';
import { AccessPolicy } from './modules/access/access-policy';

export const ADMIN_TOKEN_FILE = 'admin.token';

/**
 * What a server does once before it listens (never the CLI: `token list`
 * must not create a token). BOOTSTRAP_ADMIN_TOKEN is registered if absent;
 * otherwise, on the embedded database — whose quick start has no other way
 * to a first token, since the CLI cannot open DATA_DIR while the server
 * runs — a first ADMIN token is written to DATA_DIR/admin.token (0600) when
 * no active ADMIN token exists. The log names the file, never the token.
 */
export async function runStartupTasks({ config, logger, tokens }: Pick<Container, 'config' | 'logger' | 'tokens'>): Promise<void> {
  const system = AccessPolicy.system;
  if (config.bootstrapAdminToken) {
    await tokens.ensureBootstrapToken(system, config.bootstrapAdminToken);
    return;
  }
  if (!config.embedded) return;
  const token = await tokens.createFirstAdminToken(system);
  if (!token) return;
  const file = path.join(config.dataDir, ADMIN_TOKEN_FILE);
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  logger.warn({ file }, 'created an ADMIN token for the embedded database; read it from this file');
}

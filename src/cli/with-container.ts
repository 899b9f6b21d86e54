import { loadConfig } from '../config';
import { createContainer, type Container } from '../container';
import { createLogger } from '../logger';

/** Runs one command against a container built from the same settings as the server, and closes it. */
export type WithContainer = <T>(run: (container: Container) => Promise<T>) => Promise<T>;

export const withContainer: WithContainer = async (run) => {
  const config = loadConfig();
  const logger = createLogger(config.cliLogLevel, process.stderr);
  const container = await createContainer(config, logger);
  try {
    return await run(container);
  } finally {
    await container.close();
  }
};

import type { FastifyInstance } from 'fastify';

import { loadConfig } from '../src/config';
import { createContainer, type Container } from '../src/container';
import { createLogger } from '../src/logger';
import { buildServer } from '../src/server';
import { runStartupTasks } from '../src/startup';

/** The real server, in this process, on an ephemeral loopback port; logs (warn and up) go to stderr. */
export interface RunningServer {
  readonly url: string;
  readonly container: Container;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

export async function startServer(env: Record<string, string>): Promise<RunningServer> {
  const config = loadConfig(env);
  const logger = createLogger(config.logLevel, process.stderr);
  const container = await createContainer(config, logger);
  await runStartupTasks(container);
  let app: FastifyInstance;
  try {
    app = await buildServer(container);
    await app.listen({ port: 0, host: '127.0.0.1' });
  } catch (error) {
    await container.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  let closed = false;
  return {
    url: `http://127.0.0.1:${port}`,
    container,
    app,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await container.close();
    },
  };
}

import { Writable } from 'node:stream';

import type { FastifyInstance } from 'fastify';
import { Client } from 'pg';

import { loadConfig } from '../../src/config';
import { createContainer, type Container } from '../../src/container';
import { createLogger } from '../../src/logger';
import { buildServer } from '../../src/server';
import { runStartupTasks } from '../../src/startup';
import { createTestDatabase, type TestDatabase } from './database';

export const TEST_MASTER_KEYS = `test-1:${Buffer.alloc(32, 7).toString('base64')}`;
/** Registered by BOOTSTRAP_ADMIN_TOKEN in every test app. */
export const ADMIN_TOKEN = 'test-bootstrap-admin-token-0123456789abcdef';

/** Who a request is sent as: a token, no Authorization header (null), or raw headers. Default: the admin. */
export type As = string | null | { headers: Record<string, string> };

export function authHeaders(as: As | undefined): Record<string, string> {
  if (as === null) return {};
  if (typeof as === 'object') return as.headers;
  return { authorization: `Bearer ${as ?? ADMIN_TOKEN}` };
}

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  data?: T;
  errors?: { message: string; path?: string[]; extensions?: Record<string, unknown> }[];
}

export interface TestApp {
  readonly url: string;
  readonly container: Container;
  readonly app: FastifyInstance;
  /** Every log line the server wrote, for "no value in any log" checks. */
  readonly logs: string[];
  gql<T = any>(query: string, variables?: Record<string, unknown>, as?: As): Promise<GraphQLResponse<T>>;
  /** A LISTENER token bound to the environment (and space), created once per binding. */
  listener(environmentId: string, spaceId?: string): Promise<string>;
  /** Raw SQL on the app's database, bypassing the service. */
  sql<T = any>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  readonly env?: Record<string, string>;
  /** Reuse a database (e.g. to restart over the same data). */
  readonly database?: TestDatabase;
  readonly keepDatabase?: boolean;
}

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = options.database ?? (await createTestDatabase());
  const config = loadConfig({
    DATABASE_URL: database.url,
    LOCAL_MASTER_KEYS: TEST_MASTER_KEYS,
    LOG_LEVEL: 'info',
    BOOTSTRAP_ADMIN_TOKEN: ADMIN_TOKEN,
    DB_POOL_SIZE: '10',
    ...options.env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const logger = createLogger(config.logLevel, sink);
  const container = await createContainer(config, logger);
  await runStartupTasks(container);
  const server = await buildServer(container);
  await server.listen({ port: 0, host: '127.0.0.1' });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  let client!: Client;
  const connect = async () => {
    client = new Client({ connectionString: database.url });
    client.on('error', () => undefined); // a test may cut the database off; reconnect on next use
    await client.connect();
  };
  await connect();
  const listeners = new Map<string, string>();
  /* Every secret value sent through gql(); close() fails if any of them reached a log line. */
  const sentValues = new Set<string>();
  const collectValues = (input: unknown): void => {
    if (Array.isArray(input)) input.forEach(collectValues);
    else if (input && typeof input === 'object') {
      for (const [key, child] of Object.entries(input)) {
        if (key === 'value' && typeof child === 'string' && child.length >= 8) sentValues.add(child);
        else collectValues(child);
      }
    }
  };

  const testApp: TestApp = {
    url,
    container,
    app: server,
    logs,
    async gql(query, variables, as) {
      collectValues(variables);
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...authHeaders(as) },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, ...((await response.json()) as object) };
    },
    async listener(environmentId, spaceId) {
      const key = `${environmentId}/${spaceId ?? ''}`;
      const cached = listeners.get(key);
      if (cached) return cached;
      const response = await testApp.gql(
        `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token } }`,
        { input: { name: `listener ${key}`, role: 'LISTENER', environmentId, spaceId } },
      );
      const token = response.data?.createApiToken?.token;
      if (!token) throw new Error(`could not create a listener token: ${JSON.stringify(response.errors)}`);
      listeners.set(key, token);
      return token;
    },
    async sql(text, params) {
      try {
        return (await client.query(text, params)).rows;
      } catch (error) {
        if ((error as Error).message.includes('terminated') || (error as Error).message.includes('not queryable')) {
          await connect();
          return (await client.query(text, params)).rows;
        }
        throw error;
      }
    },
    async close() {
      await client.end().catch(() => undefined);
      await server.close();
      await container.close();
      if (!options.keepDatabase) await database.drop();
      const logged = logs.join('\n');
      const leaked = [...sentValues].filter((value) => logged.includes(value));
      if (leaked.length) throw new Error(`${leaked.length} secret value(s) appeared in the server log`);
    },
  };
  return testApp;
}

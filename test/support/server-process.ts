import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

import { ADMIN_TOKEN } from './app';

/** The compiled server (npm test builds it first), run as a real process. */
export const MAIN = path.join(__dirname, '..', '..', 'dist', 'src', 'main.js');

export interface ServerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  readonly output: () => string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface ServerProcessOptions {
  /** A command that runs the server, e.g. `['setpriv', '--reuid=nobody', …]` to drop privileges. */
  readonly prefix?: readonly string[];
}

export async function startServerProcess(
  env: Record<string, string>,
  port: number,
  options: ServerProcessOptions = {},
): Promise<ServerProcess> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  const [command, ...args] = [...(options.prefix ?? []), process.execPath, MAIN];
  const child = spawn(command, args, {
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'info',
      BOOTSTRAP_ADMIN_TOKEN: ADMIN_TOKEN,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 60_000);
    const poll = setInterval(() => {
      if (output.includes('secretspace listening')) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve();
      }
    }, 50);
    void exited.then((code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });

  return {
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A GraphQL request to a server process, with a bearer token (the bootstrap admin token by default). */
export async function gqlAt(url: string, query: string, variables?: Record<string, unknown>, token: string = ADMIN_TOKEN) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, ...((await response.json()) as { data?: any; errors?: any[] }) };  
}

/** Creates a LISTENER token through the API of a server process. */
export async function listenerAt(url: string, environmentId: string, spaceId?: string): Promise<string> {
  const res = await gqlAt(url, `mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token } }`, {
    i: { name: 'listener', role: 'LISTENER', environmentId, spaceId },
  });
  if (!res.data) throw new Error(JSON.stringify(res.errors));
  return res.data.createApiToken.token;
}

import net from 'node:net';

/**
 * A loopback TCP proxy that a test can cut and restore, to make a database
 * "restart" under a running server without touching the shared PostgreSQL:
 * cut() resets every open connection and every new one; restore() lets
 * connections through again. The port stays the proxy's all along (closing
 * and listening again would let a parallel test take it meanwhile).
 */
export interface TcpProxy {
  readonly port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let open = true;
  const server = net.createServer((client) => {
    if (!open) {
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
  const resetAll = () => {
    for (const s of sockets) s.resetAndDestroy();
  };
  return {
    port,
    async cut() {
      open = false;
      resetAll();
    },
    async restore() {
      open = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        open = false;
        resetAll();
        server.close(() => resolve());
      }),
  };
}

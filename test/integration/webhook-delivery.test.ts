import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import dns from 'node:dns';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { isIP, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { deliverOnce, type DeliveryAttempt } from '../../src/events/webhooks/deliver';
import { webhookHeaders } from '../../src/events/webhooks/headers';
import type { HostLookup } from '../../src/modules/webhook/url-guard';
import { until } from '../support/until';

/*
 * deliverOnce against real receivers on 127.0.0.1. Every host name is
 * answered by a stub lookup; the system resolver is stubbed to fail, so a
 * lookup that escaped the pin would show up here (and could not reach a
 * DNS server off this machine).
 */

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A receiver on 127.0.0.1 that records requests and answers with `handler`. */
async function receiver(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_q, s) => s.writeHead(204).end()) {
  const received: Received[] = [];
  const sockets = new Set<Socket>();
  const closedSockets: Socket[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      handler(req, res);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => closedSockets.push(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  servers.push(close);
  return { server, port, received, sockets, closedSockets, close };
}

const servers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((close) => close()));
});

/* Names reaching the system resolver; an address (server.listen passes its own through it) is answered as usual. */
let systemLookups: string[] = [];
beforeEach(() => {
  systemLookups = [];
  const original = dns.lookup;
  jest.spyOn(dns, 'lookup').mockImplementation(((hostname: string, ...rest: unknown[]) => {
    if (isIP(hostname) !== 0) return (original as (...args: unknown[]) => void)(hostname, ...rest);
    systemLookups.push(hostname);
    const callback = rest[rest.length - 1] as (error: Error) => void;
    process.nextTick(() => callback(Object.assign(new Error('system DNS is off in this test'), { code: 'ENOTFOUND' })));
  }) as unknown as typeof dns.lookup);
});
afterEach(() => jest.restoreAllMocks());

/** A lookup answering `address` for hooks.example.test (and nothing else), counting calls. */
function stubLookup(...answers: string[]) {
  const calls: string[] = [];
  const lookup: HostLookup = async (hostname) => {
    calls.push(hostname);
    if (hostname !== 'hooks.example.test') throw Object.assign(new Error('unknown'), { code: 'ENOTFOUND' });
    const address = answers[Math.min(calls.length, answers.length) - 1];
    return [{ address, family: address.includes(':') ? 6 : 4 }];
  };
  return { lookup, calls };
}

function attempt(url: string, overrides: Partial<DeliveryAttempt> = {}): DeliveryAttempt {
  return { url, body: '{"cursor":"c1"}', headers: {}, allowPrivateNetworks: true, lookup: stubLookup('127.0.0.1').lookup, ...overrides };
}

describe('deliverOnce', () => {
  it('connects to the checked address while speaking to the URL\'s host, with one lookup in all', async () => {
    const { port, received } = await receiver();
    const { lookup, calls } = stubLookup('127.0.0.1');
    const secret = 'whsec_test-secret';
    const body = JSON.stringify({ cursor: 'cur-7', topic: 'secret:updated', name: 'API_KEY', version: 3 });
    const attemptAt = Math.floor(Date.now() / 1000);
    const headers = webhookHeaders({ eventId: 'cur-7', signingSecret: secret, body, attemptAt });

    const result = await deliverOnce({
      url: `http://hooks.example.test:${port}/hooks/in?team=7`,
      body,
      headers,
      lookup,
      allowPrivateNetworks: true,
    });

    expect(result).toEqual({ ok: true, status: 204 });
    expect(calls).toEqual(['hooks.example.test']);
    expect(systemLookups).toEqual([]);
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/hooks/in?team=7');
    expect(request.headers.host).toBe(`hooks.example.test:${port}`);
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(request.headers['secretspace-event-id']).toBe('cur-7');
    expect(request.body).toBe(body);

    /* The receiver's check, written from the documented recipe with node:crypto alone. */
    const signature = request.headers['secretspace-signature'] as string;
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature)!;
    expect(Number(t)).toBe(attemptAt);
    const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${t}.${request.body}`, 'utf8').digest('hex');
    expect(v1).toBe(expected);
  });

  it('checks the address again at every attempt, so a name rebound to a refused address is not contacted', async () => {
    const { port, received } = await receiver();
    const { lookup, calls } = stubLookup('127.0.0.1', '169.254.169.254');
    const url = `http://hooks.example.test:${port}/`;
    expect(await deliverOnce(attempt(url, { lookup }))).toEqual({ ok: true, status: 204 });
    expect(await deliverOnce(attempt(url, { lookup }))).toEqual({ ok: false, error: 'refused address: cloud metadata' });
    expect(calls).toHaveLength(2);
    expect(received).toHaveLength(1);
  });

  it('refuses loopback, by literal or by name, unless private networks are allowed, without connecting', async () => {
    const { port, received, sockets } = await receiver();
    const strict = { allowPrivateNetworks: false };
    expect(await deliverOnce(attempt(`http://127.0.0.1:${port}/`, strict))).toEqual({ ok: false, error: 'refused address: loopback' });
    expect(await deliverOnce(attempt(`http://[::ffff:127.0.0.1]:${port}/`, strict))).toEqual({
      ok: false,
      error: 'refused address: loopback',
    });
    expect(await deliverOnce(attempt(`http://hooks.example.test:${port}/`, strict))).toEqual({
      ok: false,
      error: 'refused address: loopback',
    });
    expect(sockets.size).toBe(0);
    expect(await deliverOnce(attempt(`http://127.0.0.1:${port}/`))).toEqual({ ok: true, status: 204 });
    expect(received).toHaveLength(1);
  });

  it('refuses a URL that is not http(s) before any lookup', async () => {
    const { lookup, calls } = stubLookup('127.0.0.1');
    expect(await deliverOnce(attempt('ftp://hooks.example.test/x', { lookup }))).toEqual({
      ok: false,
      error: 'scheme must be http or https',
    });
    expect(calls).toEqual([]);
  });

  it.each([
    [200, { ok: true, status: 200 }],
    [202, { ok: true, status: 202 }],
    [204, { ok: true, status: 204 }],
    [400, { ok: false, status: 400, error: 'HTTP 400' }],
    [410, { ok: false, status: 410, error: 'HTTP 410' }],
    [500, { ok: false, status: 500, error: 'HTTP 500' }],
    [503, { ok: false, status: 503, error: 'HTTP 503' }],
  ])('classifies a %i answer', async (status, expected) => {
    const { port } = await receiver((_req, res) => res.writeHead(status).end('receiver says: secret-ish detail'));
    const result = await deliverOnce(attempt(`http://hooks.example.test:${port}/`));
    expect(result).toEqual(expected);
    expect(JSON.stringify(result)).not.toContain('secret-ish');
  });

  it.each([301, 302, 303, 307, 308])('does not follow a %i redirect', async (status) => {
    const target = await receiver();
    const redirecting = await receiver((_req, res) => res.writeHead(status, { location: `http://127.0.0.1:${target.port}/stolen` }).end());
    const result = await deliverOnce(attempt(`http://hooks.example.test:${redirecting.port}/`));
    expect(result).toEqual({ ok: false, status, error: 'redirect not followed' });
    expect(redirecting.received).toHaveLength(1);
    expect(target.received).toHaveLength(0);
    expect(target.sockets.size).toBe(0);
  });

  it('gives up on a receiver that never answers once the timeout has passed, and closes the connection', async () => {
    const silent = await receiver(() => {});
    const started = Date.now();
    const result = await deliverOnce(attempt(`http://hooks.example.test:${silent.port}/`, { timeoutMs: 300 }));
    const elapsed = Date.now() - started;
    expect(result).toEqual({ ok: false, error: 'timeout' });
    expect(silent.received).toHaveLength(1);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(5_000); // the bound, far from the 300 ms asked for; not a speed check
    await until('the silent receiver saw its socket closed', () => silent.closedSockets.length === 1, 5_000);
  });

  it('counts DNS inside the timeout: a lookup that never answers times out too', async () => {
    const hanging: HostLookup = () => new Promise(() => {});
    const result = await deliverOnce(attempt('http://hooks.example.test:9/', { lookup: hanging, timeoutMs: 200 }));
    expect(result).toEqual({ ok: false, error: 'timeout' });
  });

  it('keeps a 2xx that arrived in time even when the body then trickles past the timeout', async () => {
    const trickle = await receiver((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('.'), 50);
      res.on('close', () => clearInterval(timer));
    });
    const result = await deliverOnce(attempt(`http://hooks.example.test:${trickle.port}/`, { timeoutMs: 1_000 }));
    expect(result).toEqual({ ok: true, status: 200 });
    await until('the trickle receiver saw its socket closed', () => trickle.closedSockets.length === 1, 5_000);
  });

  it(
    'stops reading an endless response body and closes the connection, long before the timeout',
    async () => {
      let written = 0;
      const firehose = await receiver((_req, res) => {
        res.writeHead(200);
        const chunk = Buffer.alloc(64 * 1024, 'x');
        const pump = () => {
          while (!res.destroyed && res.write(chunk)) written += chunk.length;
        };
        res.on('drain', pump);
        pump();
      });
      /* A timeout far beyond the test's own: only the byte cap can end this attempt in time. */
      const result = await deliverOnce(attempt(`http://hooks.example.test:${firehose.port}/`, { timeoutMs: 600_000 }));
      expect(result).toEqual({ ok: true, status: 200 });
      await until('the firehose receiver saw its socket closed', () => firehose.closedSockets.length === 1, 5_000);
      expect(written).toBeLessThan(64 * 1024 * 1024);
    },
    20_000,
  );

  it('reports a closed port as connection refused', async () => {
    const gone = await receiver();
    const port = gone.port;
    await gone.close();
    expect(await deliverOnce(attempt(`http://hooks.example.test:${port}/`))).toEqual({ ok: false, error: 'connection refused' });
  });

  it('reports a receiver that hangs up without answering as connection reset', async () => {
    const rude = await receiver((req) => req.socket.destroy());
    expect(await deliverOnce(attempt(`http://hooks.example.test:${rude.port}/`))).toEqual({ ok: false, error: 'connection reset' });
  });

  describe('over https', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'webhook-tls-'));
      /* A certificate for the right name, but signed by no authority the client trusts. */
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-subj', '/CN=hooks.example.test', '-addext', 'subjectAltName=DNS:hooks.example.test',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      ], { stdio: 'ignore' });
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('sends the URL\'s host as SNI to the pinned address, and verifies the certificate', async () => {
      const serverNames: string[] = [];
      let requests = 0;
      const server = https.createServer(
        {
          key: readFileSync(join(dir, 'key.pem')),
          cert: readFileSync(join(dir, 'cert.pem')),
          SNICallback: (name, callback) => {
            serverNames.push(name);
            callback(null);
          },
        },
        (_req, res) => {
          requests += 1;
          res.writeHead(204).end();
        },
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      servers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      const port = (server.address() as AddressInfo).port;
      const { lookup, calls } = stubLookup('127.0.0.1');

      const result = await deliverOnce(attempt(`https://hooks.example.test:${port}/`, { lookup }));

      expect(result).toEqual({ ok: false, error: 'TLS failed (DEPTH_ZERO_SELF_SIGNED_CERT)' });
      expect(serverNames).toEqual(['hooks.example.test']);
      expect(requests).toBe(0);
      expect(calls).toHaveLength(1);
      expect(systemLookups).toEqual([]);
    });
  });
});


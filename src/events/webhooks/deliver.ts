import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';

import { WebhookUrlError, parseWebhookUrl, resolveAllowedAddress, type CheckedTarget, type HostLookup } from '../../modules/webhook/url-guard';

/*
 * One webhook delivery attempt: check the URL again (its DNS may have
 * changed since the last attempt), POST to the checked address and report
 * how it went in a few value-free words. The body is never logged or
 * returned, and neither is anything the receiver sends back.
 */

/** WEBHOOK_TIMEOUT_MS's default. */
export const DEFAULT_DELIVERY_TIMEOUT_MS = 5_000;
/** Enough for any receiver's acknowledgement; the rest of a response is not worth the bandwidth. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

export interface DeliveryAttempt {
  readonly url: string;
  /** The JSON text to POST; sign exactly this text. */
  readonly body: string;
  /** Secretspace-Event-Id, Secretspace-Signature and the like; content type, length and Host are set here. */
  readonly headers: Readonly<Record<string, string>>;
  /** WEBHOOK_TIMEOUT_MS: the whole attempt, DNS and connect and TLS through the response headers. */
  readonly timeoutMs?: number;
  readonly lookup?: HostLookup;
  /** WEBHOOK_ALLOW_PRIVATE_NETWORKS. */
  readonly allowPrivateNetworks: boolean;
}

export interface DeliveryResult {
  /** A 2xx arrived within the timeout. */
  readonly ok: boolean;
  readonly status?: number;
  /** Why it failed, e.g. 'timeout', 'connection refused', 'refused address: loopback', 'HTTP 500'. */
  readonly error?: string;
}

export async function deliverOnce(attempt: DeliveryAttempt): Promise<DeliveryResult> {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), attempt.timeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS);
  try {
    const url = parseWebhookUrl(attempt.url);
    const target = await beforeDeadline(
      resolveAllowedAddress(url, { lookup: attempt.lookup, allowPrivateNetworks: attempt.allowPrivateNetworks }),
      deadline.signal,
    );
    return await post(url, target, attempt, deadline.signal);
  } catch (error) {
    return { ok: false, error: deadline.signal.aborted ? 'timeout' : describeFailure(error) };
  } finally {
    clearTimeout(timer);
  }
}

function post(url: URL, target: CheckedTarget, attempt: DeliveryAttempt, signal: AbortSignal): Promise<DeliveryResult> {
  return new Promise((resolve, reject) => {
    const namedByAddress = isIP(target.hostname) !== 0;
    const options: https.RequestOptions = {
      method: 'POST',
      /* A URL naming an address is dialled at the checked form of it (an IPv4-mapped one as IPv4). */
      hostname: namedByAddress ? target.address : target.hostname,
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      headers: requestHeaders(url, attempt),
      /* The connection's only lookup answers with the checked address, so DNS rebinding gets no second say. */
      lookup: pinnedLookup(target),
      /* SNI and certificate checks use the URL's name (never an IP literal in SNI, RFC 6066). */
      servername: namedByAddress ? undefined : target.hostname,
      /* No pooling: a kept-alive socket would outlive the address check it was opened under. */
      agent: false,
      signal,
    };
    const request = (url.protocol === 'https:' ? https : http).request(options);
    let outcome: DeliveryResult | undefined;
    request.on('error', (error) => (outcome ? resolve(outcome) : reject(error)));
    request.on('response', (response) => {
      outcome = classify(response.statusCode ?? 0);
      /* The response is read only so that the receiver may finish writing; it is counted and dropped. */
      let received = 0;
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > MAX_RESPONSE_BYTES) response.destroy();
      });
      response.on('error', () => {});
      response.on('close', () => resolve(outcome!));
    });
    request.end(attempt.body);
  });
}

function requestHeaders(url: URL, attempt: DeliveryAttempt): Record<string, string> {
  const headers: Record<string, string> = { 'user-agent': 'Secretspace-Webhooks' };
  for (const [name, value] of Object.entries(attempt.headers)) headers[name.toLowerCase()] = value;
  headers['content-type'] = 'application/json';
  headers['content-length'] = String(Buffer.byteLength(attempt.body, 'utf8'));
  headers.host = url.host;
  return headers;
}

function pinnedLookup(target: CheckedTarget): LookupFunction {
  return (_hostname, options, callback) => {
    /* Asynchronous like dns.lookup, so the socket has its listeners before it hears back. */
    process.nextTick(() => {
      if (options.all) callback(null, [{ address: target.address, family: target.family }]);
      else callback(null, target.address, target.family);
    });
  };
}

function classify(status: number): DeliveryResult {
  if (status >= 200 && status < 300) return { ok: true, status };
  if (status >= 300 && status < 400) return { ok: false, status, error: 'redirect not followed' };
  return { ok: false, status, error: `HTTP ${status}` };
}

function beforeDeadline<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('deadline passed'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

const NETWORK_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  ETIMEDOUT: 'timeout',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EADDRNOTAVAIL: 'address not available',
  ERR_INVALID_CHAR: 'invalid request header',
  ERR_INVALID_HTTP_TOKEN: 'invalid request header',
};

/** Only fixed words and error codes: an error's message can quote an address, a header or the receiver's reply. */
function describeFailure(error: unknown): string {
  if (error instanceof WebhookUrlError) return error.reason;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !/^[A-Z0-9_]{1,64}$/.test(code)) return 'request failed';
  if (NETWORK_ERRORS[code]) return NETWORK_ERRORS[code];
  if (code.startsWith('HPE_')) return 'invalid HTTP response';
  if (/^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/.test(code)) return `TLS failed (${code})`;
  return `request failed (${code})`;
}

import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';

import { checkAddress, type AddressRefusal } from './address-policy';

/*
 * The gate every webhook URL passes, at creation and again before every
 * attempt (DNS can change in between): a URL worth sending to, then one
 * resolved address that the policy allows, which is the address the
 * connection must go to.
 */

export const MAX_WEBHOOK_URL_LENGTH = 2048;

export type WebhookUrlReason =
  | 'not a valid URL'
  | 'URL too long'
  | 'scheme must be http or https'
  | 'credentials in URL'
  | 'host required'
  | 'host not found'
  /** The resolver failed for another reason (often temporary): worth retrying, unlike the rest. */
  | 'DNS lookup failed'
  | `refused address: ${AddressRefusal}`;

/**
 * A URL refused, with a fixed, value-free reason. The message names the
 * host at most: a path or query may carry a token of the receiver's.
 */
export class WebhookUrlError extends Error {
  constructor(
    readonly reason: WebhookUrlReason,
    readonly host?: string,
  ) {
    super(host === undefined ? `webhook URL refused: ${reason}` : `webhook URL for ${host} refused: ${reason}`);
    this.name = 'WebhookUrlError';
  }
}

/** Resolves a host name to every address it has, like `dns.promises.lookup(host, { all: true })`. */
export type HostLookup = (hostname: string) => Promise<readonly { readonly address: string }[]>;

export const systemLookup: HostLookup = (hostname) => dns.lookup(hostname, { all: true });

export interface ResolveOptions {
  readonly lookup?: HostLookup;
  readonly allowPrivateNetworks: boolean;
}

/** The one address a delivery connects to, and the name it speaks to there (Host header, TLS SNI). */
export interface CheckedTarget {
  readonly hostname: string;
  readonly address: string;
  readonly family: 4 | 6;
}

export function parseWebhookUrl(raw: string): URL {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) throw new WebhookUrlError('URL too long');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookUrlError('not a valid URL');
  }
  /* Parsing percent-encodes, so the stored form can outgrow the input. */
  if (url.href.length > MAX_WEBHOOK_URL_LENGTH) throw new WebhookUrlError('URL too long');
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new WebhookUrlError('scheme must be http or https');
  if (url.hostname === '') throw new WebhookUrlError('host required');
  if (url.username !== '' || url.password !== '') throw new WebhookUrlError('credentials in URL', url.hostname);
  return url;
}

/** The host as a connection names it: an IPv6 literal without the URL's brackets. */
export function hostnameOf(url: URL): string {
  const host = url.hostname;
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * Resolves the URL's host and returns the first address, provided that
 * every address it resolves to is allowed: a name that also points at a
 * private address is refused, even if the public one would be dialled,
 * because the next resolution may order them the other way.
 */
export async function resolveAllowedAddress(url: URL, options: ResolveOptions): Promise<CheckedTarget> {
  const hostname = hostnameOf(url);
  const addresses = isIP(hostname) !== 0 ? [hostname] : await lookupAll(hostname, options.lookup ?? systemLookup);
  let first: CheckedTarget | undefined;
  for (const literal of addresses) {
    const verdict = checkAddress(literal, options);
    if (!verdict.allowed) throw new WebhookUrlError(`refused address: ${verdict.reason}`, url.hostname);
    first ??= { hostname, address: verdict.address, family: verdict.family };
  }
  if (!first) throw new WebhookUrlError('host not found', url.hostname);
  return first;
}

const NOT_FOUND_CODES = new Set(['ENOTFOUND', 'ENODATA', 'EAI_NONAME', 'EAI_NODATA']);

async function lookupAll(hostname: string, lookup: HostLookup): Promise<string[]> {
  try {
    const found = await lookup(hostname);
    return found.map((entry) => entry.address);
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    throw new WebhookUrlError(
      typeof code === 'string' && NOT_FOUND_CODES.has(code) ? 'host not found' : 'DNS lookup failed',
      hostname,
    );
  }
}

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/*
 * The Secretspace-Signature header (DESIGN §13):
 *   t=<unix seconds>,v1=<lowercase hex HMAC-SHA256 over "<t>.<body>">
 * keyed with the UTF-8 bytes of the signing secret string. Signing the time
 * with the body lets a receiver refuse a replayed delivery by its age.
 */

export const SIGNATURE_HEADER = 'Secretspace-Signature';
export const SIGNING_SECRET_PREFIX = 'whsec_';
/** How far a receiver should let `t` stray from its clock by default: 5 minutes. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** A new signing secret: the prefix makes it recognisable to a secret scanner, the 32 random bytes make it unguessable. */
export function generateSigningSecret(): string {
  return SIGNING_SECRET_PREFIX + randomBytes(32).toString('base64url');
}

/** The header value for `body` sent at unix time `t` (seconds). */
export function signPayload(secret: string, body: string, t: number): string {
  /* Precondition: whole seconds, so the signed text is exactly the `t` in the header. */
  if (!Number.isSafeInteger(t) || t < 0) throw new RangeError('signature time must be whole unix seconds');
  return `t=${t},v1=${hmacHex(secret, t, body)}`;
}

export interface VerifyOptions {
  /** The signing secret shown when the webhook was created. */
  readonly secret: string;
  /** The request body exactly as received, before any JSON parsing. */
  readonly body: string | Buffer;
  /** The Secretspace-Signature header value. */
  readonly header: string | undefined;
  readonly toleranceSeconds?: number;
  /** Unix seconds; defaults to the clock. */
  readonly now?: number;
}

/**
 * True when one `v1` in the header is the HMAC of this body and its `t` is
 * within the tolerance of now. Several `v1` entries are accepted so that a
 * sender may sign with an old and a new secret during a change.
 */
export function verifySignature(options: VerifyOptions): boolean {
  const parsed = parseHeader(options.header);
  if (!parsed) return false;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - parsed.t) > (options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) return false;
  const expected = Buffer.from(hmacHex(options.secret, parsed.t, options.body), 'utf8');
  /* Every candidate is compared, so the time taken does not say which one (if any) matched. */
  let matched = false;
  for (const candidate of parsed.v1) {
    const given = Buffer.from(candidate, 'utf8');
    if (given.length === expected.length && timingSafeEqual(given, expected)) matched = true;
  }
  return matched;
}

function hmacHex(secret: string, t: number, body: string | Buffer): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${t}.`, 'utf8').update(body).digest('hex');
}

function parseHeader(header: string | undefined): { t: number; v1: string[] } | undefined {
  if (!header) return undefined;
  let t: number | undefined;
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^[0-9]{1,15}$/.test(value)) t = Number(value);
    else if (key === 'v1') v1.push(value);
  }
  return t === undefined || v1.length === 0 ? undefined : { t, v1 };
}

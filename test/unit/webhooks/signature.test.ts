import { createHmac } from 'node:crypto';

import { EVENT_ID_HEADER, webhookHeaders } from '../../../src/events/webhooks/headers';
import {
  SIGNATURE_HEADER,
  generateSigningSecret,
  signPayload,
  verifySignature,
} from '../../../src/modules/webhook/signature';

/*
 * The expected signatures are computed here from the recipe in DESIGN §13,
 * with node:crypto directly, so the test does not share code (or a
 * mistake) with the implementation.
 */
function recipe(secret: string, body: string, t: number): string {
  const hmac = createHmac('sha256', new TextEncoder().encode(secret));
  hmac.update(new TextEncoder().encode(`${t}.${body}`));
  return `t=${t},v1=${hmac.digest('hex')}`;
}

const secret = 'whsec_k3Y-ünïcødé';
const body = JSON.stringify({ cursor: 'c1', topic: 'secret:updated', name: 'DATABASE_URL', note: 'naïve ✓' });
const t = 1_760_000_000;

describe('signPayload', () => {
  it('follows the documented recipe: t=<seconds>,v1=<lowercase hex HMAC-SHA256 of "<t>.<body>">', () => {
    const header = signPayload(secret, body, t);
    expect(header).toBe(recipe(secret, body, t));
    expect(header).toMatch(/^t=1760000000,v1=[0-9a-f]{64}$/);
  });

  it('signs the time with the body, so changing either changes the signature', () => {
    const header = signPayload(secret, body, t);
    expect(signPayload(secret, body, t + 1).split(',')[1]).not.toBe(header.split(',')[1]);
    expect(signPayload(secret, body + ' ', t)).not.toBe(header);
    expect(signPayload(secret + 'x', body, t)).not.toBe(header);
  });

  it.each([1.5, -1, Number.NaN, 2 ** 53])('refuses %p as a time (whole unix seconds only)', (bad) => {
    expect(() => signPayload(secret, body, bad)).toThrow(RangeError);
  });
});

describe('verifySignature', () => {
  const header = recipe(secret, body, t);

  it('accepts the recipe signature within the tolerance, as a string or as raw bytes', () => {
    expect(verifySignature({ secret, body, header, now: t })).toBe(true);
    expect(verifySignature({ secret, body: Buffer.from(body, 'utf8'), header, now: t + 300 })).toBe(true);
    expect(verifySignature({ secret, body, header, now: t - 300 })).toBe(true);
  });

  it('refuses a signature older or newer than the tolerance (a replay)', () => {
    expect(verifySignature({ secret, body, header, now: t + 301 })).toBe(false);
    expect(verifySignature({ secret, body, header, now: t - 301 })).toBe(false);
    expect(verifySignature({ secret, body, header, now: t + 60, toleranceSeconds: 30 })).toBe(false);
  });

  it('refuses another body, another secret, or a moved time', () => {
    expect(verifySignature({ secret, body: body.replace('c1', 'c2'), header, now: t })).toBe(false);
    expect(verifySignature({ secret: 'whsec_other', body, header, now: t })).toBe(false);
    expect(verifySignature({ secret, body, header: header.replace(`t=${t}`, `t=${t + 1}`), now: t })).toBe(false);
  });

  it.each([
    undefined,
    '',
    'garbage',
    `t=${t}`,
    `v1=${'0'.repeat(64)}`,
    `t=${t},v1=`,
    `t=${t},v1=${'0'.repeat(64)}`,
    `t=abc,v1=${'0'.repeat(64)}`,
    `t=${t},v0=${recipe(secret, body, t).split('v1=')[1]}`,
  ])('refuses the malformed header %p', (bad) => {
    expect(verifySignature({ secret, body, header: bad, now: t })).toBe(false);
  });

  it('accepts any matching v1 among several (a sender changing secrets) and ignores unknown keys', () => {
    const v1 = header.split('v1=')[1];
    expect(verifySignature({ secret, body, header: `t=${t},v1=${'f'.repeat(64)},v1=${v1},v2=zz`, now: t })).toBe(true);
  });

  it('defaults to the clock', () => {
    expect(verifySignature({ secret, body, header: signPayload(secret, body, Math.floor(Date.now() / 1000)) })).toBe(true);
    expect(verifySignature({ secret, body, header })).toBe(false); // t is in 2025
  });
});

describe('generateSigningSecret', () => {
  it('makes whsec_ and 32 random bytes in base64url, a different one each time', () => {
    const secrets = new Set(Array.from({ length: 50 }, generateSigningSecret));
    expect(secrets.size).toBe(50);
    for (const s of secrets) {
      expect(s).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(s.slice('whsec_'.length), 'base64url')).toHaveLength(32);
    }
  });
});

describe('webhookHeaders', () => {
  it('carries the event id unchanged and a signature of this attempt\'s time', () => {
    const first = webhookHeaders({ eventId: 'cursor-41', signingSecret: secret, body, attemptAt: t });
    const retry = webhookHeaders({ eventId: 'cursor-41', signingSecret: secret, body, attemptAt: t + 90 });
    expect(first).toEqual({ [EVENT_ID_HEADER]: 'cursor-41', [SIGNATURE_HEADER]: recipe(secret, body, t) });
    expect(retry[EVENT_ID_HEADER]).toBe('cursor-41');
    expect(retry[SIGNATURE_HEADER]).toBe(recipe(secret, body, t + 90));
    expect(EVENT_ID_HEADER).toBe('Secretspace-Event-Id');
    expect(SIGNATURE_HEADER).toBe('Secretspace-Signature');
  });
});

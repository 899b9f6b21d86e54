import {
  MAX_WEBHOOK_URL_LENGTH,
  WebhookUrlError,
  parseWebhookUrl,
  resolveAllowedAddress,
  type HostLookup,
} from '../../../src/modules/webhook/url-guard';

/*
 * Nothing here touches the network: every host name is answered by a stub
 * lookup, and allowed addresses are only checked, never connected to.
 */

/** A lookup that answers `addresses` for every name, counting calls. */
function stubLookup(...addresses: string[]) {
  const calls: string[] = [];
  const lookup: HostLookup = async (hostname) => {
    calls.push(hostname);
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return { lookup, calls };
}

function failingLookup(code: string): HostLookup {
  return async () => {
    throw Object.assign(new Error(`getaddrinfo ${code} hooks.example.test`), { code });
  };
}

const literalUrl = (address: string) => `https://${address.includes(':') ? `[${address}]` : address}:8443/hook`;

async function refusal(promise: Promise<unknown>): Promise<WebhookUrlError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof WebhookUrlError)) throw new Error(`expected a WebhookUrlError, got ${String(error)}`);
  return error;
}

const strict = { allowPrivateNetworks: false } as const;
const permissive = { allowPrivateNetworks: true } as const;

/* [address, reason]: every range the guard refuses, at its edges where an edge can be got wrong. */
const REFUSED: [string, string][] = [
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['10.0.0.1', 'private network'],
  ['10.255.255.255', 'private network'],
  ['172.16.0.1', 'private network'],
  ['172.31.255.254', 'private network'],
  ['192.168.0.1', 'private network'],
  ['100.64.0.1', 'carrier-grade NAT'],
  ['100.127.255.254', 'carrier-grade NAT'],
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'this network'],
  ['169.254.0.1', 'link-local'],
  ['169.254.255.254', 'link-local'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  ['240.0.0.1', 'reserved'],
  ['254.1.2.3', 'reserved'],
  ['192.0.0.8', 'reserved'],
  ['192.88.99.1', 'reserved'],
  ['198.18.0.1', 'benchmarking'],
  ['198.19.255.254', 'benchmarking'],
  ['192.0.2.1', 'documentation'],
  ['198.51.100.7', 'documentation'],
  ['203.0.113.9', 'documentation'],
  ['192.31.196.1', 'reserved'], // AS112: refused by the allowlist fallback, not by a named range
  ['169.254.169.254', 'cloud metadata'],
  ['100.100.100.200', 'cloud metadata'],
  ['168.63.129.16', 'cloud metadata'],
  ['::1', 'loopback'],
  ['::', 'unspecified'],
  ['fc00::1', 'private network'],
  ['fd12:3456:789a::1', 'private network'],
  ['fec0::1', 'private network'],
  ['fe80::1', 'link-local'],
  ['febf:ffff::1', 'link-local'],
  ['ff02::1', 'multicast'],
  ['ff0e::1', 'multicast'],
  ['fd00:ec2::254', 'cloud metadata'],
  ['2001::1', 'Teredo'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
  ['2001:2::1', 'benchmarking'],
  ['2001:db8::1', 'documentation'],
  ['3fff::1', 'documentation'],
  ['100::1', 'reserved'], // discard prefix
  ['2001:20::1', 'reserved'], // ORCHIDv2
  ['4000::1', 'reserved'], // outside global unicast 2000::/3
  ['5f00::1', 'reserved'], // SRv6 SIDs
  // IPv6 forms that carry an IPv4 address are judged by that address.
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:10.1.2.3', 'private network'],
  ['::ffff:169.254.169.254', 'cloud metadata'],
  ['::ffff:0:127.0.0.1', 'loopback'], // IPv4-translated (SIIT)
  ['::127.0.0.1', 'loopback'], // IPv4-compatible
  ['::8.8.8.8', 'reserved'], // IPv4-compatible is deprecated even for a public address
  ['64:ff9b::127.0.0.1', 'loopback'], // NAT64
  ['64:ff9b::a00:1', 'private network'],
  ['64:ff9b::a9fe:a9fe', 'cloud metadata'],
  ['64:ff9b:1::a00:1', 'private network'], // local-use NAT64 prefix
  ['2002:7f00:1::1', 'loopback'], // 6to4 around 127.0.0.1
  ['2002:c0a8:101::1', 'private network'], // 6to4 around 192.168.1.1
  ['2002:a9fe:a9fe::1', 'cloud metadata'],
];

/* [address, the address to connect to, family] */
const ALLOWED: [string, string, 4 | 6][] = [
  ['8.8.8.8', '8.8.8.8', 4],
  ['1.1.1.1', '1.1.1.1', 4],
  ['11.0.0.1', '11.0.0.1', 4], // just past 10/8
  ['172.32.0.1', '172.32.0.1', 4], // just past 172.16/12
  ['100.128.0.1', '100.128.0.1', 4], // just past 100.64/10
  ['169.253.255.255', '169.253.255.255', 4],
  ['198.20.0.1', '198.20.0.1', 4], // just past 198.18/15
  ['223.255.255.254', '223.255.255.254', 4], // just below multicast
  ['2606:4700:4700::1111', '2606:4700:4700::1111', 6],
  ['2a00:1450:4001::200e', '2a00:1450:4001::200e', 6],
  ['::ffff:8.8.8.8', '8.8.8.8', 4], // dialled as the IPv4 address it maps
  ['64:ff9b::808:808', '64:ff9b::808:808', 6],
  ['2002:808:808::1', '2002:808:808::1', 6],
];

describe('parseWebhookUrl', () => {
  it.each([
    ['ftp://hooks.example.test/x', 'scheme must be http or https'],
    ['file:///etc/passwd', 'scheme must be http or https'],
    ['javascript:alert(1)', 'scheme must be http or https'],
    ['gopher://hooks.example.test/', 'scheme must be http or https'],
    ['hooks.example.test/path', 'not a valid URL'],
    ['http://', 'not a valid URL'],
    ['', 'not a valid URL'],
    ['https://user@hooks.example.test/', 'credentials in URL'],
    ['https://user:hunter2@hooks.example.test/', 'credentials in URL'],
    ['https://:hunter2@hooks.example.test/', 'credentials in URL'],
  ])('refuses %j: %s', (raw, reason) => {
    expect(() => parseWebhookUrl(raw)).toThrow(WebhookUrlError);
    try {
      parseWebhookUrl(raw);
    } catch (error) {
      expect((error as WebhookUrlError).reason).toBe(reason);
      expect((error as Error).message).not.toContain('hunter2');
    }
  });

  it('accepts http and https URLs with a host', () => {
    expect(parseWebhookUrl('https://hooks.example.test/in?x=1').hostname).toBe('hooks.example.test');
    expect(parseWebhookUrl('http://hooks.example.test:8080/').port).toBe('8080');
    expect(parseWebhookUrl('https://[2606:4700::1]/').hostname).toBe('[2606:4700::1]');
  });

  it(`refuses a URL longer than ${MAX_WEBHOOK_URL_LENGTH} characters, before and after percent-encoding`, () => {
    const base = 'https://hooks.example.test/';
    expect(parseWebhookUrl(base + 'a'.repeat(MAX_WEBHOOK_URL_LENGTH - base.length)).href).toHaveLength(2048);
    expect(() => parseWebhookUrl(base + 'a'.repeat(MAX_WEBHOOK_URL_LENGTH - base.length + 1))).toThrow('URL too long');
    /* Each space becomes %20: short enough as typed, too long as stored. */
    expect(() => parseWebhookUrl(base + ' x'.repeat(700))).toThrow('URL too long');
  });

  it('names only the host in its message, never the path or query (they may hold the receiver\'s token)', () => {
    try {
      parseWebhookUrl('https://me:pw-in-url@hooks.example.test/t/sk_live_123?token=abc');
      throw new Error('not refused');
    } catch (error) {
      expect((error as Error).message).toBe('webhook URL for hooks.example.test refused: credentials in URL');
    }
  });
});

describe('resolveAllowedAddress', () => {
  it.each(REFUSED)('refuses the literal %s (%s)', async (address, reason) => {
    const { lookup, calls } = stubLookup('8.8.8.8');
    const error = await refusal(resolveAllowedAddress(parseWebhookUrl(literalUrl(address)), { ...strict, lookup }));
    expect(error.reason).toBe(`refused address: ${reason}`);
    expect(calls).toEqual([]); // a literal is never looked up
  });

  it.each(REFUSED)('refuses a host name resolving to %s (%s)', async (address, reason) => {
    const { lookup, calls } = stubLookup(address);
    const url = parseWebhookUrl('https://hooks.example.test/hook');
    const error = await refusal(resolveAllowedAddress(url, { ...strict, lookup }));
    expect(error.reason).toBe(`refused address: ${reason}`);
    expect(error.message).toBe(`webhook URL for hooks.example.test refused: refused address: ${reason}`);
    expect(calls).toEqual(['hooks.example.test']);
  });

  it.each(ALLOWED)('allows the literal %s, to be dialled as %s', async (address, dialled, family) => {
    const { lookup, calls } = stubLookup('10.0.0.1');
    const target = await resolveAllowedAddress(parseWebhookUrl(literalUrl(address)), { ...strict, lookup });
    expect(target).toMatchObject({ address: dialled, family });
    expect(calls).toEqual([]);
  });

  it.each(ALLOWED)('allows a host name resolving to %s, to be dialled as %s', async (address, dialled, family) => {
    const { lookup } = stubLookup(address);
    const target = await resolveAllowedAddress(parseWebhookUrl('https://hooks.example.test/'), { ...strict, lookup });
    expect(target).toEqual({ hostname: 'hooks.example.test', address: dialled, family });
  });

  it.each([
    ['8.8.8.8', '10.0.0.1', 'private network'],
    ['10.0.0.1', '8.8.8.8', 'private network'],
    ['2606:4700:4700::1111', '::1', 'loopback'],
    ['1.1.1.1', '2606:4700:4700::1111', '169.254.169.254', 'cloud metadata'],
  ])('refuses a host name with any refused address among public ones (%s, %s, …)', async (...row) => {
    const reason = row.pop()!;
    const { lookup } = stubLookup(...row);
    const error = await refusal(resolveAllowedAddress(parseWebhookUrl('http://hooks.example.test/'), { ...strict, lookup }));
    expect(error.reason).toBe(`refused address: ${reason}`);
  });

  it('dials the first address when every address is allowed', async () => {
    const { lookup } = stubLookup('2606:4700:4700::1111', '1.1.1.1');
    const target = await resolveAllowedAddress(parseWebhookUrl('http://hooks.example.test/'), { ...strict, lookup });
    expect(target).toEqual({ hostname: 'hooks.example.test', address: '2606:4700:4700::1111', family: 6 });
  });

  it.each([
    ['http://2130706433/', 'loopback'], // a decimal IPv4 address
    ['http://0x7f.1/', 'loopback'],
    ['http://017700000001/', 'loopback'], // octal
    ['http://127.1/', 'loopback'],
    ['http://0/', 'unspecified'],
    ['http://[::ffff:7f00:1]/', 'loopback'],
    ['http://[0:0:0:0:0:ffff:127.0.0.1]/', 'loopback'],
    ['http://0xa9fea9fe/', 'cloud metadata'],
  ])('sees through the legacy spelling %s (%s)', async (raw, reason) => {
    const { lookup, calls } = stubLookup('8.8.8.8');
    const error = await refusal(resolveAllowedAddress(parseWebhookUrl(raw), { ...strict, lookup }));
    expect(error.reason).toBe(`refused address: ${reason}`);
    expect(calls).toEqual([]);
  });

  it('with private networks allowed, lets loopback and private addresses through but never cloud metadata', async () => {
    for (const address of ['127.0.0.1', '10.0.0.1', '192.168.1.10', '100.64.0.1', 'fd12::1', '::1', 'fe80::1']) {
      const { lookup } = stubLookup(address);
      const target = await resolveAllowedAddress(parseWebhookUrl('http://hooks.example.test/'), { ...permissive, lookup });
      expect(target.address).toBe(address);
    }
    const mapped = await resolveAllowedAddress(parseWebhookUrl('http://[::ffff:127.0.0.1]/'), permissive);
    expect(mapped).toMatchObject({ address: '127.0.0.1', family: 4 });
    for (const address of ['169.254.169.254', 'fd00:ec2::254', '100.100.100.200', '::ffff:169.254.169.254', '64:ff9b::a9fe:a9fe']) {
      const { lookup } = stubLookup(address);
      const error = await refusal(resolveAllowedAddress(parseWebhookUrl('http://hooks.example.test/'), { ...permissive, lookup }));
      expect(error.reason).toBe('refused address: cloud metadata');
    }
  });

  it.each([
    ['ENOTFOUND', 'host not found'],
    ['ENODATA', 'host not found'],
    ['EAI_AGAIN', 'DNS lookup failed'],
    ['ESERVFAIL', 'DNS lookup failed'],
  ])('reports a lookup failing with %s as %j', async (code, reason) => {
    const error = await refusal(
      resolveAllowedAddress(parseWebhookUrl('http://hooks.example.test/'), { ...strict, lookup: failingLookup(code) }),
    );
    expect(error.reason).toBe(reason);
  });

  it('reports a name with no addresses as not found', async () => {
    const { lookup } = stubLookup();
    const error = await refusal(resolveAllowedAddress(parseWebhookUrl('http://hooks.example.test/'), { ...strict, lookup }));
    expect(error.reason).toBe('host not found');
  });

  it('looks up the bare host, without port, path or brackets', async () => {
    const { lookup, calls } = stubLookup('8.8.8.8');
    await resolveAllowedAddress(parseWebhookUrl('https://Hooks.Example.TEST:8443/a/b?c=d'), { ...strict, lookup });
    expect(calls).toEqual(['hooks.example.test']);
  });
});

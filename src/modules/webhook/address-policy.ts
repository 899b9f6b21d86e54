import { isIP } from 'node:net';

import ipaddr from 'ipaddr.js';

/*
 * Which IP addresses a webhook may connect to. A webhook URL is chosen by a
 * caller, so without this check the server would POST wherever it is told:
 * to its own loopback services, the private network around it, or the
 * cloud metadata endpoint that hands out credentials (SSRF).
 *
 * The policy is an allowlist with named refusals in front of it: the table
 * below gives each well-known range a reason a person can act on, and
 * anything that is still not plain global unicast (by ipaddr.js's own table
 * of special ranges, and for IPv6 outside 2000::/3) is refused as
 * 'reserved'. Forms of IPv6 that carry an IPv4 address are judged by the
 * IPv4 address they carry, so ::ffff:127.0.0.1 is loopback, not "IPv6".
 */

export type AddressRefusal =
  | 'cloud metadata'
  | 'unspecified'
  | 'this network'
  | 'loopback'
  | 'private network'
  | 'carrier-grade NAT'
  | 'link-local'
  | 'multicast'
  | 'broadcast'
  | 'benchmarking'
  | 'documentation'
  | 'Teredo'
  | 'reserved';

export type AddressVerdict =
  | { readonly allowed: true; readonly address: string; readonly family: 4 | 6 }
  | { readonly allowed: false; readonly reason: AddressRefusal };

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];
type RangeTable = Partial<Record<AddressRefusal, Range[]>>;

const cidrs = (...list: string[]): Range[] => list.map((cidr) => ipaddr.parseCIDR(cidr));

/*
 * The instance metadata services of the big clouds. Each one also sits in a
 * range refused below; naming them first gives the clearer reason, and they
 * stay refused when private networks are allowed, because no receiver lives
 * there and their answers are credentials.
 */
const METADATA: RangeTable = {
  'cloud metadata': cidrs(
    '169.254.169.254/32', // AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle
    'fd00:ec2::254/128', // AWS over IPv6
    '100.100.100.200/32', // Alibaba Cloud
    '168.63.129.16/32', // Azure WireServer: a public-looking address served by the host
  ),
};

/* First match wins (ipaddr.subnetMatch walks the table in order), so narrow ranges come before the ones holding them. */
const IPV4_REFUSED: RangeTable = {
  unspecified: cidrs('0.0.0.0/32'),
  'this network': cidrs('0.0.0.0/8'),
  loopback: cidrs('127.0.0.0/8'),
  'private network': cidrs('10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'),
  'carrier-grade NAT': cidrs('100.64.0.0/10'),
  'link-local': cidrs('169.254.0.0/16'),
  multicast: cidrs('224.0.0.0/4'),
  broadcast: cidrs('255.255.255.255/32'),
  benchmarking: cidrs('198.18.0.0/15'),
  documentation: cidrs('192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24'),
  // IETF protocol assignments, the retired 6to4 relay anycast, and the never-allocated class E.
  reserved: cidrs('192.0.0.0/24', '192.88.99.0/24', '240.0.0.0/4'),
};

const IPV6_REFUSED: RangeTable = {
  unspecified: cidrs('::/128'),
  loopback: cidrs('::1/128'),
  // Unique local (fc00::/7), the retired site-local, and the NAT64 prefix RFC 8215 reserves for local use.
  'private network': cidrs('fc00::/7', 'fec0::/10', '64:ff9b:1::/48'),
  'link-local': cidrs('fe80::/10'),
  multicast: cidrs('ff00::/8'),
  // Tunnels to an IPv4 address hidden in the IPv6 one, where no range check can see it.
  Teredo: cidrs('2001::/32'),
  benchmarking: cidrs('2001:2::/48'),
  documentation: cidrs('2001:db8::/32', '3fff::/20'),
};

/* Ranges whose low 32 bits (or, for 6to4, bits 16..47) are an IPv4 address the packet ends up at. */
const IPV4_MAPPED = ipaddr.parseCIDR('::ffff:0:0/96');
const IPV4_TRANSLATED = ipaddr.parseCIDR('::ffff:0:0:0/96'); // RFC 6145 (SIIT)
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96'); // RFC 4291 §2.5.5.1, deprecated
const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96'); // RFC 6052
const SIX_TO_FOUR = ipaddr.parseCIDR('2002::/16'); // RFC 3056
const GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');

export interface AddressPolicyOptions {
  /** Lets a self-hosted receiver on loopback or the local network through; cloud metadata stays refused. */
  readonly allowPrivateNetworks: boolean;
}

/**
 * Decides whether a connection may go to `literal` (an IP address as DNS
 * returns it, or as written in a URL without brackets), and which address
 * it then goes to: an IPv4-mapped IPv6 address is connected as the IPv4
 * address it maps, so the address checked is the address dialled.
 */
export function checkAddress(literal: string, options: AddressPolicyOptions): AddressVerdict {
  /* Precondition: a canonical literal; ipaddr.js alone would also accept legacy forms like 0x7f.1 or 2130706433. */
  if (isIP(literal) === 0) return refuse('reserved');
  const ip = parseLiteral(literal);
  return ip.kind() === 'ipv4' ? checkIPv4(ip as ipaddr.IPv4, options) : checkIPv6(ip as ipaddr.IPv6, options);
}

/* ipaddr.js reads "::a.b.c.d" as IPv4-mapped ::ffff:a.b.c.d; RFC 4291 (and glibc's inet_ntop, which writes it) means IPv4-compatible. */
const COMPATIBLE_DOTTED = /^::((?:[0-9]{1,3}\.){3}[0-9]{1,3})$/;

function parseLiteral(literal: string): ipaddr.IPv4 | ipaddr.IPv6 {
  const dotted = COMPATIBLE_DOTTED.exec(literal);
  if (!dotted) return ipaddr.parse(literal);
  const [a, b, c, d] = ipaddr.IPv4.parse(dotted[1]).octets;
  return new ipaddr.IPv6([0, 0, 0, 0, 0, 0, (a << 8) | b, (c << 8) | d]);
}

function checkIPv4(ip: ipaddr.IPv4, options: AddressPolicyOptions): AddressVerdict {
  const metadata = match(ip, METADATA);
  if (metadata) return refuse(metadata);
  if (!options.allowPrivateNetworks) {
    const refusal = match(ip, IPV4_REFUSED);
    if (refusal) return refuse(refusal);
    if (ip.range() !== 'unicast') return refuse('reserved');
  }
  return { allowed: true, address: ip.toString(), family: 4 };
}

function checkIPv6(ip: ipaddr.IPv6, options: AddressPolicyOptions): AddressVerdict {
  const metadata = match(ip, METADATA);
  if (metadata) return refuse(metadata);

  /* :: and ::1 sit inside ::/96 but are not IPv4-compatible addresses; judge them as themselves. */
  const exact = match(ip, { unspecified: IPV6_REFUSED.unspecified, loopback: IPV6_REFUSED.loopback });
  if (exact && !options.allowPrivateNetworks) return refuse(exact);

  const embedded = embeddedIPv4(ip);
  if (embedded) {
    const inner = checkIPv4(embedded.ipv4, options);
    if (!inner.allowed) return inner;
    if (embedded.form === 'mapped') return inner;
    /* A compatible or SIIT-translated address is not routed on the Internet; only NAT64 and 6to4 carry traffic there. */
    if (embedded.form === 'unrouted' && !options.allowPrivateNetworks) return refuse('reserved');
    return { allowed: true, address: ip.toString(), family: 6 };
  }

  if (!options.allowPrivateNetworks) {
    const refusal = match(ip, IPV6_REFUSED);
    if (refusal) return refuse(refusal);
    if (!ip.match(GLOBAL_UNICAST) || ip.range() !== 'unicast') return refuse('reserved');
  }
  return { allowed: true, address: ip.toString(), family: 6 };
}

type EmbeddedForm = 'mapped' | 'routed' | 'unrouted';

function embeddedIPv4(ip: ipaddr.IPv6): { form: EmbeddedForm; ipv4: ipaddr.IPv4 } | undefined {
  const [, p1, p2, , , , p6, p7] = ip.parts;
  const fromParts = (high: number, low: number) => new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
  if (ip.match(IPV4_MAPPED)) return { form: 'mapped', ipv4: ip.toIPv4Address() };
  if (ip.match(NAT64_WELL_KNOWN)) return { form: 'routed', ipv4: fromParts(p6, p7) };
  if (ip.match(SIX_TO_FOUR)) return { form: 'routed', ipv4: fromParts(p1, p2) };
  if (ip.match(IPV4_TRANSLATED) || ip.match(IPV4_COMPATIBLE)) return { form: 'unrouted', ipv4: fromParts(p6, p7) };
  return undefined;
}

function match(ip: ipaddr.IPv4 | ipaddr.IPv6, table: RangeTable): AddressRefusal | undefined {
  const name = ipaddr.subnetMatch(ip, table as Parameters<typeof ipaddr.subnetMatch>[1], '');
  return name === '' ? undefined : (name as AddressRefusal);
}

function refuse(reason: AddressRefusal): AddressVerdict {
  return { allowed: false, reason };
}

import { BlockList, isIP } from 'node:net';

type Family = 'ipv4' | 'ipv6';

/** Ranges that are not the public internet, by what they are (IANA special-purpose registries). */
const ipv4Ranges: readonly (readonly [kind: string, network: string, prefix: number])[] = [
  ['unspecified', '0.0.0.0', 8],
  ['private', '10.0.0.0', 8],
  ['carrier-grade NAT', '100.64.0.0', 10],
  ['loopback', '127.0.0.0', 8],
  ['link-local', '169.254.0.0', 16],
  ['private', '172.16.0.0', 12],
  ['reserved', '192.0.0.0', 24],
  ['documentation', '192.0.2.0', 24],
  ['reserved', '192.88.99.0', 24],
  ['private', '192.168.0.0', 16],
  ['benchmarking', '198.18.0.0', 15],
  ['documentation', '198.51.100.0', 24],
  ['documentation', '203.0.113.0', 24],
  ['multicast', '224.0.0.0', 4],
  ['reserved', '240.0.0.0', 4],
];

const ipv6Ranges: readonly (readonly [kind: string, network: string, prefix: number])[] = [
  ['unspecified', '::', 128],
  ['loopback', '::1', 128],
  // IPv4-compatible addresses (deprecated); IPv4-mapped ones are checked as IPv4 by BlockList.
  ['reserved', '::', 96],
  ['reserved', '64:ff9b:1::', 48],
  ['reserved', '100::', 64],
  // IETF protocol assignments, Teredo (2001::/32) among them.
  ['reserved', '2001::', 23],
  ['documentation', '2001:db8::', 32],
  ['documentation', '3fff::', 20],
  ['unique local', 'fc00::', 7],
  ['link-local', 'fe80::', 10],
  ['site-local', 'fec0::', 10],
  ['multicast', 'ff00::', 8],
];

/** `10.0.0.0` → `a00:0`: the low 32 bits of an IPv6 address that embeds it. */
function embedded(ipv4: string): string {
  const [a = 0, b = 0, c = 0, d = 0] = ipv4.split('.').map(Number);
  return `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

const lists = new Map<string, BlockList>();
const listFor = (kind: string) => {
  let list = lists.get(kind);
  if (list === undefined) {
    list = new BlockList();
    lists.set(kind, list);
  }
  return list;
};
for (const [kind, network, prefix] of ipv4Ranges) {
  listFor(kind).addSubnet(network, prefix, 'ipv4');
  // The same ranges reached through NAT64 (64:ff9b::/96) or 6to4 (2002::/16), which embed them.
  listFor(kind).addSubnet(`64:ff9b::${embedded(network)}`, 96 + prefix, 'ipv6');
  listFor(kind).addSubnet(`2002:${embedded(network)}::`, 16 + prefix, 'ipv6');
}
for (const [kind, network, prefix] of ipv6Ranges) listFor(kind).addSubnet(network, prefix, 'ipv6');

/** An address without brackets or zone (`[fe80::1%eth0]` → `fe80::1`), and its family; undefined if it is none. */
export function parseAddress(value: string): { address: string; family: Family } | undefined {
  const address = value.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  const version = isIP(address);
  if (version === 0) return undefined;
  return { address, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * @internal What kind of non-public address `address` is (`loopback`, `private`, `link-local`,
 * …), or undefined for a public one. IPv4-mapped IPv6 (`::ffff:127.0.0.1`) counts as its IPv4
 * address, and so do the IPv4 addresses NAT64 and 6to4 prefixes embed.
 */
export function nonPublicKind(address: string): string | undefined {
  const parsed = parseAddress(address);
  if (parsed === undefined) return 'invalid';
  for (const [kind, list] of lists) if (list.check(parsed.address, parsed.family)) return kind;
  return undefined;
}

/** @internal A `BlockList` of CIDRs (`10.0.0.0/8`, `fd00::/8`) or single addresses; throws on a bad entry. */
export function networkList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const { address, family, prefix } = parseNetwork(entry);
    list.addSubnet(address, prefix, family);
  }
  return list;
}

/** @internal Parses `address/prefix` (or a bare address: the whole address); undefined-safe message on failure. */
export function parseNetwork(entry: string): { address: string; family: Family; prefix: number } {
  const [rawAddress = '', rawPrefix, extra] = entry.trim().split('/');
  const parsed = parseAddress(rawAddress);
  if (parsed === undefined || extra !== undefined)
    throw new Error(`${entry} is not an IP address or CIDR range`);
  const max = parsed.family === 'ipv4' ? 32 : 128;
  const prefix = rawPrefix === undefined ? max : /^\d{1,3}$/.test(rawPrefix) ? Number(rawPrefix) : -1;
  if (prefix < 0 || prefix > max) throw new Error(`${entry}: the prefix must be 0-${max}`);
  return { ...parsed, prefix };
}

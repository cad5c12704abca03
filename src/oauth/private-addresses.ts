import { BlockList, isIP } from 'node:net';

/**
 * Addresses a Client ID Metadata Document may never be fetched from (unless OAUTH_CIMD_ALLOW_PRIVATE_HOSTS): every
 * range of the IANA special-purpose registries that is not an ordinary public unicast host. node:net's BlockList (no
 * dependency; it applies the IPv4 ranges to IPv4-mapped IPv6 addresses too) rather than ipaddr.js, which is only a
 * transitive dependency here. Ranges that embed an IPv4 address in IPv6 by translation (NAT64, 6to4, Teredo,
 * IPv4-compatible) are refused whole: a gateway could turn them into any internal IPv4 address, and no metadata
 * document needs them.
 */
const IPV4: ReadonlyArray<readonly [string, number, string]> = [
  ['0.0.0.0', 8, '"this network"'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata at 169.254.169.254)'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay anycast'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 3, 'multicast, reserved (240/4) and broadcast'],
];

const IPV6: ReadonlyArray<readonly [string, number, string]> = [
  ['::', 96, 'unspecified, loopback and IPv4-compatible'],
  // No IPv4-mapped range (::ffff:0:0/96) here: BlockList checks IPv4 addresses against it too, so it would refuse every
  // IPv4 host. BlockList applies the IPv4 ranges above to mapped addresses itself (tested).
  ['64:ff9b::', 96, 'NAT64 well-known prefix'],
  ['64:ff9b:1::', 48, 'NAT64 local use'],
  ['100::', 64, 'discard-only'],
  ['2001::', 23, 'IETF protocol assignments (Teredo 2001::/32, benchmarking, ORCHID)'],
  ['2001:db8::', 32, 'documentation'],
  ['2002::', 16, '6to4'],
  ['3fff::', 20, 'documentation'],
  ['fc00::', 7, 'unique local'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local (deprecated)'],
  ['ff00::', 8, 'multicast'],
];

const BLOCKED = new BlockList();
for (const [net, bits] of IPV4) BLOCKED.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of IPV6) BLOCKED.addSubnet(net, bits, 'ipv6');

/** Whether an address may not be connected to by an open fetcher; anything that is not an IP address counts as such. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  return family === 0 || BLOCKED.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

import { isPrivateAddress } from './private-addresses.js';

describe('addresses a metadata document may not be fetched from', () => {
  it.each([
    ['"this network"', '0.1.2.3'],
    ['private 10/8', '10.20.30.40'],
    ['carrier-grade NAT', '100.64.0.1'],
    ['carrier-grade NAT, top', '100.127.255.254'],
    ['loopback', '127.0.0.1'],
    ['cloud metadata (link-local)', '169.254.169.254'],
    ['private 172.16/12', '172.31.255.1'],
    ['IETF protocol assignments', '192.0.0.170'],
    ['documentation', '192.0.2.1'],
    ['6to4 relay anycast', '192.88.99.1'],
    ['private 192.168/16', '192.168.1.1'],
    ['benchmarking', '198.19.0.1'],
    ['multicast', '224.0.0.251'],
    ['reserved 240/4', '240.0.0.1'],
    ['broadcast', '255.255.255.255'],
    ['unspecified v6', '::'],
    ['loopback v6', '::1'],
    ['IPv4-compatible loopback', '::127.0.0.1'],
    ['IPv4-mapped loopback', '::ffff:127.0.0.1'],
    ['IPv4-mapped, hex form', '::ffff:a9fe:a9fe'],
    ['IPv4-mapped private address', '::ffff:10.1.2.3'],
    ['NAT64 of cloud metadata', '64:ff9b::a9fe:a9fe'],
    ['NAT64 local use', '64:ff9b:1::a00:1'],
    ['discard-only', '100::1'],
    ['Teredo', '2001:0:4136:e378:8000:63bf:3fff:fdd2'],
    ['benchmarking v6', '2001:2::1'],
    ['documentation v6', '2001:db8::1'],
    ['6to4 of 127.0.0.1', '2002:7f00:1::1'],
    ['unique local', 'fd12:3456:789a::1'],
    ['link-local v6', 'fe80::1'],
    ['link-local v6 with a zone', 'fe80::1%eth0'],
    ['site-local v6', 'fec0::1'],
    ['multicast v6', 'ff02::1'],
    ['not an address', 'metadata.google.internal'],
  ])('refuses %s (%s)', (_what, address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });

  it.each([
    ['public v4', '8.8.8.8'],
    ['public v4 next to CGNAT', '100.128.0.1'],
    ['public v4 next to 192.0.0.0/24', '192.0.1.1'],
    ['public v4 next to benchmarking', '198.20.0.1'],
    ['public v4 below multicast', '223.255.255.254'],
    ['public v4, IPv4-mapped', '::ffff:8.8.8.8'],
    ['public v6', '2606:4700:4700::1111'],
    ['public v6 next to Teredo', '2001:4860:4860::8888'],
    ['public v6 next to 6to4', '2003::1'],
  ])('allows %s (%s)', (_what, address) => {
    expect(isPrivateAddress(address)).toBe(false);
  });
});

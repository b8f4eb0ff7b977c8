/**
 * The key a client address is counted under, wherever ringlet counts per client (the login
 * throttle, the per-address connection cap): one definition, so the two cannot disagree.
 */
import { isIPv4, isIPv6 } from 'node:net';

const IPV4_MAPPED_PREFIX = '::ffff:';

/**
 * The IPv4 address a dual-stack socket reports as `::ffff:a.b.c.d`, as plain `a.b.c.d`;
 * any other address unchanged. Trusted-proxy lists hold plain IPv4 addresses.
 */
export function withoutIPv4Mapping(address: string): string {
  return address.startsWith(IPV4_MAPPED_PREFIX) && isIPv4(address.slice(IPV4_MAPPED_PREFIX.length))
    ? address.slice(IPV4_MAPPED_PREFIX.length)
    : address;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a dotted IPv4 tail converted). */
function ipv6Groups(address: string): number[] {
  let text = address;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const zeros = rest === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((g) => Number.parseInt(g, 16));
}

const hex = (group: number) => group.toString(16);

/**
 * IPv4: the address itself. IPv6: its /64, written `2001:db8:1:2::/64` — one host usually
 * holds a whole /64 (SLAAC, RFC 4291 §2.5.1; providers delegate a /64 or more) and could
 * rotate through it to dodge a per-address counter. Two exceptions:
 *  - IPv4-mapped `::ffff:a.b.c.d` (what a socket listening on `::` reports for an IPv4
 *    client) is that IPv4 address: keyed by /64, every IPv4 client would share `0:0:0:0::/64`.
 *  - link-local `fe80::/10` is keyed by the whole address: every host on the link shares
 *    `fe80::/64`, so its /64 says nothing about which host it is (a LAN appliance reached as
 *    `http://[fe80::1%eth0]/` would otherwise count all its clients as one).
 * A zone index (`%eth0`) is dropped. Anything that is not an IP address is returned as given.
 */
export function addressKey(address: string): string {
  const zone = address.indexOf('%');
  const bare = zone === -1 ? address : address.slice(0, zone);
  if (isIPv4(bare)) return bare;
  if (!isIPv6(bare)) return address;
  const groups = ipv6Groups(bare);
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = groups;
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0xffff) {
    return `${g6 >> 8}.${g6 & 255}.${g7 >> 8}.${g7 & 255}`;
  }
  if ((g0 & 0xffc0) === 0xfe80) return groups.map(hex).join(':');
  return `${[g0, g1, g2, g3].map(hex).join(':')}::/64`;
}

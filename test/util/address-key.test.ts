import t from 'tap';
import { addressKey, withoutIPv4Mapping } from '../../src/util/address-key.js';

/**
 * One key per client for the login throttle and the per-address connection cap. The
 * machine running the suite may have a single IPv6 address, so the /64 grouping is checked
 * here, address by address; connection-limits.test.ts checks it on real sockets where it can.
 */
const CASES: Array<[string, string, string]> = [
  ['IPv4 as is', '192.168.1.20', '192.168.1.20'],
  ['IPv4 loopback', '127.0.0.2', '127.0.0.2'],
  ['IPv6: its /64', '2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
  ['IPv6: same /64, another interface id', '2001:db8:1:2:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
  ['IPv6: the next /64', '2001:db8:1:3::1', '2001:db8:1:3::/64'],
  ['IPv6: :: inside the prefix', '2001:db8::1', '2001:db8:0:0::/64'],
  ['IPv6: :: inside the interface id', '2001:db8:1:2::7', '2001:db8:1:2::/64'],
  ['IPv6: leading zeros and upper case', '2001:0DB8:0001:0002::1', '2001:db8:1:2::/64'],
  ['IPv6: ULA', 'fd00::2', 'fd00:0:0:0::/64'],
  ['IPv6 loopback', '::1', '0:0:0:0::/64'],
  ['IPv6 unspecified', '::', '0:0:0:0::/64'],
  ['IPv6: dotted IPv4 tail (NAT64) keeps its prefix', '64:ff9b::192.0.2.33', '64:ff9b:0:0::/64'],
  ['IPv6: zone index dropped', '2001:db8:1:2::1%eth0', '2001:db8:1:2::/64'],
  ['IPv4-mapped: the IPv4 address', '::ffff:192.168.1.20', '192.168.1.20'],
  ['IPv4-mapped, hex form', '::ffff:c0a8:114', '192.168.1.20'],
  ['IPv4-mapped, spelled out', '0:0:0:0:0:ffff:7f00:2', '127.0.0.2'],
  ['link-local: the whole address', 'fe80::fc:ff:fe00:1', 'fe80:0:0:0:fc:ff:fe00:1'],
  ['link-local: another host on the link', 'fe80::fc:ff:fe00:2%eth0', 'fe80:0:0:0:fc:ff:fe00:2'],
  ['link-local: fe80::/10 upper end', 'febf::1', 'febf:0:0:0:0:0:0:1'],
  ['not link-local: fec0::/10', 'fec0::1', 'fec0:0:0:0::/64'],
  ['not an address: as given', 'unknown', 'unknown'],
  ['not an address: colons', '1:2', '1:2'],
];

t.test('address keys: IPv4 as is, IPv6 by /64, mapped IPv4 as IPv4, link-local whole', (t) => {
  for (const [title, address, key] of CASES) t.equal(addressKey(address), key, `${title}: ${address}`);
  t.end();
});

t.test('one /64 is one key, whatever the 2^64 interface ids', (t) => {
  const keys = new Set<string>();
  for (let i = 0; i < 1000; i++) keys.add(addressKey(`2001:db8:aa:bb:${((i * 7919) & 0xffff).toString(16)}:${i.toString(16)}:1:${((i * 31) & 0xffff).toString(16)}`));
  t.same([...keys], ['2001:db8:aa:bb::/64']);
  t.end();
});

t.test('IPv4-mapped addresses lose the mapping; nothing else changes', (t) => {
  t.equal(withoutIPv4Mapping('::ffff:10.0.0.1'), '10.0.0.1');
  t.equal(withoutIPv4Mapping('10.0.0.1'), '10.0.0.1');
  t.equal(withoutIPv4Mapping('::ffff:abcd'), '::ffff:abcd', 'not a mapped IPv4 address');
  t.equal(withoutIPv4Mapping('2001:db8::1'), '2001:db8::1');
  t.end();
});

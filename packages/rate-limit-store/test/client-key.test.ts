/** Per-IP limit keys: IPv4 by address, IPv6 by its /64 in whatever textual form it arrives. */
import t from 'tap';
import { ipRateLimitKey } from '../src/index.js';

t.test('IPv4 and IPv4-mapped IPv6 count by the address', async (t) => {
  t.equal(ipRateLimitKey('203.0.113.7'), 'ip:203.0.113.7');
  t.equal(ipRateLimitKey('::ffff:203.0.113.7'), 'ip:203.0.113.7');
  t.not(ipRateLimitKey('203.0.113.7'), ipRateLimitKey('203.0.113.8'));
});

t.test('every address of one IPv6 /64 shares a key, whatever its spelling', async (t) => {
  const key = ipRateLimitKey('2001:db8:abcd:12::1');
  for (const ip of ['2001:db8:abcd:12:ffff:ffff:ffff:ffff', '2001:0DB8:ABCD:0012:0:0:0:2', '2001:db8:abcd:12:1::5']) t.equal(ipRateLimitKey(ip), key, ip);
  t.equal(key, 'ip6:2001:db8:abcd:12::/64');
});

t.test('neighbouring /64s and link-local zones are told apart correctly', async (t) => {
  t.not(ipRateLimitKey('2001:db8:abcd:12::1'), ipRateLimitKey('2001:db8:abcd:13::1'));
  t.equal(ipRateLimitKey('fe80::1%eth0'), ipRateLimitKey('fe80::2'));
  t.equal(ipRateLimitKey('::1'), 'ip6:0:0:0:0::/64');
});

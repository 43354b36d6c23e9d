/**
 * The key a per-IP limit counts under. An IPv6 client usually holds a whole /64 (RFC 6177 suggests
 * /56 or /48 per site), so counting by the full address would give one attacker 2^64 fresh
 * counters; IPv4 addresses, and IPv4 mapped into IPv6, count by the address itself.
 */
import { isIPv6 } from 'node:net';

/** `ip:<address>` for IPv4, `ip6:<first four hextets>::/64` for IPv6. */
export function ipRateLimitKey(ip: string): string {
  if (!isIPv6(ip)) return `ip:${ip}`;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return `ip:${mapped[1]}`;
  return `ip6:${ipv6Prefix64(ip)}::/64`;
}

/** The first 64 bits of an IPv6 address as four lower-case hextets without leading zeros. */
function ipv6Prefix64(ip: string): string {
  // WHATWG URL serialises any textual form (embedded IPv4, leading zeros, upper case) to the one
  // compressed form, so only `::` is left to expand. Zone ids only occur on link-local addresses.
  const address = new URL(`http://[${ip.split('%')[0]!}]/`).hostname.slice(1, -1);
  const [head = '', tail = ''] = address.split('::');
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::') ? [...headParts, ...Array<string>(8 - headParts.length - tailParts.length).fill('0'), ...tailParts] : headParts;
  return groups
    .slice(0, 4)
    .map((group) => parseInt(group, 16).toString(16))
    .join(':');
}

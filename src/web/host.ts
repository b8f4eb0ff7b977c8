/**
 * Host header allow-list: the DNS-rebinding defence for LAN devices. A page on
 * attacker.example whose name is re-pointed at 192.168.1.1 reaches the router with
 * `Host: attacker.example`; only names the device answers to are served.
 */

import { isIP } from 'node:net';

interface HostParts {
  /** Lowercased name or address; IPv6 in brackets; trailing dot removed. */
  host: string;
  /** Port digits, or '' when absent. */
  port: string;
}

const hostPortRegExp = /^(\[[0-9a-f:.]+\]|[a-z0-9._~-]+)(?::(\d{1,5}))?$/;

function split(value: string): HostParts | undefined {
  let v = value.trim().toLowerCase();
  // A bare IPv6 address in an allow-list entry ("::1") is the bracketed form without brackets.
  if (!v.startsWith('[') && v.indexOf(':') !== v.lastIndexOf(':')) v = `[${v}]`;
  const m = hostPortRegExp.exec(v);
  if (m === null) return undefined;
  let host = m[1] ?? '';
  if (host.endsWith('.') && host.length > 1) host = host.slice(0, -1);
  const port = m[2] === undefined ? '' : String(Number(m[2]));
  return { host, port };
}

/**
 * Whether `hostHeader` names a host in `allowList`. Case-insensitive; a trailing dot is
 * ignored. An entry with a port (`router.lan:8080`, `[::1]:8443`) matches only that port;
 * an entry without one (`192.168.1.1`, `[::1]`, `::1`) matches the host on any port. An
 * empty list matches nothing (the caller decides what an empty configuration means).
 * A missing or malformed Host never matches.
 *
 * @example
 * hostAllowed('Router.LAN:8080', ['router.lan']) // true
 * hostAllowed('evil.example', ['router.lan']) // false
 */
export function hostAllowed(hostHeader: string | undefined, allowList: readonly string[]): boolean {
  if (typeof hostHeader !== 'string' || hostHeader.length === 0 || hostHeader.length > 300 || hostHeader.trim() !== hostHeader) return false;
  // The header holds host[:port] only; a bare IPv6 without brackets is not a valid Host.
  if (!hostHeader.startsWith('[') && hostHeader.indexOf(':') !== hostHeader.lastIndexOf(':')) return false;
  const given = split(hostHeader);
  if (given === undefined) return false;
  for (const entry of allowList) {
    const allowed = split(entry);
    if (allowed === undefined || allowed.host !== given.host) continue;
    if (allowed.port === '' || allowed.port === given.port) return true;
  }
  return false;
}

// A dotted-quad IPv4 or a bracketed IPv6 literal, or `localhost`; then at most a port.
// Anchored at both ends: nothing may precede or follow (userinfo, a path, a second port).
const defaultHostRegExp = /^(?:\[([0-9A-Fa-f:.]{2,45})\]|([0-9]{1,3}(?:\.[0-9]{1,3}){3})|(localhost))(?::([0-9]{1,5}))?$/i;

/**
 * The Hosts always served, with or without an allow-list: a bare IP literal (IPv4 dotted
 * quad, IPv6 in brackets, no zone id) or `localhost`, with an optional port up to 65535 —
 * and nothing else: no userinfo, no path, no trailing dot, no other characters. DNS
 * rebinding needs a DNS name, so names must be listed explicitly (`hostAllowed`).
 *
 * @example
 * defaultHostAllowed('192.168.1.1:8080') // true
 * defaultHostAllowed('[::1]@evil.example') // false
 */
export function defaultHostAllowed(hostHeader: string): boolean {
  const m = defaultHostRegExp.exec(hostHeader);
  if (m === null) return false;
  if (m[4] !== undefined && Number(m[4]) > 65535) return false;
  if (m[1] !== undefined) return isIP(m[1]) === 6;
  if (m[2] !== undefined) return isIP(m[2]) === 4;
  return true;
}

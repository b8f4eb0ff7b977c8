/**
 * Request targets (RFC 9112 §3.2). ringlet routes and proxies origin-form only
 * (`/path?query`). A client may send absolute-form (`http://host/path`); RFC 9112 §3.2.2
 * asks a server to accept it and to take the authority from it, so routing, the Host
 * allow-list and the upstream would otherwise disagree about which host and path a request
 * is for. It is made origin-form here, before anything else looks at the request, and only
 * when its authority is exactly the Host header (which a conforming client sends anyway,
 * RFC 9112 §3.2); any other authority, userinfo, authority-form and asterisk-form are refused.
 */

const absoluteFormRegExp = /^https?:\/\/([^/?#]*)([/?][^#]*)?$/i;

/**
 * The origin-form of `target`, or undefined when it must be refused (400).
 *
 * @example
 * originFormTarget('/status?x=1', '192.168.1.1') // '/status?x=1'
 * originFormTarget('http://192.168.1.1/status', '192.168.1.1') // '/status'
 * originFormTarget('http://evil.example/status', '192.168.1.1') // undefined
 */
export function originFormTarget(target: string, host: string | undefined): string | undefined {
  if (target.startsWith('/')) return target;
  const m = absoluteFormRegExp.exec(target);
  if (m === null || host === undefined) return undefined;
  const authority = m[1] ?? '';
  // Userinfo is never sent to a server (RFC 9110 §4.2.4); an authority other than the Host
  // would make the allow-list judge one host and the upstream serve another.
  if (authority.includes('@') || authority.length === 0 || authority.toLowerCase() !== host.toLowerCase()) return undefined;
  const rest = m[2] ?? '';
  return rest.startsWith('/') ? rest : `/${rest}`;
}

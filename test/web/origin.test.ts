import t from 'tap';
import { hostAllowed, isSameOrigin, MAX_NEXT_PATH_CHARS, safeNextPath } from '../../src/web/index.js';

type H = Record<string, string>;
const req = (headers: H, tls = false) => ({ headers, socket: tls ? { encrypted: true } : {} });

t.test('isSameOrigin', (t) => {
  const allowed = new Set(['https://app.example']);
  const cases: Array<[string, H, boolean, { tls?: boolean; publicOrigin?: string }?]> = [
    ['fetch metadata same-origin', { host: 'router.lan', 'sec-fetch-site': 'same-origin' }, true],
    ['fetch metadata none (user typed)', { host: 'router.lan', 'sec-fetch-site': 'none' }, true],
    ['fetch metadata cross-site', { host: 'router.lan', 'sec-fetch-site': 'cross-site', origin: 'http://router.lan' }, false],
    ['fetch metadata same-site', { host: 'router.lan', 'sec-fetch-site': 'same-site', origin: 'http://other.lan' }, false],
    ['cross-site from an allowed origin', { host: 'router.lan', 'sec-fetch-site': 'cross-site', origin: 'https://app.example' }, true],
    ['cross-site without Origin', { host: 'router.lan', 'sec-fetch-site': 'cross-site' }, false],
    ['Origin equals scheme + Host', { host: 'router.lan', origin: 'http://router.lan' }, true],
    ['Origin with default port, Host without', { host: 'router.lan', origin: 'http://router.lan:80' }, true],
    ['Host with default port, Origin without', { host: 'router.lan:80', origin: 'http://router.lan' }, true],
    ['Origin case differs', { host: 'Router.LAN:8080', origin: 'http://router.lan:8080' }, true],
    ['different port', { host: 'router.lan:8080', origin: 'http://router.lan:8081' }, false],
    ['different host', { host: 'router.lan', origin: 'http://evil.example' }, false],
    ['suffix trick', { host: 'router.lan', origin: 'http://router.lan.evil.example' }, false],
    ['userinfo trick', { host: 'router.lan', origin: 'http://router.lan@evil.example' }, false],
    ['Origin null', { host: 'router.lan', origin: 'null' }, false],
    ['Origin null even if allowed', { host: 'router.lan', origin: 'null' }, false],
    ['Origin garbage', { host: 'router.lan', origin: 'not a url' }, false],
    ['Origin non-http scheme', { host: 'router.lan', origin: 'file://router.lan' }, false],
    ['allowed origin', { host: 'router.lan', origin: 'https://app.example' }, true],
    ['allowed origin, default port spelled out', { host: 'router.lan', origin: 'https://app.example:443' }, true],
    ['https Origin on a plain socket (behind a TLS proxy)', { host: 'router.lan', origin: 'https://router.lan' }, true],
    ['http Origin on a TLS socket', { host: 'router.lan', origin: 'http://router.lan' }, false, { tls: true }],
    ['https Origin on a TLS socket', { host: 'router.lan', origin: 'https://router.lan' }, true, { tls: true }],
    ['public origin behind a proxy', { host: 'internal:3000', origin: 'https://router.example' }, true, { publicOrigin: 'https://router.example' }],
    ['Referer fallback, same origin', { host: 'router.lan', referer: 'http://router.lan/login?next=/' }, true],
    ['Referer fallback, other origin', { host: 'router.lan', referer: 'http://evil.example/router.lan' }, false],
    ['Referer garbage', { host: 'router.lan', referer: '/relative' }, false],
    ['neither Origin nor Referer', { host: 'router.lan' }, false],
    ['bad Host header', { host: 'router.lan/evil', origin: 'http://router.lan/evil' }, false],
    ['missing Host header', { origin: 'http://router.lan' }, false],
    ['unknown Sec-Fetch-Site falls back to Origin', { host: 'router.lan', 'sec-fetch-site': 'weird', origin: 'http://router.lan' }, true],
  ];
  for (const [name, headers, expected, opts] of cases) {
    t.equal(isSameOrigin(req(headers, opts?.tls), { allowedOrigins: allowed, publicOrigin: opts?.publicOrigin }), expected, name);
  }
  t.equal(isSameOrigin({ headers: { host: 'x', origin: 'null' } }, { allowedOrigins: new Set(['null']) }), false, '"null" in the allow-list is still refused');
  t.end();
});

t.test('hostAllowed', (t) => {
  const list = ['192.168.1.1', 'router.lan:8080', '[::1]', 'fe80::1', 'Admin.Example'];
  const cases: Array<[string | undefined, boolean]> = [
    ['192.168.1.1', true],
    ['192.168.1.1:80', true],
    ['192.168.1.1:8443', true],
    ['192.168.1.10', false],
    ['192.168.1.1.evil.example', false],
    ['router.lan:8080', true],
    ['ROUTER.LAN:8080', true],
    ['router.lan', false],
    ['router.lan:8081', false],
    ['router.lan.:8080', true],
    ['[::1]', true],
    ['[::1]:8080', true],
    ['[::2]', false],
    ['::1', false],
    ['[fe80::1]:443', true],
    ['admin.example', true],
    ['evil.example', false],
    ['', false],
    [undefined, false],
    ['router.lan:8080@evil', false],
    ['router.lan:8080/x', false],
    ['router.lan:8080 ', false],
    [' router.lan:8080', false],
    ['router.lan:08080', true],
  ];
  for (const [host, expected] of cases) t.equal(hostAllowed(host, list), expected, JSON.stringify(host) ?? 'undefined');
  t.equal(hostAllowed('localhost', []), false, 'empty list matches nothing');
  t.equal(hostAllowed('x'.repeat(400), ['x'.repeat(400)]), false, 'over-long Host refused');
  t.end();
});

t.test('safeNextPath: open-redirect payloads', (t) => {
  const kept = ['/', '/sessions', '/sessions?x=1&y=2#frag', '/?next=//evil', '/@evil.example', '/a:b', `/${'a'.repeat(MAX_NEXT_PATH_CHARS - 1)}`];
  for (const path of kept) t.equal(safeNextPath(path), path, `kept ${path.slice(0, 40)}`);
  // Dot segments are resolved (plain and percent-encoded), as the browser would resolve them.
  const normalised: Array<[string, string]> = [
    ['/a/b/../c', '/a/c'],
    ['/a/./b', '/a/b'],
    ['/a/%2e%2e/b', '/b'],
    ['/a/%2E/b?x=../y', '/a/b?x=../y'],
    ['/../../etc', '/etc'],
  ];
  for (const [given, expected] of normalised) t.equal(safeNextPath(given), expected, `normalised ${given}`);
  const refused: unknown[] = [
    // Encoded slashes and backslashes: a server that decodes them before redirecting turns them into another origin.
    '/%2F%2Fevil.example',
    '/%2f/evil.example',
    '/%5Cevil.example',
    '/%5c%5cevil.example',
    // Dot segments that resolve to a scheme-relative path.
    '/.//evil.example',
    '/a/..//evil.example',
    '/a/../..//evil.example',
    '/%2e%2e//evil.example',
    '/./\\evil.example',
    '//evil.example',
    '///evil.example',
    '/\\evil.example',
    '\\\\evil.example',
    '/x\\y',
    'https://evil.example',
    'http:evil.example',
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    'data:text/html,<script>',
    'evil.example',
    '',
    ' /sessions',
    '/\t/evil.example',
    '/\n/evil.example',
    '/sessions\r\nSet-Cookie: x=1',
    '/\u0000',
    '/\u007f',
    '/ü',
    '/\u2028',
    '/ /evil',
    `/${'a'.repeat(MAX_NEXT_PATH_CHARS)}`,
    undefined,
    null,
    42,
    ['/sessions'],
    { toString: () => '/sessions' },
  ];
  // Names are ASCII-escaped: a raw U+2028 in a test name breaks the TAP stream.
  const label = (v: unknown) => (JSON.stringify(v) ?? String(v)).slice(0, 40).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  for (const payload of refused) t.equal(safeNextPath(payload), '/', `refused ${label(payload)}`);
  t.end();
});

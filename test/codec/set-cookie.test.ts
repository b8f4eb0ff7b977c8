import t from 'tap';
import { getCookieValues, parseCookieHeader, serializeSetCookie } from '../../src/codec/index.js';
import type { SetCookieOptions } from '../../src/codec/index.js';
import { SeededRandom } from '../support/seeded-random.js';

const hostSession: SetCookieOptions = { httpOnly: true, secure: true, sameSite: 'Strict', path: '/' };

t.test('valid Set-Cookie serializations', async (t) => {
  const valid: [string, string, SetCookieOptions, string][] = [
    ['sid', 'abc', {}, 'sid=abc'],
    ['sid', '', {}, 'sid='],
    ['sid', '"quoted"', {}, 'sid="quoted"'],
    ['sid', 'a=b', {}, 'sid=a=b'],
    ['__Host-ringlet', 'tok', hostSession, '__Host-ringlet=tok; Path=/; HttpOnly; Secure; SameSite=Strict'],
    ['__Secure-x', 'v', { secure: true, path: '/app', domain: 'example.com' }, '__Secure-x=v; Path=/app; Domain=example.com; Secure'],
    ['__host-lower', 'v', { secure: true, path: '/' }, '__host-lower=v; Path=/; Secure'],
    ['s', 'v', { sameSite: 'Lax' }, 's=v; SameSite=Lax'],
    ['s', 'v', { sameSite: 'None', secure: true }, 's=v; Secure; SameSite=None'],
    ['s', 'v', { secure: true, partitioned: true }, 's=v; Secure; Partitioned'],
    ['s', 'v', { maxAgeSeconds: 3600 }, 's=v; Max-Age=3600'],
    ['s', '', { maxAge: 0, expires: new Date(0) }, 's=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT'],
    ['s', 'v', { maxAgeSeconds: -1 }, 's=v; Max-Age=-1'],
    ['s', 'v', { maxAgeSeconds: 10 ** 9 }, 's=v; Max-Age=34560000'],
    ['s', 'v', { domain: '.sub.example.org' }, 's=v; Domain=.sub.example.org'],
    ['s', 'v', { httpOnly: false, secure: false }, 's=v'],
    ["!#$%&'*+-.^_`|~09AZaz", 'v', {}, "!#$%&'*+-.^_`|~09AZaz=v"],
  ];
  for (const [name, value, options, expected] of valid) {
    t.equal(serializeSetCookie(name, value, options), expected, expected);
  }
});

t.test('invalid Set-Cookie serializations throw naming the attribute', async (t) => {
  const invalid: [string, string, SetCookieOptions, string, string][] = [
    ['', 'v', {}, 'name', 'empty name'],
    ['a=b', 'v', {}, 'name', '= in name'],
    ['a;b', 'v', {}, 'name', '; in name'],
    ['a b', 'v', {}, 'name', 'space in name'],
    ['a\u0001', 'v', {}, 'name', 'CTL in name'],
    ['a\u007f', 'v', {}, 'name', 'DEL in name'],
    ['é', 'v', {}, 'name', 'non-ASCII name'],
    ['s', 'a;b', {}, 'value', '; in value'],
    ['s', 'a b', {}, 'value', 'space in value'],
    ['s', 'a\u0000', {}, 'value', 'NUL in value'],
    ['s', 'a\r\nSet-Cookie: x=y', {}, 'value', 'header injection'],
    ['s', 'a,b', {}, 'value', 'comma in value'],
    ['s', 'a\\b', {}, 'value', 'backslash in value'],
    ['s', '"abc', {}, 'value', 'unbalanced DQUOTE'],
    ['s', 'a"b', {}, 'value', 'inner DQUOTE'],
    ['s', 'é', {}, 'value', 'non-ASCII value'],
    ['s', 'v', { path: '/a;b' }, 'path', '; in path'],
    ['s', 'v', { path: '/a\nb' }, 'path', 'CTL in path'],
    ['s', 'v', { path: 'relative' }, 'path', 'relative path'],
    ['s', 'v', { domain: 'exa;mple.com' }, 'domain', '; in domain'],
    ['s', 'v', { domain: 'a b.com' }, 'domain', 'space in domain'],
    ['s', 'v', { domain: 'a=b.com' }, 'domain', '= in domain'],
    ['s', 'v', { domain: 'a\u0000.com' }, 'domain', 'CTL in domain'],
    ['s', 'v', { domain: '-bad.com' }, 'domain', 'leading hyphen label'],
    ['s', 'v', { sameSite: 'strict' as never }, 'sameSite', 'lower-case SameSite'],
    ['s', 'v', { sameSite: 'None' }, 'secure', 'SameSite=None without Secure'],
    ['s', 'v', { partitioned: true }, 'secure', 'Partitioned without Secure'],
    ['s', 'v', { maxAgeSeconds: 1.5 }, 'maxAgeSeconds', 'fractional Max-Age'],
    ['s', 'v', { maxAgeSeconds: Number.NaN }, 'maxAgeSeconds', 'NaN Max-Age'],
    ['s', 'v', { maxAgeSeconds: 1, maxAge: 2 }, 'maxAgeSeconds', 'both spellings, different'],
    ['s', 'v', { expires: new Date(Number.NaN) }, 'expires', 'invalid Date'],
    ['s', 'v', { expires: 'tomorrow' as never }, 'expires', 'not a Date'],
    ['__Secure-x', 'v', {}, 'secure', '__Secure- without Secure'],
    ['__Host-x', 'v', { path: '/' }, 'secure', '__Host- without Secure'],
    ['__Host-x', 'v', { secure: true }, 'path', '__Host- without Path'],
    ['__Host-x', 'v', { secure: true, path: '/app' }, 'path', '__Host- with Path=/app'],
    ['__Host-x', 'v', { secure: true, path: '/', domain: 'example.com' }, 'domain', '__Host- with Domain'],
    ['__HOST-x', 'v', { path: '/' }, 'secure', 'upper-case __HOST- prefix without Secure'],
    ['s', 'v', { maxBytes: 0 }, 'maxBytes', 'maxBytes 0'],
  ];
  for (const [name, value, options, field, why] of invalid) {
    t.throws(() => serializeSetCookie(name, value, options), { name: 'ConfigError', field }, why);
  }
});

t.test('errors never contain the value', async (t) => {
  try {
    serializeSetCookie('s', 'secret-token;x', {});
    t.fail('should throw');
  } catch (error) {
    t.notMatch((error as Error).message, 'secret-token');
  }
});

t.test('over 4096 bytes is ERR_COOKIE_TOO_LARGE', async (t) => {
  t.ok(serializeSetCookie('s', 'x'.repeat(4094), {}), 'exactly 4096 is fine');
  t.throws(() => serializeSetCookie('s', 'x'.repeat(4095), {}), { name: 'RingletError', code: 'ERR_COOKIE_TOO_LARGE' });
  t.throws(() => serializeSetCookie('__Host-s', 'x'.repeat(4070), hostSession), { code: 'ERR_COOKIE_TOO_LARGE' }, 'attributes count');
  t.ok(serializeSetCookie('s', 'x'.repeat(5000), { maxBytes: 8192 }), 'raised limit');
});

t.test('seeded round trips: serialize then parse gives the value back', async (t) => {
  // cookie-octets without "%" (the parser percent-decodes) and without DQUOTE (kept verbatim anyway).
  const octets: string[] = [];
  for (let c = 0x21; c <= 0x7e; c++) {
    const ch = String.fromCharCode(c);
    if (!'"%,;\\'.includes(ch)) octets.push(ch);
  }
  const tokenChars = "!#$&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".split('');
  const random = new SeededRandom(20_240_601);
  for (let i = 0; i < 500; i++) {
    const name = Array.from({ length: 1 + random.int(20) }, () => random.pick(tokenChars)).join('');
    const value = Array.from({ length: random.int(200) }, () => random.pick(octets)).join('');
    const setCookie = serializeSetCookie(name, value, { path: '/', httpOnly: true });
    // A browser sends back only "name=value".
    const pair = setCookie.slice(0, setCookie.indexOf('; Path=/'));
    const header = `other=1; ${pair}; ${name}=second`;
    if (!t.equal(parseCookieHeader(header)[name], name === 'other' ? '1' : value, `case ${i}`)) break;
    if (name !== 'other' && !t.equal(getCookieValues(header, name)[0], value)) break;
  }
});

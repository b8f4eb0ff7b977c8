import t from 'tap';
import { defaultHostAllowed, originFormTarget } from '../../src/web/index.js';

t.test('defaultHostAllowed: a bare IP literal or localhost, with an optional port, and nothing else', (t) => {
  const cases: Array<[string, boolean]> = [
    ['127.0.0.1', true],
    ['127.0.0.1:8080', true],
    ['192.168.1.1:65535', true],
    ['[::1]', true],
    ['[::1]:8443', true],
    ['[fe80::1]', true],
    ['[::ffff:192.168.1.1]:80', true],
    ['localhost', true],
    ['LocalHost:8080', true],
    // userinfo, paths and junk around a literal (issue 12: `[::1]@evil.example` passed)
    ['[::1]@evil.example', false],
    ['127.0.0.1@evil.example', false],
    ['[::1]evil.example', false],
    ['[::1]:80@evil.example', false],
    ['[::1]:80:81', false],
    ['127.0.0.1/evil', false],
    ['127.0.0.1:80/evil', false],
    ['127.0.0.1:', false],
    ['127.0.0.1:99999', false],
    ['127.0.0.1:123456', false],
    ['[::1', false],
    ['::1', false],
    ['[not-ip]', false],
    ['[fe80::1%25eth0]', false],
    ['127.1', false],
    ['127.0.0.1.', false],
    ['0x7f.0.0.1', false],
    ['localhost.evil.example', false],
    ['evil.localhost', false],
    ['localhost.', false],
    ['evil.example', false],
    ['', false],
    [' 127.0.0.1', false],
    ['127.0.0.1 ', false],
  ];
  for (const [host, expected] of cases) t.equal(defaultHostAllowed(host), expected, JSON.stringify(host));
  t.end();
});

t.test('originFormTarget: origin-form kept, absolute-form for this Host made origin-form, anything else refused', (t) => {
  const host = '192.168.1.1:8080';
  const cases: Array<[string, string | undefined]> = [
    ['/', '/'],
    ['/cgi-bin/luci?x=1', '/cgi-bin/luci?x=1'],
    ['/a/../b', '/a/../b'],
    ['//double/slash', '//double/slash'],
    [`http://${host}/status?x=1`, '/status?x=1'],
    [`HTTP://${host}/status`, '/status'],
    [`https://${host}/status`, '/status'],
    [`http://${host}`, '/'],
    [`http://${host}?q=1`, '/?q=1'],
    [`http://${host.toUpperCase()}/x`, '/x'],
    // another authority than the Host header, userinfo, other schemes, other forms
    ['http://evil.example/status', undefined],
    [`http://admin@${host}/status`, undefined],
    [`http://${host}@evil.example/status`, undefined],
    [`http://${host}:81/status`, undefined],
    [`ftp://${host}/status`, undefined],
    [`http:/${host}/status`, undefined],
    ['*', undefined],
    [host, undefined],
    ['', undefined],
    ['status', undefined],
  ];
  for (const [target, expected] of cases) t.equal(originFormTarget(target, host), expected, JSON.stringify(target));
  t.equal(originFormTarget('http://x/y', undefined), undefined, 'absolute-form without a Host');
  t.end();
});

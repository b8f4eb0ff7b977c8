import t from 'tap';
import type { IncomingHttpHeaders } from 'node:http';
import {
  clientResponseHeaders, forwardedFacts, upstreamRequestHeaders, withoutOwnCookies, withoutOwnSetCookies, type BodyFraming, type UpstreamRequestFacts,
} from '../../src/server/upstream-headers.js';

function facts(framing: BodyFraming = { kind: 'none' }, over: Partial<UpstreamRequestFacts> = {}): UpstreamRequestFacts {
  return {
    user: 'vic', role: 'viewer', userHeader: 'Remote-User', groupsHeader: 'Remote-Groups', host: '192.168.1.1',
    forwardedFor: '10.0.0.5', forwardedProto: 'http', forwardedHost: '192.168.1.1', cookie: 'theme=dark',
    authorizationConsumed: false, methodIsRead: false, framing, ...over,
  };
}

t.test('client headers that never reach the upstream, in any case and with _ or -', (t) => {
  const dropped = [
    // identity, well-known and configured
    'remote-user', 'Remote_User', 'REMOTE-GROUPS', 'remote-email', 'remote_name', 'x-remote-user', 'X_Remote_User', 'x-forwarded-user',
    'x_forwarded_email', 'x-forwarded-groups', 'x-forwarded-preferred-username', 'x-auth-request-user', 'X_AUTH_REQUEST_EMAIL',
    'x-webauth-user', 'x-real-ip', 'x_real_ip', 'forwarded', 'x-client-ip', 'x-original-url', 'x-rewrite-url', 'x-original-uri', 'x-ringlet-no-touch',
    'x-forwarded-for', 'X_Forwarded_For', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-prefix',
    // framing and hop-by-hop
    'content-length', 'content_length', 'transfer-encoding', 'transfer_encoding', 'TRANSFER_ENCODING', 'te', 'trailer', 'upgrade', 'keep-alive',
    'keep_alive', 'proxy-connection', 'proxy-authorization', 'proxy_authorization', 'expect', 'http2-settings', 'connection',
  ];
  const headers: IncomingHttpHeaders = { accept: 'text/html', 'x-custom': '1', 'user-agent': 'ua' };
  for (const name of dropped) headers[name.toLowerCase()] = 'spoofed';
  const out = upstreamRequestHeaders(headers, facts());
  for (const name of dropped) {
    const value = out[name.toLowerCase()];
    t.ok(value === undefined || value !== 'spoofed', `${name} dropped or replaced`);
  }
  t.equal(out['remote-user'] ?? out['Remote-User'], 'vic');
  t.equal(out['Remote-Groups'], 'viewer');
  t.equal(out['x-forwarded-for'], '10.0.0.5');
  t.same([out['accept'], out['x-custom'], out['user-agent']], ['text/html', '1', 'ua'], 'end-to-end headers pass');
  t.end();
});

t.test('configured identity header names are dropped in every spelling too', (t) => {
  const out = upstreamRequestHeaders({ 'x-user': 'root', 'x_user': 'root', 'x-role': 'admin', 'x_role': 'admin' }, facts({ kind: 'none' }, { userHeader: 'X-User', groupsHeader: 'X-Role' }));
  t.same(Object.entries(out).filter(([, v]) => v === 'root' || v === 'admin'), [], 'no client value for a configured identity header');
  t.equal(out['X-User'], 'vic');
  t.equal(out['X-Role'], 'viewer');
  t.end();
});

t.test('Connection cannot remove a framing header or a header ringlet sets', (t) => {
  const client: IncomingHttpHeaders = {
    connection: 'Content-Length, Transfer-Encoding, Host, Remote-User, Remote_Groups, X-Forwarded-For, Cookie, X-Custom',
    'x-custom': 'gone', 'content-length': '5', cookie: 'theme=dark',
  };
  const withLength = upstreamRequestHeaders(client, facts({ kind: 'length', bytes: 5 }));
  t.equal(withLength['content-length'], '5', 'ringlet\'s Content-Length stays');
  t.equal(withLength['host'], '192.168.1.1');
  t.equal(withLength['Remote-User'], 'vic');
  t.equal(withLength['Remote-Groups'], 'viewer');
  t.equal(withLength['x-forwarded-for'], '10.0.0.5');
  t.equal(withLength['cookie'], 'theme=dark');
  t.equal(withLength['x-custom'], undefined, 'a client header listed in Connection is hop-by-hop and removed');
  t.equal(withLength['connection'], undefined, 'the client\'s Connection header itself never passes');
  const chunked = upstreamRequestHeaders({ ...client, 'transfer-encoding': 'gzip, chunked' }, facts({ kind: 'chunked' }));
  t.equal(chunked['transfer-encoding'], 'chunked', 'chunked is what ringlet writes, not the client\'s value');
  t.equal(chunked['content-length'], undefined);
  const none = upstreamRequestHeaders({ 'content-length': '0', 'transfer-encoding': 'chunked' }, facts({ kind: 'none' }));
  t.same([none['content-length'], none['transfer-encoding']], [undefined, undefined], 'no body: no framing header at all');
  t.end();
});

t.test('Authorization: dropped when it carried ringlet\'s credential, kept when it is the upstream\'s own', (t) => {
  t.equal(upstreamRequestHeaders({ authorization: 'Bearer eyJ.x.y' }, facts({ kind: 'none' }, { authorizationConsumed: true }))['authorization'], undefined);
  t.equal(upstreamRequestHeaders({ authorization: 'Basic dXNlcjpwYXNz' }, facts())['authorization'], 'Basic dXNlcjpwYXNz');
  t.end();
});

t.test('ringlet\'s cookies are stripped from Cookie and from the upstream\'s Set-Cookie, in every variant', (t) => {
  const own = ['ringlet', 'ringlet-login'];
  t.equal(withoutOwnCookies('ringlet=abc; theme=dark; __Host-ringlet=x; RINGLET=y; ringlet-login=n; ringletx=keep', own), 'theme=dark; ringletx=keep');
  t.equal(withoutOwnCookies('ringlet=abc', own), undefined);
  t.equal(withoutOwnCookies(undefined, own), undefined);
  const lines = ['ringlet=forged; Path=/', '__Host-ringlet=forged; Path=/; Secure', 'RINGLET=forged', ' ringlet =forged', '__Secure-ringlet-login=x', 'ui=1; Path=/', 'ringlet2=ok'];
  t.same(withoutOwnSetCookies(lines, own), ['ui=1; Path=/', 'ringlet2=ok']);
  const secureOwn = ['__Host-ringlet', '__Host-ringlet-login'];
  t.same(withoutOwnSetCookies(['ringlet=forged', 'ui=1'], secureOwn), ['ui=1'], 'the unprefixed name is ringlet\'s too when served over TLS');
  t.end();
});

t.test('response headers: hop-by-hop and Connection-listed removed, no-store, ringlet\'s cookie first', (t) => {
  const out = clientResponseHeaders({
    connection: 'keep-alive, x-internal', 'keep-alive': 'timeout=5', 'transfer-encoding': 'chunked', 'x-internal': 'secret', upgrade: 'h2c',
    'content-length': '12', 'content-type': 'text/html', 'cache-control': 'public, max-age=3600', 'set-cookie': ['ringlet=forged', 'ui=1'],
  }, ['ringlet', 'ringlet-login'], ['ringlet=reissued; HttpOnly']);
  t.same(out, { 'content-length': '12', 'content-type': 'text/html', 'cache-control': 'no-store', 'set-cookie': ['ringlet=reissued; HttpOnly', 'ui=1'] });
  t.end();
});

t.test('X-Forwarded-*: what ringlet saw, appending only behind a trusted proxy', (t) => {
  const spoof = { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' };
  t.same(forwardedFacts(spoof, '10.0.0.5', false, 'http', '192.168.1.1'), { forwardedFor: '10.0.0.5', forwardedProto: 'http', forwardedHost: '192.168.1.1' }, 'untrusted peer: its claims are ignored');
  t.same(forwardedFacts({ 'x-forwarded-for': '203.0.113.7, 10.0.0.9', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'router.example' }, '127.0.0.1', true, 'http', '127.0.0.1:8080'),
    { forwardedFor: '203.0.113.7, 10.0.0.9, 127.0.0.1', forwardedProto: 'https', forwardedHost: 'router.example' }, 'trusted proxy: chain kept, proxy appended');
  t.same(forwardedFacts({ 'x-forwarded-for': 'evil, 203.0.113.7', 'x-forwarded-proto': 'gopher', 'x-forwarded-host': 'a b' }, '127.0.0.1', true, 'https', 'h'),
    { forwardedFor: '203.0.113.7, 127.0.0.1', forwardedProto: 'https', forwardedHost: 'h' }, 'trusted proxy: junk entries dropped');
  t.equal(forwardedFacts({ 'x-forwarded-for': '1.1.1.1,'.repeat(200) }, '127.0.0.1', true, 'http', 'h').forwardedFor, '127.0.0.1', 'an over-long chain is not believed');
  t.end();
});

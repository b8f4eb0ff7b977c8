import t from 'tap';
import { errorCodeForStatus, PAGE_CSP, sendEmpty, sendError, sendHtml, sendJson, sendText, wantsHtml } from '../../src/web/index.js';
import { sendRequest, setCookieLines } from '../support/http.js';
import { listen } from './serve.js';

t.test('wantsHtml', (t) => {
  const cases: Array<[string | undefined, boolean]> = [
    [undefined, false],
    ['', false],
    ['*/*', false],
    ['application/json', false],
    ['application/json, text/html', true],
    ['text/html', true],
    ['TEXT/HTML', true],
    ['text/*', true],
    ['text/html;q=0', false],
    ['text/html;q=0.5, application/json', false],
    ['text/html;q=0.5, application/json;q=0.5', true],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8', true],
    ['text/html;q=0.9, */*', false], // JSON (via */*) preferred
    ['text/html, */*', true],
    ['text/html;q=0.9, application/*', false],
    ['application/json;q=0.1, text/*;q=0.2', true],
    ['text/html;level=1;q=0.7, application/json;q=0.6', true],
    ['text/html;q=abc', false],
    ['text/html;q=1.5', false],
    ['text/html ; q=0.3 , application/json ; q=0.2', true],
    ['text/*;q=0, text/html', true],
    ['text/html;q=0, text/*', false],
    [',,,;;;===', false],
    [`${'x/y,'.repeat(5000)}text/html`, false],
  ];
  for (const [accept, expected] of cases) t.equal(wantsHtml(accept), expected, JSON.stringify(accept)?.slice(0, 80) ?? 'undefined');
  t.end();
});

t.test('errorCodeForStatus', (t) => {
  const cases: Array<[number, string]> = [
    [400, 'bad_request'], [401, 'unauthorized'], [403, 'forbidden'], [404, 'not_found'],
    [405, 'method_not_allowed'], [408, 'request_timeout'], [413, 'payload_too_large'],
    [415, 'unsupported_media_type'], [421, 'misdirected_request'], [429, 'too_many_requests'],
    [431, 'request_header_fields_too_large'], [500, 'internal_error'], [502, 'bad_gateway'],
    [503, 'service_unavailable'], [418, 'client_error'], [599, 'server_error'],
    [200, 'internal_error'], [302, 'internal_error'], [4.5, 'internal_error'], [Number.NaN, 'internal_error'],
  ];
  for (const [status, code] of cases) t.equal(errorCodeForStatus(status), code, String(status));
  t.end();
});

t.test('responses over a real socket', async (t) => {
  const { port, close } = await listen((req, res) => {
    const accept = req.headers.accept;
    switch (req.url) {
      case '/json': return sendJson(res, 201, { a: 'ü', n: 1 }, { 'X-Extra': 'yes', 'Cache-Control': 'public' });
      case '/html': return sendHtml(res, 200, '<p>héllo</p>');
      case '/text': return sendText(res, 200, 'x 1\n', 'text/plain; version=0.0.4; charset=utf-8');
      case '/error': return sendError(req, res, 429, 'slow down <now>', { 'Retry-After': '30' });
      case '/error-accept-string': return sendError(accept, res, 404, 'nope');
      case '/error-bad-status': return sendError(req, res, 302, 'oops');
      case '/cookies':
        res.setHeader('Set-Cookie', 'a=1');
        return sendJson(res, 200, {}, { 'Set-Cookie': ['b=2', 'c=3'] });
      case '/empty-200': return sendEmpty(res, 200, { 'Remote-User': 'ann', 'Cache-Control': 'public' });
      case '/empty-204': return sendEmpty(res, 204, { Allow: 'GET, POST' });
      case '/twice':
        sendJson(res, 200, { first: true });
        return sendJson(res, 500, { second: true });
      default: return sendError(req, res, 404, 'not found');
    }
  });
  t.teardown(close);

  const json = await sendRequest(port, 'GET', '/json');
  t.equal(json.status, 201);
  t.same(json.json, { a: 'ü', n: 1 });
  t.equal(json.headers['content-type'], 'application/json; charset=utf-8');
  t.equal(json.headers['content-length'], String(Buffer.byteLength(json.text)), 'length in bytes, not characters');
  t.equal(json.headers['cache-control'], 'no-store', 'no-store cannot be overridden');
  t.equal(json.headers['x-content-type-options'], 'nosniff');
  t.equal(json.headers['referrer-policy'], 'same-origin', 'not no-referrer, which makes form POSTs send Origin: null');
  t.equal(json.headers['x-extra'], 'yes');
  t.match(json.headers['content-security-policy'], /default-src 'none'/);

  const html = await sendRequest(port, 'GET', '/html');
  t.equal(html.headers['content-type'], 'text/html; charset=utf-8');
  t.equal(html.headers['content-security-policy'], PAGE_CSP);
  t.equal(html.headers['x-frame-options'], 'DENY');
  t.equal(html.text, '<p>héllo</p>');

  const text = await sendRequest(port, 'GET', '/text');
  t.equal(text.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  t.equal(text.headers['cache-control'], 'no-store');

  const apiError = await sendRequest(port, 'GET', '/error', { headers: { accept: '*/*' } });
  t.equal(apiError.status, 429);
  t.same(apiError.json, { error: 'too_many_requests', message: 'slow down <now>' });
  t.equal(apiError.headers['retry-after'], '30');

  const pageError = await sendRequest(port, 'GET', '/error', { headers: { accept: 'text/html,*/*;q=0.8' } });
  t.equal(pageError.status, 429);
  t.equal(pageError.headers['content-type'], 'text/html; charset=utf-8');
  t.match(pageError.text, /<h1>429 Too Many Requests<\/h1>/);
  t.match(pageError.text, /slow down &lt;now&gt;/);
  t.equal(pageError.headers['retry-after'], '30');

  const byString = await sendRequest(port, 'GET', '/error-accept-string', { headers: { accept: 'text/html' } });
  t.equal(byString.status, 404);
  t.match(byString.text, /<h1>404 Not Found<\/h1>/);

  const bad = await sendRequest(port, 'GET', '/error-bad-status');
  t.equal(bad.status, 500, 'an error is never sent as a redirect');
  t.equal(bad.json.error, 'internal_error');

  const cookies = await sendRequest(port, 'GET', '/cookies');
  t.same(setCookieLines(cookies), ['a=1', 'b=2', 'c=3'], 'Set-Cookie appended, not replaced');

  const twice = await sendRequest(port, 'GET', '/twice');
  t.same(twice.json, { first: true }, 'a second send after the end is ignored');

  const head = await sendRequest(port, 'HEAD', '/json');
  t.equal(head.text, '', 'HEAD: no body');
  t.equal(head.headers['content-length'], json.headers['content-length']);

  // Bodiless answers (forward-auth's 200, OPTIONS and preflight 204s): no-store, not overridden.
  const empty200 = await sendRequest(port, 'GET', '/empty-200');
  t.equal(empty200.status, 200);
  t.equal(empty200.headers['cache-control'], 'no-store', '200: no-store, not overridden');
  t.equal(empty200.headers['remote-user'], 'ann');
  t.equal(empty200.headers['content-length'], '0');
  t.equal(empty200.text, '');
  const empty204 = await sendRequest(port, 'OPTIONS', '/empty-204');
  t.equal(empty204.status, 204);
  t.equal(empty204.headers['cache-control'], 'no-store', '204: no-store');
  t.equal(empty204.headers.allow, 'GET, POST');
  t.equal(empty204.headers['content-length'], undefined, '204: no Content-Length (RFC 9110 §8.6)');
});

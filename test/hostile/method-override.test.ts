/**
 * A read must stay a read. The route-policy table lets a viewer (`ui:read`) send GET and
 * HEAD to the upstream and nothing else; `ui:write` is what other methods need. Many web
 * frameworks take the method from a header instead of the request line
 * (`X-HTTP-Method-Override` in Slim and Google's APIs, `X-HTTP-Method` in OData/ASP.NET,
 * `X-Method-Override`; uhttpd even hands the first to CGI scripts as a variable of its
 * own), so a viewer's `GET` carrying `X-HTTP-Method-Override: DELETE` would be a DELETE
 * there. On a read, those headers never reach the upstream; a caller holding `ui:write` may
 * still use them (it may send the method itself).
 */
import t from 'tap';
import { assertNoSecrets, cookieValue, proxyWithViewer, startRecordingServer } from './client.js';

const PASSWORD = 'method override passphrase';
const VIEWER_PASSWORD = `viewer ${PASSWORD}`;

/** The override headers, in the spellings a CGI gateway reads as the same variable. */
const OVERRIDES = ['X-HTTP-Method-Override', 'x_http_method_override', 'X-HTTP-Method', 'X.HTTP.Method', 'X-Method-Override'];

t.test('a viewer\'s GET or HEAD cannot name another method to the upstream', async (t) => {
  const { url, seen } = await startRecordingServer(t, (req) => {
    const overrides: string[] = [];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      if (/method/i.test(req.rawHeaders[i] as string)) overrides.push(`${(req.rawHeaders[i] as string).toLowerCase()}: ${req.rawHeaders[i + 1]}`);
    }
    return { method: req.method ?? '', overrides };
  });

  for (const mode of ['ram', 'cookie'] as const) {
    const { s, admin, viewer } = await proxyWithViewer(mode, url, PASSWORD, VIEWER_PASSWORD);

    const refused = await s.request('DELETE', '/config/wifi', { headers: { cookie: viewer, origin: s.origin } });
    t.equal(refused.status, 403, `${mode}: the viewer may not DELETE (ui:write)`);

    for (const method of ['GET', 'HEAD']) {
      for (const name of OVERRIDES) {
        const before = seen.length;
        const reply = await s.request(method, '/config/wifi', { headers: { cookie: viewer, [name]: 'DELETE' } });
        t.equal(reply.status, 200, `${mode}: ${method} with ${name}: served as a read`);
        t.same(seen[before], { method, overrides: [] }, `${mode}: ${method} with ${name}: the upstream sees a plain ${method}`);
      }
    }

    // Whoever may write may still say how: the header reaches the upstream on a write.
    const before = seen.length;
    const post = await s.request('POST', '/config/wifi', { headers: { cookie: admin.cookie, origin: s.origin, 'X-HTTP-Method-Override': 'DELETE' } });
    t.equal(post.status, 200, `${mode}: the admin's POST is served`);
    t.same(seen[before], { method: 'POST', overrides: ['x-http-method-override: DELETE'] }, `${mode}: a write keeps its override`);

    assertNoSecrets(t, s, [PASSWORD, VIEWER_PASSWORD, cookieValue(viewer), cookieValue(admin.cookie)]);
    await s.close();
  }
});

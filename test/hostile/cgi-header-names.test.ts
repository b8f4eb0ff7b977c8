/**
 * Identity headers spelled the way a CGI gateway reads them. lighttpd (mod_cgi, FastCGI,
 * SCGI: LuCI and PHP on routers) turns every request header into an environment variable
 * `HTTP_<NAME>`, upper-casing letters and mapping *every* other character to `_`
 * (http_cgi.c, `http_cgi_encode_varname`), so `Remote.User`, `Remote~User`, `Remote+User`
 * and `Remote-User` all become `HTTP_REMOTE_USER`. HTTP allows all of them in a field name
 * (RFC 9110 §5.1 tchar), and node:http passes them on. A viewer who sends `Remote.Groups:
 * admin` must not reach such an upstream as an admin, whatever order the gateway keeps.
 *
 * The upstream below records each request's header lines as such a gateway would name them.
 */
import t from 'tap';
import type { IncomingMessage } from 'node:http';
import { assertNoSecrets, cookieValue, proxyWithViewer, startRecordingServer } from './client.js';

const PASSWORD = 'cgi header names passphrase';
const VIEWER_PASSWORD = `viewer ${PASSWORD}`;
const SPOOFED = 'admin-spoofed';

/** lighttpd's `http_cgi_encode_varname` for a request header. */
function cgiVariable(name: string): string {
  return `HTTP_${[...name].map((c) => (/[a-z]/i.test(c) ? c.toUpperCase() : /[0-9]/.test(c) ? c : '_')).join('')}`;
}

interface Seen {
  /** CGI variable → every value, in the order the header lines arrived. */
  env: Map<string, string[]>;
}

function record(req: IncomingMessage): Seen {
  const env = new Map<string, string[]>();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = cgiVariable(req.rawHeaders[i] as string);
    env.set(name, [...(env.get(name) ?? []), req.rawHeaders[i + 1] as string]);
  }
  return { env };
}

/** Every separator HTTP allows in a field name besides `-` (tchar), each standing in for `-`. */
const SEPARATORS = ['_', '.', '~', '!', '#', '$', '%', '&', '\'', '*', '+', '^', '`', '|'];
/** Identity and address headers ringlet owns, as the upstream's gateway names them. */
const OWNED = ['Remote-User', 'Remote-Groups', 'Remote-Email', 'X-Forwarded-For', 'X-Forwarded-Host', 'X-Forwarded-Proto', 'X-Forwarded-User', 'X-Real-IP', 'X-Auth-Request-User'];

t.test('identity headers in a CGI gateway\'s spellings never reach the upstream', async (t) => {
  const { url, seen } = await startRecordingServer(t, record);

  for (const mode of ['ram', 'cookie'] as const) {
    const { s, admin, viewer } = await proxyWithViewer(mode, url, PASSWORD, VIEWER_PASSWORD);

    for (const separator of SEPARATORS) {
      const headers: Record<string, string> = { cookie: viewer };
      for (const name of OWNED) headers[name.replace(/-/g, separator)] = SPOOFED;
      const before = seen.length;
      const reply = await s.request('GET', `/status/${encodeURIComponent(separator)}`, { headers });
      t.equal(reply.status, 200, `${mode}, '${separator}': the viewer is served`);
      const got = seen[before];
      if (got === undefined) {
        t.fail(`${mode}, '${separator}': the upstream saw no request`);
        continue;
      }
      t.same(got.env.get('HTTP_REMOTE_USER'), ['vic'], `${mode}, '${separator}': HTTP_REMOTE_USER is only the viewer`);
      t.same(got.env.get('HTTP_REMOTE_GROUPS'), ['viewer'], `${mode}, '${separator}': HTTP_REMOTE_GROUPS is only viewer`);
      t.same(got.env.get('HTTP_X_FORWARDED_FOR'), ['127.0.0.1'], `${mode}, '${separator}': HTTP_X_FORWARDED_FOR is only the peer`);
      const spoofed = [...got.env].filter(([, values]) => values.includes(SPOOFED)).map(([name]) => name);
      t.same(spoofed, [], `${mode}, '${separator}': no spoofed value under any CGI name`);
    }
    assertNoSecrets(t, s, [PASSWORD, VIEWER_PASSWORD, cookieValue(viewer), cookieValue(admin.cookie)]);
    await s.close();
  }
});

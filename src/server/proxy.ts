/**
 * Reverse proxy for devices whose web server has no auth_request (OpenWrt uhttpd,
 * lighttpd): every path ringlet does not own goes to the upstream admin UI for signed-in
 * users. Bodies stream both ways (never buffered); the client's copy of ringlet's cookie
 * and any identity headers it sent are removed, ringlet's identity headers are added.
 */
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Duplex } from 'node:stream';
import { getCookieValues } from '../codec/index.js';
import { sendError, sendHtml, wantsHtml, renderErrorPage } from '../web/index.js';
import { resolveRequest } from './credentials.js';
import { sessionOf } from './guards.js';
import { clientAddressOf } from './forwarded.js';
import type { AppDeps, RequestContext } from './context.js';

/** RFC 9110 §7.6.1 hop-by-hop headers, never forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authenticate', 'proxy-authorization']);
/** Identity headers a client might forge; removed whatever the configured names are. */
const SPOOFABLE = ['remote-user', 'remote-groups', 'remote-email', 'remote-name', 'x-remote-user', 'x-forwarded-user', 'x-forwarded-groups', 'x-forwarded-email', 'x-auth-request-user', 'x-auth-request-groups', 'x-auth-request-email', 'x-ringlet-no-touch'];

export interface UpstreamProxy {
  handle(ctx: RequestContext): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Cuts every tunnelled (upgraded) connection: node:http no longer tracks them, so shutdown must. */
  closeTunnels(): void;
}

/** The Cookie header without ringlet's own cookies (the upstream must never see the session). */
export function stripOwnCookies(header: string | undefined, own: readonly string[]): string | undefined {
  if (header === undefined) return undefined;
  const kept = header.split(';').map((p) => p.trim()).filter((p) => {
    const eq = p.indexOf('=');
    const name = (eq === -1 ? p : p.slice(0, eq)).trim();
    return p.length > 0 && !own.includes(name);
  });
  return kept.length > 0 ? kept.join('; ') : undefined;
}

function forwardHeaders(req: IncomingMessage, deps: AppDeps, user: string, role: string, clientAddress: string): OutgoingHttpHeaders {
  const names = deps.options.identityHeaders;
  const remove = new Set([...SPOOFABLE, names.user.toLowerCase(), names.groups.toLowerCase()]);
  const connectionTokens = String(req.headers.connection ?? '').toLowerCase().split(',').map((s) => s.trim());
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || remove.has(name) || connectionTokens.includes(name) || name === 'cookie' || name.startsWith('x-forwarded-')) continue;
    out[name] = value;
  }
  const cookie = stripOwnCookies(req.headers.cookie, [deps.cookies.session, deps.cookies.loginNonce]);
  if (cookie !== undefined) out['cookie'] = cookie;
  out[names.user] = user;
  out[names.groups] = role;
  out['x-forwarded-for'] = clientAddress;
  out['x-forwarded-proto'] = deps.cookies.secure ? 'https' : 'http';
  if (req.headers.host !== undefined) out['x-forwarded-host'] = req.headers.host;
  return out;
}

function badGateway(ctx: RequestContext, deps: AppDeps): void {
  deps.metrics.inc('upstream_errors_total');
  if (ctx.res.headersSent) {
    ctx.res.destroy();
    return;
  }
  if (wantsHtml(ctx.req.headers.accept)) sendHtml(ctx.res, 502, renderErrorPage(502, 'The device\'s admin interface is not answering. Your session is fine; try again shortly.'));
  else sendError(ctx.req, ctx.res, 502, 'upstream not answering');
}

export function createUpstreamProxy(deps: AppDeps, upstream: URL): UpstreamProxy {
  const secure = upstream.protocol === 'https:';
  const port = Number(upstream.port) || (secure ? 443 : 80);
  const basePath = upstream.pathname.replace(/\/$/, '');
  const send = secure ? httpsRequest : httpRequest;

  function handle(ctx: RequestContext): void {
    // The gate (route-policy.ts, route `upstream`) has admitted this caller.
    const session = sessionOf(ctx);
    const upstreamReq = send({
      host: upstream.hostname,
      port,
      method: ctx.req.method,
      path: basePath + (ctx.req.url ?? '/'),
      headers: forwardHeaders(ctx.req, deps, session.user, session.role, ctx.clientAddress),
      timeout: deps.profile.requestTimeoutMs,
    }, (upstreamRes) => {
      const headers: OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(upstreamRes.headers)) {
        if (value === undefined || HOP_BY_HOP.has(name)) continue;
        headers[name] = value;
      }
      // Authenticated responses are never stored (DESIGN): many device UIs send no caching
      // headers, and Chromium then restores their pages from the back/forward cache after
      // sign-out when the user presses Back (seen in test/browser/logout.test.ts).
      headers['cache-control'] = 'no-store';
      // The upstream may not overwrite ringlet's cookies.
      const setCookie = upstreamRes.headers['set-cookie']?.filter((c) => !getCookieValues(c.split(';')[0] ?? '', deps.cookies.session).length);
      const own = ctx.res.getHeader('set-cookie');
      headers['set-cookie'] = [...(own === undefined ? [] : Array.isArray(own) ? own : [String(own)]), ...(setCookie ?? [])];
      if ((headers['set-cookie'] as string[]).length === 0) delete headers['set-cookie'];
      ctx.res.writeHead(upstreamRes.statusCode ?? 502, headers);
      upstreamRes.pipe(ctx.res);
      upstreamRes.on('error', () => ctx.res.destroy());
    });
    upstreamReq.on('timeout', () => upstreamReq.destroy(new Error('upstream timeout')));
    upstreamReq.on('error', (err) => {
      deps.log.warn('upstream_error', { error: (err as NodeJS.ErrnoException).code ?? err.message });
      badGateway(ctx, deps);
    });
    ctx.req.on('aborted', () => upstreamReq.destroy());
    ctx.req.pipe(upstreamReq);
  }

  const tunnels = new Set<Duplex>();

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const resolution = resolveRequest(req, deps.sessions, deps.cookies.session, true);
    const user = resolution === undefined ? undefined : deps.users.current().get(resolution.session.user);
    if (resolution === undefined || user === undefined || user.mustChangePassword || user.role !== resolution.session.role) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', () => socket.destroy());
      return;
    }
    tunnels.add(socket);
    socket.on('close', () => tunnels.delete(socket));
    const clientAddress = clientAddressOf(req.socket.remoteAddress, req.headers['x-forwarded-for'], deps.options.trustedProxies);
    const headers = forwardHeaders(req, deps, resolution.session.user, resolution.session.role, clientAddress);
    headers['connection'] = 'Upgrade';
    headers['upgrade'] = req.headers.upgrade ?? 'websocket';
    const lines = [`${req.method ?? 'GET'} ${basePath}${req.url ?? '/'} HTTP/1.1`];
    for (const [name, value] of Object.entries(headers)) {
      for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${String(v)}`);
    }
    const target: Socket = secure ? tlsConnect({ host: upstream.hostname, port, servername: upstream.hostname }) : netConnect(port, upstream.hostname);
    target.setTimeout(deps.profile.requestTimeoutMs, () => target.destroy());
    target.on('connect', () => target.setTimeout(0));
    target.on('error', () => {
      if (socket.writable) socket.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
    });
    target.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) target.write(head);
    target.pipe(socket);
    socket.pipe(target);
    socket.on('close', () => target.destroy());
    target.on('close', () => socket.destroy());
  }

  return {
    handle,
    upgrade,
    closeTunnels: () => {
      for (const socket of tunnels) socket.destroy();
    },
  };
}

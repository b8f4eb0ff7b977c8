/**
 * Reverse proxy for devices whose web server has no auth_request (OpenWrt uhttpd,
 * lighttpd): every path ringlet does not own goes to the upstream admin UI for signed-in
 * users. The upstream trusts the identity headers completely, so ringlet owns every byte
 * it sends there:
 *
 * - **One upstream request per client request, framed by ringlet.** node:http parses the
 *   client's request strictly (CL+TE together, duplicate Content-Length, obs-fold, bare CR
 *   and any Transfer-Encoding but a final `chunked` are refused with 400 before a route
 *   runs); ringlet then writes the upstream request from scratch: Content-Length it took
 *   from the parsed request, or chunked encoding it writes itself, or no body at all. No
 *   client framing header is copied (upstream-headers.ts), and `Connection` cannot remove
 *   one that ringlet sets.
 * - **No body on GET, HEAD, OPTIONS, DELETE or TRACE** (400, connection closed): servers
 *   disagree on whether such a body exists, which is exactly what desynchronises a shared
 *   connection.
 * - **Anomalies close both sides.** A client that goes away, times out or breaks its framing
 *   mid-body destroys the upstream request (its socket is never reused); an upstream whose
 *   answer does not parse, comes twice, or sends bytes while idle in the pool loses its
 *   socket, and the client's connection is closed after the 502 or cut mid-response.
 * - **Requests on one client connection are proxied one at a time**, in order: node:http
 *   hands pipelined requests over all at once, and each would take its own upstream socket.
 * - **WebSocket tunnels** are spliced only after the upstream's `101` with `Upgrade:
 *   websocket`; any other answer is relayed and both connections closed. They are tracked
 *   per session (tunnels.ts) and closed when the session ends.
 *
 * Who may reach the upstream is not decided here: the gate (gate.ts) applies the upstream
 * route's policies (route-policy.ts) to requests and WebSocket handshakes before this
 * module sees them.
 */
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { renderErrorPage, sendError, sendHtml, wantsHtml } from '../web/index.js';
import type { SessionEnd } from '../session/session-end.js';
import type { Session } from '../session/types.js';
import { bearerToken, credentialOf, resolveCredential, resolveRequest } from './credentials.js';
import { fromTrustedProxy } from './forwarded.js';
import { sessionOf } from './guards.js';
import { TunnelRegistry, type Tunnel } from './tunnels.js';
import { clientResponseHeaders, forwardedFacts, upstreamRequestHeaders, withoutOwnCookies, type BodyFraming } from './upstream-headers.js';
import type { AppDeps, RequestContext } from './context.js';

/**
 * Idle keep-alive sockets to the upstream are closed after this: shorter than the 5 s
 * keep-alive timeout of node:http and lighttpd, so ringlet, not the upstream, closes an
 * idle socket and a request is never written onto one the upstream is closing.
 */
export const UPSTREAM_IDLE_SOCKET_MS = 4_000;

/** Methods that have no request body (RFC 9110 §9.3): a body on them is refused. */
const BODILESS_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE', 'TRACE']);

/** The only protocol tunnelled (RFC 6455). h2c in particular never: it would carry new requests past ringlet. */
export const TUNNELLED_PROTOCOL = 'websocket';

export interface UpstreamProxy {
  /** Answers a request ringlet does not route itself. */
  handle(ctx: RequestContext): void;
  /**
   * Opens a WebSocket tunnel for a handshake the gate admitted (`createUpgradeHandler`);
   * answers on `ctx.res` when it cannot.
   */
  tunnel(ctx: RequestContext, session: Session, client: Duplex, head: Buffer): void;
  readonly tunnels: TunnelRegistry;
  /** Closes every tunnel and pooled upstream socket (shutdown). */
  close(): void;
}

/** How the client framed its body, as node:http parsed it; 'refused' for a body on a bodiless method. */
export function requestFraming(req: IncomingMessage): BodyFraming | 'refused' {
  let framing: BodyFraming;
  if (req.headers['transfer-encoding'] !== undefined) framing = { kind: 'chunked' };
  else if (req.headers['content-length'] !== undefined) {
    // node:http accepted it: one value, digits only.
    const bytes = Number(req.headers['content-length']);
    framing = bytes > 0 ? { kind: 'length', bytes } : { kind: 'none' };
  } else framing = { kind: 'none' };
  if (framing.kind !== 'none' && BODILESS_METHODS.has(req.method ?? '')) return 'refused';
  // A method with a body but none sent still gets an explicit `Content-Length: 0`.
  if (framing.kind === 'none' && !BODILESS_METHODS.has(req.method ?? '')) return { kind: 'length', bytes: 0 };
  return framing;
}

function normalisePeer(address: string | undefined): string {
  const a = address ?? 'unknown';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

function setCookieLines(value: number | string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [String(value)];
}

/**
 * A pooled socket that receives bytes while idle has an upstream that broke HTTP framing:
 * those bytes would become the answer to the next client's request. Destroy it instead.
 * node:http drops such bytes silently, and also destroys a socket on which a second
 * response arrives in the same read.
 */
function onIdleData(this: Duplex): void {
  this.destroy();
}

function guardIdleSockets(agent: HttpAgent): HttpAgent {
  const name = agent.getName.bind(agent);
  agent.getName = (options) => `${name(options)}:${String((options as Record<string, unknown> | undefined)?.[POOL_KEY] ?? '')}`;
  const keep = agent.keepSocketAlive.bind(agent) as unknown as (socket: Duplex) => boolean;
  const reuse = agent.reuseSocket.bind(agent);
  (agent as unknown as { keepSocketAlive: (socket: Duplex) => boolean }).keepSocketAlive = (socket) => {
    if (socket.readableLength > 0 || !keep(socket)) return false;
    socket.on('data', onIdleData);
    return true;
  };
  agent.reuseSocket = (socket, request) => {
    socket.off('data', onIdleData);
    reuse(socket, request);
  };
  return agent;
}

/**
 * Upstream connections are pooled per user (and role): a connection is never shared by two
 * identities. HTTP/1.1 cannot tell a stray response that arrives just after a connection
 * was reused from the answer to the next request (nginx and HAProxy have the same window);
 * with one pool per user, whatever an upstream or an attacker manages to desynchronise can
 * only ever reach that same user.
 */
const POOL_KEY = 'ringletPool';

function poolOf(session: Session): string {
  return `${session.role}:${encodeURIComponent(session.user)}`;
}

/**
 * With one pool per user, idle sockets of one user must not make another wait: when the
 * total is reached, the oldest idle socket of another pool is closed, and node:http gives
 * the freed place to the waiting request.
 */
function makeRoom(agent: HttpAgent, pool: string, maxTotal: number): void {
  // node:http's Agent counts its sockets (busy and idle) in `totalSocketCount` (since Node
  // 14.5, not in @types/node); counting them here would allocate on every request.
  const counted = (agent as unknown as { totalSocketCount?: unknown }).totalSocketCount;
  let total = typeof counted === 'number' ? counted : 0;
  if (typeof counted !== 'number') {
    for (const list of Object.values(agent.sockets)) total += list?.length ?? 0;
    for (const list of Object.values(agent.freeSockets)) total += list?.length ?? 0;
  }
  if (total < maxTotal) return;
  for (const [name, list] of Object.entries(agent.freeSockets)) {
    if (!name.endsWith(`:${pool}`) && list !== undefined && list.length > 0) {
      list[0]?.destroy();
      return;
    }
  }
}

/** Pending proxied requests per client connection, each started when the previous one closed. */
const turns = new WeakMap<object, Array<() => void>>();

/**
 * Runs `start` once every earlier proxied request of the same client connection has
 * finished; `waited` says whether it had to wait for them.
 */
function inTurn(ctx: RequestContext, start: (waited: boolean) => void): void {
  const connection = ctx.req.socket;
  let started = false;
  let finished = false;
  let waited = false;
  const entry = (): void => {
    started = true;
    if (ctx.res.destroyed || ctx.res.writableEnded) return finish();
    start(waited);
  };
  const finish = (): void => {
    if (finished) return;
    finished = true;
    const queue = turns.get(connection);
    const next = queue?.shift();
    if (next !== undefined) next();
    else turns.delete(connection);
  };
  ctx.res.once('close', () => {
    if (started) return finish();
    // Gone before its turn (the connection closed): leave the queue without starting.
    finished = true;
    const queue = turns.get(connection);
    const i = queue?.indexOf(entry) ?? -1;
    if (i !== -1) queue?.splice(i, 1);
  });
  const queue = turns.get(connection);
  if (queue === undefined) {
    turns.set(connection, []);
    entry();
  } else {
    waited = true;
    queue.push(entry);
  }
}

export function createUpstreamProxy(deps: AppDeps, upstream: URL): UpstreamProxy {
  const secure = upstream.protocol === 'https:';
  const port = Number(upstream.port) || (secure ? 443 : 80);
  const basePath = upstream.pathname.replace(/\/$/, '');
  const send = secure ? httpsRequest : httpRequest;
  const ownCookies = [deps.cookies.session, deps.cookies.loginNonce];
  const { profile } = deps;
  // One pool, bounded: at most one socket per client connection (requests on a connection
  // are proxied in turn), idle ones closed before the upstream would close them.
  const agentOptions = {
    keepAlive: true,
    maxSockets: profile.maxConnections,
    maxTotalSockets: profile.maxConnections,
    maxFreeSockets: profile.maxConnections,
    timeout: UPSTREAM_IDLE_SOCKET_MS,
    scheduling: 'lifo' as const,
  };
  const agent = guardIdleSockets(secure ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions));

  const tunnels = new TunnelRegistry(
    { maxTunnels: profile.maxTunnels, maxTunnelsPerSession: profile.maxTunnelsPerSession, sweepIntervalMs: profile.tunnelSweepIntervalMs },
    (tunnel: Tunnel) => {
      // Re-resolved without touching: a tunnel is not activity that keeps a session alive.
      const resolved = resolveCredential(tunnel.credential, deps.sessions, false);
      if (resolved === undefined || resolved.session.ref !== tunnel.ref || resolved.session.user !== tunnel.user) return false;
      const user = deps.users.current().get(tunnel.user);
      return user !== undefined && user.role === resolved.session.role && !user.mustChangePassword;
    },
  );
  /**
   * Requests whose body is still arriving, by user. The upstream acts on a request once its
   * body is whole, and a body may take `requestTimeoutMs`: a write held open with half its
   * body must not be finished after its session ended (a logout, a logout everywhere, a
   * password change, the user removed). When a session end names its user, each such
   * request is checked (after the revocation has fully run: RAM mode announces before it
   * destroys the store's sessions) and cut when its session no longer stands.
   */
  const arriving = new Map<string, Set<{ ref: string; stillStands: () => boolean; cut: () => void }>>();
  const cutEndedBodies = (ended: SessionEnd): void => {
    const sets = ended.scope === 'all' ? [...arriving.values()] : [arriving.get(ended.user)].filter((x) => x !== undefined);
    if (sets.length === 0) return;
    queueMicrotask(() => {
      for (const set of sets) {
        for (const body of [...set]) {
          if (ended.scope === 'session' && body.ref !== ended.ref) continue;
          if (!body.stillStands()) body.cut();
        }
      }
    });
  };
  /** Whether the session a request was admitted with still stands (re-resolved without touching it). */
  const sessionStands = (req: IncomingMessage, session: Session): boolean => {
    const now = resolveRequest(req, deps.sessions, deps.cookies.session, false)?.session;
    const user = now === undefined ? undefined : deps.users.current().get(now.user);
    return now !== undefined && now.ref === session.ref && user !== undefined && user.role === session.role;
  };
  const stopListening = deps.sessions.onEnd((ended) => {
    tunnels.sessionsEnded(ended);
    cutEndedBodies(ended);
  });

  function upstreamRequest(ctx: RequestContext, session: Session, framing: BodyFraming, extra: OutgoingHttpHeaders, options: Partial<RequestOptions>): ClientRequest {
    const { req } = ctx;
    const host = req.headers.host ?? '';
    const headers = upstreamRequestHeaders(req.headers, {
      user: session.user,
      role: session.role,
      userHeader: deps.options.identityHeaders.user,
      groupsHeader: deps.options.identityHeaders.groups,
      host,
      ...forwardedFacts(req.headers, normalisePeer(req.socket.remoteAddress), fromTrustedProxy(ctx), deps.cookies.secure ? 'https' : 'http', host),
      cookie: withoutOwnCookies(req.headers.cookie, ownCookies),
      authorizationConsumed: bearerToken(req) !== undefined,
      methodIsRead: req.method === 'GET' || req.method === 'HEAD',
      framing,
    });
    Object.assign(headers, extra);
    return send({
      host: upstream.hostname,
      port,
      method: req.method,
      path: basePath + (req.url ?? '/'),
      headers,
      setHost: false,
      timeout: profile.requestTimeoutMs,
      ...(secure ? { servername: upstream.hostname } : {}),
      ...options,
    });
  }

  function upstreamFailed(ctx: RequestContext, err: Error): void {
    deps.metrics.inc('upstream_errors_total');
    deps.log.warn('upstream_error', { route: ctx.route, error: (err as NodeJS.ErrnoException).code ?? err.message });
    if (ctx.res.headersSent || ctx.res.destroyed) {
      ctx.res.destroy();
      return;
    }
    // The client's connection is not reused after an upstream failure either.
    ctx.res.setHeader('Connection', 'close');
    if (wantsHtml(ctx.req.headers.accept)) sendHtml(ctx.res, 502, renderErrorPage(502, 'The device\'s admin interface is not answering. Your session is fine; try again shortly.'));
    else sendError(ctx.req, ctx.res, 502, 'upstream not answering');
  }

  function forward(ctx: RequestContext, session: Session, framing: BodyFraming): void {
    const { req, res } = ctx;
    const pool = poolOf(session);
    makeRoom(agent, pool, profile.maxConnections);
    const upstreamReq = upstreamRequest(ctx, session, framing, {}, { agent, [POOL_KEY]: pool } as Partial<RequestOptions>);
    // Never more or fewer bytes than the Content-Length ringlet wrote (an OutgoingMessage
    // property since Node 18.10; @types/node declares it on ServerResponse only).
    (upstreamReq as unknown as { strictContentLength: boolean }).strictContentLength = framing.kind === 'length';
    let answer: IncomingMessage | undefined;
    let failed = false;
    const fail = (err: Error): void => {
      if (failed) return;
      failed = true;
      if (answer?.complete === true && res.headersSent) {
        // The answer arrived whole and the anomaly came after it (bytes that are no
        // response, a second response): node:http has destroyed that upstream socket; the
        // answer is delivered, then this client connection closes too. (Destroying the
        // request here would make node:http discard the answer's unread body.)
        deps.metrics.inc('upstream_errors_total');
        deps.log.warn('upstream_error', { route: ctx.route, error: (err as NodeJS.ErrnoException).code ?? err.message });
        if (res.writableFinished) req.socket.destroySoon();
        else res.once('finish', () => req.socket.destroySoon());
        return;
      }
      upstreamReq.destroy();
      upstreamFailed(ctx, err);
    };
    upstreamReq.on('response', (upstreamRes) => {
      answer = upstreamRes;
      if (res.destroyed) {
        upstreamReq.destroy();
        return;
      }
      res.writeHead(upstreamRes.statusCode ?? 502, clientResponseHeaders(upstreamRes.headers, ownCookies, setCookieLines(res.getHeader('set-cookie'))));
      upstreamRes.pipe(res);
      // An answer cut short (the upstream closed or broke its framing): cut the client's too.
      upstreamRes.on('close', () => {
        if (!upstreamRes.complete) res.destroy();
      });
      upstreamRes.on('error', () => res.destroy());
    });
    upstreamReq.on('timeout', () => fail(new Error('upstream timeout')));
    upstreamReq.on('error', fail);
    // node:http destroys the socket without an error when the upstream switches protocols
    // unasked (a 101 to a plain request): no answer, no error, only 'close'.
    upstreamReq.on('close', () => {
      if (answer === undefined && !res.destroyed) fail(new Error('upstream closed without an answer'));
    });
    // The client went away, timed out or broke its framing: the upstream request goes too,
    // with its socket (a half-sent request must never be followed by another one).
    res.once('close', () => {
      if (!res.writableFinished) upstreamReq.destroy();
    });
    if (framing.kind === 'none' || (framing.kind === 'length' && framing.bytes === 0)) {
      upstreamReq.end();
      return;
    }
    req.once('close', () => {
      if (!req.complete) upstreamReq.destroy();
    });
    // Cut, with its upstream request, if its session ends before the body is whole.
    const body = {
      ref: session.ref,
      stillStands: () => sessionStands(req, session),
      cut: () => {
        forget();
        if (failed) return;
        failed = true;
        upstreamReq.destroy();
        deps.log.info('upstream_request_cut', { route: ctx.route, reason: 'session ended', client: ctx.clientAddress });
        if (res.headersSent || res.destroyed) return void res.destroy();
        res.setHeader('Connection', 'close');
        sendError(req, res, 401, 'the session ended before the request was complete', { 'WWW-Authenticate': 'Bearer realm="ringlet"' });
      },
    };
    const own = arriving.get(session.user) ?? new Set();
    own.add(body);
    arriving.set(session.user, own);
    const forget = (): void => {
      own.delete(body);
      if (own.size === 0 && arriving.get(session.user) === own) arriving.delete(session.user);
    };
    req.once('end', forget);
    res.once('close', forget);
    req.pipe(upstreamReq);
  }

  function handle(ctx: RequestContext): void {
    // The gate (route-policy.ts, route `upstream`) has admitted this caller.
    const session = sessionOf(ctx);
    const framing = requestFraming(ctx.req);
    if (framing === 'refused') {
      // The body is never forwarded, and this connection is not reused: what follows the
      // body is not trusted to be where node:http thinks it is.
      ctx.res.setHeader('Connection', 'close');
      sendError(ctx.req, ctx.res, 400, `a ${ctx.req.method ?? ''} request cannot carry a body here`);
      return;
    }
    inTurn(ctx, (waited) => {
      // Admitted when it arrived; a request that waited behind others on its connection
      // goes out only if its session still stands (it may have ended meanwhile).
      if (waited && !sessionStands(ctx.req, session)) {
        deps.log.info('upstream_request_cut', { route: ctx.route, reason: 'session ended', client: ctx.clientAddress });
        ctx.res.setHeader('Connection', 'close');
        sendError(ctx.req, ctx.res, 401, 'the session ended before the request was sent', { 'WWW-Authenticate': 'Bearer realm="ringlet"' });
        return;
      }
      forward(ctx, session, framing);
    });
  }

  function tunnel(ctx: RequestContext, session: Session, client: Duplex, head: Buffer): void {
    const { req, res } = ctx;
    const credential = credentialOf(req, deps.sessions, deps.cookies.session, session.ref);
    const t = credential === undefined ? undefined : tunnels.admit(session, credential, client);
    if (t === undefined) {
      deps.log.warn('tunnel_refused', { reason: credential === undefined ? 'credential' : 'limit', client: ctx.clientAddress });
      sendError(req, res, 503, 'too many WebSocket connections; try again shortly', { 'Retry-After': '5' });
      return;
    }
    client.once('close', () => tunnels.close(t, 'closed'));
    // A tunnel's socket is its own: never from the pool, never back into it.
    const upstreamReq = upstreamRequest(ctx, session, { kind: 'none' }, { connection: 'Upgrade', upgrade: TUNNELLED_PROTOCOL }, { agent: false, method: 'GET' });
    t.onClose = () => upstreamReq.destroy();
    upstreamReq.on('upgrade', (upstreamRes: IncomingMessage, upstreamSocket: Duplex, upstreamHead: Buffer) => {
      if (t.closed) {
        upstreamSocket.destroy();
        return;
      }
      const token = String(upstreamRes.headers.upgrade ?? '').trim().toLowerCase();
      if (upstreamRes.statusCode !== 101 || token !== TUNNELLED_PROTOCOL) {
        upstreamSocket.destroy();
        upstreamFailed(ctx, new Error('upstream switched to another protocol'));
        return;
      }
      upstreamSocket.on('error', () => tunnels.close(t, 'closed'));
      upstreamSocket.once('close', () => tunnels.close(t, 'closed'));
      (upstreamSocket as Socket).setTimeout(0);
      t.upstream = upstreamSocket;
      t.onClose = undefined;
      const headers = clientResponseHeaders(upstreamRes.headers, ownCookies, setCookieLines(res.getHeader('set-cookie')));
      const lines = ['HTTP/1.1 101 Switching Protocols', `Upgrade: ${TUNNELLED_PROTOCOL}`, 'Connection: Upgrade'];
      for (const [name, value] of Object.entries(headers)) {
        if (name === 'cache-control') continue;
        for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${String(v)}`);
      }
      res.detachSocket(client as Socket);
      deps.requests.record(ctx.route, 101);
      client.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (upstreamHead.length > 0) client.write(upstreamHead);
      if (head.length > 0) upstreamSocket.write(head);
      upstreamSocket.pipe(client);
      client.pipe(upstreamSocket);
    });
    upstreamReq.on('response', (upstreamRes) => {
      // Not switching: relay the answer as it is and close both sides. Nothing the client
      // sends on this connection reaches the upstream.
      if (t.closed) {
        upstreamReq.destroy();
        return;
      }
      res.writeHead(upstreamRes.statusCode ?? 502, { ...clientResponseHeaders(upstreamRes.headers, ownCookies, setCookieLines(res.getHeader('set-cookie'))), connection: 'close' });
      upstreamRes.pipe(res);
      upstreamRes.on('close', () => {
        if (!upstreamRes.complete) client.destroy();
      });
    });
    upstreamReq.on('timeout', () => upstreamReq.destroy(new Error('upstream timeout')));
    upstreamReq.on('error', (err) => {
      if (!t.closed) upstreamFailed(ctx, err);
    });
    upstreamReq.end();
  }

  return {
    handle,
    tunnel,
    tunnels,
    close: () => {
      stopListening();
      tunnels.closeAll('shutdown');
      agent.destroy();
    },
  };
}

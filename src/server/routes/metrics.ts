/**
 * GET /metrics: Prometheus text format. Open to loopback scrapers; from elsewhere it needs
 * a session or token holding `metrics:read` (the README's read-only monitoring token).
 */
import { sendError } from '../../web/index.js';
import { currentSession } from '../guards.js';
import { permissionsOf } from './auth.js';
import type { RequestContext } from '../context.js';

function loopback(address: string): boolean {
  return address === '127.0.0.1' || address === '::1' || address.startsWith('127.');
}

export function getMetrics(ctx: RequestContext): void {
  const peer = ctx.req.socket.remoteAddress ?? '';
  if (!loopback(peer.startsWith('::ffff:') ? peer.slice(7) : peer)) {
    const session = currentSession(ctx, false);
    if (session === undefined) return sendError(ctx.req, ctx.res, 401, 'sign in required', { 'WWW-Authenticate': 'Bearer realm="ringlet"' });
    if (!permissionsOf(ctx, session).includes('metrics:read')) return sendError(ctx.req, ctx.res, 403, 'metrics:read required');
  }
  const body = ctx.deps.metrics.render();
  ctx.res.writeHead(200, {
    'Content-Type': 'text/plain; version=0.0.4; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  ctx.res.end(body);
}

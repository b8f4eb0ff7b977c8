/**
 * GET /metrics: Prometheus text format. The gate lets a loopback client in without a
 * credential (judged after the trusted-proxy rules); anyone else needs `metrics:read`.
 */
import type { RequestContext } from '../context.js';

export function getMetrics(ctx: RequestContext): void {
  const body = ctx.deps.metrics.render();
  ctx.res.writeHead(200, {
    'Content-Type': 'text/plain; version=0.0.4; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  ctx.res.end(body);
}

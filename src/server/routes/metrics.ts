/**
 * GET /metrics: Prometheus text format. The gate lets a loopback client in without a
 * credential (judged after the trusted-proxy rules); anyone else needs `metrics:read`.
 */
import { METRICS_CONTENT_TYPE, sendText } from '../../web/index.js';
import type { RequestContext } from '../context.js';

export function getMetrics(ctx: RequestContext): void {
  sendText(ctx.res, 200, ctx.deps.metrics.render(), METRICS_CONTENT_TYPE);
}

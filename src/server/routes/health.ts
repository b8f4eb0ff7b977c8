/** GET /healthz: liveness. Says nothing about sessions or users. */
import { sendJson } from '../../web/index.js';
import type { RequestContext } from '../context.js';

export function getHealth(ctx: RequestContext): void {
  sendJson(ctx.res, 200, { status: 'ok' });
}

/**
 * Reading a route's body: form or JSON only (415 otherwise), bounded in size (413) and time,
 * parsed strictly (400). Answers the request itself on refusal and returns undefined.
 */
import { RingletError } from '../errors.js';
import { mediaType, parseForm, parseJsonObject, readBody, sendError } from '../web/index.js';
import type { RequestContext } from './context.js';

export interface Fields {
  kind: 'form' | 'json';
  values: Record<string, unknown>;
}

export function stringField(fields: Fields, name: string): string | undefined {
  const v = fields.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** No Content-Type and no body at all (a bare `POST /logout`): no fields, not an error. */
function noBody(ctx: RequestContext): boolean {
  const h = ctx.req.headers;
  return h['content-type'] === undefined && h['transfer-encoding'] === undefined && (h['content-length'] === undefined || h['content-length'] === '0');
}

export async function readFields(ctx: RequestContext): Promise<Fields | undefined> {
  if (noBody(ctx)) return { kind: 'json', values: Object.create(null) as Record<string, unknown> };
  const type = mediaType(ctx.req.headers['content-type']);
  const kind = type === 'application/x-www-form-urlencoded' ? 'form' : type === 'application/json' ? 'json' : undefined;
  if (kind === undefined) {
    sendError(ctx.req, ctx.res, 415, 'send application/x-www-form-urlencoded or application/json');
    return undefined;
  }
  try {
    const body = await readBody(ctx.req, { maxBytes: ctx.deps.profile.maxBodyBytes, timeoutMs: ctx.deps.profile.requestTimeoutMs });
    return { kind, values: kind === 'form' ? parseForm(body) : parseJsonObject(body) };
  } catch (err) {
    if (!(err instanceof RingletError)) throw err;
    if (err.code === 'ERR_BODY_TOO_LARGE') {
      ctx.res.setHeader('Connection', 'close');
      sendError(ctx.req, ctx.res, 413, `body larger than ${ctx.deps.profile.maxBodyBytes} bytes`);
    } else if (err.code === 'ERR_BODY_TIMEOUT') {
      ctx.res.setHeader('Connection', 'close');
      sendError(ctx.req, ctx.res, 408, 'body not received in time');
    } else {
      sendError(ctx.req, ctx.res, 400, kind === 'json' ? 'body must be a JSON object' : 'malformed form body');
    }
    return undefined;
  }
}

/**
 * Reading a route's body: form or JSON only (415 otherwise), bounded in size (413) and time,
 * parsed strictly (400). Answers the request itself on refusal and returns undefined.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RingletError } from '../errors.js';
import { mediaType, parseForm, parseJsonObject, readBody, sendError } from '../web/index.js';

export interface Fields {
  kind: 'form' | 'json';
  values: Record<string, unknown>;
}

export function stringField(fields: Fields, name: string): string | undefined {
  const v = fields.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** The profile fields that bound a body: its size, and the time it may take to arrive. */
export interface BodyLimits {
  maxBodyBytes: number;
  requestTimeoutMs: number;
}

/** No Content-Type and no body at all (a bare `POST /logout`): no fields, not an error. */
function noBody(req: IncomingMessage): boolean {
  const h = req.headers;
  return h['content-type'] === undefined && h['transfer-encoding'] === undefined && (h['content-length'] === undefined || h['content-length'] === '0');
}

/** The server's gate and the library's `requireCsrf` read bodies here, with the same limits and answers. */
export async function readFields(req: IncomingMessage, res: ServerResponse, limits: BodyLimits): Promise<Fields | undefined> {
  if (noBody(req)) return { kind: 'json', values: Object.create(null) as Record<string, unknown> };
  const type = mediaType(req.headers['content-type']);
  const kind = type === 'application/x-www-form-urlencoded' ? 'form' : type === 'application/json' ? 'json' : undefined;
  if (kind === undefined) {
    sendError(req, res, 415, 'send application/x-www-form-urlencoded or application/json');
    return undefined;
  }
  try {
    const body = await readBody(req, { maxBytes: limits.maxBodyBytes, timeoutMs: limits.requestTimeoutMs });
    return { kind, values: kind === 'form' ? parseForm(body) : parseJsonObject(body) };
  } catch (err) {
    if (!(err instanceof RingletError)) throw err;
    if (err.code === 'ERR_BODY_TOO_LARGE') {
      res.setHeader('Connection', 'close');
      sendError(req, res, 413, `body larger than ${limits.maxBodyBytes} bytes`);
    } else if (err.code === 'ERR_BODY_TIMEOUT') {
      res.setHeader('Connection', 'close');
      sendError(req, res, 408, 'body not received in time');
    } else {
      sendError(req, res, 400, kind === 'json' ? 'body must be a JSON object' : 'malformed form body');
    }
    return undefined;
  }
}

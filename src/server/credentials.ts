/**
 * Reading the caller's credential: `Authorization: Bearer <token>` first, else the session
 * cookie (every value of it: the name may appear more than once). Never from the URL.
 * Anything malformed is simply "no session".
 */
import type { IncomingMessage } from 'node:http';
import { DEFAULT_MAX_TOKEN_BYTES, getCookieValues } from '../codec/index.js';
import type { Resolution, SessionManager } from '../session/types.js';

/** Cookie headers above this are not parsed for a session (node already caps all headers). */
const MAX_COOKIE_HEADER_BYTES = 8192;
/** Session cookie values tried per request: bounds work for a header with many duplicates. */
const MAX_SESSION_COOKIE_VALUES = 4;
/** Built once: an options object per request is garbage on the hot path. */
const SESSION_COOKIE_LOOKUP = { maxValues: MAX_SESSION_COOKIE_VALUES } as const;
/** Longest bearer credential considered: the longest token the codec verifies (a JWT of ours is ~300 bytes). */
const MAX_BEARER_CHARS = DEFAULT_MAX_TOKEN_BYTES;

/** Header asking that this request not count as activity (polling admin pages). */
export const NO_TOUCH_HEADER = 'x-ringlet-no-touch';

export function wantsNoTouch(req: IncomingMessage): boolean {
  return req.headers[NO_TOUCH_HEADER] === '1';
}

export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined || header.length > MAX_BEARER_CHARS + 7) return undefined;
  // RFC 6750 §2.1: the scheme is case-insensitive, one space, then the token.
  if (header.length < 8 || header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const token = header.slice(7).trim();
  return token.length > 0 ? token : undefined;
}

export function resolveRequest(req: IncomingMessage, sessions: SessionManager, cookieName: string, touch: boolean): Resolution | undefined {
  const bearer = bearerToken(req);
  if (bearer !== undefined) {
    const session = sessions.resolveBearer(bearer, touch);
    return session ? { session, reissueCookie: undefined } : undefined;
  }
  const header = req.headers.cookie;
  if (header === undefined || header.length > MAX_COOKIE_HEADER_BYTES) return undefined;
  const values = getCookieValues(header, cookieName, SESSION_COOKIE_LOOKUP);
  if (values.length === 0) return undefined;
  return sessions.resolveCookie(values, touch);
}

/** One credential a request carried, kept by holders that must re-check it later (tunnels). */
export type Credential = { kind: 'bearer'; token: string } | { kind: 'cookie'; value: string };

/**
 * The credential `resolveRequest` accepted for `session`: the bearer token, or the one
 * session-cookie value (of up to four) that resolves to that session. Never touches it.
 */
export function credentialOf(req: IncomingMessage, sessions: SessionManager, cookieName: string, ref: string): Credential | undefined {
  const bearer = bearerToken(req);
  if (bearer !== undefined) return { kind: 'bearer', token: bearer };
  const header = req.headers.cookie;
  if (header === undefined || header.length > MAX_COOKIE_HEADER_BYTES) return undefined;
  for (const value of getCookieValues(header, cookieName, SESSION_COOKIE_LOOKUP)) {
    if (sessions.resolveCookie([value], false)?.session.ref === ref) return { kind: 'cookie', value };
  }
  return undefined;
}

/** The session a kept credential still stands for, if any. `touch: false` reads without counting as activity. */
export function resolveCredential(credential: Credential, sessions: SessionManager, touch: boolean): Resolution | undefined {
  if (credential.kind === 'bearer') {
    const session = sessions.resolveBearer(credential.token, touch);
    return session ? { session, reissueCookie: undefined } : undefined;
  }
  return sessions.resolveCookie([credential.value], touch);
}

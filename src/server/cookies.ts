/**
 * The cookies ringlet sets. Session cookie: HttpOnly, SameSite=Strict, Path=/, no Max-Age
 * (a browser-session cookie); Secure and the `__Host-` prefix whenever served over TLS or
 * behind a TLS-terminating proxy. The login nonce cookie (stateless CSRF) has the same
 * attributes and dies with the browser session too.
 */
import { serializeSetCookie } from '../codec/index.js';

export interface CookieNames {
  session: string;
  loginNonce: string;
  secure: boolean;
}

export function cookieNames(secure: boolean): CookieNames {
  return secure
    ? { session: '__Host-ringlet', loginNonce: '__Host-ringlet-login', secure }
    : { session: 'ringlet', loginNonce: 'ringlet-login', secure };
}

function base(names: CookieNames) {
  return { httpOnly: true, sameSite: 'Strict' as const, path: '/', secure: names.secure };
}

export function sessionCookie(names: CookieNames, value: string): string {
  return serializeSetCookie(names.session, value, base(names));
}

export function clearSessionCookie(names: CookieNames): string {
  return serializeSetCookie(names.session, '', { ...base(names), maxAge: 0, expires: new Date(0) });
}

export function loginNonceCookie(names: CookieNames, nonce: string): string {
  return serializeSetCookie(names.loginNonce, nonce, base(names));
}

export function clearLoginNonceCookie(names: CookieNames): string {
  return serializeSetCookie(names.loginNonce, '', { ...base(names), maxAge: 0, expires: new Date(0) });
}

/**
 * Stateless CSRF defence for the login form (README, "Security model": nothing is stored for a visitor who
 * has not logged in). A signed double-submit token: GET /login sets a random nonce in a
 * cookie and puts HMAC(key, nonce) in the form; POST /login needs both to match. A foreign
 * site can neither read the cookie nor compute the MAC. Origin / Sec-Fetch-Site are checked
 * as well, by the route.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { randomBytesPooled } from '../util/random-pool.js';

const NONCE_BYTES = 16;
const MAC_BYTES = 16;
const TOKEN_CHARS = Math.ceil((MAC_BYTES * 4) / 3);
const NONCE_RE = /^[A-Za-z0-9_-]{22}$/;

export class LoginCsrf {
  private readonly key: Buffer;

  /** `key`: at least 32 secret bytes; instances sharing a key accept each other's forms. */
  constructor(key: Buffer) {
    this.key = key;
  }

  /** A fresh nonce (for the cookie) and its form token. */
  issue(): { nonce: string; token: string } {
    const nonce = randomBytesPooled(NONCE_BYTES).toString('base64url');
    return { nonce, token: this.tokenFor(nonce) };
  }

  tokenFor(nonce: string): string {
    return createHmac('sha256', this.key).update('ringlet-login-csrf\0').update(nonce).digest().subarray(0, MAC_BYTES).toString('base64url');
  }

  /** Constant-time check of a (cookie nonce, form token) pair; never throws. */
  verify(nonce: string | undefined, token: unknown): boolean {
    if (typeof nonce !== 'string' || !NONCE_RE.test(nonce)) return false;
    if (typeof token !== 'string' || token.length !== TOKEN_CHARS) return false;
    const expected = Buffer.from(this.tokenFor(nonce));
    const given = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

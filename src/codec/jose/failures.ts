/**
 * The untrusted-input failures of the JOSE codecs, one message per code.
 *
 * Every cryptographic failure (bad MAC, failed decryption) carries the same message, so
 * neither the message nor its length tells an attacker which check failed; no message
 * ever includes the token, a key, a kid or the payload.
 */
import { RingletError } from '../../errors.js';
import type { RingletErrorCode } from '../../errors.js';

/** The single message of every cryptographic failure. */
export const CRYPTO_FAILURE_MESSAGE = 'token verification failed';

const messages: Readonly<Record<JoseFailureCode, string>> = {
  ERR_TOKEN_MALFORMED: 'malformed token',
  ERR_BAD_SIGNATURE: CRYPTO_FAILURE_MESSAGE,
  ERR_DECRYPTION_FAILED: CRYPTO_FAILURE_MESSAGE,
  ERR_EXPIRED: 'token expired',
  ERR_NOT_YET_VALID: 'token not yet valid',
  ERR_UNKNOWN_KEY: 'unknown key',
  ERR_TOKEN_TOO_LARGE: 'token too large',
  ERR_UNSUPPORTED_ALG: 'unsupported algorithm or header parameter',
  ERR_CLAIM_INVALID: 'claim check failed',
};

export type JoseFailureCode = Extract<
  RingletErrorCode,
  | 'ERR_TOKEN_MALFORMED'
  | 'ERR_BAD_SIGNATURE'
  | 'ERR_DECRYPTION_FAILED'
  | 'ERR_EXPIRED'
  | 'ERR_NOT_YET_VALID'
  | 'ERR_UNKNOWN_KEY'
  | 'ERR_TOKEN_TOO_LARGE'
  | 'ERR_UNSUPPORTED_ALG'
  | 'ERR_CLAIM_INVALID'
>;

/** A RingletError with the fixed message of `code`. */
export function joseFailure(code: JoseFailureCode): RingletError {
  return new RingletError(code, messages[code]);
}

/**
 * Two tiers of errors (README, "Architecture: the error model"):
 * - `ConfigError` (a `TypeError`) for programmer or operator misuse: bad options, bad
 *   files. The message names the field and the allowed range.
 * - `RingletError` for untrusted input: a stable `code` callers switch on. Messages never
 *   contain a token, cookie, id, key or password.
 */

/**
 * Stable codes for failures caused by untrusted input or by a limit being reached,
 * grouped by the layer that owns the thing that failed (README "Error codes" lists them).
 *
 * Which code to use: the one that names what failed, whichever layer notices it (the
 * session layer's cookie-size check raises the codec's ERR_COOKIE_TOO_LARGE). A code means
 * one thing: never borrow a near one. A failure a caller should handle differently, or of
 * something else, gets a new code in its layer's group, one per line; every code here is
 * thrown somewhere (test/errors.test.ts checks).
 */
export type RingletErrorCode =
  // codec (src/codec): tokens (JWS, JWT, JWE), base64url, cookies
  | 'ERR_TOKEN_MALFORMED'
  | 'ERR_TOKEN_TOO_LARGE'
  | 'ERR_BAD_SIGNATURE'
  | 'ERR_DECRYPTION_FAILED'
  | 'ERR_UNKNOWN_KEY'
  | 'ERR_UNSUPPORTED_ALG'
  | 'ERR_EXPIRED'
  | 'ERR_NOT_YET_VALID'
  | 'ERR_CLAIM_INVALID'
  | 'ERR_BASE64URL_MALFORMED'
  | 'ERR_COOKIE_TOO_LARGE'
  // store (src/store): the RAM session store and its snapshots
  | 'ERR_NAME_INVALID'
  | 'ERR_DATA_NOT_JSON'
  | 'ERR_DATA_TOO_LARGE'
  | 'ERR_STORE_FULL'
  | 'ERR_SNAPSHOT_INVALID'
  // users (src/users): passwords and their hashes
  | 'ERR_HASH_MALFORMED'
  | 'ERR_PASSWORD_TOO_LONG'
  | 'ERR_HASHING_BUSY'
  // files (src/util/file-lock.ts): files several processes write (the users file)
  | 'ERR_FILE_LOCKED'
  // web (src/web): request bodies
  | 'ERR_BODY_MALFORMED'
  | 'ERR_BODY_TOO_LARGE'
  | 'ERR_BODY_TIMEOUT'
  | 'ERR_BODY_ABORTED'
  // The shared-state engine (src/engine/): what a caller can know about a command.
  /** The engine sent bytes that are not RESP, or a reply over a limit; the connection was dropped. */
  | 'ERR_PROTOCOL'
  /** The bounded command queue was full: refused at once, never sent. */
  | 'ERR_QUEUE_FULL'
  /** One command over the encoded-size limit: refused before it is queued. */
  | 'ERR_COMMAND_TOO_LARGE'
  /** No connection to the engine in time: the command was never sent. */
  | 'ERR_ENGINE_DOWN'
  /** The engine did not answer in time (a sent command, the handshake, a PING): a sent command may have run. */
  | 'ERR_ENGINE_TIMEOUT'
  /** The connection dropped after the command was sent: it may have run. */
  | 'ERR_CONNECTION_LOST'
  /** The engine refused the credentials (AUTH/HELLO): WRONGPASS, NOAUTH, NOPERM. */
  | 'ERR_ENGINE_AUTH'
  /** The engine answered with an error reply (its first word is kept, never its text). */
  | 'ERR_ENGINE_REPLY'
  /** The client was closed. */
  | 'ERR_CLOSED';

/** An error caused by untrusted input; `code` is stable, the message is safe to log. */
export class RingletError extends Error {
  readonly code: RingletErrorCode;

  constructor(code: RingletErrorCode, message: string) {
    super(message);
    this.name = 'RingletError';
    this.code = code;
  }
}

/** Misconfiguration, detected once at construction or start. Names the field. */
export class ConfigError extends TypeError {
  readonly code = 'ERR_CONFIG' as const;
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'ConfigError';
    this.field = field;
  }
}

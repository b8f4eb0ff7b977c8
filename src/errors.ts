/**
 * Two tiers of errors (STYLE.md):
 * - `ConfigError` (a `TypeError`) for programmer or operator misuse: bad options, bad
 *   files. The message names the field and the allowed range.
 * - `RingletError` for untrusted input: a stable `code` callers switch on. Messages never
 *   contain a token, cookie, id, key or password.
 */

/** Stable codes for failures caused by untrusted input or by limits being reached. */
export type RingletErrorCode =
  | 'ERR_MALFORMED'
  | 'ERR_TIMEOUT'
  | 'ERR_ABORTED'
  | 'ERR_BAD_SIGNATURE'
  | 'ERR_DECRYPTION_FAILED'
  | 'ERR_EXPIRED'
  | 'ERR_NOT_YET_VALID'
  | 'ERR_UNKNOWN_KEY'
  | 'ERR_TOO_LARGE'
  | 'ERR_UNSUPPORTED_ALG'
  | 'ERR_CLAIM_INVALID'
  | 'ERR_DATA_TOO_LARGE'
  | 'ERR_NO_SESSION'
  | 'ERR_STORE_FULL'
  | 'ERR_BUSY'
  // The shared-state engine (src/engine/): what a caller can know about a command.
  /** The engine sent bytes that are not RESP, or a reply over a limit; the connection was dropped. */
  | 'ERR_PROTOCOL'
  /** The bounded command queue was full: refused at once, never sent. */
  | 'ERR_QUEUE_FULL'
  /** No connection to the engine in time: the command was never sent. */
  | 'ERR_ENGINE_DOWN'
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

/** Size bounds checked before any decoding or crypto. */
import { integerOption } from '../../util/options.js';
import { joseFailure } from './failures.js';

/** Longest token accepted by default: a browser cookie cannot be longer anyway. */
export const DEFAULT_MAX_TOKEN_BYTES = 4096;

export interface TokenSizeOptions {
  /** Tokens longer than this are rejected before any work. Default {@link DEFAULT_MAX_TOKEN_BYTES}. */
  maxTokenBytes?: number;
}

// Built once: tokens are verified on the request path, and an options object per call is garbage.
const MAX_TOKEN_BYTES_DEFAULT = { fallback: DEFAULT_MAX_TOKEN_BYTES } as const;

/**
 * The first check of every token handed in: a string no longer than `maxTokenBytes`.
 * @throws ConfigError for a bad `maxTokenBytes`; RingletError ERR_TOKEN_MALFORMED (not a
 *   string) or ERR_TOKEN_TOO_LARGE.
 */
export function checkTokenSize(token: unknown, options: TokenSizeOptions | undefined): asserts token is string {
  const maxTokenBytes = integerOption(options?.maxTokenBytes, 'maxTokenBytes', 1, Number.MAX_SAFE_INTEGER, MAX_TOKEN_BYTES_DEFAULT);
  if (typeof token !== 'string') throw joseFailure('ERR_TOKEN_MALFORMED');
  if (token.length > maxTokenBytes) throw joseFailure('ERR_TOKEN_TOO_LARGE');
}

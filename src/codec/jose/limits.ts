/** Size bounds checked before any decoding or crypto. */
import { integerOption } from '../../util/options.js';

/** Longest token accepted by default: a browser cookie cannot be longer anyway. */
export const DEFAULT_MAX_TOKEN_BYTES = 4096;

// Built once: tokens are verified on the request path, and an options object per call is garbage.
const MAX_TOKEN_BYTES_DEFAULT = { fallback: DEFAULT_MAX_TOKEN_BYTES } as const;

/** The `maxTokenBytes` option: a positive integer, {@link DEFAULT_MAX_TOKEN_BYTES} when absent. */
export function resolveMaxTokenBytes(value: number | undefined): number {
  return integerOption(value, 'maxTokenBytes', 1, Number.MAX_SAFE_INTEGER, MAX_TOKEN_BYTES_DEFAULT);
}

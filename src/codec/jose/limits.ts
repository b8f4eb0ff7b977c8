/** Size bounds checked before any decoding or crypto. */
import { ConfigError } from '../../errors.js';

/** Longest token accepted by default: a browser cookie cannot be longer anyway. */
export const DEFAULT_MAX_TOKEN_BYTES = 4096;

/** Resolve a positive-integer byte limit option, naming the field when it is invalid. */
export function resolveByteLimit(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new ConfigError(field, `must be a positive integer, got ${String(value)}`);
  return value;
}

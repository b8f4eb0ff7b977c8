/**
 * Option validation shared by every layer: one rule and one message for "an integer in a
 * range", so a store built by a library caller, a profile file, a `RINGLET_*` variable and
 * a flag all read the same words: `capacity: must be an integer from 1 to 1048576, got 0`.
 *
 * The value given is echoed when it is a number; anything else is named by its type
 * (`got string`), so a secret passed in the wrong place never reaches a message. Only
 * {@link integerFromText}, for what an operator typed as a flag or variable, quotes text.
 */
import { ConfigError } from '../errors.js';

export interface IntegerOptionExtras {
  /** Said after the range, e.g. `sessions`, `bytes`, `ms`: `from 1 to 64 (count)`. */
  unit?: string;
  /** Taken when the value is `undefined` (not checked: it is the caller's own constant). */
  fallback?: number;
}

/** Whether `value` is an integer from `min` to `max` (a number type guard for parsers of untrusted input). */
export function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/** How a message names a value it was given: a number as itself, anything else by its type. */
export function describeGiven(value: unknown): string {
  return typeof value === 'number' ? String(value) : typeof value;
}

function requirement(min: number, max: number, unit: string | undefined): string {
  let range: string;
  if (max < Number.MAX_SAFE_INTEGER) range = `an integer from ${min} to ${max}`;
  else range = min > Number.MIN_SAFE_INTEGER ? `an integer of at least ${min}` : 'an integer';
  return `must be ${unit === undefined ? range : `${range} (${unit})`}`;
}

/**
 * What is wrong with `value` as an integer from `min` to `max`, or undefined when nothing
 * is; for callers that name the field their own way (a profile file, a PHC string).
 * `max` = `Number.MAX_SAFE_INTEGER` means no upper bound.
 */
export function integerProblem(value: unknown, min: number, max: number, unit?: string): string | undefined {
  if (isIntegerIn(value, min, max)) return undefined;
  return `${requirement(min, max, unit)}, got ${describeGiven(value)}`;
}

/**
 * `value` when it is an integer from `min` to `max` (or `extras.fallback` when it is
 * undefined and a fallback is given).
 *
 * @throws ConfigError naming `field`, the range and what was given.
 * @example
 * const capacity = integerOption(options.capacity, 'capacity', 1, MAX_CAPACITY);
 * const maxBytes = integerOption(options.maxBytes, 'maxBytes', 1, Number.MAX_SAFE_INTEGER, { fallback: 4096 });
 */
export function integerOption(value: unknown, field: string, min: number, max: number, extras?: IntegerOptionExtras): number {
  if (value === undefined && extras?.fallback !== undefined) return extras.fallback;
  const problem = integerProblem(value, min, max, extras?.unit);
  if (problem !== undefined) throw new ConfigError(field, problem);
  return value as number;
}

/** Decimal digits only, as an operator types an integer: never `0x10`, `1e3`, ` 5` or `-0`. */
const decimalRegExp = /^\d{1,16}$/;
/** Longest text quoted back in a message. */
const MAX_QUOTED_CHARS = 32;

/**
 * An integer option given as text (a flag, an environment variable): decimal digits, then
 * the range. Text that is no number is quoted back (at most 32 characters): the operator
 * typed it, and seeing it beats reading "NaN".
 *
 * @throws ConfigError naming `field`, the range and what was given.
 * @example integerFromText('70000', '--port', 0, 65_535) // throws "--port: must be an integer from 0 to 65535, got 70000"
 */
export function integerFromText(text: string, field: string, min: number, max: number, unit?: string): number {
  if (!decimalRegExp.test(text)) {
    const shown = text.length > MAX_QUOTED_CHARS ? `${text.slice(0, MAX_QUOTED_CHARS)}...` : text;
    throw new ConfigError(field, `${requirement(min, max, unit)}, got ${JSON.stringify(shown)}`);
  }
  return integerOption(Number(text), field, min, max, unit === undefined ? undefined : { unit });
}

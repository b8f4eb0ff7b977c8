/** JSON request bodies: a single object, valid UTF-8, parsed into null-prototype records. */
import { RingletError } from '../errors.js';
import { bodyText } from './body-text.js';


// Every object becomes null-prototype, and `__proto__` keys are refused outright, so no
// later spread, merge or `in` check can reach Object.prototype through request data.
function reviver(this: unknown, key: string, value: unknown): unknown {
  if (key === '__proto__') throw new RingletError('ERR_BODY_MALFORMED', 'forbidden key in JSON body');
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return Object.assign(Object.create(null) as Record<string, unknown>, value);
  }
  return value;
}

/**
 * Parse a JSON body that must be an object (not an array, null or scalar). Throws
 * `RingletError('ERR_BODY_MALFORMED')` for invalid UTF-8, invalid JSON, a non-object, or any
 * `__proto__` key at any depth. The result and every nested object have a null prototype.
 *
 * @example
 * parseJsonObject(Buffer.from('{"username":"ann"}'))['username'] // 'ann'
 */
export function parseJsonObject(body: Uint8Array): Record<string, unknown> {
  const text = bodyText(body, 'JSON');
  let value: unknown;
  try {
    value = JSON.parse(text, reviver);
  } catch (err) {
    if (err instanceof RingletError) throw err;
    // SyntaxError, or RangeError from nesting deep enough to exhaust the stack.
    throw new RingletError('ERR_BODY_MALFORMED', 'invalid JSON body');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new RingletError('ERR_BODY_MALFORMED', 'JSON body must be an object');
  }
  return value as Record<string, unknown>;
}

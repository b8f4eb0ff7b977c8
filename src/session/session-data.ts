/**
 * An embedding service's own session data (the library's `login(..., { data })` and
 * `setData`): JSON, checked with the store's rules and codes in both modes, so a service
 * that moves between RAM and cookie mode sees the same failures.
 */
import { encodeSessionData } from '../store/data-json.js';

/**
 * `data` as the JSON value it will be read back as (a Date becomes its string, undefined
 * members go), or undefined for "no data". Refuses before anything is stored, with the
 * store's encoder: `ERR_DATA_NOT_JSON` for what JSON cannot represent (cycles, BigInt, a
 * function), `ERR_DATA_TOO_LARGE` when its UTF-8 JSON alone is over `maxBytes` (the exact
 * fit, with what else the slot or the cookie holds, is checked where it is stored).
 */
export function toSessionData(data: unknown, maxBytes: number, container: 'slot' | 'cookie'): unknown {
  const json = encodeSessionData(data, maxBytes, container);
  return json === undefined ? undefined : (JSON.parse(json) as unknown);
}

/** A copy of stored data for one reader: what a handler changes is not stored until it calls setData. */
export function copySessionData(data: unknown): unknown {
  return data === undefined || data === null || typeof data !== 'object' ? data : (JSON.parse(JSON.stringify(data)) as unknown);
}

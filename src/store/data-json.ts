/**
 * Session data as it is kept: UTF-8 JSON text within a byte bound. The RAM store and the
 * session layer's cookie sessions both encode with this, so a service sees the same
 * failures, with the same codes, whichever mode it runs in.
 */
import { RingletError } from '../errors.js';

/**
 * JSON text of `data`, or undefined for "no data" (`data` undefined). `container` names
 * what holds it in the message (`slot`, `cookie`).
 *
 * @throws RingletError `ERR_DATA_NOT_JSON` for what JSON cannot represent (cycles, BigInt,
 *   a function), `ERR_DATA_TOO_LARGE` when the UTF-8 JSON is over `maxBytes`.
 */
export function encodeSessionData(data: unknown, maxBytes: number, container: string): string | undefined {
  if (data === undefined) return undefined;
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch {
    throw new RingletError('ERR_DATA_NOT_JSON', 'session data cannot be serialised as JSON');
  }
  if (json === undefined) throw new RingletError('ERR_DATA_NOT_JSON', 'session data cannot be serialised as JSON');
  // UTF-8 needs at most 3 bytes per UTF-16 unit: short text skips the byte count.
  if (json.length * 3 > maxBytes && Buffer.byteLength(json, 'utf8') > maxBytes) {
    throw new RingletError('ERR_DATA_TOO_LARGE', `session data exceeds the ${maxBytes}-byte ${container}`);
  }
  return json;
}

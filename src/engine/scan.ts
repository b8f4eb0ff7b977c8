/**
 * Reading a whole sorted set (ZSCAN) or hash (HSCAN) back from the engine, one page at a
 * time, as the shared state does after every (re)connect. A reply that is not `[cursor,
 * items]` is ERR_PROTOCOL; a connection replaced while reading is ERR_CONNECTION_LOST (what
 * was read belongs to an engine that may no longer be the one in use).
 */
import { RingletError } from '../errors.js';
import type { RespClient } from './resp-client.js';
import type { RespValue } from './resp-parser.js';

/**
 * Calls `onPage` with each page's items (`member, score, ...` or `field, value, ...`)
 * until the cursor comes back to 0. `what` names the data in messages (`revocations`).
 */
export async function scanAll(
  client: RespClient, command: 'ZSCAN' | 'HSCAN', key: string, pageCount: number,
  current: () => boolean, what: string, onPage: (items: RespValue[]) => void,
): Promise<void> {
  let cursor = '0';
  do {
    const reply = await client.command([command, key, cursor, 'COUNT', pageCount]);
    if (!current()) throw new RingletError('ERR_CONNECTION_LOST', `the engine connection changed while reading ${what} back`);
    if (!Array.isArray(reply) || reply.length !== 2 || typeof reply[0] !== 'string' || !Array.isArray(reply[1])) {
      throw new RingletError('ERR_PROTOCOL', `engine answered ${command} with something other than [cursor, ${command === 'ZSCAN' ? 'members' : 'fields'}]`);
    }
    cursor = reply[0];
    onPage(reply[1]);
  } while (cursor !== '0');
}

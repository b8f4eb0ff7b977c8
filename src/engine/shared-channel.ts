/**
 * Subscribing to one of the shared state's channels. The subscription is made in the
 * background and kept by the pub/sub link across reconnects, so nothing here waits; an
 * engine that refuses it (an ACL without the channel) refuses it for good, and the
 * operator must hear what this instance will miss.
 */
import { RingletError } from '../errors.js';
import type { RespClient } from './resp-client.js';
import type { MessageHandler } from './resp-subscriber.js';

/** Where the shared state reports (the server's logger fits structurally). */
export interface SharedLog {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

/**
 * Subscribes `onMessage` to `channel`. A refusal is logged once as
 * `shared_state_subscribe_refused` with `consequence`; an engine that is down or slow is
 * the link's to retry (and to log).
 */
export function subscribeChannel(client: RespClient, channel: string, onMessage: MessageHandler, log: SharedLog, consequence: string): void {
  client.subscribe(channel, onMessage).catch((err: unknown) => {
    if (err instanceof RingletError && err.code === 'ERR_ENGINE_REPLY') {
      log.error('shared_state_subscribe_refused', { channel, reason: err.message, consequence });
    }
  });
}

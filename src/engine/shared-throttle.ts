/**
 * The login throttle counted in the engine, so N instances allow what one would: the same
 * keys (`ip:<address key>`, `user:<name>`, `pair:<address key>|<name>`) and the same policy
 * as the local table (users/throttle.ts), on one clock (the engine's `TIME`) for every
 * instance. Each key is a hash (`f` failures, `t` last failure in engine ms) that expires
 * `forgetAfterMs` after its last failure; a script reads or updates all of an attempt's keys
 * at once (atomic increments with expiry), so two instances recording failures together
 * cannot lose one.
 *
 * The local table stays: every failure is recorded there too, and an attempt is allowed only
 * when both allow it (the larger wait wins). The engine is asked with a bounded wait
 * (SHARED_LOGIN_WAIT_MS); when it does not answer in time, or the link is down, the local
 * table decides alone (counted as a fallback): during an outage each instance throttles as
 * one instance does. Logins wait for this; no other request does.
 */
import type { RespClient } from './resp-client.js';
import { EngineScript } from './engine-script.js';
import { throttleKeyName, type SharedKeyNames } from './shared-wire.js';

/** Longest a login waits for the engine before the local table decides alone. */
export const SHARED_LOGIN_WAIT_MS = 250;

export interface ThrottlePolicy {
  freeAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  forgetAfterMs: number;
}

/** KEYS: the keys to check; ARGV: freeAttempts, baseDelayMs, maxDelayMs. Returns the longest wait in ms. */
const CHECK = new EngineScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local free, base, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local wait = 0
for _, key in ipairs(KEYS) do
  local v = redis.call('HMGET', key, 'f', 't')
  local f, last = tonumber(v[1]), tonumber(v[2])
  if f and last and f >= free then
    local d = max
    if f - free < 31 then d = math.min(max, base * 2 ^ (f - free)) end
    local w = d - math.max(0, now - last)
    if w > wait then wait = w end
  end
end
return math.ceil(wait)
`);

/**
 * KEYS: address key, user key, pair key; ARGV: forgetAfterMs. The user key counts failing
 * addresses, not attempts: it grows only when this address had no failure on this name yet.
 */
const FAILURE = new EngineScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function bump(key)
  redis.call('HINCRBY', key, 'f', 1)
  redis.call('HSET', key, 't', now)
  redis.call('PEXPIRE', key, ARGV[1])
end
bump(KEYS[1])
if redis.call('EXISTS', KEYS[3]) == 0 then bump(KEYS[2]) end
bump(KEYS[3])
return 1
`);

export interface SharedThrottleStats {
  /** Engine answers used. */
  answered: number;
  /** Logins decided by the local table alone (engine down or too slow). */
  fallbacks: number;
}

export interface SharedThrottleOptions {
  client: RespClient;
  names: SharedKeyNames;
  macKey: Buffer;
  policy: ThrottlePolicy;
  /** Whether the command link is up now (asking a down engine would only wait). */
  linkUp: () => boolean;
  waitMs?: number;
}

/** What the login service asks the engine; each answer is undefined when the engine did not give one in time. */
export class SharedThrottle {
  readonly #o: SharedThrottleOptions;
  readonly #waitMs: number;
  #answered = 0;
  #fallbacks = 0;

  constructor(options: SharedThrottleOptions) {
    this.#o = options;
    this.#waitMs = options.waitMs ?? SHARED_LOGIN_WAIT_MS;
  }

  /** The longest wait (ms) any of `keys` must observe, per the engine's counts; undefined: ask the local table alone. */
  async check(keys: readonly string[]): Promise<number | undefined> {
    const { policy } = this.#o;
    const reply = await this.#bounded(() => CHECK.run(this.#o.client, keys.map((k) => this.#name(k)), [policy.freeAttempts, policy.baseDelayMs, policy.maxDelayMs]));
    return typeof reply === 'number' && Number.isFinite(reply) && reply >= 0 ? reply : undefined;
  }

  /** Counts a failed attempt for the address, the name (once per address) and the pair; false when the engine did not take it. */
  async recordFailure(addressKey: string, userKey: string, pairKey: string): Promise<boolean> {
    const keys = [addressKey, userKey, pairKey].map((k) => this.#name(k));
    return (await this.#bounded(() => FAILURE.run(this.#o.client, keys, [this.#o.policy.forgetAfterMs]))) === 1;
  }

  /** A successful login forgets the name's failures (not the address's, as locally). */
  async recordSuccess(userKey: string): Promise<boolean> {
    return typeof (await this.#bounded(() => this.#o.client.command(['DEL', this.#name(userKey)]))) === 'number';
  }

  stats(): SharedThrottleStats {
    return { answered: this.#answered, fallbacks: this.#fallbacks };
  }

  #name(throttleKey: string): string {
    return throttleKeyName(this.#o.names, this.#o.macKey, throttleKey);
  }

  /** The engine's answer within the bound, or undefined (down, too slow, refused): never throws. */
  async #bounded<T>(ask: () => Promise<T>): Promise<T | undefined> {
    if (!this.#o.linkUp()) {
      this.#fallbacks++;
      return undefined;
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), this.#waitMs);
    });
    const answer = ask().catch(() => undefined);
    try {
      const value = await Promise.race([answer, late]);
      if (value === undefined) this.#fallbacks++;
      else this.#answered++;
      return value;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Recently verified credentials → what verifying them produced. A browser or API client
 * sends the same cookie or bearer token on every request; verifying it again costs a fresh
 * node:crypto AES-GCM or HMAC context (5-10 µs each, more than all of ringlet's own work on
 * a forward-auth answer). Only the cryptographic verdict is kept: expiry, revocation and
 * re-issue are decided on every request from the claims, exactly as on a miss.
 *
 * Bounded: at most `entries` credentials (the profile's `verifiedCacheEntries`; 0 turns
 * the cache off) of at most {@link VERIFIED_CACHE_MAX_TOKEN_CHARS} characters; when full,
 * the oldest entry goes (first in, first out: a hit reorders nothing, so it never rehashes
 * the Map). Clients taking turns beyond the bound all miss (FIFO keeps none of them long
 * enough), so it should hold the clients a device really serves at once.
 * Only credentials that verified are inserted, so forged ones cannot churn it.
 *
 * Timing: the Map is keyed by the credential without its last segment (the JWE tag or the
 * JWS MAC), and that segment is compared in constant time on a hit. Whatever a Map lookup's
 * timing may reveal is the part a forger needs the key for anyway: without the tag or MAC
 * it authenticates nothing.
 */
import { integerOption } from '../util/options.js';

/** Credentials kept per cache (one for cookie-mode cookies, one for bearer tokens) unless the profile says otherwise. */
export const DEFAULT_VERIFIED_CACHE_ENTRIES = 64;
/** Upper bound of `verifiedCacheEntries`: 65536 × 1.5 KiB = 96 MiB per cache at most. */
export const MAX_VERIFIED_CACHE_ENTRIES = 65_536;
/** Longer credentials are verified every time and never kept (ours are 250-400 characters). */
export const VERIFIED_CACHE_MAX_TOKEN_CHARS = 1024;
/** Allowance per entry beyond the token's characters: claims object, MAC string, Map slot. */
const ENTRY_OVERHEAD_BYTES = 512;
/** Upper estimate of one entry: a credential of the longest kept length and its verdict. */
export const VERIFIED_CACHE_ENTRY_BYTES = VERIFIED_CACHE_MAX_TOKEN_CHARS + ENTRY_OVERHEAD_BYTES;

/** Upper estimate of one cache's memory, for the footprint. */
export function verifiedCacheFootprintBytes(entries: number): number {
  return entries * VERIFIED_CACHE_ENTRY_BYTES;
}

interface Entry<T> {
  mac: string;
  verdict: T;
}

/** Equal strings of base64url characters; time depends only on the length. */
function sameTail(token: string, from: number, mac: string): boolean {
  if (token.length - from !== mac.length) return false;
  let diff = 0;
  for (let i = 0; i < mac.length; i++) diff |= token.charCodeAt(from + i) ^ mac.charCodeAt(i);
  return diff === 0;
}

const IN_COUNT = { unit: 'count' } as const;

export class VerifiedCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #capacity: number;
  #hits = 0;
  #misses = 0;

  constructor(capacity = DEFAULT_VERIFIED_CACHE_ENTRIES) {
    this.#capacity = integerOption(capacity, 'verifiedCacheEntries', 0, MAX_VERIFIED_CACHE_ENTRIES, IN_COUNT);
  }

  /** The verdict kept for exactly this credential, or undefined. Never throws. */
  get(token: string): T | undefined {
    const dot = token.lastIndexOf('.');
    if (dot < 0 || token.length > VERIFIED_CACHE_MAX_TOKEN_CHARS) return undefined;
    const entry = this.#entries.get(token.slice(0, dot));
    if (entry === undefined || !sameTail(token, dot + 1, entry.mac)) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    return entry.verdict;
  }

  /** Keep the verdict of a credential that verified. The verdict must not be mutated later. */
  remember(token: string, verdict: T): void {
    const dot = token.lastIndexOf('.');
    if (dot < 0 || token.length > VERIFIED_CACHE_MAX_TOKEN_CHARS || this.#capacity === 0) return;
    const key = token.slice(0, dot);
    if (!this.#entries.has(key) && this.#entries.size >= this.#capacity) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { mac: token.slice(dot + 1), verdict });
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The most credentials it keeps. */
  get capacity(): number {
    return this.#capacity;
  }

  stats(): { entries: number; hits: number; misses: number } {
    return { entries: this.#entries.size, hits: this.#hits, misses: this.#misses };
  }
}

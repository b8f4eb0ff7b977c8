/**
 * Where every piece of store state lives inside the one ArrayBuffer allocated at
 * construction. The same table drives allocation, `storeFootprintBytes` and snapshots,
 * so the reported bytes are the allocated bytes.
 *
 * Integer arrays are as narrow as their largest value allows (node-lru-cache does the
 * same for its links): a 200-slot router store uses Uint8Array links, a 100 000-slot
 * container store Uint32Array.
 */
import { resolveStoreOptions } from './options.js';
import type { ResolvedStoreOptions, StoreOptions } from './options.js';

export type ElementKind = 'u8' | 'u16' | 'u32' | 'f64';

export type RegionName =
  | 'counters' | 'createdMs' | 'lastSeenMs'
  | 'heads' | 'generation'
  | 'lruPrev' | 'lruNext' | 'agePrev' | 'ageNext' | 'userPrev' | 'userNext'
  | 'slotUser' | 'userHead' | 'userCount' | 'dataLength'
  | 'slotRole' | 'secrets' | 'idScratch' | 'randomBlock' | 'data';

export interface Region {
  name: RegionName;
  kind: ElementKind;
  length: number;
  byteOffset: number;
  byteLength: number;
}

export interface StoreLayout {
  regions: Readonly<Record<RegionName, Region>>;
  totalBytes: number;
}

/** Secret part of the id (16 bytes = 128 bits) followed by the CSRF secret (16 bytes). */
export const SECRET_BYTES = 16;
export const CSRF_BYTES = 16;
export const SECRETS_PER_SLOT = SECRET_BYTES + CSRF_BYTES;
/** Bytes of a decoded id: slot (u32) | generation (u32) | secret (16). */
export const ID_BYTES = 8 + SECRET_BYTES;
/**
 * CSPRNG bytes drawn for 32 creates at a time: `fillRandom` allocates a small view per
 * call, which alone was a third of create()'s garbage. Each byte is used once, then wiped.
 */
export const RANDOM_BLOCK_BYTES = 32 * SECRETS_PER_SLOT;
/** Counters kept in the buffer (so snapshots carry them); see ring-store.ts for indices. */
export const COUNTER_SLOTS = 8;
/** List heads and sizes kept in the buffer; see ring-store.ts for indices. */
export const HEAD_SLOTS = 8;

const BYTES: Record<ElementKind, number> = { u8: 1, u16: 2, u32: 4, f64: 8 };

/** The narrowest unsigned kind that holds every value in [0, maxValue]. */
export function uintKind(maxValue: number): ElementKind {
  if (maxValue <= 0xff) return 'u8';
  if (maxValue <= 0xffff) return 'u16';
  return 'u32';
}

/** Compute the layout for already-validated options. */
export function computeLayout(o: ResolvedStoreOptions): StoreLayout {
  const cap = o.capacity;
  // Links hold a slot index or the sentinel `capacity`; user-free links hold up to maxUsers <= capacity.
  const link = uintKind(cap);
  const plan: Array<[RegionName, ElementKind, number]> = [
    ['counters', 'f64', COUNTER_SLOTS],
    ['createdMs', 'f64', cap],
    ['lastSeenMs', 'f64', cap],
    ['heads', 'u32', HEAD_SLOTS],
    ['generation', 'u32', cap],
    ['lruPrev', link, cap + 1],
    ['lruNext', link, cap + 1],
    ['agePrev', link, cap + 1],
    ['ageNext', link, cap + 1],
    ['userPrev', link, cap],
    ['userNext', link, cap],
    ['slotUser', uintKind(o.maxUsers), cap],
    ['userHead', link, o.maxUsers],
    ['userCount', uintKind(o.maxSessionsPerUser), o.maxUsers],
    ['dataLength', uintKind(o.slotBytes), cap],
    ['slotRole', 'u8', cap],
    ['secrets', 'u8', cap * SECRETS_PER_SLOT],
    ['idScratch', 'u8', ID_BYTES],
    ['randomBlock', 'u8', RANDOM_BLOCK_BYTES],
    ['data', 'u8', cap * o.slotBytes],
  ];
  const regions = Object.create(null) as Record<RegionName, Region>;
  let offset = 0;
  for (const [name, kind, length] of plan) {
    // Every region starts 8-aligned so any typed-array view over it is legal.
    offset = Math.ceil(offset / 8) * 8;
    const byteLength = length * BYTES[kind];
    regions[name] = { name, kind, length, byteOffset: offset, byteLength };
    offset += byteLength;
  }
  return { regions, totalBytes: Math.ceil(offset / 8) * 8 };
}

/**
 * The exact number of bytes `createStore(options)` allocates for session state, so a
 * server can compare it with the device's memory budget before it starts. Equal to
 * `store.stats().bytes`.
 *
 * Not included: the interned user and role name strings (at most `maxUsers` + 255
 * strings of at most 256 characters) and a few fixed-size objects per store.
 *
 * @throws ConfigError for options `createStore` would refuse.
 * @example storeFootprintBytes({ capacity: 256, slotBytes: 256 }) // 85 400 (256 data + ~78 bookkeeping per slot)
 */
export function storeFootprintBytes(options: StoreOptions): number {
  return computeLayout(resolveStoreOptions(options)).totalBytes;
}

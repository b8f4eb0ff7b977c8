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
/** List heads and sizes kept in the buffer (so snapshots carry them); indices below. */
export const HEAD_SLOTS = 8;
/** heads[]: top of the free-slot list, linked through lruNext; `capacity` = empty. */
export const HEAD_FREE = 0;
/** heads[]: top of the free user-entry list, linked through userHead; `maxUsers` = empty. */
export const HEAD_USER_FREE = 1;
/** heads[]: live sessions. */
export const HEAD_ACTIVE = 2;
/** heads[]: interned roles (entries 0 .. n-1 of the role table). */
export const HEAD_ROLES = 3;
/** heads[]: users with live sessions. */
export const HEAD_USERS = 4;
/** heads[]: bytes of randomBlock already used (RANDOM_BLOCK_BYTES = empty, refill before use). */
export const HEAD_RANDOM_USED = 5;
/** Distinct roles a store interns (roles are few: admin, viewer, ...); slotRole is a u8. */
export const MAX_ROLES = 255;

const BYTES: Record<ElementKind, number> = { u8: 1, u16: 2, u32: 4, f64: 8 };

export type UintArray = Uint8Array | Uint16Array | Uint32Array;

/** One typed-array view per region; see the RingStore file comment for what the lists mean. */
export interface StoreArrays {
  readonly counters: Float64Array;
  readonly createdMs: Float64Array;
  readonly lastSeenMs: Float64Array;
  readonly heads: Uint32Array;
  readonly generation: Uint32Array;
  readonly lruPrev: UintArray;
  readonly lruNext: UintArray;
  readonly agePrev: UintArray;
  readonly ageNext: UintArray;
  readonly userPrev: UintArray;
  readonly userNext: UintArray;
  readonly slotUser: UintArray;
  readonly userHead: UintArray;
  readonly userCount: UintArray;
  readonly dataLength: UintArray;
  readonly slotRole: Uint8Array;
  readonly secrets: Uint8Array;
  readonly idScratch: Uint8Array;
  readonly randomBlock: Uint8Array;
  readonly data: Uint8Array;
}

const ARRAY_TYPES: Record<ElementKind, new (b: ArrayBufferLike, o: number, l: number) => UintArray | Float64Array> = {
  u8: Uint8Array, u16: Uint16Array, u32: Uint32Array, f64: Float64Array,
};

/**
 * Views of every region of a store state that starts at `byteOffset` of `buffer` (the
 * store's own buffer, or the state inside a snapshot). `byteOffset` must be 8-aligned.
 */
export function storeArrays(layout: StoreLayout, buffer: ArrayBufferLike, byteOffset = 0): StoreArrays {
  const r = (name: RegionName) => {
    const region = layout.regions[name];
    return new ARRAY_TYPES[region.kind](buffer, byteOffset + region.byteOffset, region.length);
  };
  return {
    counters: r('counters') as Float64Array,
    createdMs: r('createdMs') as Float64Array,
    lastSeenMs: r('lastSeenMs') as Float64Array,
    heads: r('heads') as Uint32Array,
    generation: r('generation') as Uint32Array,
    lruPrev: r('lruPrev') as UintArray,
    lruNext: r('lruNext') as UintArray,
    agePrev: r('agePrev') as UintArray,
    ageNext: r('ageNext') as UintArray,
    userPrev: r('userPrev') as UintArray,
    userNext: r('userNext') as UintArray,
    slotUser: r('slotUser') as UintArray,
    userHead: r('userHead') as UintArray,
    userCount: r('userCount') as UintArray,
    dataLength: r('dataLength') as UintArray,
    slotRole: r('slotRole') as Uint8Array,
    secrets: r('secrets') as Uint8Array,
    idScratch: r('idScratch') as Uint8Array,
    randomBlock: r('randomBlock') as Uint8Array,
    data: r('data') as Uint8Array,
  };
}

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

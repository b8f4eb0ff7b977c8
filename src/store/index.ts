/** The RAM session store: fixed slots in one buffer, exact LRU, lazy expiry, snapshots. */
export { createStore, MAX_NAME_CHARS } from './ring-store.js';
export { MAX_ROLES } from './layout.js';
export { storeFootprintBytes } from './layout.js';
export {
  MAX_CAPACITY, MAX_SLOT_BYTES, MAX_STORE_BYTES, MAX_TIMEOUT_MS,
  DEFAULT_SLOT_BYTES, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_ABSOLUTE_TIMEOUT_MS,
} from './options.js';
export type { StoreOptions, RestoreFrom } from './options.js';
export { SnapshotError, SNAPSHOT_VERSION } from './snapshot.js';
export type { SnapshotFailure } from './snapshot.js';
export { ID_CHARS, REF_CHARS, refOfHandle } from './session-id.js';
export type {
  CreatedSession, EvictedSession, EvictionReason, GetOptions, SessionFacts, SessionListEntry, SessionSnapshot, SessionStore,
  SessionView, StoreStats,
} from './types.js';

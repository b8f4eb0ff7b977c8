/** Users, passwords, the hashing bound and the login throttle: pure code, no node:http. */
export type { ScryptCost } from './scrypt-cost.js';
export {
  hashingMemoryBytes,
  MAX_SCRYPT_MEMORY_BYTES,
  scryptMaxmemBytes,
  scryptMemoryBytes,
  validateScryptCost,
} from './scrypt-cost.js';
export type { ParsedScryptHash } from './phc-scrypt.js';
export {
  dummyVerify,
  formatScryptHash,
  HASH_BYTES,
  hashPassword,
  hashPasswordSync,
  needsRehash,
  parseScryptHash,
  SALT_BYTES,
  verifyPassword,
} from './phc-scrypt.js';
export type { NewPasswordContext } from './password-policy.js';
export {
  checkNewPassword,
  GENERATED_PASSWORD_BITS,
  generatePassword,
  MAX_PASSWORD_BYTES,
  MIN_NEW_PASSWORD_CHARS,
  normalizePassword,
} from './password-policy.js';
export type { Role, UserRecord, UsersFileJson } from './users-db.js';
export { emptyUsersDb, isRole, isValidUserName, MAX_USER_NAME_CHARS, MAX_USERS, ROLES, UsersDb } from './users-db.js';
export type { SetPasswordOptions } from './users-file.js';
export {
  createFirstStartUsers,
  FIRST_START_USER,
  loadOrCreateUsersFile,
  loadUsersFile,
  MAX_USERS_FILE_BYTES,
  parseUsersFile,
  saveUsersFile,
  setPassword,
  setUserPassword,
  USERS_FILE_MODE,
} from './users-file.js';
export type { HashLimiterOptions, HashLimiterStats } from './hash-limiter.js';
export { HashLimiter } from './hash-limiter.js';
export type { LoginThrottleOptions, LoginThrottleStats } from './throttle.js';
export { LoginThrottle, THROTTLE_WAYS, throttleFootprintBytes } from './throttle.js';

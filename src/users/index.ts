/** Users, passwords, the hashing bound and the login throttle: pure code, no node:http. */
export type { ScryptCost } from './scrypt-cost.js';
export {
  describeScryptCost,
  hashingMemoryBytes,
  isWeakerCost,
  MAX_SCRYPT_MEMORY_BYTES,
  meetsOwaspScryptMinimum,
  OWASP_SCRYPT_MIN_P,
  OWASP_SCRYPT_R,
  owaspMinimumP,
  SCRYPT_LOG_N_MAX,
  SCRYPT_LOG_N_MIN,
  SCRYPT_P_MAX,
  SCRYPT_P_MIN,
  SCRYPT_R_MAX,
  SCRYPT_R_MIN,
  scryptMaxmemBytes,
  scryptMemoryBytes,
  validateScryptCost,
} from './scrypt-cost.js';
export type { ParsedScryptHash, ScryptFunction } from './phc-scrypt.js';
export {
  dummyVerify,
  formatScryptHash,
  HASH_BYTES,
  hashIsWeaker,
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
export type { SetPasswordOptions, UpdateUsersFileOptions, UsersFileChange, UsersFileUpdate } from './users-file.js';
export {
  createFirstStartUsers,
  FIRST_START_USER,
  formatUsersFile,
  loadUsersFile,
  MAX_USERS_FILE_BYTES,
  parseUsersFile,
  readUsersFileText,
  saveUsersFile,
  setPassword,
  setUserPassword,
  updateUsersFile,
  USERS_FILE_MODE,
} from './users-file.js';
export { addUser, removeUser, setUserHash, setUserRole, upgradeUserHash } from './user-changes.js';
export type { ReloadResult, UsersChangeListener, UsersChangeOrigin, UsersFileStoreOptions, UsersStore, UsersStoreLog } from './users-store.js';
export { USERS_RELOAD_DEBOUNCE_MS, UsersFileStore } from './users-store.js';
export type { HashLimiterOptions, HashLimiterStats } from './hash-limiter.js';
export { HashLimiter, MAX_HASH_CONCURRENCY } from './hash-limiter.js';
export type { LoginThrottleOptions, LoginThrottleStats } from './throttle.js';
export { LoginThrottle, MAX_FREE_ATTEMPTS, MAX_THROTTLE_ENTRIES, MIN_THROTTLE_ENTRIES, THROTTLE_WAYS, throttleFootprintBytes } from './throttle.js';
export type { HashShape } from './login-verify.js';
export { loginHashShapes, verifyLogin } from './login-verify.js';

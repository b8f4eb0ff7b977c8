/**
 * ringlet: a tiny, memory-bounded session server and session layer. Node built-ins only.
 * The package entry re-exports the public API; nothing else is defined here.
 */
export { RingletError, ConfigError } from './errors.js';
export type { RingletErrorCode } from './errors.js';

export { createRinglet } from './library/create-ringlet.js';
export type { LoginOptions, Middleware, Next, Ringlet, RingletOptions, RingletRequest } from './library/create-ringlet.js';
export type { Permission } from './access/permissions.js';
export type { RolePermissions } from './access/grants.js';
export type { Session, SessionManager, IssuedSession, SessionListing, IssuedToken, SessionStats } from './session/types.js';

export * from './store/index.js';

export {
  decodeBase64url, encodeBase64url, parseCookieHeader, getCookieValues, serializeSetCookie,
  KeyRing, loadKeyRing, generateJwks, rotateJwks, signJwt, verifyJwt, sealJwe, openJwe,
} from './codec/index.js';
export type { JwkSet, SetCookieOptions, SameSite, VerifiedJwt, OpenedJwe } from './codec/index.js';

export { parseProfile, loadProfile, loadProfileFile, DEFAULT_PROFILE_NAME } from './config/profile.js';
export type { DeviceProfile, SessionMode } from './config/profile-schema.js';
export { computeFootprint, formatFootprint } from './config/footprint.js';

export { startServer } from './server/start.js';
export type { StartConfig, RunningServer } from './server/start.js';
export { validateServerOptions } from './server/options.js';
export type { ServerOptions, Role } from './server/options.js';
// ServerOptions.sharedState takes only what this returns (an instance of this module's class).
export { parseEngineUrl } from './engine/engine-target.js';
export type { EngineTarget } from './engine/engine-target.js';

export { hashPassword, verifyPassword } from './users/index.js';

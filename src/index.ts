export { RingletError, ConfigError } from './errors.js';
export type { RingletErrorCode } from './errors.js';

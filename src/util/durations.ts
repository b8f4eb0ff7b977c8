/**
 * Units of time, and the two bounds on a duration that hold in every layer. Every other
 * time limit is a named constant in the module that enforces it, or a device-profile field.
 */

export const SECOND_MS = 1_000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/**
 * Node timers overflow above 2^31-1 ms (setTimeout clamps larger values to 1 ms, with a
 * TimeoutOverflowWarning): no timeout or delay that is handed to a timer may exceed it.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The longest any credential lives: 400 days, the longest a browser keeps a cookie
 * (RFC 6265bis sections 5.6.1 and 5.6.2: user agents cap Expires and Max-Age at 400 days). Sessions,
 * bearer tokens and machine tokens are all held to it, so a revocation that outlasts it
 * outlasts every credential.
 */
export const MAX_CREDENTIAL_LIFETIME_MS = 400 * DAY_MS;

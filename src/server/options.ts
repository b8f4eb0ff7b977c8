/**
 * Runtime options that depend on where ringlet is deployed rather than on the device:
 * addresses, files, TLS, proxies, origins. Validated once at start; errors name the field.
 */
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { ConfigError } from '../errors.js';
import { MINUTE_MS } from '../util/durations.js';
import { integerOption } from '../util/options.js';
import { DEFAULT_SITE_NAME, MAX_TIME_ZONE_CHARS, zoneFormat } from '../web/index.js';

import { DEFAULT_KEY_PREFIX, EngineTarget, parseKeyPrefix } from '../engine/engine-target.js';
import type { Role } from '../access/roles.js';
import { DEFAULT_ROLE_PERMISSIONS, type Permission } from '../access/permissions.js';
import { checkRolePermissions } from '../access/grants.js';

export type { Role };

export interface IdentityHeaderNames {
  user: string;
  groups: string;
}

export interface ServerOptions {
  host: string;
  port: number;
  usersPath: string;
  /** JWKS file; cookie mode without one uses an in-memory key (sessions die on restart). */
  keysPath: string | undefined;
  tlsCertPath: string | undefined;
  tlsKeyPath: string | undefined;
  /** Served over TLS by a terminating proxy in front: cookies get Secure and __Host-. */
  behindTls: boolean;
  /** Names served besides IP literals and localhost, which are always served (DNS-rebinding defence). */
  allowedHosts: string[];
  /** Peers whose X-Forwarded-* / X-Original-URI headers are believed (exact IPs). */
  trustedProxies: string[];
  /** Origins allowed for CORS and cross-origin credentialed requests. */
  corsOrigins: string[];
  identityHeaders: IdentityHeaderNames;
  /** Reverse-proxy target for every path ringlet does not own. */
  upstream: URL | undefined;
  /** RAM-mode snapshot file (tmpfs, never flash). */
  snapshotPath: string | undefined;
  /**
   * Where revocations are kept across restarts. undefined: next to `keysPath`
   * (`keys.json` → `keys.revocations.json`) when there is one; null: nowhere (`--revocations
   * none`: a device that may not write; a warning says what is forgotten).
   */
  revocationsPath: string | null | undefined;
  /** Accept only credentials minted by this boot: the safe choice when revocations cannot be kept. */
  refuseEarlierBoots: boolean;
  /** Named permissions each role may hold; tokens may ask for a subset (scopes). */
  permissions: Readonly<Record<Role, readonly Permission[]>>;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Time allowed for in-flight requests on SIGTERM/SIGINT. */
  shutdownGraceMs: number;
  /**
   * The shared-state engine (Redis or Valkey) several instances share. Undefined: every
   * instance keeps its own state, and no engine client is constructed.
   */
  sharedState: EngineTarget | undefined;
  /** Prefix of every engine key and channel, so several deployments can share one engine. */
  sharedStatePrefix: string;
  /**
   * While the engine is unreachable (or not yet read since the links came up), refuse every
   * credential minted by another instance instead of serving it from local state.
   */
  sharedStateFailClosed: boolean;
  /**
   * The device's name on every page (title and banner). A deployment option, not a profile
   * field: a profile describes a class of hardware shared by many devices, and each of them
   * has its own name. Default: the host name.
   */
  deviceName: string;
  /** Absolute times on pages are written in this IANA zone (`UTC`, `Europe/Berlin`). */
  timeZone: string;
}

/** Longest device name, in characters (a title and a banner line, not a paragraph). */
export const MAX_DEVICE_NAME_CHARS = 64;

// C0 and C1 controls, DEL, and the Unicode line and paragraph separators: a name is one line.
const CONTROL_RegExp = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const CONTROLS_RegExp = new RegExp(CONTROL_RegExp.source, 'g');

/** The host name as a device name: trimmed, cut to the limit; "ringlet" when there is none. */
export function defaultDeviceName(host: string = safeHostname()): string {
  const name = [...host.replace(CONTROLS_RegExp, '').trim()].slice(0, MAX_DEVICE_NAME_CHARS).join('').trim();
  return name === '' ? DEFAULT_SITE_NAME : name;
}

function safeHostname(): string {
  try {
    return hostname();
  } catch {
    return '';
  }
}

export const DEFAULT_SERVER_OPTIONS: ServerOptions = {
  host: '127.0.0.1',
  port: 8080,
  usersPath: 'ringlet-users.json',
  keysPath: undefined,
  tlsCertPath: undefined,
  tlsKeyPath: undefined,
  behindTls: false,
  allowedHosts: [],
  trustedProxies: [],
  corsOrigins: [],
  identityHeaders: { user: 'Remote-User', groups: 'Remote-Groups' },
  upstream: undefined,
  snapshotPath: undefined,
  revocationsPath: undefined,
  refuseEarlierBoots: false,
  permissions: DEFAULT_ROLE_PERMISSIONS,
  logLevel: 'info',
  shutdownGraceMs: 5000,
  sharedState: undefined,
  sharedStatePrefix: DEFAULT_KEY_PREFIX,
  sharedStateFailClosed: false,
  deviceName: '',
  timeZone: 'UTC',
};

export const MAX_PORT = 65_535;
/** Longest wait for in-flight requests at shutdown. */
const MAX_SHUTDOWN_GRACE_MS = 10 * MINUTE_MS;
const IN_MS = { unit: 'ms' } as const;
const HEADER_NAME_RE = /^[A-Za-z0-9-]{1,64}$/;
const ORIGIN_RE = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$|^https?:\/\/\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;
const HOST_RE = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/;

function need(ok: boolean, field: string, message: string): void {
  if (!ok) throw new ConfigError(field, message);
}

/** Validates the whole set; returns a frozen copy with defaults filled in. */
export function validateServerOptions(partial: Partial<ServerOptions>): ServerOptions {
  const o: ServerOptions = { ...DEFAULT_SERVER_OPTIONS, ...partial };
  // Unset or empty: the host name, read now (not at import: a library user may never serve pages).
  if (o.deviceName === undefined || o.deviceName === '') o.deviceName = defaultDeviceName();
  need(typeof o.host === 'string' && o.host.length > 0 && o.host.length <= 255, 'host', 'must be a host name or IP address');
  integerOption(o.port, 'port', 0, MAX_PORT);
  need(typeof o.usersPath === 'string' && o.usersPath.length > 0, 'usersPath', 'must be a file path');
  need((o.tlsCertPath === undefined) === (o.tlsKeyPath === undefined), 'tlsCertPath', 'TLS needs both a certificate and a key');
  for (const [i, h] of o.allowedHosts.entries()) need(HOST_RE.test(h), `allowedHosts[${i}]`, 'must be host or host:port');
  for (const [i, p] of o.trustedProxies.entries()) need(isIP(p) !== 0, `trustedProxies[${i}]`, 'must be an IP address');
  for (const [i, origin] of o.corsOrigins.entries()) {
    need(ORIGIN_RE.test(origin), `corsOrigins[${i}]`, 'must be an origin like https://app.example (no path, no *)');
  }
  need(HEADER_NAME_RE.test(o.identityHeaders.user), 'identityHeaders.user', 'must be a header name');
  need(HEADER_NAME_RE.test(o.identityHeaders.groups), 'identityHeaders.groups', 'must be a header name');
  if (o.upstream !== undefined) {
    need(o.upstream.protocol === 'http:' || o.upstream.protocol === 'https:', 'upstream', 'must be an http:// or https:// URL');
  }
  checkRolePermissions(o.permissions, 'permissions');
  need(o.revocationsPath === undefined || o.revocationsPath === null || (typeof o.revocationsPath === 'string' && o.revocationsPath.length > 0), 'revocationsPath', 'must be a file path, or none');
  need(typeof o.refuseEarlierBoots === 'boolean', 'refuseEarlierBoots', 'must be true or false');
  need(['debug', 'info', 'warn', 'error'].includes(o.logLevel), 'logLevel', 'must be debug, info, warn or error');
  need(typeof o.deviceName === 'string' && o.deviceName.trim() === o.deviceName && [...o.deviceName].length <= MAX_DEVICE_NAME_CHARS && !CONTROL_RegExp.test(o.deviceName),
    'deviceName', `must be 1 to ${MAX_DEVICE_NAME_CHARS} characters on one line, without leading or trailing spaces`);
  need(typeof o.timeZone === 'string' && o.timeZone.length <= MAX_TIME_ZONE_CHARS, 'timeZone', 'must be UTC or an IANA time zone name such as Europe/Berlin');
  zoneFormat(o.timeZone, 'timeZone');
  integerOption(o.shutdownGraceMs, 'shutdownGraceMs', 0, MAX_SHUTDOWN_GRACE_MS, IN_MS);
  need(o.sharedState === undefined || o.sharedState instanceof EngineTarget, 'sharedState', 'must be an engine address from parseEngineUrl (redis://... or rediss://...)');
  parseKeyPrefix(o.sharedStatePrefix, 'sharedStatePrefix');
  need(partial.sharedStatePrefix === undefined || o.sharedState !== undefined, 'sharedStatePrefix', 'needs sharedState (--shared-state URL): without an engine there is nothing to prefix');
  need(typeof o.sharedStateFailClosed === 'boolean', 'sharedStateFailClosed', 'must be true or false');
  need(!o.sharedStateFailClosed || o.sharedState !== undefined, 'sharedStateFailClosed', 'needs sharedState (--shared-state URL): without an engine there is no link to lose');
  return Object.freeze(o);
}

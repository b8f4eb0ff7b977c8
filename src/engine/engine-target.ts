/**
 * Where the shared-state engine (Redis or Valkey) is: `redis://[user:password@]host[:port][/db]`
 * or `rediss://...` for TLS, the URL forms every Redis client accepts (IANA provisional
 * schemes "redis" and "rediss"). Parsed and validated once, at start; the messages name the
 * field and the rule, never the value (it may hold a password).
 */
import { isIP } from 'node:net';
import { ConfigError } from '../errors.js';

/** Redis's own default port. */
export const DEFAULT_ENGINE_PORT = 6379;
/** A URL longer than this is a mistake (a pasted file), not an address. */
export const MAX_ENGINE_URL_CHARS = 2048;
/** Redis's `databases` setting is an int; SELECT takes 0 .. databases-1. */
export const MAX_ENGINE_DB = 2 ** 31 - 1;
/** ACL user names and passwords are binary-safe in Redis; ours are bounded. */
export const MAX_ENGINE_CREDENTIAL_BYTES = 512;
/** Key prefixes: short, printable, no spaces (they appear in every key and channel name). */
export const KEY_PREFIX_REGEXP = /^[A-Za-z0-9][A-Za-z0-9:._-]{0,63}$/;
export const DEFAULT_KEY_PREFIX = 'ringlet:';

/** DNS labels; "_" too, because container service names (redis_cache) use it. */
const HOST_NAME_REGEXP = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$/;
const DB_REGEXP = /^\/(0|[1-9][0-9]{0,9})?$/;
const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/**
 * A validated engine address. The password is held in a private field: JSON.stringify,
 * util.inspect and template strings show the address with `***` in its place, so an
 * options object that reaches a log line carries no secret.
 */
export class EngineTarget {
  readonly tls: boolean;
  /** Host name or IP literal (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** ACL user; undefined = the default user (AUTH with the password alone). */
  readonly username: string | undefined;
  readonly db: number;
  readonly #password: string | undefined;

  constructor(fields: { tls: boolean; host: string; port: number; username?: string | undefined; password?: string | undefined; db?: number }) {
    this.tls = fields.tls;
    this.host = fields.host;
    this.port = fields.port;
    this.username = fields.username;
    this.db = fields.db ?? 0;
    this.#password = fields.password;
    Object.freeze(this);
  }

  /** The password, for AUTH only: never log it or put it in a message. */
  revealPassword(): string | undefined {
    return this.#password;
  }

  get hasPassword(): boolean {
    return this.#password !== undefined;
  }

  /** The address without the password: `rediss://ringlet:***@cache.lan:6380/2`. */
  toString(): string {
    const user = this.username === undefined ? '' : encodeURIComponent(this.username);
    const auth = this.#password === undefined ? '' : `${user}:***@`;
    const host = isIP(this.host) === 6 ? `[${this.host}]` : this.host;
    return `${this.tls ? 'rediss' : 'redis'}://${auth}${host}:${this.port}/${this.db}`;
  }

  toJSON(): string {
    return this.toString();
  }

  [INSPECT](): string {
    return `EngineTarget <${this.toString()}>`;
  }
}

function decodeCredential(raw: string, field: string, what: string): string {
  let text: string;
  try {
    text = decodeURIComponent(raw);
  } catch {
    throw new ConfigError(field, `the ${what} is not valid percent-encoding (write reserved characters as %XX)`);
  }
  if (Buffer.byteLength(text) > MAX_ENGINE_CREDENTIAL_BYTES) throw new ConfigError(field, `the ${what} must be at most ${MAX_ENGINE_CREDENTIAL_BYTES} bytes`);
  // RESP carries them as bulk strings (binary-safe), but a control character here is a
  // copy-paste accident, and it would travel into the engine's ACL log.
  if (/[\u0000-\u001f\u007f]/.test(text)) throw new ConfigError(field, `the ${what} must not contain control characters`);
  return text;
}

/**
 * Parses `redis://[user:password@]host[:port][/db]` or `rediss://` (TLS). The port defaults
 * to 6379 and the database to 0; user and password are percent-decoded (`%40` for `@`,
 * `%3A` for `:` in a user name, `%25` for `%`). A user without a password, a query string,
 * a fragment or any other scheme is refused. Parsed by hand rather than with WHATWG URL:
 * "redis:" is not a special scheme there (hosts stay opaque, "h:" means the default port,
 * "1.2.3" passes), and its errors repeat the input, password included.
 *
 * @example
 * parseEngineUrl('rediss://ringlet:s3cret@cache.lan:6380/2', '--shared-state');
 * // → EngineTarget { tls: true, host: 'cache.lan', port: 6380, username: 'ringlet', db: 2 }
 */
export function parseEngineUrl(text: string, field: string): EngineTarget {
  const usage = 'must be redis://[user:password@]host[:port][/db] or rediss://... for TLS';
  if (typeof text !== 'string' || text.length === 0) throw new ConfigError(field, usage);
  if (text.length > MAX_ENGINE_URL_CHARS) throw new ConfigError(field, `must be at most ${MAX_ENGINE_URL_CHARS} characters`);
  if (/[\s\u0000-\u001f\u007f]/.test(text)) throw new ConfigError(field, `${usage} (no spaces or control characters)`);
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text)?.[1]?.toLowerCase();
  if (scheme !== 'redis' && scheme !== 'rediss') {
    throw new ConfigError(field, /^(redis\+)?unix:/i.test(text) ? `${usage} (Unix sockets are not supported)` : usage);
  }
  const rest = text.slice(scheme.length + 3);
  // The database is digits only, so the last "@" ends the credentials whatever they hold.
  const at = rest.lastIndexOf('@');
  const userInfo = at === -1 ? undefined : rest.slice(0, at);
  const location = rest.slice(at + 1);
  if (/[?#]/.test(location)) throw new ConfigError(field, `${usage} (no query string or fragment: options are flags)`);

  const slash = location.indexOf('/');
  const hostPort = slash === -1 ? location : location.slice(0, slash);
  const path = slash === -1 ? '' : location.slice(slash);
  let host: string;
  let portText: string | undefined;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    host = close === -1 ? '' : hostPort.slice(1, close);
    if (close === -1 || isIP(host) !== 6) throw new ConfigError(field, 'the host in brackets must be an IPv6 address');
    const after = hostPort.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) throw new ConfigError(field, usage);
    portText = after === '' ? undefined : after.slice(1);
  } else {
    const colons = hostPort.split(':');
    if (colons.length > 2) throw new ConfigError(field, 'an IPv6 host must be in brackets: redis://[::1]:6379');
    host = colons[0] ?? '';
    portText = colons[1];
    // "1.2.3" is no IPv4 address, but getaddrinfo would read it as 1.2.0.3.
    const numeric = /^[0-9.]+$/.test(host);
    if (host === '' || host.length > 253 || (isIP(host) === 0 && (numeric || !HOST_NAME_REGEXP.test(host)))) {
      throw new ConfigError(field, 'the host must be a DNS name or an IP address');
    }
  }
  let port = DEFAULT_ENGINE_PORT;
  if (portText !== undefined) {
    port = Number(portText);
    if (!/^[0-9]{1,5}$/.test(portText) || port < 1 || port > 65535) throw new ConfigError(field, 'the port must be an integer from 1 to 65535');
  }
  const dbMatch = DB_REGEXP.exec(path === '' ? '/' : path);
  if (dbMatch === null) throw new ConfigError(field, `the path must be empty or /N with a database number from 0 to ${MAX_ENGINE_DB}`);
  const db = dbMatch[1] === undefined ? 0 : Number(dbMatch[1]);
  if (db > MAX_ENGINE_DB) throw new ConfigError(field, `the database number must be from 0 to ${MAX_ENGINE_DB}`);

  let username: string | undefined;
  let password: string | undefined;
  if (userInfo !== undefined) {
    const colon = userInfo.indexOf(':');
    if (colon === -1) throw new ConfigError(field, 'a user name needs a password (user:password@host)');
    const rawUser = userInfo.slice(0, colon);
    const rawPassword = userInfo.slice(colon + 1);
    if (rawPassword === '') throw new ConfigError(field, 'the password after ":" is empty (give one, or leave out "user:@")');
    username = rawUser === '' ? undefined : decodeCredential(rawUser, field, 'user name');
    password = decodeCredential(rawPassword, field, 'password');
  }
  return new EngineTarget({ tls: scheme === 'rediss', host: host.toLowerCase(), port, username, password, db });
}

/** Validates a key prefix; several deployments may share one engine under different prefixes. */
export function parseKeyPrefix(text: string, field: string): string {
  if (typeof text !== 'string' || !KEY_PREFIX_REGEXP.test(text)) {
    throw new ConfigError(field, 'must be 1 to 64 characters of A-Z a-z 0-9 : . _ - starting with a letter or digit (e.g. "ringlet:" or "site-a:")');
  }
  return text;
}

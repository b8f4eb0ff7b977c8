/**
 * User changes made on one instance reach the others: a password change, a hash upgraded at
 * login, a role change, a user added or removed. Each instance keeps its own users file (the
 * file is what it serves from, and what it starts from when the engine is away); the engine
 * holds the changes made at runtime on top of the files.
 *
 * Per user, three fields, each changed on its own so that two changes to different fields
 * of one user never undo each other (a hash upgrade at login cannot bring back a role that
 * was just taken away):
 *   `<name>|exists`   true, or false once removed (a removal also deletes the other two)
 *   `<name>|role`     the role
 *   `<name>|password` `{hash, mustChangePassword}`
 * in the hash `<p>users`, each value `<seq>:<sealed>`: `seq` from the counter `<p>users:seq`
 * (one engine, one order of changes), `sealed` the value's JSON in AES-256-GCM under a key
 * derived from the JWKS (`ringlet shared users`), the field's name as additional data. So an
 * engine that anyone on its network can write to cannot grant a role or set a password: only
 * an instance holding the keys can make a value the others accept, and it cannot be moved to
 * another user or field. (It can replay an earlier value of the same field: protect the
 * engine; password hashes are scrypt, and sealed besides.)
 *
 * Out: the users store's change listener diffs before and after; fields whose new value the
 * engine already holds (a change applied from the engine comes back here too) are dropped;
 * the rest wait in `pending` (one value per field: at most three per user, so it needs no
 * other bound) and are written in one script call that bumps the counter, sets the fields
 * and publishes them on `<p>users`. The store's `update()` (the password change route, the
 * CLI's writer on this host) resolves once the engine took them, or after
 * SHARED_USERS_SETTLE_WAIT_MS.
 *
 * In: a published change, or the whole hash read back at start and after every reconnect
 * (after pending changes were written, so a change made here during an outage is not
 * overwritten by the older value it replaced), is applied field by field when its `seq` is
 * newer than what this instance holds for that field, through the store's `update()` (the
 * file's lock, an atomic write), and its change listeners hear it (a removal or demotion
 * revokes that user's credentials here too).
 *
 * Which wins: the engine's newest value of a field, on every instance. At start and after a
 * reconnect, a field the engine holds replaces the file's value when they differ — the
 * engine has the fleet's order of changes, a file edited while its server was stopped has
 * no time that compares with it. Change users on a running instance (the web pages, or
 * `ringlet users` on a host whose server runs: its server sees the file change and shares
 * it); a field the engine does not hold is the file's.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { isRole, isValidUserName, MAX_USERS, type Role, type UserRecord, type UsersDb } from '../users/index.js';
import { RingletError } from '../errors.js';
import { randomBytesPooled } from '../util/random-pool.js';
import { decodeBase64url } from '../codec/index.js';
import { EngineScript } from './engine-script.js';
import type { RespClient } from './resp-client.js';
import { RetryTimer } from './retry-timer.js';
import { scanAll } from './scan.js';
import { subscribeChannel, type SharedLog } from './shared-channel.js';
import type { SharedKeyNames } from './shared-wire.js';

/** How long a change of the users table waits for the engine to take it (then resolves anyway). */
export const SHARED_USERS_SETTLE_WAIT_MS = 250;
/** HSCAN's COUNT hint when reading the users back. */
export const USERS_PAGE_COUNT = 64;
/** Failed writes or file updates are tried again after this, doubling up to the maximum. */
export const USERS_RETRY_BASE_DELAY_MS = 500;
export const USERS_RETRY_MAX_DELAY_MS = 30_000;
/** Per user held in the mirror of what the engine holds (three fields, a hash among them), generous. */
export const USER_MIRROR_BYTES = 512;
/** A sealed value longer than this is not one ringlet wrote. */
const MAX_SEALED_CHARS = 1024;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export type UserField = 'exists' | 'role' | 'password';
const FIELDS: readonly UserField[] = ['exists', 'role', 'password'];

/** The users table as shared users needs it: the store of users/users-store.ts fits. */
export interface SharedUsersStore {
  current(): UsersDb;
  update(change: (db: UsersDb) => UsersDb): Promise<UsersDb>;
  onChange(listener: (before: UsersDb, after: UsersDb) => void | Promise<void>): () => void;
}

/**
 * KEYS[1] the hash, KEYS[2] the counter; ARGV[1] the channel, then field/value pairs (an
 * empty value deletes the field). Returns the change's seq; publishes `seq\nfield\nvalue...`.
 */
const SET_FIELDS = new EngineScript(`
local seq = redis.call('INCR', KEYS[2])
local message = {tostring(seq)}
for i = 2, #ARGV, 2 do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', KEYS[1], ARGV[i])
  else
    redis.call('HSET', KEYS[1], ARGV[i], seq .. ':' .. ARGV[i + 1])
  end
  message[#message + 1] = ARGV[i]
  message[#message + 1] = ARGV[i + 1]
end
redis.call('PUBLISH', ARGV[1], table.concat(message, '\\n'))
return seq
`);

export interface SharedUsersOptions {
  client: RespClient;
  names: SharedKeyNames;
  prefix: string;
  /** AES-256-GCM key derived from the JWKS (`keys.deriveSecret('ringlet shared users')`). */
  key: Buffer;
  store: SharedUsersStore;
  log: SharedLog;
}

export interface SharedUsersStats {
  /** Fields written to the engine. */
  sent: number;
  /** Fields taken from the engine (published or read back) and applied here. */
  received: number;
  /** Values refused: not sealed with this deployment's key, or not a valid value. */
  rejected: number;
  /** Local changes waiting for the engine (fields). */
  pending: number;
}

interface Held {
  seq: number;
  /** The value's canonical JSON; null when the engine deleted the field. */
  json: string | null;
}

function fieldName(user: string, field: UserField): string {
  return `${user}|${field}`;
}

function splitFieldName(name: string): [string, UserField] | undefined {
  const bar = name.lastIndexOf('|');
  const user = name.slice(0, bar);
  const field = name.slice(bar + 1) as UserField;
  return bar > 0 && isValidUserName(user) && FIELDS.includes(field) ? [user, field] : undefined;
}

/** The fields of one record (undefined record: removed). */
function fieldsOf(record: UserRecord | undefined): Record<UserField, string | null> {
  if (record === undefined) return { exists: 'false', role: null, password: null };
  return {
    exists: 'true',
    role: JSON.stringify(record.role),
    password: JSON.stringify({ hash: record.hash, mustChangePassword: record.mustChangePassword }),
  };
}

/** Whether `json` is a valid value of `field` (after it was unsealed). */
function validValue(field: UserField, json: string): boolean {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return false;
  }
  if (field === 'exists') return typeof v === 'boolean';
  if (field === 'role') return isRole(v);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  const p = v as Record<string, unknown>;
  return keys.length === 2 && typeof p['hash'] === 'string' && typeof p['mustChangePassword'] === 'boolean';
}

export class SharedUsers {
  readonly #o: SharedUsersOptions;
  /** What the engine holds, as far as this instance knows: field name → seq and value. */
  readonly #held = new Map<string, Held>();
  /** Local changes not yet taken by the engine: field name → value JSON (null: delete). */
  readonly #pending = new Map<string, string | null>();
  /** Users whose engine values could not be applied to the file yet (lock busy, damaged file). */
  readonly #unapplied = new Set<string>();
  /** Users whose password or removal, taken from the engine, is being written to the users file (count of applies). */
  readonly #settling = new Map<string, number>();
  /** Who waits for a user's apply to end (`whenSettled`). */
  readonly #settledWaiters = new Map<string, Array<() => void>>();
  /** Fields of the write on its way: until it is answered, `held` is not what the engine will hold. */
  readonly #inFlight = new Set<string>();
  #up = false;
  #closed = false;
  #writing: Promise<void> | undefined;
  readonly #retry = new RetryTimer(USERS_RETRY_BASE_DELAY_MS, USERS_RETRY_MAX_DELAY_MS);
  #failing = false;
  #rejectLogged = false;
  #stats = { sent: 0, received: 0, rejected: 0 };

  constructor(options: SharedUsersOptions) {
    this.#o = options;
    options.store.onChange((before, after) => this.#localChange(before, after));
  }

  start(): void {
    subscribeChannel(this.#o.client, this.#o.names.usersChannel, (message) => this.#message(message), this.#o.log,
      'user changes made on other instances are not heard until a restart with an ACL allowing the channel');
  }

  setLinkUp(up: boolean): void {
    this.#up = up;
    if (up) this.#retry.reset();
  }

  /**
   * After a (re)connect with the channel subscribed: write what is pending (so the older
   * engine value does not replace it), then read every field back and apply what is newer.
   */
  async sync(current: () => boolean): Promise<number> {
    await this.#write(true);
    const before = this.#stats.received;
    const touched = new Map<string, Set<UserField>>();
    await scanAll(this.#o.client, 'HSCAN', this.#o.names.users, USERS_PAGE_COUNT, current, 'users', (items) => {
      for (let i = 0; i + 1 < items.length; i += 2) {
        const name = items[i];
        const stored = items[i + 1];
        if (typeof name !== 'string' || typeof stored !== 'string') continue;
        const colon = stored.indexOf(':');
        this.#take(name, colon > 0 ? Number(stored.slice(0, colon)) : Number.NaN, colon > 0 ? stored.slice(colon + 1) : '', touched);
      }
    });
    await this.#apply(touched);
    return this.#stats.received - before;
  }

  /**
   * The engine lost its data (a new epoch): its counter starts again, so the numbers held
   * for its old values mean nothing now. What the files hold stays; from now on changes are
   * ordered afresh.
   */
  engineEmptied(): void {
    this.#held.clear();
  }

  stats(): SharedUsersStats {
    return { ...this.#stats, pending: this.#pending.size };
  }

  close(): void {
    this.#closed = true;
    this.#retry.cancel();
  }

  // ---- out ----

  #localChange(before: UsersDb, after: UsersDb): Promise<void> | undefined {
    let changed = false;
    for (const user of new Set([...before.names(), ...after.names()])) {
      const was = before.get(user);
      const now = after.get(user);
      if (was === now) continue;
      const a = fieldsOf(was);
      const b = fieldsOf(now);
      for (const field of FIELDS) {
        if (a[field] === b[field]) continue;
        const name = fieldName(user, field);
        const held = this.#held.get(name);
        // Already what the engine holds: a change applied from the engine, heard again.
        if (!this.#inFlight.has(name) && (held !== undefined ? held.json === b[field] : b[field] === null)) {
          this.#pending.delete(name);
          continue;
        }
        this.#pending.set(name, b[field]);
        changed = true;
      }
    }
    if (!changed || !this.#up) return undefined;
    // The writer (a route, a reload) waits until the engine took it, briefly.
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, SHARED_USERS_SETTLE_WAIT_MS);
      this.#write(false).catch(() => undefined).finally(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Writes every pending field in one script call; `strict`: reject when it fails (sync). */
  #write(strict: boolean): Promise<void> {
    if (this.#writing !== undefined) {
      // One write at a time; what arrived meanwhile goes in the next one.
      const next = this.#writing.then(() => this.#write(strict), () => this.#write(strict));
      return next;
    }
    if (this.#pending.size === 0 || this.#closed) return Promise.resolve();
    const batch = [...this.#pending];
    for (const [name] of batch) this.#inFlight.add(name);
    const args: string[] = [this.#o.names.usersChannel];
    for (const [name, json] of batch) args.push(name, json === null ? '' : this.#seal(name, json));
    const names = this.#o.names;
    const writing = SET_FIELDS.run(this.#o.client, [names.users, names.usersSeq], args).then((reply) => {
      if (typeof reply !== 'number') throw new RingletError('ERR_PROTOCOL', 'engine answered the users script with something other than a number');
      for (const [name, json] of batch) {
        if (this.#pending.get(name) === json) this.#pending.delete(name);
        const held = this.#held.get(name);
        if (held === undefined || held.seq < reply) this.#held.set(name, { seq: reply, json });
      }
      this.#stats.sent += batch.length;
      this.#retry.succeeded();
      if (this.#failing) {
        this.#failing = false;
        this.#o.log.info('shared_state_users_resumed', { pending: this.#pending.size });
      }
    }, (err: unknown) => {
      this.#writeFailed(err);
      throw err;
    }).finally(() => {
      this.#writing = undefined;
      this.#inFlight.clear();
    });
    // What changed while this write was on its way follows it.
    void writing.then(() => {
      if (this.#pending.size > 0 && this.#up && !this.#closed) void this.#write(false);
    }, () => undefined);
    this.#writing = writing;
    return strict ? writing : writing.catch(() => undefined);
  }

  #writeFailed(err: unknown): void {
    const code = err instanceof RingletError ? err.code : 'error';
    if (!this.#failing) {
      this.#failing = true;
      this.#o.log[code === 'ERR_ENGINE_REPLY' ? 'error' : 'warn']('shared_state_users_write_failed', {
        code, reason: err instanceof Error ? err.message : 'error', consequence: 'user changes made here wait and are written when the engine takes them (before this instance reads the engine\'s users again)',
      });
    }
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (this.#closed) return;
    this.#retry.schedule(() => {
      if (this.#up) void this.#write(false);
      if (this.#unapplied.size > 0) {
        const touched = new Map<string, Set<UserField>>([...this.#unapplied].map((u) => [u, new Set(FIELDS)]));
        void this.#apply(touched);
      }
    });
  }

  #seal(name: string, json: string): string {
    const iv = randomBytesPooled(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#o.key, iv);
    cipher.setAAD(Buffer.from(`${this.#o.prefix}users\n${name}`));
    const body = Buffer.concat([cipher.update(json, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
  }

  /** The value's JSON, or undefined when it is not sealed for this field under this deployment's key. */
  #open(name: string, sealed: string): string | undefined {
    if (sealed.length > MAX_SEALED_CHARS) return undefined;
    let bytes: Buffer;
    try {
      bytes = Buffer.from(decodeBase64url(sealed));
    } catch {
      return undefined;
    }
    if (bytes.length < IV_BYTES + TAG_BYTES + 1) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#o.key, bytes.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(`${this.#o.prefix}users\n${name}`));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }

  // ---- in ----

  #message(message: string): void {
    const lines = message.split('\n');
    const seq = Number(lines[0]);
    const touched = new Map<string, Set<UserField>>();
    if (lines.length < 3 || lines.length % 2 !== 1) {
      this.#refuse('not a ringlet users message');
      return;
    }
    for (let i = 1; i + 1 < lines.length; i += 2) this.#take(lines[i] as string, seq, lines[i + 1] as string, touched);
    void this.#apply(touched);
  }

  /** Takes one field from the engine into `held` when it is newer; records the user as touched. */
  #take(name: string, seq: number, sealed: string, touched: Map<string, Set<UserField>>): void {
    const split = splitFieldName(name);
    if (split === undefined || !Number.isSafeInteger(seq) || seq < 1) {
      this.#refuse('a field name or sequence number ringlet does not write');
      return;
    }
    const held = this.#held.get(name);
    if (held !== undefined && held.seq >= seq) return;
    let json: string | null = null;
    if (sealed !== '') {
      const opened = this.#open(name, sealed);
      if (opened === undefined || !validValue(split[1], opened)) {
        this.#refuse('a value not sealed with this deployment\'s key, or not a valid value');
        return;
      }
      json = opened;
    }
    this.#held.set(name, { seq, json });
    this.#stats.received++;
    const fields = touched.get(split[0]) ?? new Set<UserField>();
    fields.add(split[1]);
    touched.set(split[0], fields);
  }

  #refuse(reason: string): void {
    this.#stats.rejected++;
    if (this.#rejectLogged) return;
    this.#rejectLogged = true;
    this.#o.log.warn('shared_state_user_refused', { reason, consequence: 'ignored; logged once (counted in ringlet_shared_state_refused_total)' });
  }

  /** The record `user` should have after taking the engine's `fields` over `record`; null: removed; undefined: no change known. */
  #target(user: string, record: UserRecord | undefined, fields: ReadonlySet<UserField>): UserRecord | null | undefined {
    const value = (field: UserField): unknown => {
      const json = this.#held.get(fieldName(user, field))?.json;
      return json === undefined || json === null ? undefined : JSON.parse(json);
    };
    const exists = value('exists');
    if (exists === false) return record === undefined ? undefined : null;
    const role = fields.has('role') || record === undefined ? value('role') : record.role;
    const password = (fields.has('password') || record === undefined ? value('password') : { hash: record.hash, mustChangePassword: record.mustChangePassword }) as
      { hash: string; mustChangePassword: boolean } | undefined;
    if (record === undefined && exists !== true) return undefined;
    if (!isRole(role) || password === undefined) return undefined;
    if (record !== undefined && record.role === role && record.hash === password.hash && record.mustChangePassword === password.mustChangePassword) return undefined;
    return { name: user, role: role as Role, hash: password.hash, mustChangePassword: password.mustChangePassword };
  }

  /** Applies the engine's values of the touched fields to the users file (one locked update). */
  async #apply(touched: Map<string, Set<UserField>>): Promise<void> {
    for (const user of this.#unapplied) if (!touched.has(user)) touched.set(user, new Set(FIELDS));
    if (touched.size === 0 || this.#closed) return;
    const needed = [...touched].some(([user, fields]) => this.#target(user, this.#o.store.current().get(user), fields) !== undefined);
    if (!needed) {
      for (const user of touched.keys()) this.#unapplied.delete(user);
      return;
    }
    const applied: string[] = [];
    const settling = [...touched].filter(([, fields]) => fields.has('password') || fields.has('exists')).map(([user]) => user);
    for (const user of settling) this.#settling.set(user, (this.#settling.get(user) ?? 0) + 1);
    try {
      await this.#o.store.update((db) => {
        let next = db;
        for (const [user, fields] of touched) {
          const target = this.#target(user, next.get(user), fields);
          if (target === undefined) continue;
          try {
            next = target === null ? next.remove(user) : next.upsert(target);
            applied.push(user);
          } catch (err) {
            // A name differing only in case from a user of this file: this file's user stays.
            this.#o.log.error('shared_state_user_not_applied', { user, reason: err instanceof Error ? err.message : 'error' });
          }
        }
        return next;
      });
      for (const user of touched.keys()) this.#unapplied.delete(user);
      if (applied.length > 0) this.#o.log.info('shared_state_users_applied', { users: applied });
    } catch (err) {
      for (const user of touched.keys()) this.#unapplied.add(user);
      this.#o.log.warn('shared_state_users_not_applied', {
        reason: err instanceof Error ? err.message : 'error', consequence: 'the users file keeps its values until the next try; logins of those users wait for it',
      });
      this.#scheduleRetry();
    } finally {
      for (const user of settling) {
        const left = (this.#settling.get(user) ?? 1) - 1;
        if (left > 0) {
          this.#settling.set(user, left);
          continue;
        }
        this.#settling.delete(user);
        const waiters = this.#settledWaiters.get(user);
        this.#settledWaiters.delete(user);
        for (const wake of waiters ?? []) wake();
      }
    }
  }

  /**
   * Whether a password or removal of `user` came from the engine and is not in the users
   * file yet. The instance that made it has already revoked the user's credentials (shared
   * at once); a login here checked against the old hash would be issued after that
   * revocation and outlive it, so logins of that user wait until it is applied.
   */
  changePending(user: string): boolean {
    return this.#settling.has(user) || this.#unapplied.has(user);
  }

  /** Resolves when no apply of `user`'s password or removal is under way (at once when none is). */
  whenSettled(user: string): Promise<void> {
    if (!this.#settling.has(user)) return Promise.resolve();
    return new Promise((resolve) => {
      const waiters = this.#settledWaiters.get(user) ?? [];
      waiters.push(resolve);
      this.#settledWaiters.set(user, waiters);
    });
  }
}

/** Memory shared users can hold at most: the mirror of what the engine holds, for every user a users file may have. */
export function sharedUsersFootprintBytes(maxUsers: number = MAX_USERS): number {
  return maxUsers * USER_MIRROR_BYTES;
}

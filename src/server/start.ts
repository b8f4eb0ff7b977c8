/**
 * Assembles and starts the server from a validated profile and options. Everything that can
 * be wrong (files, keys, budget) fails here, before the socket is opened: never a
 * half-started server.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../errors.js';
import { writeSecretFileAtomic } from '../util/secret-file.js';
import type { DeviceProfile } from '../config/profile-schema.js';
import { computeFootprint, formatFootprint } from '../config/footprint.js';
import { generateJwks, loadKeyRing, type KeyRing } from '../codec/index.js';
import { describeScryptCost, HashLimiter, LoginThrottle, MAX_USERS, meetsOwaspScryptMinimum, UsersFileStore, type ReloadResult, type UsersStore } from '../users/index.js';
import { createLogger, zoneFormat, type Logger } from '../web/index.js';
import { systemMonotonicClock, systemWallClock, type MonotonicClock, type WallClock } from '../util/clock.js';
import { createSessionClocks, wallClockTrusted, type SessionClocks } from '../session/time-policy.js';
import type { RevocationTables } from '../session/revocation.js';
import { createSessionLayer, longestCredentialMs } from '../session/session-layer.js';
import { revokeChangedUsers } from '../session/user-changes.js';
import type { SessionManager } from '../session/types.js';
import { RamSessions } from '../session/ram-sessions.js';
import type { SessionStore } from '../store/index.js';
import { decodeSnapshotFile, encodeSnapshotFile, linuxKernelClock, readAndRemoveSnapshotFile, writeSnapshotFile, type KernelClock } from './snapshot-file.js';
import { createApp, createUpgradeHandler } from './app.js';
import { defaultRevocationsPath, RevocationFile } from './revocation-file.js';
import { TokenRate } from './token-rate.js';
import { createUpstreamProxy } from './proxy.js';
import { cookieNames, type CookieNames } from './cookies.js';
import { closeGracefully, createLimitedServer, type TlsFiles } from './http-server.js';
import { ConnectionLimits } from './connection-limits.js';
import { LoginCsrf } from './login-csrf.js';
import { LoginService, type SharedLoginThrottle } from './login-service.js';
import { LastSignIns } from './sign-ins.js';
import { createMetrics, declareSharedStateMetrics, declareTunnelMetrics, RequestCounts } from './metrics.js';
import type { AppDeps } from './context.js';
import type { ServerOptions } from './options.js';
import type { RespClient } from '../engine/resp-client.js';
import { SharedState } from '../engine/shared-state.js';
import type { SharedUsers, SharedUsersStore } from '../engine/shared-users.js';

export interface StartConfig {
  profile: DeviceProfile;
  options: ServerOptions;
  monotonic?: MonotonicClock | undefined;
  wall?: WallClock | undefined;
  trustedFloorMs?: number | undefined;
  /** One JSON log line (default: stderr). */
  writeLog?: (line: string) => void;
  /** Text for the operator's terminal, e.g. the first-start password (default: stdout). */
  writeOut?: (text: string) => void;
  installSignalHandlers?: boolean;
  /** Boot id and uptime for snapshot downtime (tests inject one). */
  kernel?: KernelClock;
}

export interface RunningServer {
  server: Server;
  port: number;
  deps: AppDeps;
  /** Connection admission (per-address cap, shedding) and its counts. */
  connections: ConnectionLimits;
  close(): Promise<void>;
  /** Writes the RAM-mode snapshot now (what SIGHUP does); a no-op without --snapshot. */
  saveSnapshot(): void;
  /** Re-reads the users file now (what SIGHUP and the directory watch do). */
  reloadUsers(): ReloadResult;
  /** The shared-state engine client; undefined (never constructed) without --shared-state. */
  sharedState: RespClient | undefined;
  /** Shared revocations, throttle and link state; undefined without --shared-state. */
  shared: SharedState | undefined;
}

function readFileNamed(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(what, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

function loadKeys(options: ServerOptions, profile: DeviceProfile, log: Logger): KeyRing {
  if (options.keysPath === undefined) {
    log.warn('keys_in_memory', {
      reason: profile.mode === 'cookie' ? 'cookie sessions and bearer tokens will not survive a restart' : 'bearer tokens will not survive a restart',
    });
    return loadKeyRing(generateJwks(), { source: 'generated in memory' });
  }
  if (!existsSync(options.keysPath)) {
    writeSecretFileAtomic(options.keysPath, `${JSON.stringify(generateJwks(), null, 2)}\n`);
    log.info('keys_created', { path: options.keysPath });
  }
  return loadKeyRing(readFileNamed(options.keysPath, 'keysPath').toString('utf8'), { source: options.keysPath });
}

/**
 * The users file, created at first start with `admin` and a generated password that is
 * printed once to the terminal (never to the log), then watched for others' changes.
 */
async function openUsers(options: ServerOptions, profile: DeviceProfile, log: Logger, writeOut: (text: string) => void): Promise<UsersFileStore> {
  const { store, createdPassword } = await UsersFileStore.open(options.usersPath, {
    log,
    firstStart: { logN: profile.scryptLogN, r: profile.scryptR, p: profile.scryptP },
  });
  if (createdPassword !== undefined) {
    log.info('first_start_user_created', { user: 'admin', path: options.usersPath });
    // Printed once, to the terminal only — never to the log stream.
    writeOut(`\nringlet first start: created user "admin" in ${options.usersPath}\n  password: ${createdPassword}\n  You must change it at the first sign-in.\n\n`);
  }
  return store;
}

/**
 * Where revocations live (see ServerOptions.revocationsPath), loaded before the server
 * listens; or a log line saying what is forgotten at restart when they live nowhere.
 */
function openRevocations(options: ServerOptions, revocation: RevocationTables, entries: number, log: Logger): RevocationFile | undefined {
  if (options.keysPath === undefined) {
    if (typeof options.revocationsPath === 'string') {
      throw new ConfigError('revocationsPath', 'needs --keys: with keys in memory every credential ends at restart, so there is nothing to remember');
    }
    return undefined;
  }
  const path = options.revocationsPath === undefined ? defaultRevocationsPath(options.keysPath) : options.revocationsPath;
  if (path === null) {
    if (!options.refuseEarlierBoots) {
      log.warn('revocations_in_memory', {
        consequence: 'logouts and revocations are forgotten at restart: credentials of earlier boots that were revoked are accepted again until they expire; --refuse-earlier-boots refuses every credential of an earlier boot instead',
      });
    }
    return undefined;
  }
  const file = new RevocationFile(path, revocation, entries, log);
  file.load();
  return file;
}

/** Restores the RAM store from the snapshot file, if any; problems are warnings, never a failed start. */
function restoreSnapshot(path: string, store: SessionStore, key: Buffer, clocks: SessionClocks, kernel: KernelClock, log: Logger): void {
  const file = readAndRemoveSnapshotFile(path);
  if (file === undefined) return;
  const verdict = decodeSnapshotFile(file, key, clocks.wall.now(), wallClockTrusted(clocks), kernel);
  if (!verdict.ok) {
    log.warn('snapshot_ignored', { path, reason: verdict.reason });
    return;
  }
  try {
    store.restoreSnapshot(verdict.store, verdict.elapsedMs);
  } catch (err) {
    log.warn('snapshot_ignored', { path, reason: err instanceof Error ? err.message : 'invalid' });
    return;
  }
  log.info('snapshot_restored', { path, sessions: store.stats().active, downtimeMs: Math.round(verdict.elapsedMs), timedBy: verdict.timedBy });
}

/**
 * A user removed or given another role keeps no credential, whoever changed the file: this
 * server (`update()` resolves once the revocation is durable) or another writer (the CLI,
 * seen by a reload). A password another writer set ends the old password's credentials too.
 */
function revokeOnUserChanges(users: UsersStore, sessions: SessionManager, log: Logger): void {
  users.onChange(async (before, after, origin) => {
    const ended = revokeChangedUsers(before, after, sessions, { passwords: origin === 'file' });
    if (ended.length > 0) {
      log.info('user_sessions_revoked', { users: ended, reason: origin === 'file' ? 'user removed, role changed or password set in the users file' : 'user removed or role changed' });
      await sessions.revocationsSettled();
    }
  });
}

/** The RAM store's snapshot file (`--snapshot`): restored now, written by `save()` (SIGHUP, shutdown). */
interface Snapshots {
  save(): void;
}

function openSnapshots(options: ServerOptions, store: SessionStore | undefined, sessions: SessionManager, keys: KeyRing, clocks: SessionClocks, kernel: KernelClock, log: Logger): Snapshots {
  const snapshotPath = options.snapshotPath;
  if (snapshotPath === undefined) return { save: () => {} };
  if (store === undefined) throw new ConfigError('snapshotPath', 'snapshots are for RAM mode; cookie mode keeps no sessions to save');
  if (options.keysPath === undefined) throw new ConfigError('snapshotPath', 'needs --keys: a snapshot is bound to the keys, and in-memory keys die with the process');
  // Separate HKDF-derived secrets: the token keys themselves are never reused for other MACs.
  const snapshotKey = keys.deriveSecret('ringlet snapshot');
  restoreSnapshot(snapshotPath, store, snapshotKey, clocks, kernel, log);
  // A snapshot written on SIGHUP holds sessions that may end later: were the process to
  // crash, the restore would bring a logged-out session back. The first logout or
  // revocation after a snapshot discards it (a crash is then a plain restart).
  sessions.onEnd(() => {
    if (!existsSync(snapshotPath)) return;
    rmSync(snapshotPath, { force: true });
    log.info('snapshot_discarded', { path: snapshotPath, reason: 'a session ended after it was written' });
  });
  return {
    save: () => {
      writeSnapshotFile(snapshotPath, encodeSnapshotFile(store.writeSnapshot(), snapshotKey, clocks.wall.now(), kernel));
      log.info('snapshot_written', { path: snapshotPath, sessions: store.stats().active });
    },
  };
}

/**
 * Shared state (`--shared-state`): constructed only when the option is set, here alone.
 * In: the revocation tables, the sessions (RAM mode), the users store, keys, clocks, log.
 * Out: what the login service (its throttle), the metrics, start-up (`start()` once
 * listening) and `close()` use. Revocations flow through the tables' onEvent/apply, user
 * changes through the users store's onChange/update: nothing else knows about the engine.
 */
function openSharedState(options: ServerOptions, profile: DeviceProfile, parts: { revocation: RevocationTables; sessions: SessionManager; users: SharedUsersStore; keys: KeyRing; clocks: SessionClocks; log: Logger }): SharedState | undefined {
  if (options.sharedState === undefined) return undefined;
  if (options.keysPath === undefined) {
    throw new ConfigError('sharedState', 'needs --keys: instances share state only when they share the key file (their cookies, tokens and the MAC that authenticates what they write to the engine all derive from it)');
  }
  const { revocation, sessions, users, keys, clocks, log } = parts;
  return new SharedState({
    target: options.sharedState, prefix: options.sharedStatePrefix, failClosed: options.sharedStateFailClosed,
    macKey: keys.deriveSecret('ringlet shared state'), tables: revocation, clocks,
    users: { store: users, key: keys.deriveSecret('ringlet shared users') },
    // RAM sessions live in one instance's store: a logout everywhere (a password change, a
    // removal) made elsewhere ends this store's sessions of that user begun before it.
    onRemoteRevocation: sessions instanceof RamSessions ? (event) => {
      if (event.type === 'user-not-before') sessions.endSessionsBefore(event.user, event.wall);
      else if (event.type === 'all-not-before') sessions.endSessionsBefore(undefined, event.wall);
    } : undefined,
    longestCredentialMs: longestCredentialMs(profile), revocationEntries: profile.revocationEntries,
    throttle: { freeAttempts: profile.throttleFreeAttempts, baseDelayMs: profile.throttleBaseDelayMs, maxDelayMs: profile.throttleMaxDelayMs, forgetAfterMs: profile.throttleForgetAfterMs },
    log,
  });
}

/** What the server is built from besides the profile and options; each part exists once. */
interface ServerParts {
  sessions: SessionManager;
  users: UsersStore;
  keys: KeyRing;
  clocks: SessionClocks;
  cookies: CookieNames;
  log: Logger;
  /** The engine's login throttle, with --shared-state. */
  sharedThrottle: SharedLoginThrottle | undefined;
  sharedUsers: SharedUsers | undefined;
}

/**
 * The server's own parts, each built once, in one phase: the login path (hashing pool,
 * throttle), connection admission, request counts and the metrics that read them all.
 */
function createAppDeps(profile: DeviceProfile, options: ServerOptions, parts: ServerParts): { deps: AppDeps; connections: ConnectionLimits } {
  const { sessions, users, keys, clocks, cookies, log, sharedThrottle, sharedUsers } = parts;
  const scryptCost = { logN: profile.scryptLogN, r: profile.scryptR, p: profile.scryptP };
  const hashLimiter = new HashLimiter({ maxConcurrent: profile.hashConcurrency, maxQueued: profile.hashQueueLength, maxWaitMs: profile.hashMaxWaitMs });
  const throttle = new LoginThrottle({
    entries: profile.throttleEntries,
    freeAttempts: profile.throttleFreeAttempts,
    baseDelayMs: profile.throttleBaseDelayMs,
    maxDelayMs: profile.throttleMaxDelayMs,
    forgetAfterMs: profile.throttleForgetAfterMs,
  });
  const login = new LoginService({
    users, limiter: hashLimiter, throttle, cost: scryptCost, clock: clocks.monotonic, log,
    busyRetryAfterMs: Math.max(1000, profile.hashMaxWaitMs), shared: sharedThrottle,
    userChangePending: sharedUsers === undefined ? undefined : (user) => sharedUsers.changePending(user),
    userChangeApplied: sharedUsers === undefined ? undefined : (user) => sharedUsers.whenSettled(user),
  });
  const connections = new ConnectionLimits({
    maxConnections: profile.maxConnections, maxConnectionsPerAddress: profile.maxConnectionsPerAddress,
    exemptPeers: options.trustedProxies, log, clock: clocks.monotonic,
  });
  const requests = new RequestCounts();
  const deps: AppDeps = {
    profile, options, sessions, users, login, hashLimiter, scryptCost, requests, log, clocks, cookies,
    zone: zoneFormat(options.timeZone),
    signIns: new LastSignIns(clocks.monotonic, MAX_USERS),
    loginCsrf: new LoginCsrf(keys.deriveSecret('ringlet login csrf')),
    metrics: createMetrics({ sessions, hashLimiter, throttle, requests, connections }),
    originsAllowed: new Set(options.corsOrigins),
    stopping: { value: false },
    tokenRate: new TokenRate(profile.tokenMintsPerUserPerMinute, clocks.monotonic),
  };
  return { deps, connections };
}

export async function startServer(config: StartConfig): Promise<RunningServer> {
  const { profile, options } = config;
  const writeLog = config.writeLog ?? ((line: string) => process.stderr.write(`${line}\n`));
  const writeOut = config.writeOut ?? ((text: string) => process.stdout.write(text));
  const log = createLogger({ level: options.logLevel, write: writeLog });

  // 1. What must be right before anything is built: the budget, the files.
  const footprint = computeFootprint(profile, { reverseProxy: options.upstream !== undefined, sharedState: options.sharedState !== undefined });
  if (!footprint.fits) {
    throw new ConfigError('memoryBudgetBytes', `the profile's footprint exceeds its budget\n${formatFootprint(profile.name, footprint)}`);
  }
  // Refused before any file is created or a first-start password printed.
  if (options.snapshotPath !== undefined) {
    if (profile.mode !== 'ram') throw new ConfigError('snapshotPath', 'snapshots are for RAM mode; cookie mode keeps no sessions to save');
    if (options.keysPath === undefined) throw new ConfigError('snapshotPath', 'needs --keys: a snapshot is bound to the keys, and in-memory keys die with the process');
  }
  const tls: TlsFiles | undefined = options.tlsCertPath && options.tlsKeyPath
    ? { cert: readFileNamed(options.tlsCertPath, 'tlsCertPath'), key: readFileNamed(options.tlsKeyPath, 'tlsKeyPath') }
    : undefined;
  if (profile.insecureScryptBelowOwasp && !meetsOwaspScryptMinimum({ logN: profile.scryptLogN, r: profile.scryptR, p: profile.scryptP })) {
    log.warn('scrypt_below_owasp', {
      cost: describeScryptCost({ logN: profile.scryptLogN, r: profile.scryptR, p: profile.scryptP }),
      reason: 'insecureScryptBelowOwasp is set: new password hashes are below OWASP\'s scrypt table (for test suites only)',
    });
  }
  const clocks = createSessionClocks(config.monotonic ?? systemMonotonicClock, config.wall ?? systemWallClock, config.trustedFloorMs);
  const keys = loadKeys(options, profile, log);
  const users = await openUsers(options, profile, log, writeOut);
  const cookies = cookieNames(tls !== undefined || options.behindTls);

  // 2. Sessions: the composition root the library uses too (session/session-layer.ts).
  const { sessions, store, revocation } = createSessionLayer(profile, keys, clocks, {
    cookieNameBytes: cookies.session.length,
    sameBootOnly: options.refuseEarlierBoots,
  });
  if (options.refuseEarlierBoots) {
    log.info('earlier_boots_refused', { consequence: 'only credentials minted since this start are accepted: every restart signs everyone out, and other instances\' credentials are refused' });
  }

  // 3. What only the server keeps across restarts: revocations, the store's snapshot, the users.
  const revocationFile = openRevocations(options, revocation, profile.revocationEntries, log);
  const snapshots = openSnapshots(options, store, sessions, keys, clocks, config.kernel ?? linuxKernelClock, log);
  revokeOnUserChanges(users, sessions, log);
  // What several instances share (--shared-state); undefined without it.
  const shared = openSharedState(options, profile, { revocation, sessions, users, keys, clocks, log });

  // 4. The server.
  const { deps, connections } = createAppDeps(profile, options, { sessions, users, keys, clocks, cookies, log, sharedThrottle: shared?.throttle, sharedUsers: shared?.users });
  if (shared !== undefined) declareSharedStateMetrics(deps.metrics, shared);
  // A user removed by anyone (this server, `ringlet users remove`, an editor) takes their last sign-in along.
  users.onChange((before, after) => {
    for (const name of before.names()) if (!after.has(name)) deps.signIns.forget(name);
  });
  const proxy = options.upstream === undefined ? undefined : createUpstreamProxy(deps, options.upstream);
  declareTunnelMetrics(deps.metrics, () => proxy?.tunnels);
  const handler = createApp(deps, proxy?.handle);
  const server = createLimitedServer(handler, profile, tls, (status, reason) => {
    deps.requests.record('parser', status);
    log.info('request_refused', { status, reason });
  }, connections);
  if (proxy !== undefined) {
    const upgrade = createUpgradeHandler(deps, proxy);
    server.on('upgrade', (req, socket, head) => {
      connections.tunnelled(socket);
      upgrade(req, socket, head);
    });
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  users.watch();
  log.info('listening', {
    url: `${tls ? 'https' : 'http'}://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}/`,
    profile: profile.name, mode: profile.mode, storeBytes: footprint.storeBytes, footprintBytes: footprint.totalBytes, budgetBytes: footprint.budgetBytes,
    ...(options.sharedState === undefined ? {} : { sharedState: options.sharedState.toString(), sharedStatePrefix: options.sharedStatePrefix }),
  });
  // In the background: an engine that is down must not keep the device's login from coming up.
  shared?.start();
  const close = async () => {
    deps.stopping.value = true;
    proxy?.close();
    users.close();
    await closeGracefully(server, options.shutdownGraceMs);
    // A hash upgrade in flight finishes its write (atomic either way; this keeps it).
    await deps.login.upgradesSettled();
    // After the last request: the snapshot holds every session that is still valid.
    snapshots.save();
    revocationFile?.flush();
    await shared?.close();
    log.info('stopped', {});
  };
  if (config.installSignalHandlers !== false) {
    process.on('SIGHUP', () => {
      users.reload('SIGHUP');
      snapshots.save();
    });
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        log.info('stopping', { signal });
        void close().then(() => process.exit(0));
      });
    }
  }
  return { server, port, deps, connections, close, saveSnapshot: snapshots.save, sharedState: shared?.client, shared, reloadUsers: () => users.reload('request') };
}

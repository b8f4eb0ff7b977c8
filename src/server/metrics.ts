/** The metrics ringlet exports (names get the `ringlet_` prefix). Label values are fixed lists. */
import { MetricsRegistry } from '../web/index.js';
import type { HashLimiter, LoginThrottle } from '../users/index.js';
import type { SessionManager } from '../session/types.js';
import { CONNECTION_REFUSALS, SHED_STATES, type ConnectionLimits, type ConnectionRefusal, type ShedState } from './connection-limits.js';
import type { TunnelEndReason, TunnelRegistry } from './tunnels.js';
import type { SharedState } from '../engine/shared-state.js';

export const ROUTE_LABELS = [
  'login', 'logout', 'session', 'password', 'auth', 'token', 'sessions', 'sessions_revoke', 'sessions_revoke_user',
  'tokens_revoke', 'metrics', 'healthz', 'home', 'upstream', 'upgrade', 'not_found', 'host_refused', 'target_refused', 'unknown', 'parser',
] as const;

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/**
 * Responses by route and status class, in a fixed table: counting costs an index
 * computation, not a labels object and a lookup per request (this is on /auth's hot path).
 */
export class RequestCounts {
  private readonly counts = new Float64Array(ROUTE_LABELS.length * STATUS_CLASSES.length);
  private readonly routeIndex = new Map<string, number>(ROUTE_LABELS.map((route, i) => [route, i]));
  private readonly unknown = ROUTE_LABELS.indexOf('unknown');

  record(route: string, status: number): void {
    const r = this.routeIndex.get(route) ?? this.unknown;
    const c = Math.min(4, Math.max(0, Math.floor(status / 100) - 1));
    this.counts[r * STATUS_CLASSES.length + c] = (this.counts[r * STATUS_CLASSES.length + c] ?? 0) + 1;
  }

  read(route: string, statusClass: string): number {
    const r = this.routeIndex.get(route) ?? this.unknown;
    return this.counts[r * STATUS_CLASSES.length + STATUS_CLASSES.indexOf(statusClass as (typeof STATUS_CLASSES)[number])] ?? 0;
  }
}

/** What the registry reads when it is scraped: each source is asked for its numbers then, never copied. */
export interface MetricsSources {
  sessions: Pick<SessionManager, 'stats'>;
  hashLimiter: Pick<HashLimiter, 'stats'>;
  throttle: Pick<LoginThrottle, 'stats'>;
  requests: RequestCounts;
  connections: Pick<ConnectionLimits, 'stats'>;
}

export function createMetrics(sources: MetricsSources): MetricsRegistry {
  const { sessions, hashLimiter: limiter, throttle, requests, connections } = sources;
  const stats = () => sessions.stats();
  return new MetricsRegistry()
    .gauge({ name: 'sessions_active', help: 'Live sessions in the RAM store (NaN in cookie mode: not stored).', collect: () => stats().active ?? NaN })
    .gauge({ name: 'sessions_capacity', help: 'RAM store capacity (NaN in cookie mode).', collect: () => stats().capacity ?? NaN })
    .counter({ name: 'sessions_created_total', help: 'Sessions created since start.', collect: () => stats().created })
    .counter({ name: 'sessions_evicted_total', help: 'Sessions evicted to make room (LRU or per-user cap).', collect: () => stats().evicted })
    .counter({ name: 'sessions_expired_total', help: 'Sessions that expired.', labels: { reason: ['idle', 'absolute'] }, collect: (l) => (l['reason'] === 'idle' ? stats().expiredIdle : stats().expiredAbsolute) })
    .counter({ name: 'sessions_destroyed_total', help: 'Sessions ended by logout or revocation.', collect: () => stats().destroyed })
    .gauge({ name: 'store_bytes', help: 'Bytes allocated by the RAM store (fixed at start).', collect: () => stats().storeBytes })
    .gauge({ name: 'revocation_entries', help: 'Entries in the bounded revocation tables.', collect: () => stats().revocationEntries })
    .counter({ name: 'verified_cache_lookups_total', help: 'Cookie-mode cookies and bearer tokens looked up in the verified-credential cache, by result.', labels: { result: ['hit', 'miss'] }, collect: (l) => (l['result'] === 'hit' ? stats().verifiedCacheHits : stats().verifiedCacheMisses) })
    .counter({ name: 'logins_total', help: 'Login attempts by result.', labels: { result: ['success', 'failure', 'throttled', 'busy'] } })
    .counter({ name: 'tokens_issued_total', help: 'Bearer tokens issued.' })
    .counter({ name: 'tokens_refused_total', help: 'POST /token refused after authentication, by reason (rate: tokenMintsPerUserPerMinute).', labels: { reason: ['rate'] } })
    .gauge({ name: 'password_hashes_in_flight', help: 'scrypt computations running now.', collect: () => limiter.stats().inFlight })
    .counter({ name: 'password_hashes_rejected_total', help: 'Logins refused because the hashing pool was busy.', collect: () => limiter.stats().rejected })
    .gauge({ name: 'throttle_entries_used', help: 'Occupied entries of the fixed login-throttle table.', collect: () => throttle.stats().used })
    .counter({ name: 'http_requests_total', help: 'HTTP responses by route and status class.', labels: { route: ROUTE_LABELS, class: STATUS_CLASSES }, collect: (l) => requests.read(l['route'] ?? 'unknown', l['class'] ?? '5xx') })
    .gauge({ name: 'connections_open', help: 'Open client connections (at most maxConnections).', collect: () => connections.stats().open })
    .counter({ name: 'connections_refused_total', help: 'New connections closed at once: over the per-address cap, or at the global limit with every connection mid-request.', labels: { reason: CONNECTION_REFUSALS }, collect: (l) => connections.stats().refused[l['reason'] as ConnectionRefusal] })
    .counter({ name: 'connections_shed_total', help: 'Idle keep-alive (idle) or not-yet-complete-headers (unfinished) connections closed at the global limit to admit a newcomer.', labels: { state: SHED_STATES }, collect: (l) => connections.stats().shed[l['state'] as ShedState] })
    .counter({ name: 'upstream_errors_total', help: 'Proxied requests the upstream did not answer.' })
    .gauge({ name: 'process_resident_memory_bytes', help: 'Resident set size of the process.', collect: () => process.memoryUsage.rss() })
    .gauge({ name: 'process_heap_used_bytes', help: 'V8 heap in use.', collect: () => process.memoryUsage().heapUsed });
}

const TUNNEL_END_REASONS: readonly TunnelEndReason[] = ['session_ended', 'session_invalid', 'session_cap', 'closed', 'shutdown'];

/** WebSocket tunnel metrics; zero when no upstream is configured. */
export function declareTunnelMetrics(registry: MetricsRegistry, tunnels: () => TunnelRegistry | undefined): void {
  registry
    .gauge({ name: 'tunnels_active', help: 'WebSocket tunnels open through the reverse proxy.', collect: () => tunnels()?.size ?? 0 })
    .counter({ name: 'tunnels_closed_total', help: 'WebSocket tunnels closed, by reason (session_ended: logout or revocation; session_invalid: expiry, eviction or a user change found by the sweep; session_cap: the session opened too many; closed: by either end).', labels: { reason: TUNNEL_END_REASONS }, collect: (l) => tunnels()?.ended[l['reason'] as TunnelEndReason] ?? 0 })
    .counter({ name: 'tunnels_refused_total', help: 'WebSocket handshakes refused because maxTunnels were open.', collect: () => tunnels()?.refused ?? 0 });
}

/**
 * The shared-state link (only with --shared-state): whether this instance is synchronised
 * with the engine, what waits to be delivered, what flowed, and how logins were throttled.
 */
export function declareSharedStateMetrics(registry: MetricsRegistry, shared: Pick<SharedState, 'stats'>): void {
  const stats = () => shared.stats();
  registry
    .gauge({ name: 'shared_state_up', help: 'Synchronised with the shared-state engine: both connections up and its state read back since (1), or not (0: serving from local state, or refusing other instances\' credentials with --shared-state-fail-closed).', collect: () => (stats().up ? 1 : 0) })
    .gauge({ name: 'shared_state_link_up', help: 'Connections to the engine that are up, by link.', labels: { link: ['command', 'subscriber'] }, collect: (l) => ((l['link'] === 'command' ? stats().commandLinkUp : stats().subscriberLinkUp) ? 1 : 0) })
    .gauge({ name: 'shared_state_refusing_other_instances', help: '1 while credentials minted by other instances are refused (--shared-state-fail-closed and not synchronised).', collect: () => (stats().refusingOtherInstances ? 1 : 0) })
    .gauge({ name: 'shared_state_backlog', help: 'Revocations made here that wait for the engine.', collect: () => stats().revocations.backlog })
    .gauge({ name: 'shared_state_backlog_capacity', help: 'Revocations the backlog holds before it is replaced by the whole revocation state.', collect: () => stats().revocations.backlogCapacity })
    .counter({ name: 'shared_state_backlog_overflows_total', help: 'Times the backlog filled up (the whole revocation state was delivered instead).', collect: () => stats().revocations.overflows })
    .counter({ name: 'shared_state_revocations_total', help: 'Revocation events delivered to the engine (sent) and applied from other instances (received).', labels: { direction: ['sent', 'received'] }, collect: (l) => (l['direction'] === 'sent' ? stats().revocations.delivered : stats().revocations.received) })
    .counter({ name: 'shared_state_refused_total', help: 'Items read from the engine and refused: a MAC or seal that does not verify (another key set, or forged), or not ringlet\'s shape.', collect: () => stats().revocations.rejected + (stats().users?.rejected ?? 0) })
    .counter({ name: 'shared_state_user_changes_total', help: 'User fields (exists, role, password) written to the engine (sent) and taken from it (received).', labels: { direction: ['sent', 'received'] }, collect: (l) => (l['direction'] === 'sent' ? stats().users?.sent ?? 0 : stats().users?.received ?? 0) })
    .gauge({ name: 'shared_state_user_changes_pending', help: 'User fields changed here that wait for the engine.', collect: () => stats().users?.pending ?? 0 })
    .counter({ name: 'shared_state_syncs_total', help: 'Times the engine\'s state was read back (at start and after every reconnect).', collect: () => stats().syncs })
    .counter({ name: 'shared_state_login_checks_total', help: 'Login throttle decisions by source: the engine\'s answer, or the local table alone (engine down or slower than the bounded wait).', labels: { source: ['engine', 'local'] }, collect: (l) => (l['source'] === 'engine' ? stats().throttle.answered : stats().throttle.fallbacks) })
    .counter({ name: 'shared_state_commands_refused_total', help: 'Engine commands refused at once because the client\'s bounded queue was full.', collect: () => stats().failedFast });
}

/**
 * What a profile costs in memory, computed before the server accepts a request. The server
 * refuses to start when the total exceeds `memoryBudgetBytes`.
 *
 * Exact parts: the store (its typed arrays), the throttle table. Bounded estimates: the
 * revocation tables, password hashing (scrypt's 128·N·r bytes per concurrent hash),
 * connection buffers (headers + body per connection), the reverse proxy's upstream sockets
 * and WebSocket tunnels. The runtime baseline is a measured
 * constant (bench/ re-measures it and checks every profile's peak RSS against its budget).
 */
import { storeFootprintBytes } from '../store/index.js';
import { throttleFootprintBytes } from '../users/index.js';
import { revocationFootprintBytes } from '../session/revocation.js';
import { verifiedCacheFootprintBytes } from '../session/verified-cache.js';
import { sharedStateFootprintBytes } from '../engine/shared-state.js';
import type { DeviceProfile } from './profile-schema.js';

const MiB = 1024 * 1024;

/**
 * Node 20 and ringlet (the one-module bundle) on x86_64 with small-heap profile flags,
 * *under load*: a profile's peak RSS in the memory bench minus the model's other parts.
 * Measured 2026-11-30: 55–57 MiB on the RAM profiles, 60.5 MiB in cookie mode (ap-cookie),
 * rounded up so every profile's footprint covers its measured peak. Idle is lower (50–52
 * MiB): V8's heap and the allocator grow under traffic and give back little.
 */
export const RUNTIME_BASELINE_BYTES = 61 * MiB;

/** The same under V8's `--lite-mode` (no optimising compiler; container-64mb): measured 50.2 MiB under load. */
export const RUNTIME_BASELINE_LITE_BYTES = 52 * MiB;

/** The runtime baseline for a profile's Node flags. */
export function runtimeBaselineBytes(p: Pick<DeviceProfile, 'nodeFlags'>): number {
  return p.nodeFlags.includes('--lite-mode') ? RUNTIME_BASELINE_LITE_BYTES : RUNTIME_BASELINE_BYTES;
}

/** Per open connection beyond header/body buffers: socket, parser, request objects (~16 KiB measured order). */
export const CONNECTION_OVERHEAD_BYTES = 16 * 1024;

/**
 * Per socket to the upstream (reverse-proxy mode): socket, parser and request objects (as
 * CONNECTION_OVERHEAD_BYTES) plus one stream high-water mark (16 KiB on Node 20) buffered
 * each way while a body is relayed. Requests on one client connection are proxied one at a
 * time, so the pooled sockets are at most `maxConnections`.
 */
export const UPSTREAM_SOCKET_BYTES = CONNECTION_OVERHEAD_BYTES + 2 * 16 * 1024;

/**
 * Per WebSocket tunnel beyond its client connection: its own upstream socket (never pooled)
 * plus the registry entry and the credential kept for re-checking (a cookie or token of at
 * most 4 KiB), rounded up to 8 KiB.
 */
export const TUNNEL_BYTES = UPSTREAM_SOCKET_BYTES + 8 * 1024;

export interface FootprintPart {
  part: string;
  bytes: number;
  exact: boolean;
  note: string;
}

export interface Footprint {
  parts: FootprintPart[];
  totalBytes: number;
  budgetBytes: number;
  fits: boolean;
  storeBytes: number;
}

/** What the deployment adds to the profile's cost. */
export interface FootprintDeployment {
  /** `--upstream` is set: the pooled upstream sockets and the WebSocket tunnels exist. */
  reverseProxy: boolean;
  /** `--shared-state` is set: the engine client (its configured worst case), the backlog and the remembered event ids. */
  sharedState?: boolean;
}

/**
 * The profile's footprint. Without a deployment (`ringlet profile check`, the profile
 * tests) the reverse proxy is counted: a profile must fit whichever way it is deployed.
 * Shared state is counted when `--shared-state` is set (a deployment of several instances;
 * a profile for one device need not carry it).
 */
export function computeFootprint(p: DeviceProfile, deployment: FootprintDeployment = { reverseProxy: true }): Footprint {
  const storeBytes = p.mode === 'ram'
    ? storeFootprintBytes({ capacity: p.capacity, slotBytes: p.slotBytes, maxSessionsPerUser: p.maxSessionsPerUser, idleTimeoutMs: p.idleTimeoutMs, absoluteTimeoutMs: p.absoluteTimeoutMs })
    : 0;
  const hashBytes = p.hashConcurrency * 128 * 2 ** p.scryptLogN * p.scryptR;
  // Bearer tokens have a cache in both modes; cookie mode has one for its cookies too.
  const verifiedCaches = p.mode === 'cookie' ? 2 : 1;
  const parts: FootprintPart[] = [
    { part: 'runtime', bytes: runtimeBaselineBytes(p), exact: false, note: `Node 20 + ringlet code under load, measured${p.nodeFlags.includes('--lite-mode') ? ' (--lite-mode)' : ''}` },
    { part: 'store', bytes: storeBytes, exact: true, note: p.mode === 'ram' ? `${p.capacity} slots of ${p.slotBytes} B data` : 'cookie mode: no store' },
    { part: 'throttle', bytes: throttleFootprintBytes(p.throttleEntries), exact: true, note: `${p.throttleEntries} entries` },
    { part: 'revocation', bytes: revocationFootprintBytes(p.revocationEntries), exact: false, note: `${p.revocationEntries} entries per table, bounded` },
    { part: 'token cache', bytes: verifiedCaches * verifiedCacheFootprintBytes(p.verifiedCacheEntries), exact: false,
      note: p.mode === 'cookie' ? `${p.verifiedCacheEntries} verified cookies + ${p.verifiedCacheEntries} bearer tokens` : `${p.verifiedCacheEntries} verified bearer tokens` },
    { part: 'hashing', bytes: hashBytes, exact: true, note: `${p.hashConcurrency} x scrypt 128*2^${p.scryptLogN}*${p.scryptR}` },
    { part: 'connections', bytes: p.maxConnections * (p.maxHeaderBytes + p.maxBodyBytes + CONNECTION_OVERHEAD_BYTES), exact: false, note: `${p.maxConnections} x (headers + body + ${CONNECTION_OVERHEAD_BYTES} B)` },
    deployment.reverseProxy
      ? { part: 'upstream', bytes: p.maxConnections * UPSTREAM_SOCKET_BYTES, exact: false, note: `${p.maxConnections} pooled upstream sockets x ${UPSTREAM_SOCKET_BYTES} B (reverse proxy)` }
      : { part: 'upstream', bytes: 0, exact: true, note: 'no --upstream: no upstream sockets' },
    deployment.reverseProxy
      ? { part: 'tunnels', bytes: p.maxTunnels * TUNNEL_BYTES, exact: false, note: `${p.maxTunnels} WebSocket tunnels x ${TUNNEL_BYTES} B` }
      : { part: 'tunnels', bytes: 0, exact: true, note: 'no --upstream: no tunnels' },
    deployment.sharedState === true
      ? { part: 'shared state', bytes: sharedStateFootprintBytes(p.revocationEntries), exact: false, note: 'engine client at its limits (2 connections, queue), backlog and remembered event ids (--shared-state)' }
      : { part: 'shared state', bytes: 0, exact: true, note: 'no --shared-state: no engine client' },
  ];
  const totalBytes = parts.reduce((sum, x) => sum + x.bytes, 0);
  return { parts, totalBytes, budgetBytes: p.memoryBudgetBytes, fits: totalBytes <= p.memoryBudgetBytes, storeBytes };
}

export function formatBytes(n: number): string {
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

export function formatFootprint(name: string, f: Footprint): string {
  const lines = [`profile ${name}: footprint ${formatBytes(f.totalBytes)} of budget ${formatBytes(f.budgetBytes)} (${f.fits ? 'fits' : 'OVER BUDGET'})`];
  for (const p of f.parts) lines.push(`  ${p.part.padEnd(12)} ${formatBytes(p.bytes).padStart(10)}  ${p.exact ? 'exact   ' : 'estimate'}  ${p.note}`);
  return lines.join('\n');
}

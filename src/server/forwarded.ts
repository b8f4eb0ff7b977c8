/**
 * X-Forwarded-* and X-Original-URI are believed only from configured trusted proxies
 * (exact peer addresses); from anyone else they are ignored.
 */
import { safeNextPath } from '../web/index.js';
import type { RequestContext } from './context.js';

function single(v: string | string[] | undefined): string | undefined {
  return typeof v === 'string' && v.length <= 2048 ? v : undefined;
}

export function fromTrustedProxy(ctx: RequestContext): boolean {
  const peer = ctx.req.socket.remoteAddress ?? '';
  return ctx.deps.options.trustedProxies.includes(peer.startsWith('::ffff:') ? peer.slice(7) : peer);
}

/** The path the browser originally asked for, as a same-origin path (or undefined). */
export function forwardedOriginalUri(ctx: RequestContext): string | undefined {
  if (!fromTrustedProxy(ctx)) return undefined;
  const uri = single(ctx.req.headers['x-forwarded-uri']) ?? single(ctx.req.headers['x-original-uri']);
  if (uri === undefined) return undefined;
  const path = safeNextPath(uri);
  return path === '/' && uri !== '/' ? undefined : path;
}

/**
 * The client's address: the socket peer, or — behind a trusted proxy — the right-most
 * X-Forwarded-For entry that is not itself a trusted proxy (entries further left are the
 * client's own claims and could be forged).
 */
export function clientAddressOf(peer: string | undefined, forwardedFor: string | string[] | undefined, trusted: readonly string[]): string {
  const normalise = (a: string) => (a.startsWith('::ffff:') ? a.slice(7) : a);
  const socketPeer = normalise(peer ?? 'unknown');
  if (!trusted.includes(socketPeer) || typeof forwardedFor !== 'string' || forwardedFor.length > 1024) return socketPeer;
  const hops = forwardedFor.split(',').map((s) => normalise(s.trim())).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    if (!trusted.includes(hop)) return /^[0-9A-Fa-f:.]{2,45}$/.test(hop) ? hop : socketPeer;
  }
  return socketPeer;
}

/** What one load run measured, whichever tool produced it. */

/** `wrk` when the binary is installed, else ringlet's own keep-alive generator. */
export type LoadTool = 'wrk' | 'builtin';

export interface LoadSpec {
  /** Absolute http:// URL; one path per run. */
  url: string;
  /** Extra request headers (Cookie, Authorization, X-Ringlet-No-Touch). */
  headers: Record<string, string>;
  connections: number;
  durationMs: number;
  /**
   * Send these values of one header in turn, one per request (all connections share the
   * turn): many clients' credentials, so a server-side cache of recent ones cannot help.
   */
  rotate?: { header: string; values: string[] } | undefined;
  /** Requests per second across all connections; undefined = as fast as possible (closed loop). */
  ratePerSec?: number | undefined;
}

export interface LoadResult {
  tool: LoadTool;
  requests: number;
  durationMs: number;
  requestsPerSec: number;
  /** Responses with a status outside 2xx (wrk counts outside 2xx/3xx). */
  non2xx: number;
  /** Connect/read/write errors and timeouts. */
  socketErrors: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

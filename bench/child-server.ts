/**
 * The comparison servers the benchmarks start as child processes (baseline-server.ts,
 * baseline-proxy.ts, proxy-upstream.ts) listen the same way: on `--port` (0: any) and
 * `--host`, announcing `{"event":"listening","port":N}` on stderr, which is what the parent
 * waits for, and closing on SIGTERM or SIGINT.
 */
import type { Server } from 'node:http';

export interface ChildServerArgs {
  port?: string | undefined;
  host?: string | undefined;
}

/** `parseArgs` options every child server takes. */
export const CHILD_SERVER_OPTIONS = { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } } as const;

export function serveChild(server: Server, args: ChildServerArgs, onStop?: () => void): void {
  const port = Number(args.port ?? 0);
  server.listen(port, args.host, () => {
    const address = server.address();
    process.stderr.write(`${JSON.stringify({ event: 'listening', port: typeof address === 'object' && address ? address.port : port })}\n`);
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      server.close();
      server.closeAllConnections();
      onStop?.();
    });
  }
}

/**
 * The built-in generator as its own process, so load and server never share an event loop
 * (and can be pinned to different cores). Reads a JSON LoadSpec as its only argument and
 * prints one JSON LoadResult line on stdout.
 *
 * Run: node dist/bench/load/main.js '{"url":"http://127.0.0.1:8080/auth","headers":{},"connections":8,"durationMs":5000}'
 */
import { runBuiltinLoad } from './generator.js';
import type { LoadSpec } from './types.js';

const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
runBuiltinLoad(spec).then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (err: unknown) => {
    process.stderr.write(`load: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);

/**
 * `npm run build`'s second step: tsc's output → one ES module (see bundle.ts).
 *
 *   node dist/src/build/main.js --entry dist/src/index.js --main dist/src/cli/main.js --out dist/ringlet.js
 *
 * Exit 0 with one summary line on stderr; exit 1 with one line naming the module it refused.
 * The old bundle is replaced only by a complete, compiled new one (written aside, renamed).
 */
import { chmodSync, renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BundleError, bundle } from './bundle.js';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { entry: { type: 'string' }, main: { type: 'string' }, out: { type: 'string' } } });
  if (values.entry === undefined || values.out === undefined) {
    process.stderr.write('usage: node dist/src/build/main.js --entry FILE [--main FILE] --out FILE\n');
    return 2;
  }
  const result = await bundle({ entry: values.entry, out: values.out, ...(values.main !== undefined ? { main: values.main } : {}) });
  const partial = `${values.out}.partial`;
  writeFileSync(partial, result.code);
  // The CLI runs the file directly (the package's `bin`): executable when it has a main.
  if (values.main !== undefined) chmodSync(partial, 0o755);
  renameSync(partial, values.out);
  process.stderr.write(`bundle: ${values.out}: ${result.modules.length} modules (${result.mainModules.length} only for ${values.main ?? 'no main'}), `
    + `${result.builtins.length} Node built-ins, ${(Buffer.byteLength(result.code) / 1024).toFixed(0)} KiB\n`);
  return 0;
}

main().then((code) => {
  process.exitCode = code;
}, (err: unknown) => {
  process.stderr.write(`bundle: ${err instanceof BundleError ? err.message : err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});

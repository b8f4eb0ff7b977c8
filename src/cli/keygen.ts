/** `ringlet keygen`: create a JWKS key file, or rotate one (fresh keys in front, old ones kept to verify). */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { generateJwks, loadKeyRing, rotateJwks, type JwkSet } from '../codec/index.js';
import { isIntegerIn } from '../util/options.js';
import { writeSecretFileAtomic } from '../util/secret-file.js';

/** Keys of each kind a rotation keeps by default, and at most. */
const DEFAULT_KEPT_KEYS = 3;
const MAX_KEPT_KEYS = 16;

const HELP = `Usage: ringlet keygen [--keys PATH] [--keep N]

Creates PATH (default ./ringlet-keys.json, RINGLET_KEYS) with one A256GCM key (cookie
sessions) and one HS256 key (bearer tokens), mode 0600. If PATH exists, rotates it: new
keys go in front and issue from now on; old keys stay to accept what they issued.
--keep N keeps at most N keys of each kind (1 to ${MAX_KEPT_KEYS}, default ${DEFAULT_KEPT_KEYS}), dropping the oldest.
`;

/** At most `keep` keys of each kind, newest (first) kept: rotation must not grow the file forever. */
function keepNewest(jwks: JwkSet, keep: number): JwkSet {
  const seen = new Map<string, number>();
  return {
    keys: jwks.keys.filter((jwk) => {
      const kind = jwk.alg === 'HS256' || jwk.use === 'sig' ? 'sig' : 'enc';
      const n = (seen.get(kind) ?? 0) + 1;
      seen.set(kind, n);
      return n <= keep;
    }),
  };
}

export function runKeygen(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { keys: { type: 'string' }, keep: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const path = values.keys ?? process.env['RINGLET_KEYS'] ?? 'ringlet-keys.json';
  const keep = values.keep === undefined ? DEFAULT_KEPT_KEYS : Number(values.keep);
  if (!isIntegerIn(keep, 1, MAX_KEPT_KEYS)) {
    process.stderr.write(`ringlet keygen: --keep must be an integer from 1 to ${MAX_KEPT_KEYS}\n`);
    return 2;
  }
  const rotating = existsSync(path);
  let jwks;
  if (rotating) {
    const text = readFileSync(path, 'utf8');
    loadKeyRing(text, { source: path }); // refuse to rotate a broken file
    jwks = keepNewest(rotateJwks(text, { source: path }), keep);
  } else {
    jwks = generateJwks();
  }
  // Said only once the file is on disk: a failed write throws, naming the path.
  writeSecretFileAtomic(path, `${JSON.stringify(jwks, null, 2)}\n`);
  process.stdout.write(rotating ? `rotated ${path}: new keys issue from now on\n` : `created ${path}\n`);
  return 0;
}

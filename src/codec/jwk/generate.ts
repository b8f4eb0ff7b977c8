/**
 * Creating and rotating JWKS files (`ringlet keygen`).
 *
 * Rotation puts fresh keys of each kind in front (they issue from now on) and keeps the
 * old ones after them (still accepted), so tokens and cookies already handed out keep
 * working until the operator drops the old keys.
 */
import { ConfigError } from '../../errors.js';
import { randomBytesPooled } from '../../util/random-pool.js';
import { loadKeyRing, MAX_JWKS_KEYS } from './key-ring.js';
import type { JwkSet, LoadKeyRingOptions, OctJwk } from './key-ring.js';

/** Random bytes per kid: 64 bits keeps headers short; uniqueness is checked anyway. */
const KID_BYTES = 8;
const A256GCM_KEY_BYTES = 32;
/** RFC 7518 §3.2: an HS256 key should be at least the hash size; we use exactly it. */
const HS256_KEY_BYTES = 32;

function freshKid(taken: ReadonlySet<string>): string {
  for (;;) {
    const kid = randomBytesPooled(KID_BYTES).toString('base64url');
    if (!taken.has(kid)) return kid;
  }
}

function freshKeys(taken: Set<string>): [OctJwk, OctJwk] {
  const encKid = freshKid(taken);
  taken.add(encKid);
  const sigKid = freshKid(taken);
  taken.add(sigKid);
  return [
    { kty: 'oct', kid: encKid, use: 'enc', alg: 'A256GCM', k: randomBytesPooled(A256GCM_KEY_BYTES).toString('base64url') },
    { kty: 'oct', kid: sigKid, use: 'sig', alg: 'HS256', k: randomBytesPooled(HS256_KEY_BYTES).toString('base64url') },
  ];
}

/**
 * A new JWKS with one A256GCM (`dir`, `use: "enc"`) key and one HS256 (`use: "sig"`)
 * key, random kids, CSPRNG secrets.
 *
 * @example writeFileSync(path, JSON.stringify(generateJwks(), null, 2), { mode: 0o600 })
 */
export function generateJwks(): JwkSet {
  return { keys: freshKeys(new Set()) };
}

/**
 * A new JWKS: fresh A256GCM and HS256 keys in front, every key of `jwks` kept after them
 * in its original order. `jwks` is validated first (as {@link loadKeyRing} does).
 *
 * @throws ConfigError when `jwks` is invalid or would exceed {@link MAX_JWKS_KEYS} keys.
 */
export function rotateJwks(jwks: string | object, options: LoadKeyRingOptions = {}): JwkSet {
  loadKeyRing(jwks, options);
  const set = (typeof jwks === 'string' ? JSON.parse(jwks) : jwks) as JwkSet;
  if (set.keys.length + 2 > MAX_JWKS_KEYS) {
    const where = options.source === undefined ? '' : ` in ${options.source}`;
    throw new ConfigError('keys', `rotation would exceed ${MAX_JWKS_KEYS} keys${where}: drop old keys first`);
  }
  const old = set.keys.map((jwk) => ({ ...jwk }));
  const taken = new Set(old.map((jwk) => jwk.kid));
  return { keys: [...freshKeys(taken), ...old] };
}

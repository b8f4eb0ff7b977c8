/**
 * The key ring: a JWKS (RFC 7517) of `kty: "oct"` keys, validated once at load.
 *
 * - `dir` + `A256GCM` keys (`use: "enc"`, `alg: "A256GCM"` or `"dir"`, exactly 32 bytes)
 *   seal session cookies.
 * - `HS256` keys (`use: "sig"`, `alg: "HS256"`, at least 32 bytes) sign bearer tokens.
 * - `A128GCM` keys (exactly 16 bytes) are accepted for reading only, never issue: they
 *   exist so RFC 7520 §5.6 and tokens from other JOSE libraries can be opened.
 *
 * The first key of each kind issues; every listed key is accepted, so rotation is: add a
 * key in front, wait, drop the old one. Crypto KeyObjects and the per-key protected
 * headers are built here, once, so the seal/open/sign/verify hot paths only look them up.
 */
import { createSecretKey, hkdfSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { ConfigError } from '../../errors.js';
import { integerOption } from '../../util/options.js';
import { tryDecodeBase64url } from '../base64url.js';
import { gcmCipherFor } from '../jose/primitives.js';
import type { GcmCipherName } from '../jose/primitives.js';
import type { ProtectedHeader } from '../jose/header.js';

/** A JWKS is for a handful of keys; more means an operator forgot to drop old ones. */
export const MAX_JWKS_KEYS = 64;
/** Longest accepted `kid`: it travels in every token header. */
export const MAX_KID_CHARS = 128;
/** HMAC keys above the SHA-256 block size are hashed first; a bound keeps files sane. */
const MAX_HMAC_KEY_BYTES = 512;
const MIN_HMAC_KEY_BYTES = 32;
/** Derived secrets: 128 bits at least (a MAC key), 512 at most (no use here needs more). */
export const MIN_DERIVED_SECRET_BYTES = 16;
export const MAX_DERIVED_SECRET_BYTES = 64;

/** Printable ASCII without DQUOTE or backslash: a kid that needs no JSON escaping. */
const kidRegExp = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

export type ContentEncryption = 'A256GCM' | 'A128GCM';

/** A `dir` content-encryption key. */
export interface EncryptionKey {
  readonly kid: string;
  readonly enc: ContentEncryption;
  /** The secret as a node:crypto KeyObject (created once at load). */
  readonly key: KeyObject;
  /** @internal The node:crypto cipher name for `enc`. */
  readonly cipher: GcmCipherName;
}

/** An HS256 signing key. */
export interface SigningKey {
  readonly kid: string;
  readonly alg: 'HS256';
  readonly key: KeyObject;
}

/** @internal A protected header this ring itself writes, pre-encoded. */
export interface IssuedJweHeader {
  readonly key: EncryptionKey;
  readonly header: ProtectedHeader;
  /** AAD = ASCII of the encoded protected header (RFC 7516 §5.1 step 14). */
  readonly aad: Buffer;
}

/** @internal */
export interface IssuedJwsHeader {
  readonly key: SigningKey;
  readonly header: ProtectedHeader;
}

/** One JWK as written in a JWKS file. */
export interface OctJwk {
  kty: 'oct';
  kid: string;
  use?: 'enc' | 'sig';
  alg?: string;
  k: string;
  [member: string]: unknown;
}

export interface JwkSet {
  keys: OctJwk[];
}

export interface LoadKeyRingOptions {
  /** Where the JWKS came from (a file path), named in every ConfigError. */
  source?: string;
}

/** A validated, immutable set of keys. Build with {@link loadKeyRing}. */
export class KeyRing {
  /** The key that seals new cookies (the first A256GCM key), if any. */
  readonly encryptionKey: EncryptionKey | undefined;
  /** The key that signs new bearer tokens (the first HS256 key), if any. */
  readonly signingKey: SigningKey | undefined;
  readonly encryptionKeys: readonly EncryptionKey[];
  readonly signingKeys: readonly SigningKey[];
  /** @internal Encoded header → key, for the headers this ring writes (fast path). */
  readonly issuedJweHeaders: ReadonlyMap<string, IssuedJweHeader>;
  /** @internal */
  readonly issuedJwsHeaders: ReadonlyMap<string, IssuedJwsHeader>;
  /** @internal The encoded header `sealJwe` writes with the issuing key. */
  readonly sealHeader: string | undefined;
  /** @internal `encodedHeader + "."` for `signJwt` with the issuing key. */
  readonly signingPrefix: string | undefined;
  private readonly encryptionByKid: ReadonlyMap<string, EncryptionKey>;
  private readonly signingByKid: ReadonlyMap<string, SigningKey>;

  /** @internal Use {@link loadKeyRing}. */
  constructor(encryptionKeys: EncryptionKey[], signingKeys: SigningKey[]) {
    this.encryptionKeys = Object.freeze(encryptionKeys);
    this.signingKeys = Object.freeze(signingKeys);
    this.encryptionKey = encryptionKeys.find((k) => k.enc === 'A256GCM');
    this.signingKey = signingKeys[0];
    this.encryptionByKid = new Map(encryptionKeys.map((k) => [k.kid, k]));
    this.signingByKid = new Map(signingKeys.map((k) => [k.kid, k]));

    const jwe = new Map<string, IssuedJweHeader>();
    for (const key of encryptionKeys) {
      const json = jweHeaderJson(key);
      const encoded = Buffer.from(json, 'utf8').toString('base64url');
      jwe.set(encoded, { key, header: Object.freeze(JSON.parse(json) as Record<string, unknown>), aad: Buffer.from(encoded, 'ascii') });
    }
    this.issuedJweHeaders = jwe;
    const jws = new Map<string, IssuedJwsHeader>();
    for (const key of signingKeys) {
      const json = jwsHeaderJson(key);
      jws.set(Buffer.from(json, 'utf8').toString('base64url'), { key, header: Object.freeze(JSON.parse(json) as Record<string, unknown>) });
    }
    this.issuedJwsHeaders = jws;
    this.sealHeader = this.encryptionKey && Buffer.from(jweHeaderJson(this.encryptionKey)).toString('base64url');
    this.signingPrefix = this.signingKey && `${Buffer.from(jwsHeaderJson(this.signingKey)).toString('base64url')}.`;
    Object.freeze(this);
  }

  /**
   * A secret for another purpose (e.g. the login-form CSRF MAC), derived with HKDF-SHA-256
   * (RFC 5869) from the issuing HS256 key, or the issuing A256GCM key when there is none.
   * Key separation: the raw token keys are never reused directly, and `purpose` (a fixed
   * label such as "login-csrf") gives each use its own key. Changes when the keys rotate.
   *
   * @throws ConfigError when the ring has no issuing key or `bytes` is out of
   *   {@link MIN_DERIVED_SECRET_BYTES}..{@link MAX_DERIVED_SECRET_BYTES}.
   */
  deriveSecret(purpose: string, bytes = 32): Buffer {
    const base = this.signingKey ?? this.encryptionKey;
    if (base === undefined) throw new ConfigError('keys', 'the key set has neither an HS256 nor an A256GCM key');
    integerOption(bytes, 'bytes', MIN_DERIVED_SECRET_BYTES, MAX_DERIVED_SECRET_BYTES);
    if (typeof purpose !== 'string' || purpose.length === 0) throw new ConfigError('purpose', 'must be a non-empty label');
    return Buffer.from(hkdfSync('sha256', base.key, 'ringlet derived secret v1', purpose, bytes));
  }

  /** The encryption key with this `kid` (any listed key, issuing or not). */
  findEncryptionKey(kid: string): EncryptionKey | undefined {
    return this.encryptionByKid.get(kid);
  }

  /** The HS256 key with this `kid` (any listed key, issuing or not). */
  findSigningKey(kid: string): SigningKey | undefined {
    return this.signingByKid.get(kid);
  }
}

/** The exact protected header we write for JWE (member order fixed: it is the AAD). */
function jweHeaderJson(key: EncryptionKey): string {
  return `{"alg":"dir","enc":"${key.enc}","kid":${JSON.stringify(key.kid)}}`;
}

function jwsHeaderJson(key: SigningKey): string {
  return `{"alg":"HS256","typ":"JWT","kid":${JSON.stringify(key.kid)}}`;
}

/**
 * Validate a JWKS (JSON text or parsed object) and build its key ring.
 *
 * @throws ConfigError naming the key (`keys[i]` and its kid), the field and `source`.
 * @example
 * const ring = loadKeyRing(readFileSync(path, 'utf8'), { source: path });
 * ring.encryptionKey?.kid
 */
export function loadKeyRing(jwks: string | object, options: LoadKeyRingOptions = {}): KeyRing {
  const where = options.source === undefined ? '' : ` in ${options.source}`;
  let set: unknown = jwks;
  if (typeof jwks === 'string') {
    try {
      set = JSON.parse(jwks);
    } catch {
      throw new ConfigError('jwks', `is not valid JSON${where}`);
    }
  }
  if (typeof set !== 'object' || set === null || Array.isArray(set)) throw new ConfigError('jwks', `must be a JSON object with "keys"${where}`);
  const keys = (set as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new ConfigError('keys', `must be a non-empty array${where}`);
  if (keys.length > MAX_JWKS_KEYS) throw new ConfigError('keys', `lists ${keys.length} keys, at most ${MAX_JWKS_KEYS} allowed${where}`);

  const encryptionKeys: EncryptionKey[] = [];
  const signingKeys: SigningKey[] = [];
  const kids = new Set<string>();
  keys.forEach((jwk: unknown, index) => {
    const parsed = parseJwk(jwk, index, where);
    if (kids.has(parsed.kid)) throw new ConfigError(`keys[${index}].kid`, `key "${parsed.kid}"${where}: duplicate kid`);
    kids.add(parsed.kid);
    if ('enc' in parsed) encryptionKeys.push(parsed);
    else signingKeys.push(parsed);
  });
  return new KeyRing(encryptionKeys, signingKeys);
}

function parseJwk(jwk: unknown, index: number, where: string): EncryptionKey | SigningKey {
  const at = `keys[${index}]`;
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw new ConfigError(at, `must be a JWK object${where}`);
  const { kty, kid, use, alg, k } = jwk as Record<string, unknown>;
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_CHARS || !kidRegExp.test(kid)) {
    throw new ConfigError(`${at}.kid`, `must be 1..${MAX_KID_CHARS} printable ASCII characters without " or \\${where}`);
  }
  const named = `key "${kid}"${where}`;
  if (kty !== 'oct') throw new ConfigError(`${at}.kty`, `${named}: must be "oct" (symmetric keys only)`);
  if (use !== undefined && use !== 'enc' && use !== 'sig') throw new ConfigError(`${at}.use`, `${named}: must be "enc" or "sig"`);
  const kind = keyKind(alg, use);
  if (kind === undefined) {
    throw new ConfigError(`${at}.alg`, `${named}: must be "A256GCM" or "dir" (use "enc"), "A128GCM" (use "enc", read-only) or "HS256" (use "sig")`);
  }
  if (typeof k !== 'string') throw new ConfigError(`${at}.k`, `${named}: must be a base64url string`);
  const secret = tryDecodeBase64url(k);
  if (secret === undefined) throw new ConfigError(`${at}.k`, `${named}: is not canonical unpadded base64url`);
  try {
    if (kind === 'HS256') {
      if (secret.length < MIN_HMAC_KEY_BYTES || secret.length > MAX_HMAC_KEY_BYTES) {
        throw new ConfigError(`${at}.k`, `${named}: an HS256 key must be ${MIN_HMAC_KEY_BYTES}..${MAX_HMAC_KEY_BYTES} bytes, got ${secret.length}`);
      }
      return Object.freeze({ kid, alg: 'HS256', key: createSecretKey(secret) });
    }
    const expectedBytes = kind === 'A256GCM' ? 32 : 16;
    if (secret.length !== expectedBytes) {
      throw new ConfigError(`${at}.k`, `${named}: an ${kind} key must be exactly ${expectedBytes} bytes, got ${secret.length}`);
    }
    return Object.freeze({ kid, enc: kind, key: createSecretKey(secret), cipher: gcmCipherFor(expectedBytes) });
  } finally {
    secret.fill(0); // createSecretKey copied it; leave no second copy in the JS heap
  }
}

/** The key's kind from `alg` and `use`, or undefined when they are missing or disagree. */
function keyKind(alg: unknown, use: unknown): 'A256GCM' | 'A128GCM' | 'HS256' | undefined {
  if (alg === undefined) {
    if (use === 'enc') return 'A256GCM';
    if (use === 'sig') return 'HS256';
    return undefined;
  }
  if (alg === 'HS256') return use === 'enc' ? undefined : 'HS256';
  if (alg === 'A256GCM' || alg === 'dir') return use === 'sig' ? undefined : 'A256GCM';
  if (alg === 'A128GCM') return use === 'sig' ? undefined : 'A128GCM';
  return undefined;
}

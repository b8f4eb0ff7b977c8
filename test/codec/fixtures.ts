/** Test data shared by the codec tests (copied from shared/vectors into test/fixtures). */
import { readFileSync } from 'node:fs';

/** Compiled tests run from dist/test/codec; the JSON stays in test/fixtures. */
function readFixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../../../test/fixtures/${name}`, import.meta.url), 'utf8')) as T;
}

export interface OctJwkVector {
  kty: 'oct';
  kid?: string;
  use?: string;
  alg?: string;
  k: string;
}

export interface RfcVectors {
  jws: { title: string; source: string; jwk?: OctJwkVector; compact: string; header: string; payload?: string; expect: string }[];
  jwe: {
    title: string;
    source: string;
    jwk?: OctJwkVector;
    compact?: string;
    protectedB64?: string;
    cek?: string;
    iv?: string;
    ciphertext?: string;
    tag?: string;
    header: string;
    plaintext: string;
    expect: string;
  }[];
  hmacSha256: { title: string; keyHex: string; dataHex: string; macHex: string }[];
  aes256gcm: { title: string; keyHex: string; ivHex: string; plaintextHex: string; aadHex: string; ciphertextHex: string; tagHex: string }[];
}

export interface CookieCase {
  name: string;
  header: string;
  expected: Record<string, string>;
  source: string;
  note?: string;
}

export const rfcVectors = readFixture<RfcVectors>('rfc-vectors.json');
export const cookieCases = readFixture<CookieCase[]>('cookie-parse-cases.json');

/** Helpers for the JOSE tests: rings, raw token construction, error capture. */
import { createHmac } from 'node:crypto';
import { loadKeyRing } from '../../src/codec/index.js';
import type { KeyRing } from '../../src/codec/index.js';
import { RingletError } from '../../src/errors.js';

/** Fixed test keys (never used outside tests). */
export const encKeyB64 = Buffer.alloc(32, 0x11).toString('base64url');
export const encKey2B64 = Buffer.alloc(32, 0x22).toString('base64url');
export const sigKeyB64 = Buffer.alloc(32, 0x33).toString('base64url');
export const sigKey2B64 = Buffer.alloc(48, 0x44).toString('base64url');

export function testRing(): KeyRing {
  return loadKeyRing({
    keys: [
      { kty: 'oct', kid: 'enc-1', use: 'enc', alg: 'A256GCM', k: encKeyB64 },
      { kty: 'oct', kid: 'sig-1', use: 'sig', alg: 'HS256', k: sigKeyB64 },
      { kty: 'oct', kid: 'enc-0', use: 'enc', alg: 'dir', k: encKey2B64 },
      { kty: 'oct', kid: 'sig-0', use: 'sig', alg: 'HS256', k: sigKey2B64 },
    ],
  });
}

export const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');

/** An HS256 JWS with an arbitrary raw header and payload, MACed with `keyB64`. */
export function rawJws(headerJson: string, payloadJson: string, keyB64 = sigKeyB64): string {
  const input = `${b64(headerJson)}.${b64(payloadJson)}`;
  const mac = createHmac('sha256', Buffer.from(keyB64, 'base64url')).update(input).digest('base64url');
  return `${input}.${mac}`;
}

/** The RingletError `fn` throws (fails the caller's assertion by throwing otherwise). */
export function ringletErrorOf(fn: () => unknown): RingletError {
  try {
    fn();
  } catch (error) {
    if (error instanceof RingletError) return error;
    throw error;
  }
  throw new Error('expected a RingletError, nothing was thrown');
}

/** Every single-character change of `token`: flip the low bit, and substitute the next base64url letter. */
export function* tamperedVariants(token: string): Generator<{ index: number; how: string; token: string }> {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  for (let index = 0; index < token.length; index++) {
    const code = token.charCodeAt(index);
    const flipped = String.fromCharCode(code ^ 1);
    yield { index, how: 'xor 1', token: token.slice(0, index) + flipped + token.slice(index + 1) };
    const at = alphabet.indexOf(token[index] ?? '');
    if (at !== -1) {
      const next = alphabet[(at + 1) % 64] ?? 'A';
      yield { index, how: 'next letter', token: token.slice(0, index) + next + token.slice(index + 1) };
    }
  }
}

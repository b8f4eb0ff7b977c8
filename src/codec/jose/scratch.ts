/**
 * Reusable decode buffers for the token hot paths. Every use is synchronous and finishes
 * (node:crypto copies IV, tag and input; strings are built) before the next one starts,
 * so one set per process is enough. None of them ever holds a plaintext or a key: only
 * IVs, tags, MACs, ciphertexts and signed (public) payloads pass through.
 */
import { decodedLengthBound } from '../base64url.js';
import { DEFAULT_MAX_TOKEN_BYTES } from './limits.js';

export const ivScratch = Buffer.alloc(12);
export const tagScratch = Buffer.alloc(16);
export const macScratch = Buffer.alloc(32);
/** Big enough for any segment of a default-size token; larger limits allocate per call. */
const segmentScratch = Buffer.alloc(decodedLengthBound(DEFAULT_MAX_TOKEN_BYTES));

/** A buffer with room to decode `chars` base64url characters. */
export function segmentBuffer(chars: number): Buffer {
  const needed = decodedLengthBound(chars);
  return needed <= segmentScratch.length ? segmentScratch : Buffer.allocUnsafe(needed);
}

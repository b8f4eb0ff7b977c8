/**
 * The PHC string format's B64: the standard base64 alphabet without padding
 * (PHC string format spec, "B64"). Decoding is strict: Node's decoder accepts `-`, `_`,
 * `=`, spaces and non-canonical trailing bits; this one accepts only the canonical
 * encoding, so one hash has exactly one spelling.
 */

// Standard alphabet only, no padding, no whitespace.
const b64RegExp = /^[A-Za-z0-9+/]*$/;

/** Encode bytes as unpadded standard base64. */
export function encodePhcB64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64').replace(/=+$/, '');
}

/** Decode unpadded standard base64; undefined when not the canonical encoding of some bytes. */
export function decodePhcB64(text: string): Buffer | undefined {
  // A length of 1 mod 4 cannot encode whole bytes.
  if (text.length % 4 === 1 || !b64RegExp.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  // Re-encoding rejects non-zero unused bits in the last character.
  return encodePhcB64(bytes) === text ? bytes : undefined;
}

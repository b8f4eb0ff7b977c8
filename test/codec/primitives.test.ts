import t from 'tap';
import { createSecretKey } from 'node:crypto';
import { aesGcmDecrypt, aesGcmEncrypt, hmacSha256, timingSafeEqualBytes } from '../../src/codec/index.js';
import { rfcVectors } from './fixtures.js';

const hex = (text: string): Buffer => Buffer.from(text, 'hex');

t.test('HMAC-SHA-256 known answers (RFC 4231), Buffer and KeyObject keys', async (t) => {
  t.equal(rfcVectors.hmacSha256.length, 6);
  for (const v of rfcVectors.hmacSha256) {
    t.equal(hmacSha256(hex(v.keyHex), hex(v.dataHex)).toString('hex'), v.macHex, `${v.title} (Buffer key)`);
    t.equal(hmacSha256(createSecretKey(hex(v.keyHex)), hex(v.dataHex)).toString('hex'), v.macHex, `${v.title} (KeyObject)`);
  }
});

t.test('AES-256-GCM known answers (GCM spec test cases 13, 14, 16)', async (t) => {
  t.equal(rfcVectors.aes256gcm.length, 3);
  for (const v of rfcVectors.aes256gcm) {
    const key = createSecretKey(hex(v.keyHex));
    const sealed = aesGcmEncrypt('aes-256-gcm', key, hex(v.ivHex), hex(v.plaintextHex), hex(v.aadHex));
    t.equal(sealed.ciphertext.toString('hex'), v.ciphertextHex, `${v.title}: ciphertext`);
    t.equal(sealed.tag.toString('hex'), v.tagHex, `${v.title}: tag`);
    const opened = aesGcmDecrypt('aes-256-gcm', key, hex(v.ivHex), hex(v.ciphertextHex), hex(v.tagHex), hex(v.aadHex));
    t.equal(opened?.toString('hex'), v.plaintextHex, `${v.title}: decrypts`);

    const badTag = hex(v.tagHex);
    badTag[0] = (badTag[0] ?? 0) ^ 1;
    t.equal(aesGcmDecrypt('aes-256-gcm', key, hex(v.ivHex), hex(v.ciphertextHex), badTag, hex(v.aadHex)), undefined, `${v.title}: flipped tag bit rejected`);
    for (const length of [0, 4, 8, 12, 13, 15]) {
      const truncated = hex(v.tagHex).subarray(0, length);
      t.equal(aesGcmDecrypt('aes-256-gcm', key, hex(v.ivHex), hex(v.ciphertextHex), truncated, hex(v.aadHex)), undefined, `${v.title}: ${length}-byte tag rejected`);
    }
    for (const length of [8, 11, 13, 16]) {
      t.equal(aesGcmDecrypt('aes-256-gcm', key, Buffer.alloc(length), hex(v.ciphertextHex), hex(v.tagHex), hex(v.aadHex)), undefined, `${v.title}: ${length}-byte IV rejected`);
    }
  }
});

t.test('timingSafeEqualBytes checks the length first', async (t) => {
  const cases: [number[], number[], boolean][] = [
    [[], [], true],
    [[1, 2, 3], [1, 2, 3], true],
    [[1, 2, 3], [1, 2, 4], false],
    [[1, 2, 3], [1, 2], false],
    [[1, 2], [1, 2, 3], false],
  ];
  for (const [a, b, equal] of cases) {
    t.equal(timingSafeEqualBytes(Uint8Array.from(a), Uint8Array.from(b)), equal, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  }
});

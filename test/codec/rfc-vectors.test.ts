import t from 'tap';
import { createSecretKey } from 'node:crypto';
import { aesGcmDecrypt, decodeBase64url, decryptCompactJwe, loadKeyRing, openJwe, verifyJwt } from '../../src/codec/index.js';
import { verifyJwsRange } from '../../src/codec/jws/verify.js';
import { rfcVectors } from './fixtures.js';
import { ringletErrorOf, tamperedVariants } from './helpers.js';

const [a1, a5, s44] = rfcVectors.jws;
const [s56, a1jwe] = rfcVectors.jwe;

t.test(a1?.title ?? 'missing', async (t) => {
  if (a1?.jwk === undefined) throw new Error('fixture changed');
  // The RFC key has no kid and no alg; a ring needs both, the token carries no kid.
  const ring = loadKeyRing({ keys: [{ ...a1.jwk, kid: 'rfc7515-a1', alg: 'HS256' }] });
  const beforeExpiry = { allowMissingKid: true, nowMs: 1_300_819_000_000 };
  const verified = verifyJwt(a1.compact, ring, beforeExpiry);
  t.strictSame(verified.claims, JSON.parse(a1.payload ?? ''), 'claims at an injected clock before exp');
  t.equal(verified.kid, 'rfc7515-a1');
  t.equal(verified.header['typ'], 'JWT');
  t.equal(ringletErrorOf(() => verifyJwt(a1.compact, ring, { allowMissingKid: true })).code, 'ERR_EXPIRED', 'expired at the real current time');
  t.equal(verifyJwt(a1.compact, ring, { allowMissingKid: true, nowMs: 1_300_819_400_000 }).kid, 'rfc7515-a1', 'within the 30 s leeway after exp');
  t.equal(ringletErrorOf(() => verifyJwt(a1.compact, ring, { allowMissingKid: true, nowMs: 1_300_819_410_000 })).code, 'ERR_EXPIRED', 'beyond the leeway');
  t.equal(ringletErrorOf(() => verifyJwt(a1.compact, ring, { nowMs: 1_300_819_000_000 })).code, 'ERR_TOKEN_MALFORMED', 'no kid, not allowed by default');
  t.equal(verifyJwt(a1.compact, ring, { ...beforeExpiry, issuer: 'joe' }).claims['iss'], 'joe', 'issuer check passes');
  t.equal(ringletErrorOf(() => verifyJwt(a1.compact, ring, { ...beforeExpiry, issuer: 'jane' })).code, 'ERR_CLAIM_INVALID', 'wrong issuer');
  for (const variant of tamperedVariants(a1.compact)) {
    const error = ringletErrorOf(() => verifyJwt(variant.token, ring, beforeExpiry));
    if (!t.ok(error.code !== undefined, `index ${variant.index} ${variant.how}: rejected`)) break;
  }
});

t.test(a5?.title ?? 'missing', async (t) => {
  if (a5 === undefined) throw new Error('fixture changed');
  const ring = loadKeyRing({ keys: [{ kty: 'oct', kid: 'k', alg: 'HS256', k: Buffer.alloc(32, 7).toString('base64url') }] });
  for (const options of [{}, { allowMissingKid: true }, { allowMissingKid: true, checkTimes: false }]) {
    const error = ringletErrorOf(() => verifyJwt(a5.compact, ring, { ...options, nowMs: 1_300_819_000_000 }));
    t.match(error.code, /^ERR_(BAD_SIGNATURE|UNSUPPORTED_ALG|TOKEN_MALFORMED)$/, `rejected with ${JSON.stringify(options)}: ${error.code}`);
  }
});

t.test(s44?.title ?? 'missing', async (t) => {
  if (s44?.jwk === undefined) throw new Error('fixture changed');
  const ring = loadKeyRing({ keys: [s44.jwk] });
  // The JWS layer under verifyJwt: the RFC payload is prose, not claims.
  const jws = verifyJwsRange(s44.compact, ring);
  const payload = Buffer.from(s44.compact.slice(jws.payloadStart, jws.payloadEnd), 'base64url').toString('utf8');
  t.equal(payload, s44.payload, 'valid JWS signature over the RFC payload');
  t.equal(jws.kid, s44.jwk.kid);
  t.equal(ringletErrorOf(() => verifyJwt(s44.compact, ring)).code, 'ERR_TOKEN_MALFORMED', 'payload is not JSON: rejected as a JWT');
  for (const variant of tamperedVariants(s44.compact)) {
    if (!t.ok(ringletErrorOf(() => verifyJwsRange(variant.token, ring)), `index ${variant.index} ${variant.how}: rejected`)) break;
  }
});

t.test(s56?.title ?? 'missing', async (t) => {
  if (s56?.jwk === undefined || s56.compact === undefined) throw new Error('fixture changed');
  const compact = s56.compact;
  const ring = loadKeyRing({ keys: [s56.jwk] });
  t.equal(ring.encryptionKey, undefined, 'an A128GCM key never issues');
  const decrypted = decryptCompactJwe(compact, ring);
  t.equal(decrypted.plaintext.toString('utf8'), s56.plaintext, 'decrypts to the RFC plaintext');
  t.equal(decrypted.kid, s56.jwk.kid);
  t.equal(decrypted.keyIsCurrent, false, 'not the issuing key');
  t.equal(decrypted.header['enc'], 'A128GCM');
  t.equal(ringletErrorOf(() => openJwe(compact, ring)).code, 'ERR_TOKEN_MALFORMED', 'plaintext is not a JSON object: openJwe rejects');
  let rejected = 0;
  let total = 0;
  for (const variant of tamperedVariants(compact)) {
    total++;
    try {
      decryptCompactJwe(variant.token, ring);
    } catch {
      rejected++;
    }
  }
  t.equal(rejected, total, `all ${total} single-character changes of header, iv, ciphertext and tag rejected`);
});

t.test(a1jwe?.title ?? 'missing', async (t) => {
  if (a1jwe?.cek === undefined || a1jwe.protectedB64 === undefined || a1jwe.iv === undefined || a1jwe.ciphertext === undefined || a1jwe.tag === undefined) {
    throw new Error('fixture changed');
  }
  const key = createSecretKey(decodeBase64url(a1jwe.cek));
  const plaintext = aesGcmDecrypt('aes-256-gcm', key, decodeBase64url(a1jwe.iv), decodeBase64url(a1jwe.ciphertext), decodeBase64url(a1jwe.tag), Buffer.from(a1jwe.protectedB64, 'ascii'));
  t.equal(plaintext?.toString('utf8'), a1jwe.plaintext, 'the A256GCM content layer decrypts with the CEK as direct key');

  // The whole token: alg RSA-OAEP with an encrypted key. A dir-only decrypter refuses it.
  const ring = loadKeyRing({ keys: [{ kty: 'oct', kid: 'cek', alg: 'A256GCM', k: a1jwe.cek }] });
  const withEncryptedKey = `${a1jwe.protectedB64}.AAAA.${a1jwe.iv}.${a1jwe.ciphertext}.${a1jwe.tag}`;
  t.equal(ringletErrorOf(() => decryptCompactJwe(withEncryptedKey, ring)).code, 'ERR_TOKEN_MALFORMED', 'non-empty encrypted key rejected');
  const emptyKey = `${a1jwe.protectedB64}..${a1jwe.iv}.${a1jwe.ciphertext}.${a1jwe.tag}`;
  t.equal(ringletErrorOf(() => decryptCompactJwe(emptyKey, ring)).code, 'ERR_UNSUPPORTED_ALG', 'alg RSA-OAEP rejected');
});

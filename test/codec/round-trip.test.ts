import t from 'tap';
import { decodeBase64url, encodeBase64url, generateJwks, loadKeyRing, openJwe, sealJwe, signJwt, verifyJwt } from '../../src/codec/index.js';
import { SeededRandom } from '../support/seeded-random.js';

const NOW = 1_750_000_000;
const at = { nowMs: NOW * 1000 };

/** A random JSON object: strings (incl. non-ASCII and escapes), numbers, booleans, nesting. */
function randomClaims(random: SeededRandom): Record<string, unknown> {
  const chars = ['a', 'Z', '0', ' ', '"', '\\', '/', 'é', '€', '😀', '\n', '\u0000', '<', '%'];
  const str = (): string => Array.from({ length: random.int(24) }, () => random.pick(chars)).join('');
  const value = (depth: number): unknown => {
    switch (random.int(depth > 2 ? 4 : 6)) {
      case 0: return str();
      case 1: return random.int(1_000_000) - 500_000;
      case 2: return random.next() < 0.5;
      case 3: return null;
      case 4: return Array.from({ length: random.int(4) }, () => value(depth + 1));
      default: return Object.fromEntries(Array.from({ length: random.int(4) }, () => [str(), value(depth + 1)]));
    }
  };
  const claims: Record<string, unknown> = { exp: NOW + 1 + random.int(10_000), iat: NOW - random.int(1000) };
  for (let i = random.int(8); i > 0; i--) claims[`c${str()}`] = value(0);
  return claims;
}

const ring = loadKeyRing(generateJwks());

t.test('seeded JWT round trips', async (t) => {
  const random = new SeededRandom(7001);
  for (let i = 0; i < 300; i++) {
    const claims = randomClaims(random);
    if (!t.strictSame(verifyJwt(signJwt(claims, ring), ring, at).claims, claims, `case ${i}`)) break;
  }
});

t.test('seeded JWE round trips', async (t) => {
  const random = new SeededRandom(7002);
  for (let i = 0; i < 300; i++) {
    const claims = randomClaims(random);
    if (!t.strictSame(openJwe(sealJwe(claims, ring), ring, at).claims, claims, `case ${i}`)) break;
  }
});

t.test('seeded base64url round trips of random lengths', async (t) => {
  const random = new SeededRandom(7003);
  for (let i = 0; i < 300; i++) {
    const bytes = random.bytes(random.int(2048));
    if (!t.same(decodeBase64url(encodeBase64url(bytes)), bytes, `case ${i}`)) break;
  }
});

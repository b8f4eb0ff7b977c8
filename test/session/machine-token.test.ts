import t from 'tap';
import { generateJwks, loadKeyRing, signJwt } from '../../src/codec/index.js';
import { BearerTokens } from '../../src/session/bearer.js';
import { LEEWAY_MS } from '../../src/session/claims.js';
import {
  machineTokenExpiry,
  MAX_MACHINE_TOKEN_TTL_MS,
  mintMachineToken,
} from '../../src/session/machine-token.js';
import { RevocationTables } from '../../src/session/revocation.js';
import { createSessionClocks, DEFAULT_TRUSTED_FLOOR_MS } from '../../src/session/time-policy.js';
import { loadProfile } from '../../src/config/profile.js';
import { longestCredentialMs } from '../../src/session/session-layer.js';
import { ManualClock } from '../support/clock.js';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const BEARER_TTL_MS = HOUR_MS; // the profile's lifetime for tokens from POST /token
const NOW = DEFAULT_TRUSTED_FLOOR_MS + 30 * DAY_MS;
const keys = loadKeyRing(generateJwks());

function server(wallStart = NOW) {
  const mono = new ManualClock(5_000);
  const wall = new ManualClock(wallStart);
  const clocks = createSessionClocks(mono, wall, DEFAULT_TRUSTED_FLOOR_MS, 'server-boot');
  // As the server builds them: entries outlast the longest credential it accepts.
  const revocation = new RevocationTables(16, clocks, { longestCredentialMs: longestCredentialMs(loadProfile('embedded-default')) });
  const bearer = new BearerTokens(keys, clocks, revocation, BEARER_TTL_MS);
  /** Time passes on both clocks, as on a running server. */
  const advance = (ms: number) => {
    mono.advance(ms);
    wall.advance(ms);
  };
  return { mono, wall, clocks, revocation, bearer, advance };
}

function mint(ttlMs = 30 * DAY_MS, wallMs = NOW, scope: string[] = ['metrics:read']) {
  return mintMachineToken({ keys, user: 'monitor', role: 'viewer', scope, ttlMs, wall: new ManualClock(wallMs) });
}

t.test('a machine token lives its own lifetime on the wall clock, not the profile\'s bearer TTL', (t) => {
  const s = server();
  const m = mint();
  const at = (sinceMintMs: number) => s.advance(NOW + sinceMintMs - s.wall.now());
  t.match(s.bearer.resolve(m.token), { user: 'monitor', role: 'viewer', via: 'bearer', ref: m.jti, scope: ['metrics:read'] });
  at(BEARER_TTL_MS + LEEWAY_MS + 1);
  t.ok(s.bearer.resolve(m.token), 'valid beyond the bearer TTL');
  at(30 * DAY_MS - 1);
  t.match(s.bearer.resolve(m.token), { absoluteExpiresAtMs: m.expiresAtMs }, 'valid until its exp');
  at(30 * DAY_MS + LEEWAY_MS - 1);
  t.ok(s.bearer.resolve(m.token), 'and within the leeway after it');
  at(30 * DAY_MS + LEEWAY_MS);
  t.equal(s.bearer.resolve(m.token), undefined, 'expired at exp plus leeway');
  t.end();
});

t.test('attack: a machine token revoked by jti alone must stay revoked until its exp, not only for the profile\'s lifetimes', (t) => {
  const s = server();
  const m = mint(90 * DAY_MS);
  t.ok(s.bearer.resolve(m.token));
  // POST /tokens/revoke {jti, user}: the expiry is unknown to the server.
  s.bearer.revokeJti(m.jti, 'monitor');
  t.equal(s.bearer.resolve(m.token), undefined, 'revoked');
  for (const after of [BEARER_TTL_MS + LEEWAY_MS + 1, 13 * HOUR_MS, 10 * DAY_MS, 89 * DAY_MS]) {
    s.advance(NOW + after - s.wall.now());
    t.equal(s.bearer.resolve(m.token), undefined, `still revoked ${Math.round(after / HOUR_MS)} h later`);
  }
  t.ok(longestCredentialMs(loadProfile('embedded-default')) >= MAX_MACHINE_TOKEN_TTL_MS + LEEWAY_MS, 'every profile\'s revocations outlast the longest machine token');
  t.end();
});

t.test('the jti carries the expiry; a token given whole is revoked until exactly then', (t) => {
  const m = mint(90 * DAY_MS);
  t.match(m.jti, /^m-\d+-[A-Za-z0-9_-]{16}$/);
  t.equal(machineTokenExpiry(m.jti), m.expiresAtMs / 1000);
  t.equal(machineTokenExpiry('ordinary-jti'), undefined);
  t.equal(machineTokenExpiry('m-0-AAAAAAAAAAAAAAAA'), undefined);
  const s = server();
  t.same(s.bearer.revokeValue(m.token), { jti: m.jti, user: 'monitor' });
  s.advance(89 * DAY_MS);
  t.equal(s.bearer.resolve(m.token), undefined, 'revoked through its life');
  t.end();
});

t.test('an untrusted wall clock refuses machine tokens (minting and checking)', (t) => {
  t.throws(() => mint(DAY_MS, 0), { name: 'ConfigError', field: 'clock', message: /the wall clock reads 1970-01-01T00:00:00\.000Z, before 2026-11-01T00:00:00\.000Z/ });
  const s = server();
  const m = mint();
  s.wall.set(0); // the router rebooted without an RTC and NTP has not synced yet
  t.equal(s.bearer.resolve(m.token), undefined, 'refused while the clock is untrusted');
  s.wall.set(NOW + HOUR_MS);
  t.ok(s.bearer.resolve(m.token), 'accepted again once the clock is set');
  t.end();
});

t.test('minting refuses what a machine token must not be', (t) => {
  const cases: Array<[string, () => unknown, string, RegExp]> = [
    ['no scope', () => mint(DAY_MS, NOW, []), 'scope', /needs an explicit scope/],
    ['password:change', () => mint(DAY_MS, NOW, ['metrics:read', 'password:change']), 'scope', /never carries "password:change"/],
    ['tokens:mint', () => mint(DAY_MS, NOW, ['tokens:mint']), 'scope', /never carries "tokens:mint"/],
    ['an unknown permission', () => mint(DAY_MS, NOW, ['metrics:write']), 'scope', /unknown permission "metrics:write"/],
    ['a duplicate', () => mint(DAY_MS, NOW, ['metrics:read', 'metrics:read']), 'scope', /listed twice/],
    ['too long', () => mint(MAX_MACHINE_TOKEN_TTL_MS + 1000), 'ttl', /from 60 s to 400 days/],
    ['too short', () => mint(59_000), 'ttl', /from 60 s to 400 days/],
  ];
  for (const [title, fn, field, message] of cases) t.throws(fn, { name: 'ConfigError', field, message }, title);
  t.ok(mint(MAX_MACHINE_TOKEN_TTL_MS), 'the maximum itself is allowed');
  t.end();
});

t.test('tokens signed with the keys but breaking the machine rules are refused', (t) => {
  const s = server();
  const iat = Math.floor(NOW / 1000);
  const base = { sub: 'monitor', role: 'viewer', bid: 'mint', am: 0, im: 0, at: iat * 1000, wt: 1, scope: ['metrics:read'], kind: 'machine', iat };
  const forge = (over: Record<string, unknown>) => {
    const exp = (over['exp'] as number | undefined) ?? iat + 86_400;
    return signJwt({ ...base, exp, jti: `m-${exp}-AAAAAAAAAAAAAAAA`, ...over }, keys);
  };
  t.ok(s.bearer.resolve(forge({})), 'the well-formed one is accepted');
  const cases: Array<[string, Record<string, unknown>]> = [
    ['a lifetime beyond the maximum', { exp: iat + MAX_MACHINE_TOKEN_TTL_MS / 1000 + 1 }],
    ['a jti that disagrees with exp', { jti: `m-${iat + 999}-AAAAAAAAAAAAAAAA` }],
    ['an ordinary jti', { jti: 'plain' }],
    ['minted on an untrusted clock', { wt: 0 }],
    ['a scope with password:change', { scope: ['metrics:read', 'password:change'] }],
    ['an empty scope', { scope: [] }],
    ['an unknown kind', { kind: 'forever' }],
    ['exp before iat', { exp: iat - 10 }],
    ['issued in the future', { iat: iat + 3600, at: (iat + 3600) * 1000 }],
  ];
  for (const [title, over] of cases) t.equal(s.bearer.resolve(forge(over)), undefined, title);
  t.end();
});

t.test('ending the user\'s sessions ends their machine tokens', (t) => {
  const s = server();
  const m = mint();
  s.advance(1000);
  s.revocation.revokeUser('monitor');
  t.equal(s.bearer.resolve(m.token), undefined);
  t.end();
});

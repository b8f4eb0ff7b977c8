/**
 * Attacks on the bounded revocation tables and the revocation API (issue 13, item 4):
 * - one user floods the tables with their own revocations (cookie logins then logouts, or
 *   bearer tokens then logouts) so that another user's single logout, or their own, ends
 *   every device of that user (the fold-over of a full table);
 * - `POST /tokens/revoke` told `expiresInSeconds: 0` answered "revoked" while the token
 *   kept working;
 * - `/token` minted without limit (a cookie session mints without hashing a password).
 */
import t from 'tap';
import { hashPasswordSync } from '../../src/users/index.js';
import { ManualClock } from '../support/clock.js';
import { adminWithPassword, jsonLogin, startTestServer, type TestServer } from '../support/server.js';
import { sessionCookieOf } from '../support/http.js';
import { assertNoSecrets } from './client.js';

const PASSWORD = 'fairness test passphrase';
/** The smallest table a profile may have: the flood needs few requests to fill it. */
const ENTRIES = 8;
const T = Date.UTC(2027, 4, 2, 8);

async function withUsers(s: TestServer, names: string[]): Promise<void> {
  const hash = hashPasswordSync(PASSWORD, { logN: 10, r: 8, p: 1 });
  // One locked change applied to the users file as it is now.
  await s.running.deps.users.update((db) => names.reduce((acc, name) => acc.upsert({ name, role: 'viewer', hash, mustChangePassword: false }), db));
}

async function cookieLogin(s: TestServer, user: string): Promise<{ cookie: string; csrf: string }> {
  const r = await jsonLogin(s, user, PASSWORD);
  if (r.status !== 200) throw new Error(`login of ${user}: ${r.status}`);
  return { cookie: sessionCookieOf(r), csrf: r.json.csrfToken as string };
}

const status = async (s: TestServer, headers: Record<string, string>) => (await s.request('GET', '/session', { headers })).status;

async function logout(s: TestServer, headers: Record<string, string>): Promise<number> {
  return (await s.request('POST', '/logout', { headers: { ...headers, origin: s.origin }, json: {} })).status;
}

t.test('cookie mode: a flood of one user\'s logouts does not end another user\'s devices, nor the flooder\'s older ones', async (t) => {
  const mono = new ManualClock(10_000);
  const s = await startTestServer({ mode: 'cookie', monotonic: mono, wall: new ManualClock(T), profile: { revocationEntries: ENTRIES } });
  t.teardown(() => s.close());
  await adminWithPassword(s, PASSWORD);
  await withUsers(s, ['alice', 'mallory']);
  const alicePhone = await cookieLogin(s, 'alice');
  const aliceLaptop = await cookieLogin(s, 'alice');
  const malloryLaptop = await cookieLogin(s, 'mallory');
  mono.advance(60_000);
  // Four times the table's size in logins and logouts, each a denied id that lives 12 hours.
  for (let i = 0; i < 4 * ENTRIES; i++) {
    const flood = await cookieLogin(s, 'mallory');
    t.equal(await logout(s, { cookie: flood.cookie, 'x-csrf-token': flood.csrf }), 200);
    t.equal(await status(s, { cookie: flood.cookie }), 401, `flood session ${i} is logged out`);
    mono.advance(10);
  }
  mono.advance(60_000);
  t.equal(await logout(s, { cookie: alicePhone.cookie, 'x-csrf-token': alicePhone.csrf }), 200, 'alice signs out on her phone');
  t.equal(await status(s, { cookie: alicePhone.cookie }), 401, 'the phone is signed out');
  t.equal(await status(s, { cookie: aliceLaptop.cookie }), 200, 'her laptop is not: the flood was not hers');
  t.equal(await status(s, { cookie: malloryLaptop.cookie }), 200, 'mallory\'s own session from before the flood survives it too');
  const malloryPhone = await cookieLogin(s, 'mallory');
  t.equal(await status(s, { cookie: malloryPhone.cookie }), 200, 'and a login after it works');
  assertNoSecrets(t, s, [PASSWORD, alicePhone.cookie, aliceLaptop.cookie]);
});

for (const mode of ['ram', 'cookie'] as const) {
  t.test(`${mode} mode: a flood of one user's revoked bearer tokens does not end another user's tokens`, async (t) => {
    const mono = new ManualClock(10_000);
    const s = await startTestServer({ mode, monotonic: mono, wall: new ManualClock(T), profile: { revocationEntries: ENTRIES, tokenMintsPerUserPerMinute: 1000 } });
    t.teardown(() => s.close());
    await adminWithPassword(s, PASSWORD);
    await withUsers(s, ['alice', 'mallory']);
    const mint = async (user: string) => {
      const r = await s.request('POST', '/token', { json: { username: user, password: PASSWORD } });
      if (r.status !== 200) throw new Error(`token for ${user}: ${r.status}`);
      return { authorization: `Bearer ${r.json.access_token as string}` };
    };
    const aliceScript = await mint('alice');
    const aliceCron = await mint('alice');
    const malloryOld = await mint('mallory');
    mono.advance(60_000);
    for (let i = 0; i < 4 * ENTRIES; i++) {
      const token = await mint('mallory');
      t.equal(await logout(s, token), 200);
      t.equal(await status(s, token), 401, `flood token ${i} is revoked`);
      mono.advance(10);
    }
    mono.advance(60_000);
    t.equal(await logout(s, aliceScript), 200);
    t.equal(await status(s, aliceScript), 401, 'alice\'s revoked token is refused');
    t.equal(await status(s, aliceCron), 200, 'her other token is not');
    t.equal(await status(s, malloryOld), 200, 'mallory\'s token from before the flood survives it');
  });

  t.test(`${mode} mode: POST /tokens/revoke cannot be told to forget early; its fields are validated`, async (t) => {
    const mono = new ManualClock(10_000);
    const s = await startTestServer({ mode, monotonic: mono, wall: new ManualClock(T) });
    t.teardown(() => s.close());
    let admin = await adminWithPassword(s, PASSWORD);
    const mint = async () => (await s.request('POST', '/token', { json: { username: 'admin', password: PASSWORD } })).json.access_token as string;
    const revoke = (body: unknown) => s.request('POST', '/tokens/revoke', { headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, origin: s.origin }, json: body });
    const jtiOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')).jti as string;

    const victim = await mint();
    const zero = await revoke({ jti: jtiOf(victim), user: 'admin', expiresInSeconds: 0 });
    if (zero.status === 200) {
      mono.advance(1);
      t.equal(await status(s, { authorization: `Bearer ${victim}` }), 401, 'answered revoked: the token must be refused');
    }
    t.same([zero.status, zero.json?.error], [400, 'bad_request'], 'expiresInSeconds is refused: a revocation lasts until the token\'s own expiry');
    t.match(zero.json?.message, /expiresInSeconds/);

    const revoked = await revoke({ jti: jtiOf(victim), user: 'admin' });
    t.same([revoked.status, revoked.json], [200, { revoked: true }]);
    mono.advance(3600_000 - 1_000);
    t.equal(await status(s, { authorization: `Bearer ${victim}` }), 401, 'still refused a second before its own expiry');
    const again = await jsonLogin(s, 'admin', PASSWORD); // the first session has idled out meanwhile
    admin = { cookie: sessionCookieOf(again), csrf: again.json.csrfToken as string, user: 'admin' };

    const byValue = await mint();
    const withToken = await revoke({ token: byValue });
    t.same([withToken.status, withToken.json], [200, { revoked: true }], 'the token itself may be given instead (RFC 7009 style)');
    t.equal(await status(s, { authorization: `Bearer ${byValue}` }), 401);

    const cases: Array<[string, unknown, RegExp]> = [
      ['no body fields', {}, /jti and user, or token/],
      ['jti without user', { jti: 'abc' }, /user/],
      ['user without jti', { user: 'admin' }, /jti/],
      ['jti not a string', { jti: 42, user: 'admin' }, /jti/],
      ['empty jti', { jti: '', user: 'admin' }, /jti/],
      ['jti too long', { jti: 'a'.repeat(65), user: 'admin' }, /jti/],
      ['jti with characters no token id has', { jti: 'a b', user: 'admin' }, /jti/],
      ['user not a user name', { jti: 'abc', user: 'a b' }, /user/],
      ['user too long', { jti: 'abc', user: 'u'.repeat(65) }, /user/],
      ['expiresInSeconds negative', { jti: 'abc', user: 'admin', expiresInSeconds: -1 }, /expiresInSeconds/],
      ['an unknown field', { jti: 'abc', user: 'admin', until: 5 }, /until/],
      ['token and jti together', { token: byValue, jti: 'abc', user: 'admin' }, /either/],
      ['token not a string', { token: 5 }, /token/],
      ['a token that is not one of ours', { token: 'a.b.c' }, /token/],
    ];
    for (const [title, body, message] of cases) {
      const r = await revoke(body);
      t.same([r.status, r.json?.error], [400, 'bad_request'], title);
      t.match(r.json?.message, message, `${title}: the message names the field`);
    }
    for (const [title, user] of [['too long', 'u'.repeat(65)], ['not a string', 42], ['with a space', 'a b']] as const) {
      const r = await s.request('POST', '/sessions/revoke-user', { headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, origin: s.origin }, json: { user } });
      t.same([r.status, r.json?.error], [400, 'bad_request'], `revoke-user, a user name ${title}: refused, not remembered`);
      t.match(r.json?.message, /user must be a user name/);
    }
    const other = await mint();
    t.equal(await status(s, { authorization: `Bearer ${other}` }), 200, 'no refused request revoked anything');
    t.equal(await status(s, { cookie: admin.cookie }), 200, 'not even the caller');
    assertNoSecrets(t, s, [PASSWORD, victim, byValue, other]);
  });

  t.test(`${mode} mode: POST /token is rate-limited per user (429 with Retry-After)`, async (t) => {
    const mono = new ManualClock(10_000);
    const s = await startTestServer({ mode, monotonic: mono, wall: new ManualClock(T), profile: { tokenMintsPerUserPerMinute: 3 } });
    t.teardown(() => s.close());
    const admin = await adminWithPassword(s, PASSWORD);
    await withUsers(s, ['alice']);
    const bySession = () => s.request('POST', '/token', { headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, origin: s.origin }, json: {} });
    const byPassword = (user: string) => s.request('POST', '/token', { json: { username: user, password: PASSWORD } });
    t.equal((await bySession()).status, 200);
    t.equal((await byPassword('admin')).status, 200);
    t.equal((await bySession()).status, 200, 'three tokens a minute, whichever grant');
    const limited = await bySession();
    t.same([limited.status, limited.json?.error], [429, 'slow_down'], 'the fourth is refused');
    t.ok(Number(limited.headers['retry-after']) >= 1 && Number(limited.headers['retry-after']) <= 60, `Retry-After ${limited.headers['retry-after']}`);
    t.equal((await byPassword('admin')).status, 429, 'the password grant shares the limit');
    t.equal((await byPassword('alice')).status, 200, 'another user is not limited by it');
    t.equal((await s.request('GET', '/session', { headers: { cookie: admin.cookie } })).status, 200, 'the session itself is untouched');
    mono.advance(Number(limited.headers['retry-after']) * 1000);
    t.equal((await bySession()).status, 200, 'after Retry-After one more may be minted');
    t.equal(s.logEvents('token_rate_limited').length >= 2, true, 'refusals are logged');
  });
}

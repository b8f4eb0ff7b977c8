import t from 'tap';
import { checkNewPassword, GENERATED_PASSWORD_BITS, generatePassword, MIN_NEW_PASSWORD_CHARS } from '../../src/users/index.js';
import type { NewPasswordContext } from '../../src/users/index.js';

const cases: { name: string; pw: string; ctx?: NewPasswordContext; reason: RegExp | undefined }[] = [
  { name: 'good passphrase', pw: 'correct horse battery', reason: undefined },
  { name: 'exactly the minimum', pw: 'x7#kP2qL9z', reason: undefined },
  { name: 'one short', pw: 'x7#kP2qL9', reason: /at least 10 characters/ },
  { name: 'empty', pw: '', reason: /at least 10/ },
  { name: 'short in code points though long in UTF-16', pw: '\u{1F511}'.repeat(4) + 'abcde', reason: /at least 10/ },
  { name: 'combining marks count after NFC', pw: 'e\u0301'.repeat(5) + 'abcd', reason: /at least 10/ },
  { name: 'one repeated character', pw: 'aaaaaaaaaaaa', reason: /repeat/ },
  { name: 'common', pw: '1234567890', reason: /too common/ },
  { name: 'common, other case', pw: 'QwertyUiop', reason: /too common/ },
  { name: 'equals the user name', pw: 'administrator', ctx: { username: 'Administrator' }, reason: /user name/ },
  { name: 'equals the previous password', pw: 'k3ep-this-one', ctx: { previous: 'k3ep-this-one' }, reason: /differ/ },
  { name: 'equals the generated password', pw: 'abcd-efgh-jkmn-pqrs', ctx: { forbidden: ['abcd-efgh-jkmn-pqrs'] }, reason: /differ/ },
  { name: 'previous in another normal form', pw: 'caf\u00e9-caf\u00e9-1', ctx: { previous: 'cafe\u0301-cafe\u0301-1' }, reason: /differ/ },
  { name: 'differs from previous', pw: 'a brand new one', ctx: { username: 'admin', previous: 'the old one!' }, reason: undefined },
  { name: 'control character', pw: 'tab\there-and-more', reason: /control/ },
  { name: 'lone surrogate', pw: 'abcdefghij\uD800', reason: /surrogate/ },
  { name: 'too long', pw: 'ab'.repeat(513), reason: /at most 1024 bytes/ },
  { name: 'spaces and unicode are fine', pw: 'pässwört mit ümlauten', reason: undefined },
];

t.test('checkNewPassword table', (t) => {
  for (const c of cases) {
    const reason = checkNewPassword(c.pw, c.ctx);
    if (c.reason === undefined) t.equal(reason, undefined, c.name);
    else t.match(reason, c.reason, c.name);
    if (reason !== undefined && c.pw.length > 0) t.notOk(reason.includes(c.pw), `${c.name}: reason does not repeat it`);
  }
  t.equal(MIN_NEW_PASSWORD_CHARS, 10);
  t.end();
});

t.test('generatePassword: readable, 80 bits, passes the policy, distinct', (t) => {
  const seen = new Set<string>();
  const counts = new Map<string, number>();
  const misshapen: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const pw = generatePassword();
    if (!/^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$/.test(pw)) misshapen.push(pw);
    seen.add(pw);
    for (const c of pw.replace(/-/g, '')) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  t.same(misshapen, [], 'four groups of four from the readable alphabet');
  t.equal(seen.size, 2000, 'no repeats');
  t.equal(counts.size, 32, 'all 32 symbols appear');
  t.equal(GENERATED_PASSWORD_BITS, 80);
  t.equal(checkNewPassword(generatePassword()), undefined, 'acceptable as a password');
  t.end();
});

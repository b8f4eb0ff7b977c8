import t from 'tap';
import { LoginCsrf } from '../../src/server/login-csrf.js';

t.test('a nonce and its token verify; everything else does not', (t) => {
  const csrf = new LoginCsrf(Buffer.alloc(32, 7));
  const other = new LoginCsrf(Buffer.alloc(32, 8));
  const { nonce, token } = csrf.issue();
  t.equal(csrf.verify(nonce, token), true);
  const second = csrf.issue();
  const cases: Array<[string, string | undefined, unknown]> = [
    ['token of another nonce', nonce, second.token],
    ['missing cookie', undefined, token],
    ['missing field', nonce, undefined],
    ['field not a string', nonce, ['x']],
    ['empty token', nonce, ''],
    ['token one char short', nonce, token.slice(1)],
    ['token flipped', nonce, (token[0] === 'A' ? 'B' : 'A') + token.slice(1)],
    ['nonce malformed', 'x'.repeat(5000), token],
    ['nonce with bad alphabet', '+'.repeat(22), token],
  ];
  for (const [title, n, tok] of cases) t.equal(csrf.verify(n, tok), false, title);
  t.equal(other.verify(nonce, token), false, 'another key refuses it');
  t.end();
});

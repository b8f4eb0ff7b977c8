/**
 * The users admin routes over real sockets, in both session modes: the JSON API for every
 * operation, the form flow (confirmation, redirect with a message that is true, one-time
 * password shown once), the last-admin rule, and sessions ending at once on removal,
 * demotion and reset. Access itself (who may call what) is route-policy.test.ts's table.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseUsersFile } from '../../src/users/index.js';
import { adminWithPassword, formLogin, jsonLogin, startTestServer, type SignedIn, type TestServer } from '../support/server.js';
import { sessionCookieOf, type Reply } from '../support/http.js';

const PASSWORD = 'correct horse battery';

function api(s: TestServer, who: SignedIn, path: string, json: unknown): Promise<Reply> {
  return s.request('POST', path, { headers: { cookie: who.cookie, 'x-csrf-token': who.csrf, origin: s.origin }, json });
}

function form(s: TestServer, who: SignedIn, path: string, fields: Record<string, string>): Promise<Reply> {
  return s.request('POST', path, { headers: { cookie: who.cookie, origin: s.origin, accept: 'text/html' }, form: { csrf: who.csrf, ...fields } });
}

async function signIn(s: TestServer, user: string, password: string): Promise<SignedIn & { mustChangePassword: boolean }> {
  const r = await jsonLogin(s, user, password);
  if (r.status !== 200) throw new Error(`login ${user}: ${r.status} ${r.text}`);
  return { cookie: sessionCookieOf(r), csrf: r.json.csrfToken, user, mustChangePassword: r.json.mustChangePassword };
}

/** A user added over the API who has already chosen their own password. */
async function addedUser(s: TestServer, admin: SignedIn, user: string, role: 'admin' | 'viewer'): Promise<SignedIn> {
  const added = await api(s, admin, '/users/add', { user, role });
  if (added.status !== 201) throw new Error(`add ${user}: ${added.status} ${added.text}`);
  const first = await signIn(s, user, added.json.oneTimePassword);
  const changed = await s.request('POST', '/password', {
    headers: { cookie: first.cookie, 'x-csrf-token': first.csrf, origin: s.origin },
    json: { currentPassword: added.json.oneTimePassword, newPassword: `${user} own passphrase` },
  });
  if (changed.status !== 200) throw new Error(`password ${user}: ${changed.status} ${changed.text}`);
  return { cookie: sessionCookieOf(changed), csrf: changed.json.csrfToken, user };
}

const fileUsers = (s: TestServer) => parseUsersFile(readFileSync(join(s.dir, 'users.json'), 'utf8'), 'users.json');
const alive = async (s: TestServer, who: SignedIn) => (await s.request('GET', '/session', { headers: { cookie: who.cookie } })).status === 200;

for (const mode of ['ram', 'cookie'] as const) {
  t.test(`${mode} mode: add → one-time password → forced change; list`, async (t) => {
    const s = await startTestServer({ mode });
    t.teardown(() => s.close());
    const admin = await adminWithPassword(s, PASSWORD);

    const added = await api(s, admin, '/users/add', { user: 'alice', role: 'viewer' });
    t.equal(added.status, 201);
    t.same(Object.keys(added.json).sort(), ['mustChangePassword', 'oneTimePassword', 'role', 'user']);
    t.match(added.json.oneTimePassword, /^[0-9a-z]{4}(-[0-9a-z]{4}){3}$/, 'a generated password, 80 bits');
    t.notOk(s.logs.join('\n').includes(added.json.oneTimePassword), 'never logged');
    t.notOk(readFileSync(join(s.dir, 'users.json'), 'utf8').includes(added.json.oneTimePassword), 'only its hash is stored');
    t.same(s.logEvents('user_added').map((e) => [e['by'], e['user'], e['role']]), [['admin', 'alice', 'viewer']]);
    t.equal(fileUsers(s).get('alice')?.mustChangePassword, true, 'written to the file, must change');

    const alice = await signIn(s, 'alice', added.json.oneTimePassword);
    t.equal(alice.mustChangePassword, true);
    t.equal((await s.request('GET', '/sessions', { headers: { cookie: alice.cookie } })).status, 403, 'nothing but the password change until then');

    const list = await s.request('GET', '/users', { headers: { cookie: admin.cookie } });
    t.equal(list.status, 200);
    t.equal(list.json.sessionsCounted, mode === 'ram');
    const rows = new Map((list.json.users as Array<Record<string, unknown>>).map((u) => [u['name'], u]));
    t.same(rows.get('alice'), {
      name: 'alice', role: 'viewer', mustChangePassword: true, activeSessions: mode === 'ram' ? 1 : null,
      lastSignInSecondsAgo: 0, lastSignInAt: rows.get('alice')?.['lastSignInAt'],
    });
    t.match(String(rows.get('alice')?.['lastSignInAt']), /^\d{4}-\d\d-\d\dT/, 'a date: the test machine\'s clock is trusted');
    t.equal(rows.get('admin')?.['role'], 'admin');

    const refusals: Array<[unknown, number, RegExp]> = [
      [{ user: 'ALICE' }, 409, /user "alice" already exists/],
      [{ user: 'bad name' }, 400, /user must be 1 to 64 characters/],
      [{ user: 'x'.repeat(65) }, 400, /user must be/],
      [{ user: ['alice'] }, 400, /user must be/],
      [{ user: 'bob', role: 'root' }, 400, /role must be one of admin, viewer/],
      [{}, 400, /user must be/],
    ];
    for (const [body, status, message] of refusals) {
      const r = await api(s, admin, '/users/add', body);
      t.same([r.status, message.test(r.json?.message)], [status, true], `${JSON.stringify(body)}: ${r.status} ${r.json?.message}`);
    }
    t.same(fileUsers(s).names().sort(), ['admin', 'alice'], 'nothing else was written');
    const viewer = await api(s, admin, '/users/add', { user: 'carol' });
    t.equal(viewer.json.role, 'viewer', 'viewer unless asked otherwise');
  });

  t.test(`${mode} mode: demote, reset and remove end the user's sessions at once`, async (t) => {
    const s = await startTestServer({ mode });
    t.teardown(() => s.close());
    const admin = await adminWithPassword(s, PASSWORD);
    const bob = await addedUser(s, admin, 'bob', 'admin');
    const bob2 = await signIn(s, 'bob', 'bob own passphrase');
    t.ok(await alive(s, bob) && await alive(s, bob2), 'bob has two sessions');

    const demoted = await api(s, admin, '/users/role', { user: 'bob', role: 'viewer' });
    t.same([demoted.status, demoted.json.role, demoted.json.changed], [200, 'viewer', true]);
    t.equal(demoted.json.endedSessions, mode === 'ram' ? 2 : null, 'counted where the mode can count');
    t.notOk(await alive(s, bob), 'session 1 ended');
    t.notOk(await alive(s, bob2), 'session 2 ended');
    // Given the old role back at once: the sessions stay ended (revoked, not merely mismatched).
    t.equal((await api(s, admin, '/users/role', { user: 'bob', role: 'admin' })).status, 200);
    t.notOk(await alive(s, bob), 'promoted back: session 1 stays ended');
    t.notOk(await alive(s, bob2), 'promoted back: session 2 stays ended');
    t.equal((await api(s, admin, '/users/role', { user: 'bob', role: 'viewer' })).status, 200);
    const again = await signIn(s, 'bob', 'bob own passphrase');
    t.equal((await s.request('GET', '/session', { headers: { cookie: again.cookie } })).json.role, 'viewer', 'signs in again as viewer');
    const same = await api(s, admin, '/users/role', { user: 'bob', role: 'viewer' });
    t.same([same.status, same.json.changed], [200, false], 'the same role: nothing changes');
    t.ok(await alive(s, again), 'and no session ends');

    const reset = await api(s, admin, '/users/reset', { user: 'bob' });
    t.equal(reset.status, 200);
    t.notOk(await alive(s, again), 'reset: the session made with the old password ended');
    t.equal((await jsonLogin(s, 'bob', 'bob own passphrase')).status, 401, 'the old password no longer works');
    const fresh = await signIn(s, 'bob', reset.json.oneTimePassword);
    t.equal(fresh.mustChangePassword, true, 'the one-time password must be changed');

    const removed = await api(s, admin, '/users/remove', { user: 'bob' });
    t.same([removed.status, removed.json.removed], [200, true]);
    t.notOk(await alive(s, fresh), 'remove: the session ended');
    t.equal((await jsonLogin(s, 'bob', reset.json.oneTimePassword)).status, 401, 'bob can no longer sign in');
    t.notOk(fileUsers(s).has('bob'));
    t.same([(await api(s, admin, '/users/remove', { user: 'bob' })).status, (await api(s, admin, '/users/reset', { user: 'bob' })).status], [404, 404]);

    // Re-adding the name with the same role must not bring bob's old sessions back.
    const readded = await api(s, admin, '/users/add', { user: 'bob', role: 'viewer' });
    t.equal(readded.status, 201);
    t.notOk(await alive(s, fresh), 'the removed user\'s session stays ended');
    t.notOk(await alive(s, again), 'all of them');
    t.same(s.logEvents('user_role_changed').length + s.logEvents('user_password_reset').length + s.logEvents('user_removed').length, 5);
  });

  t.test(`${mode} mode: the device is never left without an admin`, async (t) => {
    const s = await startTestServer({ mode });
    t.teardown(() => s.close());
    const admin = await adminWithPassword(s, PASSWORD);
    for (const [path, body] of [['/users/role', { user: 'admin', role: 'viewer' }], ['/users/remove', { user: 'admin' }]] as const) {
      const r = await api(s, admin, path, body);
      t.same([r.status, r.json.message], [409, '"admin" is the last admin; add another admin first'], `${path}: refused`);
      t.ok(await alive(s, admin), `${path}: the admin stays signed in`);
    }
    t.equal(fileUsers(s).get('admin')?.role, 'admin', 'the file still has its admin');

    // With a second admin, either may go; then the other is the last.
    const root = await addedUser(s, admin, 'root', 'admin');
    t.equal((await api(s, admin, '/users/role', { user: 'root', role: 'viewer' })).status, 200);
    t.equal((await api(s, admin, '/users/remove', { user: 'admin' })).status, 409, 'admin is the last one again');
    t.equal((await api(s, admin, '/users/role', { user: 'root', role: 'admin' })).status, 200);
    const self = await api(s, admin, '/users/remove', { user: 'admin' });
    t.equal(self.status, 200, 'an admin may remove themselves while another admin remains');
    t.notOk(await alive(s, admin), 'and is signed out at once');
    const rootAgain = await signIn(s, 'root', 'root own passphrase');
    t.equal((await api(s, rootAgain, '/users/role', { user: 'root', role: 'viewer' })).status, 409, 'root is now the last admin');
    t.same(fileUsers(s).names(), ['root']);
    void root;
  });

  t.test(`${mode} mode: the forms: confirm first, a true message after, the one-time password once`, async (t) => {
    const s = await startTestServer({ mode, options: { deviceName: 'gw-lab' } });
    t.teardown(() => s.close());
    const admin = await adminWithPassword(s, PASSWORD);
    await addedUser(s, admin, 'dave', 'viewer');

    const page = await s.request('GET', '/users', { headers: { cookie: admin.cookie, accept: 'text/html' } });
    t.equal(page.status, 200);
    t.match(page.text, /<title>Users — gw-lab<\/title>/);
    t.match(page.text, /<button form="op-remove" name="user" value="dave">Remove/);
    t.match(page.text, /<th scope="row">dave<\/th><td>viewer<\/td><td>set<\/td>/);

    const ask = await form(s, admin, '/users/remove', { user: 'dave' });
    t.equal(ask.status, 200, 'a form without confirm=yes is asked, not done');
    t.match(ask.text, /<h1>Remove dave\?<\/h1>/);
    t.match(ask.text, /<input type="hidden" name="confirm" value="yes"><button type="submit">Remove dave<\/button>/);
    t.ok(fileUsers(s).has('dave'), 'nothing changed yet');

    const done = await form(s, admin, '/users/remove', { user: 'dave', confirm: 'yes' });
    t.same([done.status, done.headers.location], [303, '/users?done=removed&user=dave']);
    t.notOk(fileUsers(s).has('dave'));
    const after = await s.request('GET', '/users?done=removed&user=dave', { headers: { cookie: admin.cookie, accept: 'text/html' } });
    t.match(after.text, /<p role="status">dave was removed; their sessions have ended.<\/p>/);
    const lie = await s.request('GET', '/users?done=removed&user=admin', { headers: { cookie: admin.cookie, accept: 'text/html' } });
    t.notMatch(lie.text, /role="status"/, 'a crafted link cannot claim a removal that did not happen');

    const add = await form(s, admin, '/users/add', { user: 'erin', role: 'admin' });
    t.equal(add.status, 201);
    const otp = /<dd class="otp">([^<]+)<\/dd>/.exec(add.text)?.[1] ?? '';
    t.match(otp, /^[0-9a-z]{4}(-[0-9a-z]{4}){3}$/, 'the one-time password, on the answer to the add');
    t.match(add.text, /<p role="status">erin was added as admin.<\/p>/);
    t.equal(add.headers['cache-control'], 'no-store');
    t.notOk(JSON.stringify(add.headers).includes(otp), 'not in a header (no redirect carries it)');
    const erin = await formLogin(s, 'erin', otp);
    t.same([erin.status, erin.headers.location], [303, '/password?next=%2F'], 'erin signs in and must change it first');

    const dup = await form(s, admin, '/users/add', { user: 'Erin', role: 'viewer' });
    t.equal(dup.status, 409);
    t.match(dup.text, /<p id="form-error" role="alert">user &quot;erin&quot; already exists<\/p>/);
    t.match(dup.text, /<input id="new-name" name="user" type="text" value="Erin"/, 'the name is kept');

    const demote = await form(s, admin, '/users/role', { user: 'erin', role: 'viewer' });
    t.match(demote.text, /<h1>Make erin viewer\?<\/h1>/);
    const demoted = await form(s, admin, '/users/role', { user: 'erin', role: 'viewer', confirm: 'yes' });
    t.same([demoted.status, demoted.headers.location], [303, '/users?done=role&user=erin']);
    const notice = await s.request('GET', demoted.headers.location ?? '', { headers: { cookie: admin.cookie, accept: 'text/html' } });
    t.match(notice.text, /<p role="status">erin is now viewer; their sessions have ended.<\/p>/);

    const last = await form(s, admin, '/users/role', { user: 'admin', role: 'viewer', confirm: 'yes' });
    t.equal(last.status, 409);
    t.match(last.text, /<p role="alert">&quot;admin&quot; is the last admin; add another admin first<\/p>/, 'refused on the users page, with the reason');

    const reset = await form(s, admin, '/users/reset', { user: 'erin', confirm: 'yes' });
    t.equal(reset.status, 200);
    t.match(reset.text, /The password of erin was reset; their sessions have ended./);
    t.match(reset.text, /<dd class="otp">[0-9a-z-]{19}<\/dd>/);

    const missing = await form(s, admin, '/users/remove', { user: 'nobody', confirm: 'yes' });
    t.equal(missing.status, 404);
    t.match(missing.text, /<p role="alert">no user &quot;nobody&quot;<\/p>/);
  });

  t.test(`${mode} mode: users:read without users:write lists only; viewers never see the page`, async (t) => {
    const s = await startTestServer({ mode });
    t.teardown(() => s.close());
    const admin = await adminWithPassword(s, PASSWORD);
    await addedUser(s, admin, 'fay', 'viewer');
    const fay = await signIn(s, 'fay', 'fay own passphrase');
    const asViewer = await s.request('GET', '/users', { headers: { cookie: fay.cookie, accept: 'text/html' } });
    t.equal(asViewer.status, 403);
    t.notMatch(asViewer.text, /<table/, 'no list for a viewer');
    const home = await s.request('GET', '/', { headers: { cookie: fay.cookie, accept: 'text/html' } });
    t.notMatch(home.text, /href="\/users"/, 'and no link to it');
    const adminHome = await s.request('GET', '/', { headers: { cookie: admin.cookie, accept: 'text/html' } });
    t.match(adminHome.text, /<a href="\/users">Users<\/a>/, 'admins find it from the start page');

    const token = s.running.deps.sessions.issueToken('admin', 'admin', ['users:read']);
    const readOnly = await s.request('GET', '/users', { headers: { authorization: `Bearer ${token.token}`, accept: 'text/html' } });
    t.equal(readOnly.status, 200);
    t.notMatch(readOnly.text, /<button form=|action="\/users\/add"/, 'a users:read token sees no operations');
  });
}

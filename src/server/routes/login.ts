/**
 * GET /login: the form. POST /login: form → 303 to a same-origin `next`; JSON → 200 JSON.
 * Always a fresh session on success (no fixation); the old one, if any, is revoked.
 */
import { renderLoginPage, retryAfterSeconds, safeNextPath, sendError, sendHtml, sendJson, sendRedirect } from '../../web/index.js';
import { RingletError } from '../../errors.js';
import { clearLoginNonceCookie, loginNonceCookie, sessionCookie } from '../cookies.js';
import { currentSession } from '../guards.js';
import { stringField, type Fields } from '../request-body.js';
import type { RequestContext } from '../context.js';
import { siteOf } from '../page-frame.js';
import type { LoginOutcome } from '../login-service.js';

function renderForm(ctx: RequestContext, status: number, next: string, error?: string, username?: string, headers: Record<string, string | string[]> = {}): void {
  const { nonce, token } = ctx.deps.loginCsrf.issue();
  const cookies = [loginNonceCookie(ctx.deps.cookies, nonce)];
  sendHtml(ctx.res, status, renderLoginPage({ site: siteOf(ctx), next, csrfToken: token, error, username }), { ...headers, 'Set-Cookie': cookies });
}

export function getLogin(ctx: RequestContext): void {
  const next = safeNextPath(ctx.query.get('next'));
  const notice = ctx.query.get('loggedout') === '1' ? 'You have been signed out.' : undefined;
  const { nonce, token } = ctx.deps.loginCsrf.issue();
  sendHtml(ctx.res, 200, renderLoginPage({ site: siteOf(ctx), next, csrfToken: token, notice }), { 'Set-Cookie': [loginNonceCookie(ctx.deps.cookies, nonce)] });
}

/** The gate refused the login form's CSRF proof: a fresh form (HTML) or 403 (JSON). */
export function answerLoginRefused(ctx: RequestContext): void {
  const fields = ctx.fields;
  if (fields?.kind === 'form') renderForm(ctx, 403, safeNextPath(fields.values['next']), 'The form expired or came from another site. Please try again.');
  else sendError(ctx.req, ctx.res, 403, 'cross-origin request refused');
}

export async function postLogin(ctx: RequestContext): Promise<void> {
  const fields = ctx.fields as Fields;
  const html = fields.kind === 'form';
  const next = safeNextPath(fields.values['next']);
  const username = stringField(fields, 'username');
  const password = stringField(fields, 'password');
  if (username === undefined || password === undefined || username.length === 0 || username.length > 64 || Buffer.byteLength(password) > 1024) {
    if (html) renderForm(ctx, 400, next, 'Enter your user name and password.', username?.slice(0, 64));
    else sendError(ctx.req, ctx.res, 400, 'username and password are required strings');
    return;
  }
  // Confirmed against the users table as it is now, in the same turn as the issue below.
  const outcome: LoginOutcome = ctx.deps.login.confirm(await ctx.deps.login.authenticate(username, password, ctx.clientAddress));
  ctx.deps.metrics.inc('logins_total', { result: outcome.result });
  if (outcome.result !== 'success') {
    respondLoginRefused(ctx, outcome, html, next, username);
    return;
  }
  // No fixation: whatever session the browser had is ended, and a new one is issued.
  const previous = currentSession(ctx, false);
  if (previous !== undefined && previous.via === 'cookie') ctx.deps.sessions.revoke(previous);
  let issued;
  try {
    issued = ctx.deps.sessions.issue(outcome.user, outcome.role, ctx.clientAddress);
  } catch (err) {
    if (err instanceof RingletError && err.code === 'ERR_STORE_FULL') {
      sendError(ctx.req, ctx.res, 503, 'no room for a new session', { 'Retry-After': '5' });
      return;
    }
    throw err;
  }
  if (issued.evicted) {
    ctx.deps.log.info('session_evicted', { user: issued.evicted.user, reason: issued.evicted.reason });
  }
  ctx.deps.log.info('login', { result: 'success', user: outcome.user, client: ctx.clientAddress, ref: issued.session.ref });
  ctx.deps.signIns.record(outcome.user);
  const setCookie = [sessionCookie(ctx.deps.cookies, issued.cookieValue), clearLoginNonceCookie(ctx.deps.cookies)];
  if (html) {
    const target = outcome.mustChangePassword ? `/password?next=${encodeURIComponent(next)}` : next;
    sendRedirect(ctx.res, 303, target, { 'Set-Cookie': setCookie });
    return;
  }
  const s = issued.session;
  sendJson(ctx.res, 200, {
    user: s.user,
    role: s.role,
    csrfToken: s.csrfToken,
    idleExpiresAt: new Date(s.idleExpiresAtMs).toISOString(),
    absoluteExpiresAt: new Date(s.absoluteExpiresAtMs).toISOString(),
    mustChangePassword: outcome.mustChangePassword,
  }, { 'Set-Cookie': setCookie });
}

function respondLoginRefused(ctx: RequestContext, outcome: Exclude<LoginOutcome, { result: 'success' }>, html: boolean, next: string, username: string): void {
  // An unknown "user name" is often a password typed into the wrong field: never log it.
  const known = ctx.deps.users.current().get(username) !== undefined;
  ctx.deps.log.warn('login', { result: outcome.result, user: known ? username : '[unknown]', client: ctx.clientAddress });
  if (outcome.result === 'failure') {
    if (html) renderForm(ctx, 401, next, 'Wrong user name or password.', username);
    else sendError(ctx.req, ctx.res, 401, 'wrong user name or password');
    return;
  }
  const retryAfter = retryAfterSeconds(outcome.retryAfterMs);
  const status = outcome.result === 'throttled' ? 429 : 503;
  const message = outcome.result === 'throttled'
    ? `Too many failed sign-ins. Try again in ${retryAfter} seconds.`
    : `The device is busy. Try again in ${retryAfter} seconds.`;
  if (html) renderForm(ctx, status, next, message, username, { 'Retry-After': retryAfter });
  else sendError(ctx.req, ctx.res, status, message, { 'Retry-After': retryAfter });
}

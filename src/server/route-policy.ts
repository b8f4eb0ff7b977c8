/**
 * Who may call what: every route ringlet answers — its own, `/auth`, and the upstream
 * catch-all for plain requests and for WebSocket upgrades — declares its access here, and
 * the gate (gate.ts) applies the declaration before any handler runs. Handlers never check
 * roles, permissions, CSRF or the forced password change themselves.
 *
 * The README's HTTP API table is checked against this table (test/server/route-policy.test.ts).
 */
import type { Permission } from '../access/permissions.js';
import type { Role } from '../access/roles.js';

/** Whether a caller must present a valid session or token. */
export type Authentication =
  /** Nobody's session is looked at by the gate (the handler may still read one). */
  | 'none'
  /** A session is used when there is one; without one the handler runs anonymously. */
  | 'optional'
  /** A valid session or token is required. */
  | 'required';

/**
 * What a state change must prove besides the session (applies to cookie-authenticated
 * callers; a bearer token is never sent by a browser on its own):
 * - `token`: the session's CSRF token (`X-CSRF-Token` header or `csrf` field) and a same-origin request;
 * - `origin`: a same-origin request (or a configured origin) — for the upstream, whose pages
 *   do not know ringlet's CSRF token;
 * - `login-form`: the login form's signed double-submit token and a same-origin request,
 *   for everyone (there is no session yet); JSON logins need a same-origin Origin when sent.
 */
export type CsrfRule = 'none' | 'origin' | 'token' | 'login-form';

/** How a request without a valid session is answered when one is required. */
export type UnauthenticatedAnswer =
  /** 401 with `WWW-Authenticate: Bearer` (HTML error page or JSON by Accept). */
  | 'error'
  /** Browsers asking for a page get 303 to `/login?next=<this URL>`; other clients 401. */
  | 'login-page'
  /** Forward-auth: 401, or a 302 to the login page for browsers behind a trusted proxy. */
  | 'forward-auth';

export interface RoutePolicy {
  authentication: Authentication;
  /** Lowest role allowed (admin includes viewer); undefined = any role. */
  role: Role | undefined;
  /** Permission the caller must hold (a token: within its scope); undefined = none needed. */
  permission: Permission | undefined;
  csrf: CsrfRule;
  /** Reachable while the user's generated password has not been changed yet. */
  beforePasswordChange: boolean;
  unauthenticated: UnauthenticatedAnswer;
  /**
   * The gate reads the form or JSON body first (the CSRF token may be a form field);
   * handlers find it in `ctx.fields`.
   */
  readsFields: boolean;
  /** Counts as activity (RAM mode: moves the session to the MRU end; cookie mode: may re-issue). */
  touch: boolean;
  /** `/auth` only: `?role=` and `?scope=` narrow this policy further (never widen it). */
  narrowedByQuery: boolean;
  /**
   * `/auth` only: a forward-auth proxy asks before every request to the upstream, writes
   * included, and names the original method (`X-Forwarded-Method`, `X-Original-Method`); a
   * method other than GET/HEAD must also pass the upstream route's policy for it.
   */
  narrowedByForwardedMethod: boolean;
  /** `/metrics` only: a loopback client (judged after the trusted-proxy rules) needs no credential. */
  openToLoopback: boolean;
}

/** Request methods a policy is declared for. GET covers HEAD; OTHER is any method the upstream takes. */
export type PolicyMethod = 'GET' | 'POST' | 'OTHER' | 'UPGRADE';

export interface RouteDeclaration {
  /** Fixed name for logs and metrics (never the raw path). */
  name: string;
  /** Exact path, or '*' for the upstream catch-all. */
  path: string;
  methods: Partial<Record<PolicyMethod, RoutePolicy>>;
}

const BASE: RoutePolicy = {
  authentication: 'required',
  role: undefined,
  permission: undefined,
  csrf: 'none',
  beforePasswordChange: false,
  unauthenticated: 'error',
  readsFields: false,
  touch: true,
  narrowedByQuery: false,
  narrowedByForwardedMethod: false,
  openToLoopback: false,
};

function policy(fields: Partial<RoutePolicy>): RoutePolicy {
  return Object.freeze({ ...BASE, ...fields });
}

/** A state change from a page or an API client: form/JSON fields, CSRF token for cookies. */
function change(fields: Partial<RoutePolicy>): RoutePolicy {
  return policy({ csrf: 'token', readsFields: true, ...fields });
}

/**
 * The table. Read a row as: "METHOD path needs <authentication>, role, permission, CSRF,
 * and is (not) reachable before a forced password change".
 */
export const ROUTE_TABLE: readonly RouteDeclaration[] = [
  { name: 'login', path: '/login', methods: {
    GET: policy({ authentication: 'none', beforePasswordChange: true }),
    POST: policy({ authentication: 'none', csrf: 'login-form', readsFields: true, beforePasswordChange: true }),
  } },
  { name: 'logout', path: '/logout', methods: {
    // Anyone may end their own session, whatever it may do otherwise; no session is not an error.
    POST: change({ authentication: 'optional', beforePasswordChange: true, touch: false }),
  } },
  { name: 'session', path: '/session', methods: {
    GET: policy({ beforePasswordChange: true }),
  } },
  { name: 'password', path: '/password', methods: {
    GET: policy({ permission: 'password:change', beforePasswordChange: true, unauthenticated: 'login-page' }),
    POST: change({ permission: 'password:change', beforePasswordChange: true }),
  } },
  { name: 'auth', path: '/auth', methods: {
    GET: policy({ permission: 'ui:read', unauthenticated: 'forward-auth', narrowedByQuery: true, narrowedByForwardedMethod: true }),
  } },
  { name: 'token', path: '/token', methods: {
    // Credentials in the body authenticate by password (the handler); a request that carries
    // a session is judged as that session: it needs tokens:mint, which no token carries.
    POST: change({ authentication: 'optional', permission: 'tokens:mint' }),
  } },
  { name: 'sessions', path: '/sessions', methods: {
    GET: policy({ permission: 'sessions:own', unauthenticated: 'login-page' }),
  } },
  { name: 'sessions_revoke', path: '/sessions/revoke', methods: {
    POST: change({ permission: 'sessions:own' }),
  } },
  { name: 'sessions_revoke_user', path: '/sessions/revoke-user', methods: {
    POST: change({ permission: 'sessions:own' }),
  } },
  { name: 'tokens_revoke', path: '/tokens/revoke', methods: {
    POST: change({ role: 'admin', permission: 'sessions:write' }),
  } },
  // Users admin: admins only, whatever a permissions configuration grants other roles.
  { name: 'users', path: '/users', methods: {
    GET: policy({ role: 'admin', permission: 'users:read', unauthenticated: 'login-page' }),
  } },
  { name: 'users_add', path: '/users/add', methods: {
    POST: change({ role: 'admin', permission: 'users:write' }),
  } },
  { name: 'users_role', path: '/users/role', methods: {
    POST: change({ role: 'admin', permission: 'users:write' }),
  } },
  { name: 'users_reset', path: '/users/reset', methods: {
    POST: change({ role: 'admin', permission: 'users:write' }),
  } },
  { name: 'users_remove', path: '/users/remove', methods: {
    POST: change({ role: 'admin', permission: 'users:write' }),
  } },
  { name: 'metrics', path: '/metrics', methods: {
    GET: policy({ permission: 'metrics:read', beforePasswordChange: true, openToLoopback: true, touch: false }),
  } },
  { name: 'healthz', path: '/healthz', methods: {
    GET: policy({ authentication: 'none', beforePasswordChange: true }),
  } },
  { name: 'home', path: '/', methods: {
    GET: policy({ unauthenticated: 'login-page' }),
  } },
  { name: 'upstream', path: '*', methods: {
    GET: policy({ permission: 'ui:read', unauthenticated: 'login-page' }),
    // The upstream's own pages do not carry ringlet's CSRF token: same origin is the check.
    OTHER: policy({ permission: 'ui:write', csrf: 'origin' }),
    // A tunnel carries writes ringlet cannot see: it needs ui:write, and a same-origin page.
    UPGRADE: policy({ permission: 'ui:write', csrf: 'origin' }),
  } },
];

/** Each route by name, for the dispatcher. */
export const ROUTES_BY_NAME: ReadonlyMap<string, RouteDeclaration> = new Map(ROUTE_TABLE.map((r) => [r.name, r]));

/** The policy for `method` on a declared route (HEAD is GET; the upstream takes any method). */
export function policyFor(route: RouteDeclaration, method: string): RoutePolicy | undefined {
  if (method === 'GET' || method === 'HEAD') return route.methods.GET;
  if (method === 'POST') return route.methods.POST ?? route.methods.OTHER;
  return route.methods.OTHER;
}

const UPSTREAM_ROUTE = ROUTE_TABLE.find((r) => r.path === '*') as RouteDeclaration;

/** The upstream catch-all's policy for a WebSocket handshake (what `/auth` applies to one). */
export const UPSTREAM_UPGRADE_POLICY: RoutePolicy = UPSTREAM_ROUTE.methods.UPGRADE as RoutePolicy;

/** The upstream catch-all's policy for `method`: what a request forwarded with that method needs. */
export function upstreamPolicyFor(method: string): RoutePolicy | undefined {
  return policyFor(UPSTREAM_ROUTE, method);
}

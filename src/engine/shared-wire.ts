/**
 * What ringlet keeps in the shared-state engine, by name and by shape. Every key and channel
 * starts with the deployment's prefix (`--shared-state-prefix`).
 *
 * | key or channel | type | holds |
 * |---|---|---|
 * | `<p>revocations` | sorted set, and a channel | revocation events; score = when the event may go (engine ms) |
 * | `<p>epoch` | string | a random id written once: a new one means the engine lost its data |
 * | `<p>throttle:<id>` | hash `f` (failures), `t` (last failure, engine ms) | one login-throttle key; expires `throttleForgetAfterMs` after its last failure |
 * | `<p>users` | hash, and a channel | user changes made at runtime (shared-users.ts) |
 * | `<p>users:seq` | counter | the order of user changes |
 *
 * Authenticated: an engine that anyone on its network can write to must not be able to
 * forge what ringlet believes. A revocation event travels as `<mac>.<json>`, the MAC an
 * HMAC-SHA256 (truncated to 22 base64url characters, 132 bits) under a key derived from the
 * deployment's JWKS (`ringlet shared state`), over the prefix and the JSON: every instance
 * holding the keys can write and check it, nobody else can make one. Throttle keys are named
 * by a MAC of the throttle key too (no user name or address in the engine). Whoever can
 * write to the engine can still delete: protect it (ACL user, TLS, not on a public network).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { parseRevocationEvent, type RevocationEvent } from '../session/revocation-events.js';

/** Characters of the MAC that starts a shared revocation member (22 base64url = 132 bits). */
export const MEMBER_MAC_CHARS = 22;
/** A member longer than this is not one ringlet wrote (the longest event is ~300 characters). */
export const MAX_MEMBER_CHARS = 2048;

export interface SharedKeyNames {
  revocations: string;
  revocationsChannel: string;
  epoch: string;
  users: string;
  usersChannel: string;
  usersSeq: string;
  throttlePrefix: string;
}

export function sharedKeyNames(prefix: string): SharedKeyNames {
  return {
    revocations: `${prefix}revocations`,
    revocationsChannel: `${prefix}revocations`,
    epoch: `${prefix}epoch`,
    users: `${prefix}users`,
    usersChannel: `${prefix}users`,
    usersSeq: `${prefix}users:seq`,
    throttlePrefix: `${prefix}throttle:`,
  };
}

/** The event as JSON with its fields in one fixed order: the same event is the same member. */
export function canonicalEventJson(event: RevocationEvent): string {
  switch (event.type) {
    case 'all-not-before':
      return JSON.stringify({ type: event.type, wall: event.wall });
    case 'user-not-before':
      return JSON.stringify({ type: event.type, user: event.user, wall: event.wall });
    case 'denied-id':
      return JSON.stringify({ type: event.type, id: event.id, user: event.user, issued: event.issued, until: event.until });
    case 'denied-span':
      return JSON.stringify({ type: event.type, user: event.user, from: event.from, to: event.to, until: event.until });
  }
}

function macOf(key: Buffer, prefix: string, json: string): string {
  return createHmac('sha256', key).update(prefix).update('\n').update(json).digest('base64url').slice(0, MEMBER_MAC_CHARS);
}

/** `<mac>.<json>`: what is stored in `<p>revocations` and published on its channel. */
export function sealRevocationMember(event: RevocationEvent, key: Buffer, prefix: string): string {
  const json = canonicalEventJson(event);
  return `${macOf(key, prefix, json)}.${json}`;
}

/** The MAC part of a member, used as its identity (undefined when it has no such shape). */
export function memberMac(member: string): string | undefined {
  return member.length > MEMBER_MAC_CHARS + 1 && member.length <= MAX_MEMBER_CHARS && member.charCodeAt(MEMBER_MAC_CHARS) === 0x2e
    ? member.slice(0, MEMBER_MAC_CHARS)
    : undefined;
}

/** The event, or a short phrase saying why the member is refused (never its content). */
export function openRevocationMember(member: string, key: Buffer, prefix: string): RevocationEvent | string {
  const mac = memberMac(member);
  if (mac === undefined) return 'not a ringlet revocation member';
  const json = member.slice(MEMBER_MAC_CHARS + 1);
  const expected = Buffer.from(macOf(key, prefix, json));
  const given = Buffer.from(mac);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'its MAC does not verify (another key set, or forged)';
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return 'not JSON';
  }
  const event = parseRevocationEvent(parsed);
  if (typeof event === 'string') return event;
  // Only the canonical form: one event, one member (and nothing smuggled in the spacing).
  return canonicalEventJson(event) === json ? event : 'not in canonical form';
}

/** The engine key of one login-throttle key (`ip:…`, `user:…`, `pair:…`): a MAC, so no name or address is stored. */
export function throttleKeyName(names: SharedKeyNames, key: Buffer, throttleKey: string): string {
  return `${names.throttlePrefix}${createHmac('sha256', key).update('throttle\n').update(throttleKey).digest('base64url').slice(0, MEMBER_MAC_CHARS)}`;
}

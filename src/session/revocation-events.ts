/**
 * What a revocation is, as data: four idempotent event types. The revocation tables apply
 * them through one function whatever their origin (a local logout, the revocation file at
 * start, later another instance), and their durable state is a list of them again.
 *
 * Moments are wall-clock ms, because only the wall clock means anything to another boot or
 * another instance; `null` says the moment was recorded while the wall clock was untrusted
 * (time-policy.ts) and cannot be placed in wall time: whoever applies it must assume the
 * widest meaning (a not-before that refuses every credential of another boot, an expiry
 * placed at its first trusted reading plus the longest credential lifetime).
 *
 * - `all-not-before`: every credential issued before `wall` is refused.
 * - `user-not-before`: every credential of `user` issued before `wall` is refused
 *   (logout everywhere, password change, a user removed or given another role).
 * - `denied-id`: the credential `id` (cookie session id or token `jti`) of `user` is refused
 *   until `until`, when it would have expired anyway; `issued` is its login time if known.
 * - `denied-span`: every credential of `user` issued within [`from`, `to`] is refused until
 *   `until`: what a user's revoked ids fold into when their share of the table is full.
 */
import { MAX_CREDENTIAL_ID_CHARS, MAX_SUBJECT_CHARS } from './claims.js';

export type RevocationEvent =
  | { type: 'all-not-before'; wall: number | null }
  | { type: 'user-not-before'; user: string; wall: number | null }
  | { type: 'denied-id'; id: string; user: string; issued: number | null; until: number | null }
  | { type: 'denied-span'; user: string; from: number; to: number; until: number };

export const REVOCATION_FILE_VERSION = 1;

/**
 * Generous bytes per event in the file (the longest ids and names, escaped): the file is
 * read only up to (events it may hold) × this, so a huge file is refused before parsing.
 */
export const MAX_REVOCATION_EVENT_BYTES = 1024;

const FIELDS: Readonly<Record<RevocationEvent['type'], readonly string[]>> = {
  'all-not-before': ['type', 'wall'],
  'user-not-before': ['type', 'user', 'wall'],
  'denied-id': ['type', 'id', 'user', 'issued', 'until'],
  'denied-span': ['type', 'user', 'from', 'to', 'until'],
};

function isWallMs(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isName(v: unknown, max: number): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= max;
}

/** The event, or the first problem with it as a short phrase (for the one log line). */
export function parseRevocationEvent(value: unknown): RevocationEvent | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'an event is not an object';
  const e = value as Record<string, unknown>;
  const type = e['type'];
  if (typeof type !== 'string' || !Object.hasOwn(FIELDS, type)) return 'an event of an unknown type';
  const fields = FIELDS[type as RevocationEvent['type']];
  for (const key of Object.keys(e)) if (!fields.includes(key)) return `a ${type} event with an unknown field`;
  const wallOrNull = (k: string) => e[k] === null || isWallMs(e[k]);
  switch (type) {
    case 'all-not-before':
      if (!wallOrNull('wall')) return 'an all-not-before event without a valid wall';
      return { type, wall: e['wall'] as number | null };
    case 'user-not-before':
      if (!isName(e['user'], MAX_SUBJECT_CHARS)) return 'a user-not-before event without a valid user';
      if (!wallOrNull('wall')) return 'a user-not-before event without a valid wall';
      return { type, user: e['user'], wall: e['wall'] as number | null };
    case 'denied-id':
      if (!isName(e['id'], MAX_CREDENTIAL_ID_CHARS)) return 'a denied-id event without a valid id';
      if (!isName(e['user'], MAX_SUBJECT_CHARS)) return 'a denied-id event without a valid user';
      if (!wallOrNull('issued') || !wallOrNull('until')) return 'a denied-id event without a valid issued or until';
      return { type, id: e['id'], user: e['user'], issued: e['issued'] as number | null, until: e['until'] as number | null };
    default: {
      if (!isName(e['user'], MAX_SUBJECT_CHARS)) return 'a denied-span event without a valid user';
      const from = e['from'];
      const to = e['to'];
      const until = e['until'];
      if (!isWallMs(from) || !isWallMs(to) || !isWallMs(until) || from > to) return 'a denied-span event without a valid from, to or until';
      return { type: 'denied-span', user: e['user'], from, to, until };
    }
  }
}

/** The file's text: one event per line, so an operator can read it and a diff stays small. */
export function formatRevocationFile(events: readonly RevocationEvent[]): string {
  const lines = events.map((e) => `    ${JSON.stringify(e)}`);
  return `{\n  "version": ${REVOCATION_FILE_VERSION},\n  "events": [\n${lines.join(',\n')}${lines.length > 0 ? '\n' : ''}  ]\n}\n`;
}

export type ParsedRevocationFile = { ok: true; events: RevocationEvent[] } | { ok: false; problem: string };

/** Strict: anything that is not exactly a file we write is a problem (the caller fails closed). */
export function parseRevocationFile(text: string): ParsedRevocationFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'not valid JSON' };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { ok: false, problem: 'not a JSON object' };
  const file = json as Record<string, unknown>;
  if (file['version'] !== REVOCATION_FILE_VERSION) return { ok: false, problem: `version: unsupported (expected ${REVOCATION_FILE_VERSION})` };
  if (Object.keys(file).some((k) => k !== 'version' && k !== 'events')) return { ok: false, problem: 'an unknown top-level field' };
  const list = file['events'];
  if (!Array.isArray(list)) return { ok: false, problem: 'events: not a list' };
  const events: RevocationEvent[] = [];
  for (const [i, item] of list.entries()) {
    const parsed = parseRevocationEvent(item);
    if (typeof parsed === 'string') return { ok: false, problem: `events[${i}]: ${parsed}` };
    events.push(parsed);
  }
  return { ok: true, events };
}

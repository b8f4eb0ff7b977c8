/**
 * What a password is before it is hashed, and which new passwords are accepted.
 *
 * - Normalisation: NFC (Unicode canonical composition) before hashing, so "é" typed as
 *   one code point on one keyboard and as "e" + combining accent on another hash the
 *   same (RFC 8265 section 4.2 uses NFC for the same reason).
 * - A length bound: at most {@link MAX_PASSWORD_BYTES} UTF-8 bytes after normalisation.
 *   scrypt's first step is PBKDF2 over the whole password, so unbounded input would be
 *   unbounded work before the memory-hard part even starts.
 */
import { fillRandom } from '../util/random-pool.js';

/** Longest password accepted, in UTF-8 bytes after NFC (same bound as the login route). */
export const MAX_PASSWORD_BYTES = 1024;

/**
 * Shortest new password, in characters (code points). NIST SP 800-63B section 5.1.1.2
 * asks for at least 8; appliance scrypt costs are low (the device is slow), so an
 * offline guesser holding the users file gets further per second: 10 buys two more
 * characters of margin without demanding a passphrase on a router's login page.
 */
export const MIN_NEW_PASSWORD_CHARS = 10;

/**
 * Passwords of ten or more characters that appliance users reach for first (vendor
 * defaults, keyboard walks). Compared case-insensitively. A short list on purpose:
 * ringlet ships no dictionary; this only refuses the embarrassing ones.
 */
const COMMON_PASSWORDS: ReadonlySet<string> = new Set([
  '0123456789', '1234567890', '0987654321', '9876543210', '1111111111', '1234512345',
  '123456789a', 'a123456789', '12345678910', 'qwertyuiop', 'asdfghjkl;', 'password12',
  'password123', 'password1234', 'passw0rd123', 'adminadmin', 'administrator', 'admin12345',
  'admin123456', 'changeme123', 'letmein123', 'iloveyou12', 'raspberrypi', 'qwerty1234',
  'qwerty12345', '1q2w3e4r5t', '1qaz2wsx3edc', 'zaq12wsxcde', 'welcome123', 'router1234',
]);

// In unicode mode a surrogate pair is one code point, so this matches lone halves only.
const loneSurrogateRegExp = /[\uD800-\uDFFF]/u;
// C0 controls and DEL: browsers and terminals mangle them, and nobody can type them twice.
const controlCharRegExp = /[\u0000-\u001f\u007f]/;

/** Passwords are hashed as the UTF-8 bytes of their NFC form. */
export function normalizePassword(password: string): string {
  return password.normalize('NFC');
}

/**
 * True when a password is within the hashing bound. Cheap pre-check first: a string of
 * more UTF-16 units than the byte bound always exceeds it (each unit is >= 1 byte), so an
 * oversized submission is refused before it is normalised.
 */
export function passwordWithinBound(password: string): boolean {
  if (password.length > MAX_PASSWORD_BYTES) return false;
  return Buffer.byteLength(normalizePassword(password), 'utf8') <= MAX_PASSWORD_BYTES;
}

/** Context for {@link checkNewPassword}. */
export interface NewPasswordContext {
  /** The account's name: a password equal to it (any case) is refused. */
  username?: string;
  /**
   * The current password the user just typed. When the account still has its generated
   * first-start password, this is that password, so it cannot become the long-term one.
   */
  previous?: string;
  /** Further passwords that must not be chosen (e.g. a generated one known separately). */
  forbidden?: readonly string[];
}

/**
 * Policy for a password someone is choosing (not for logins: a login is only checked
 * against its hash). Returns a short reason to show the user, or undefined when
 * acceptable. The reason never repeats the password.
 *
 * @example
 * checkNewPassword('hunter2') // 'must be at least 10 characters'
 * checkNewPassword('correct horse battery', { username: 'admin', previous: current }) // undefined
 */
export function checkNewPassword(password: string, context: NewPasswordContext = {}): string | undefined {
  if (!passwordWithinBound(password)) return `must be at most ${MAX_PASSWORD_BYTES} bytes`;
  // A lone surrogate encodes as U+FFFD: two different passwords would hash the same.
  if (loneSurrogateRegExp.test(password)) return 'contains invalid (unpaired surrogate) characters';
  if (controlCharRegExp.test(password)) return 'must not contain control characters';
  const normalized = normalizePassword(password);
  const chars = [...normalized];
  if (chars.length < MIN_NEW_PASSWORD_CHARS) return `must be at least ${MIN_NEW_PASSWORD_CHARS} characters`;
  if (chars.every((c) => c === chars[0])) return 'must not repeat a single character';
  const lower = normalized.toLowerCase();
  if (context.username !== undefined && lower === normalizePassword(context.username).toLowerCase()) {
    return 'must not be the user name';
  }
  const forbidden = context.previous !== undefined ? [context.previous, ...(context.forbidden ?? [])] : (context.forbidden ?? []);
  for (const old of forbidden) {
    if (normalized === normalizePassword(old)) return 'must differ from the current or generated password';
  }
  if (COMMON_PASSWORDS.has(lower)) return 'is too common';
  return undefined;
}

// Crockford's base32 alphabet in lower case: no i, l, o, u, so nothing is mistaken for
// 1 or 0 when read off a serial console. 32 symbols: one symbol = 5 bits, no modulo bias.
const READABLE_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const GENERATED_SYMBOLS = 16;
const GROUP_SYMBOLS = 4;

/** Bits of entropy in a {@link generatePassword} result (16 symbols x 5 bits). */
export const GENERATED_PASSWORD_BITS = GENERATED_SYMBOLS * 5;

/**
 * A random password for first start: 16 symbols from a 32-symbol readable alphabet
 * (80 bits from the CSPRNG), grouped by four with `-` for reading aloud or copying off a
 * console, e.g. `7kq2-9vxm-h3tb-04ne`.
 */
export function generatePassword(): string {
  const bytes = new Uint8Array(GENERATED_SYMBOLS);
  fillRandom(bytes);
  let out = '';
  for (let i = 0; i < GENERATED_SYMBOLS; i++) {
    if (i > 0 && i % GROUP_SYMBOLS === 0) out += '-';
    out += READABLE_ALPHABET[(bytes[i] as number) & 31];
  }
  bytes.fill(0);
  return out;
}

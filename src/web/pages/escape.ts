/**
 * HTML escaping for text and double-quoted attribute values (the only two contexts the
 * pages interpolate into: no values ever go into a script, a style, a URL scheme position
 * or an unquoted attribute).
 */

const htmlSpecialRegExp = /[&<>"']/g;
const hasHtmlSpecialRegExp = /[&<>"']/;

const replacements: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Escape `value` for HTML text or a double-quoted attribute.
 *
 * @example
 * escapeHtml('<b title="x">') // '&lt;b title=&quot;x&quot;&gt;'
 */
export function escapeHtml(value: string): string {
  // Most values (user names, paths, tokens) contain nothing to escape: skip the regex replace.
  if (!hasHtmlSpecialRegExp.test(value)) return value;
  return value.replace(htmlSpecialRegExp, (ch) => replacements[ch] ?? ch);
}

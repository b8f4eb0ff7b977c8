/**
 * Content negotiation, just enough to choose between an HTML page and JSON (RFC 9110
 * §12.5.1). Lenient and bounded: it never throws and looks at a capped prefix of the header.
 */

/** Only this much of an Accept header is examined; browsers send about 150 characters. */
const MAX_ACCEPT_CHARS = 1024;
/** At most this many media ranges are examined. */
const MAX_ACCEPT_RANGES = 32;
// RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
const qValueRegExp = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

interface Preference {
  /** 2 = exact type, 1 = `type/*`, 0 = `*\/*`, -1 = not matched. */
  specificity: number;
  q: number;
}

function consider(pref: Preference, specificity: number, q: number): void {
  // The most specific matching range decides; equally specific ranges: the highest q.
  if (specificity > pref.specificity) {
    pref.specificity = specificity;
    pref.q = q;
  } else if (specificity === pref.specificity && q > pref.q) {
    pref.q = q;
  }
}

/**
 * True when the client accepts `text/html` (named, or as `text/*`) with q > 0, at least as
 * much as `application/json`. False for a missing header, `*\/*` alone (curl, fetch) and
 * JSON clients, so API callers get JSON unless they ask for a page.
 *
 * @example
 * wantsHtml('text/html,application/xhtml+xml,*\/*;q=0.8') // true
 * wantsHtml('*\/*') // false
 */
export function wantsHtml(accept: string | undefined): boolean {
  if (typeof accept !== 'string' || accept === '') return false;
  const html: Preference = { specificity: -1, q: 0 };
  const json: Preference = { specificity: -1, q: 0 };
  const ranges = accept.slice(0, MAX_ACCEPT_CHARS).split(',', MAX_ACCEPT_RANGES);
  for (const range of ranges) {
    const params = range.split(';');
    const type = (params[0] ?? '').trim().toLowerCase();
    let q = 1;
    let valid = true;
    for (let i = 1; i < params.length; i++) {
      const param = (params[i] ?? '').trim();
      if (param.length > 1 && (param[0] === 'q' || param[0] === 'Q') && param[1] === '=') {
        const value = param.slice(2).trim();
        valid = qValueRegExp.test(value);
        q = valid ? Number(value) : 0;
        break;
      }
    }
    if (!valid) continue;
    if (type === 'text/html') consider(html, 2, q);
    else if (type === 'text/*') consider(html, 1, q);
    else if (type === 'application/json') consider(json, 2, q);
    else if (type === 'application/*') consider(json, 1, q);
    else if (type === '*/*') {
      consider(html, 0, q);
      consider(json, 0, q);
    }
  }
  return html.specificity >= 1 && html.q > 0 && html.q >= (json.specificity >= 0 ? json.q : 0);
}

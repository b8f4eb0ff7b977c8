/** The media type of a Content-Type header, for choosing a body parser. */

// RFC 9110 §8.3.1: type "/" subtype, both tokens.
const mediaTypeRegExp = /^[!#$%&'*+.^_`|~0-9a-z-]+\/[!#$%&'*+.^_`|~0-9a-z-]+$/;

/**
 * The lowercased `type/subtype` of a Content-Type value without its parameters, or ''
 * when missing or not a media type. Never throws.
 *
 * @example
 * mediaType('Application/JSON; charset=UTF-8') // 'application/json'
 */
export function mediaType(contentType: string | undefined): string {
  if (typeof contentType !== 'string') return '';
  const semi = contentType.indexOf(';');
  const type = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return type.length <= 255 && mediaTypeRegExp.test(type) ? type : '';
}

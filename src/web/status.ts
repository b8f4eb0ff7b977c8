/**
 * Error statuses: the stable short code API clients switch on (`{"error": code}`) and the
 * reason phrase pages show. One table, so JSON and HTML cannot disagree.
 */

const STATUS_TABLE: ReadonlyMap<number, readonly [code: string, phrase: string]> = new Map([
  [400, ['bad_request', 'Bad Request']],
  [401, ['unauthorized', 'Unauthorized']],
  [403, ['forbidden', 'Forbidden']],
  [404, ['not_found', 'Not Found']],
  [405, ['method_not_allowed', 'Method Not Allowed']],
  [406, ['not_acceptable', 'Not Acceptable']],
  [408, ['request_timeout', 'Request Timeout']],
  [409, ['conflict', 'Conflict']],
  [410, ['gone', 'Gone']],
  [411, ['length_required', 'Length Required']],
  [413, ['payload_too_large', 'Payload Too Large']],
  [414, ['uri_too_long', 'URI Too Long']],
  [415, ['unsupported_media_type', 'Unsupported Media Type']],
  [421, ['misdirected_request', 'Misdirected Request']],
  [422, ['unprocessable_content', 'Unprocessable Content']],
  [429, ['too_many_requests', 'Too Many Requests']],
  [431, ['request_header_fields_too_large', 'Request Header Fields Too Large']],
  [500, ['internal_error', 'Internal Server Error']],
  [501, ['not_implemented', 'Not Implemented']],
  [502, ['bad_gateway', 'Bad Gateway']],
  [503, ['service_unavailable', 'Service Unavailable']],
  [504, ['gateway_timeout', 'Gateway Timeout']],
]);

/**
 * `status` when it is an error status (an integer 400..599), otherwise 500: an error
 * answer must never go out as a 2xx/3xx by mistake.
 */
export function errorStatus(status: number): number {
  return Number.isInteger(status) && status >= 400 && status <= 599 ? status : 500;
}

/**
 * The stable short code for an error status, e.g. 413 → 'payload_too_large'. Statuses
 * without an entry map to 'client_error' / 'server_error'.
 */
export function errorCodeForStatus(status: number): string {
  const s = errorStatus(status);
  return STATUS_TABLE.get(s)?.[0] ?? (s < 500 ? 'client_error' : 'server_error');
}

/** The reason phrase for an error status ('Error' for statuses without an entry). */
export function reasonPhrase(status: number): string {
  return STATUS_TABLE.get(errorStatus(status))?.[1] ?? 'Error';
}

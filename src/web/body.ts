/**
 * Reading a request body into memory, bounded in bytes and in time. The server answers
 * 413 / 408 and closes the connection on refusal; this module only stops reading.
 */
import type { IncomingMessage } from 'node:http';
import { RingletError } from '../errors.js';
import { MAX_TIMER_MS } from '../util/durations.js';
import { integerOption } from '../util/options.js';

export interface ReadBodyOptions {
  /** Largest body accepted, in bytes (0 .. 2^31-1). */
  maxBytes: number;
  /** Deadline for the whole body, from the call (1 .. 2^31-1 ms: longer timers overflow). */
  timeoutMs: number;
}

/** Largest `maxBytes`: 2^31-1 (2 GiB) keeps every length a small integer, far above any body read here. */
const MAX_READ_BYTES = 2 ** 31 - 1;
const contentLengthRegExp = /^\d{1,15}$/;

function checkOptions(options: ReadBodyOptions): void {
  integerOption(options.maxBytes, 'maxBytes', 0, MAX_READ_BYTES);
  integerOption(options.timeoutMs, 'timeoutMs', 1, MAX_TIMER_MS);
}

/**
 * Read the whole body of `req`, at most `maxBytes`, within `timeoutMs`.
 *
 * - A declared `Content-Length` above `maxBytes` is refused before one byte is read.
 * - With a declared length the buffer is allocated once, at that size; chunked bodies are
 *   collected until they pass `maxBytes`.
 * - On refusal the stream is paused and left alone: no more of it is read or buffered.
 *
 * Rejects with `RingletError` code `ERR_BODY_TOO_LARGE` (over `maxBytes`), `ERR_BODY_TIMEOUT` (not
 * complete within `timeoutMs`) or `ERR_BODY_ABORTED` (the client went away or the stream
 * failed). Throws `ConfigError` at once for bad options.
 *
 * @example
 * const body = await readBody(req, { maxBytes: 16 * 1024, timeoutMs: 10_000 });
 */
export function readBody(req: IncomingMessage, options: ReadBodyOptions): Promise<Buffer> {
  checkOptions(options);
  const { maxBytes, timeoutMs } = options;
  const declared = req.headers['content-length'];
  let expected: number | undefined;
  if (declared !== undefined) {
    // Node's parser has already refused malformed or conflicting lengths; this is belt and braces.
    if (!contentLengthRegExp.test(declared)) return Promise.reject(new RingletError('ERR_BODY_MALFORMED', 'invalid Content-Length'));
    expected = Number(declared);
    if (expected > maxBytes) return Promise.reject(new RingletError('ERR_BODY_TOO_LARGE', `body larger than ${maxBytes} bytes`));
    if (expected === 0) return Promise.resolve(Buffer.alloc(0));
  }

  return new Promise<Buffer>((resolve, reject) => {
    const fixed = expected === undefined ? undefined : Buffer.allocUnsafe(expected);
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;

    const finish = (err: RingletError | undefined, value?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      if (err !== undefined) {
        // Stop pulling bytes off the socket; the caller answers and closes the connection.
        req.pause();
        reject(err);
      } else {
        resolve(value ?? Buffer.alloc(0));
      }
    };
    const onData = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (received + bytes.length > maxBytes || (fixed !== undefined && received + bytes.length > fixed.length)) {
        finish(new RingletError('ERR_BODY_TOO_LARGE', `body larger than ${maxBytes} bytes`));
        return;
      }
      if (fixed !== undefined) bytes.copy(fixed, received);
      else chunks.push(bytes);
      received += bytes.length;
    };
    const onEnd = (): void => {
      if (fixed !== undefined) {
        if (received !== fixed.length) finish(new RingletError('ERR_BODY_ABORTED', 'body shorter than its Content-Length'));
        else finish(undefined, fixed);
      } else {
        finish(undefined, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received));
      }
    };
    const onError = (): void => finish(new RingletError('ERR_BODY_ABORTED', 'request stream failed'));
    // 'close' before 'end' means the client went away mid-body.
    const onClose = (): void => finish(new RingletError('ERR_BODY_ABORTED', 'client closed the connection before the body ended'));
    const timer = setTimeout(() => finish(new RingletError('ERR_BODY_TIMEOUT', `body not received within ${timeoutMs} ms`)), timeoutMs);

    if (req.readableEnded) {
      finish(new RingletError('ERR_BODY_ABORTED', 'body was already consumed'));
      return;
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
    req.resume();
  });
}

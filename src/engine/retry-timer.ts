/**
 * One pending retry at a time, with exponential back-off: the first after `baseDelayMs`,
 * doubling with each failure up to `maxDelayMs`. The shared state's writers and its
 * read-back all retry a failing engine this way. The timer is unref'd: a retry never keeps
 * the process alive.
 */
import { MAX_TIMER_MS } from '../util/durations.js';
import { integerOption } from '../util/options.js';

/** Failures that still double the delay (2^16 × any base is far past every maximum). */
const MAX_DOUBLINGS = 16;

export class RetryTimer {
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;

  constructor(baseDelayMs: number, maxDelayMs: number) {
    this.#baseDelayMs = integerOption(baseDelayMs, 'baseDelayMs', 1, MAX_TIMER_MS);
    this.#maxDelayMs = integerOption(maxDelayMs, 'maxDelayMs', this.#baseDelayMs, MAX_TIMER_MS);
  }

  /** A retry is waiting. */
  get pending(): boolean {
    return this.#timer !== undefined;
  }

  /**
   * After a failure: runs `retry` once the back-off has passed, unless a retry is already
   * waiting. Returns the delay, or undefined when one was already waiting.
   */
  schedule(retry: () => void): number | undefined {
    if (this.#timer !== undefined) return undefined;
    const delayMs = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** Math.min(this.#failures++, MAX_DOUBLINGS));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      retry();
    }, delayMs);
    this.#timer.unref();
    return delayMs;
  }

  /** A success: the next failure waits the base delay again. */
  succeeded(): void {
    this.#failures = 0;
  }

  /** Drops a waiting retry (closing, or a link that went down); the back-off is kept. */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** A new connection: no waiting retry, and no back-off left over from the last one. */
  reset(): void {
    this.cancel();
    this.#failures = 0;
  }
}

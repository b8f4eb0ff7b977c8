/**
 * A login flood: `concurrency` clients POST JSON logins round-robin over many users until
 * the wanted number succeeded, then drain. Busy answers (503, hashing pool full) are
 * counted and retried after a short pause, never silently dropped.
 */
import { Agent } from 'node:http';
import { sendRequest } from '../../test/support/http.js';

/** Pause after a 503/429 before that client tries again. */
const BACKOFF_MS = 5;

export interface FloodTotals {
  succeeded: number;
  busy: number;
  throttled: number;
  other: number;
}

export class LoginFlood {
  readonly totals: FloodTotals = { succeeded: 0, busy: 0, throttled: 0, other: 0 };
  #next = 0;
  readonly #agent: Agent;

  constructor(
    private readonly port: number,
    private readonly users: readonly string[],
    private readonly password: string,
    private readonly concurrency: number,
  ) {
    this.#agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  }

  /**
   * Runs until `totals.succeeded` reaches `target` or `deadlineMs` (performance.now())
   * passes; in-flight logins finish, so it may overshoot by < concurrency.
   */
  async runUntil(target: number, deadlineMs = Infinity): Promise<void> {
    const worker = async () => {
      while (this.totals.succeeded < target && performance.now() < deadlineMs) {
        const username = this.users[this.#next++ % this.users.length] as string;
        const reply = await sendRequest(this.port, 'POST', '/login', { json: { username, password: this.password }, agent: this.#agent });
        if (reply.status === 200) this.totals.succeeded++;
        else if (reply.status === 503) this.totals.busy++;
        else if (reply.status === 429) this.totals.throttled++;
        else this.totals.other++;
        if (reply.status === 503 || reply.status === 429) await new Promise((r) => setTimeout(r, BACKOFF_MS));
        if (this.totals.other > 100 && this.totals.other > this.totals.succeeded) throw new Error(`login flood: ${this.totals.other} unexpected answers (last ${reply.status})`);
      }
    };
    await Promise.all(Array.from({ length: this.concurrency }, worker));
  }

  close(): void {
    this.#agent.destroy();
  }
}

/**
 * The revocation file: the durable part of the revocation tables (revocation-events.ts), so
 * that logouts and revocations hold across restarts.
 *
 * - Written atomically with mode 0600 (util/secret-file.ts), never per request: a revocation
 *   event schedules one write; events that arrive within REVOCATION_WRITE_INTERVAL_MS of the
 *   last write share the next one (a burst of logouts costs one write a second at most).
 *   A state that did not change (e.g. a logout that only concerned this boot) writes nothing.
 * - The routes that revoke wait for the write (`settled()`) before answering, so a
 *   revocation that was answered survives a crash.
 * - Bounded: the tables are bounded, and the file is refused unread above what they can hold.
 * - A damaged file fails closed: every credential issued before this start is refused, the
 *   damaged file is kept as `<path>.damaged`, one error line is logged, and the server
 *   starts (the admin signs in again). A missing file is a first start.
 */
import { existsSync, readFileSync, renameSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../errors.js';
import { writeSecretFileAtomic } from '../util/secret-file.js';
import { formatRevocationFile, MAX_REVOCATION_EVENT_BYTES, parseRevocationFile } from '../session/revocation-events.js';
import type { RevocationPersistence, RevocationTables } from '../session/revocation.js';
import type { Logger } from '../web/index.js';

/** Least time between two writes; revocations within it share one write (flash wear, fsync cost). */
export const REVOCATION_WRITE_INTERVAL_MS = 1_000;

/** `keys.json` → `keys.revocations.json`, next to it: the default place of the revocation file. */
export function defaultRevocationsPath(keysPath: string): string {
  return `${keysPath.endsWith('.json') ? keysPath.slice(0, -'.json'.length) : keysPath}.revocations.json`;
}

/** The largest file the tables can have written: anything larger is damage, refused unread. */
export function maxRevocationFileBytes(entries: number): number {
  // Not-befores, denied ids and spans (entries each at most), the all-not-before, the frame.
  return (2 * entries + 1) * MAX_REVOCATION_EVENT_BYTES + 64;
}

export class RevocationFile implements RevocationPersistence {
  /** Files written, and writes that failed (for tests and operators). */
  writes = 0;
  failedWrites = 0;
  #dirty = false;
  #timer: NodeJS.Timeout | undefined;
  #lastWriteAt = Number.NEGATIVE_INFINITY;
  #lastText: string | undefined;
  #failing = false;
  #merging = false;
  #sharedWarned = false;
  #waiters: Array<() => void> = [];

  constructor(
    readonly path: string,
    private readonly tables: RevocationTables,
    private readonly entries: number,
    private readonly log: Logger,
  ) {
    if (!existsSync(dirname(path))) throw new ConfigError('revocationsPath', `the directory of ${path} does not exist`);
  }

  /**
   * Reads the file into the tables (before the server listens) and attaches itself as their
   * persistence. Never throws for the file's content: damage fails closed and is logged.
   */
  load(): void {
    const problem = this.#read();
    if (problem !== undefined) {
      let keptAs: string | undefined = `${this.path}.damaged`;
      try {
        renameSync(this.path, keptAs);
      } catch {
        keptAs = undefined;
      }
      this.tables.refuseAllIssuedBeforeNow();
      this.log.error('revocations_damaged', {
        path: this.path,
        reason: problem,
        consequence: `credentials issued before this start are refused (sign in again)${keptAs ? `; the damaged file is kept as ${keptAs}` : ''}`,
      });
    }
    this.tables.attachPersistence(this);
    // What loading changed (damage, expired entries dropped, moments placed) is written now.
    this.#write();
  }

  /** The problem with the file, or undefined when it was applied (or there was none). */
  #read(): string | undefined {
    let size: number;
    try {
      size = statSync(this.path).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      return `cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
    }
    const max = maxRevocationFileBytes(this.entries);
    if (size > max) return `larger than the ${max} bytes revocationEntries ${this.entries} can fill`;
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      return `cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
    }
    const parsed = parseRevocationFile(text);
    if (!parsed.ok) return parsed.problem;
    for (const event of parsed.events) this.tables.apply(event, 'file');
    this.#lastText = text;
    const stats = this.tables.stats();
    this.log.info('revocations_loaded', { path: this.path, events: parsed.events.length, users: stats.users, deniedIds: stats.deniedIds, spans: stats.spans });
    return undefined;
  }

  changed(): void {
    if (this.#merging) return;
    this.#dirty = true;
    if (this.#timer !== undefined) return;
    const waitMs = Math.max(0, this.#lastWriteAt + REVOCATION_WRITE_INTERVAL_MS - performance.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#write();
    }, waitMs);
  }

  settled(): Promise<void> {
    if (!this.#dirty && this.#timer === undefined) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Writes a pending change now (shutdown); a no-op when nothing is pending. */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#dirty) this.#write();
  }

  /**
   * Another process wrote the file since we did (two instances given the same path): its
   * revocations are applied here before ours are written over it, so neither is lost from
   * the file (events are idempotent). Two writes at the same instant can still lose one:
   * each instance should have its own file, and is told so once.
   */
  #mergeOtherWriters(): void {
    if (this.#lastText === undefined) return;
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return;
    }
    if (text === this.#lastText) return;
    const parsed = parseRevocationFile(text);
    if (!parsed.ok) return; // damaged by someone else: our complete state replaces it
    if (!this.#sharedWarned) {
      this.#sharedWarned = true;
      this.log.warn('revocations_file_shared', {
        path: this.path,
        consequence: 'another process writes this file; its revocations are merged, but two writes at once can lose one: give each instance its own --revocations',
      });
    }
    this.#merging = true;
    try {
      for (const event of parsed.events) this.tables.apply(event, 'remote');
    } finally {
      this.#merging = false;
    }
  }

  #write(): void {
    this.#dirty = false;
    this.#mergeOtherWriters();
    const text = formatRevocationFile(this.tables.durableEvents());
    if (text !== this.#lastText) {
      this.#lastWriteAt = performance.now();
      try {
        writeSecretFileAtomic(this.path, text);
        this.writes++;
        this.#lastText = text;
        if (this.#failing) this.log.info('revocations_saved', { path: this.path });
        this.#failing = false;
      } catch (err) {
        // The revocation holds in memory; only its survival of a restart is at risk. Logged
        // once per failing streak, not per event.
        this.failedWrites++;
        if (!this.#failing) {
          this.log.warn('revocations_not_saved', {
            path: this.path,
            reason: err instanceof ConfigError ? err.message : 'write failed',
            consequence: 'revocations made now are forgotten at restart until a write succeeds',
          });
        }
        this.#failing = true;
      }
    }
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }
}

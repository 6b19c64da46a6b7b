/**
 * One log line per cause, not one per retry. A dialer that fails the same way every few
 * seconds, a peer rejected on every redial, a firewall rule matching every packet: the first
 * occurrence is logged at its level, identical repeats go to debug, and while the cause stays
 * the same a summary line ("… (repeated N times in the last 5 min)") comes at most once per
 * interval. A different cause for the same key is logged at once.
 */
import type {Logger} from 'pino';
import {systemClock, type Clock} from './clock.js';

/** How often a cause that keeps repeating is reported again (5 minutes). */
export const REPEAT_SUMMARY_MS = 5 * 60_000;
/** Keys remembered at most (the oldest is forgotten first). */
const MAX_KEYS = 1024;

export type RepeatVerdict =
  /** First occurrence, or the cause changed: log at the normal level. */
  | {kind: 'first'}
  /** Same cause again, within the interval: log at debug. `count` = occurrences so far. */
  | {kind: 'repeat'; count: number}
  /** Same cause, interval over: log a summary at the normal level. `repeats` since the last loud line. */
  | {kind: 'summary'; repeats: number; sinceMs: number};

interface Entry {
  cause: string;
  count: number;
  /** Occurrences since the last line at the normal level. */
  quiet: number;
  loudAt: number;
}

export class RepeatFilter {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock = systemClock,
    readonly intervalMs: number = REPEAT_SUMMARY_MS,
  ) {}

  /** Records one occurrence of `cause` under `key` and says how loudly to log it. */
  check(key: string, cause: string): RepeatVerdict {
    const now = this.clock.now();
    const e = this.entries.get(key);
    if (!e || e.cause !== cause) {
      this.entries.delete(key);
      this.entries.set(key, {cause, count: 1, quiet: 0, loudAt: now});
      if (this.entries.size > MAX_KEYS) this.entries.delete(this.entries.keys().next().value!);
      return {kind: 'first'};
    }
    e.count++;
    if (now - e.loudAt >= this.intervalMs) {
      const verdict: RepeatVerdict = {kind: 'summary', repeats: e.quiet + 1, sinceMs: now - e.loudAt};
      e.quiet = 0;
      e.loudAt = now;
      return verdict;
    }
    e.quiet++;
    return {kind: 'repeat', count: e.count};
  }

  /** The cause under `key` is over (e.g. the link came up): its next occurrence is news again. */
  forget(key: string): void {
    this.entries.delete(key);
  }

  /** Whether `key` has a cause on record. */
  has(key: string): boolean {
    return this.entries.has(key);
  }
}

type Level = 'error' | 'warn' | 'info';

function minutes(ms: number): string {
  const m = Math.round(ms / 60_000);
  return m <= 1 ? '1 min' : `${m} min`;
}

/**
 * Logs `msg` at `level` through `filter`: the first occurrence of a cause as is, identical
 * repeats at debug (with `repeat: N`), and a summary at `level` once per interval. Returns
 * whether the line went out at `level`.
 */
export function logOncePerCause(logger: Logger, filter: RepeatFilter, level: Level, key: string, cause: string, fields: Record<string, unknown>, msg: string): boolean {
  const v = filter.check(key, cause);
  switch (v.kind) {
    case 'first':
      logger[level](fields, msg);
      return true;
    case 'repeat':
      logger.debug({...fields, repeat: v.count}, msg);
      return false;
    case 'summary':
      logger[level]({...fields, repeats: v.repeats}, `${msg} (repeated ${v.repeats} times in the last ${minutes(v.sinceMs)})`);
      return true;
  }
}

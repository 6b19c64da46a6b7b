/**
 * Waiting and background jobs of a remote unit: abortable sleeps that events can cut short,
 * and the one background activity (start, monitor, cancel/release) that cancel, release and
 * dispose stop and wait for.
 */
import {systemClock, type Clock} from '../clock.js';

/** Resolves after `ms` or when the signal aborts (never rejects). */
export function sleep(ms: number, signal: AbortSignal, wake?: (fire: () => void) => () => void, clock: Clock = systemClock): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    let unwake: (() => void) | undefined;
    const done = () => {
      clock.clearTimeout(timer);
      signal.removeEventListener('abort', done);
      unwake?.();
      resolve();
    };
    const timer = clock.setTimeout(done, ms);
    signal.addEventListener('abort', done, {once: true});
    unwake = wake?.(done);
  });
}

/** A one-shot "do it now" flag with a timed wait (kicks during work are not lost). */
export class Kicker {
  private pending = false;
  private waiter: (() => void) | undefined;

  kick(): void {
    this.pending = true;
    this.waiter?.();
  }

  async wait(ms: number, signal: AbortSignal, clock?: Clock): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return;
    }
    await sleep(
      ms,
      signal,
      (fire) => {
        this.waiter = fire;
        return () => (this.waiter = undefined);
      },
      clock,
    );
    this.pending = false;
  }
}

/** Something that happens repeatedly and can be awaited once (next occurrence). */
export class Pulse {
  private waiters: Array<() => void> = [];

  fire(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  next(ms: number, signal: AbortSignal, clock?: Clock): Promise<void> {
    return sleep(
      ms,
      signal,
      (fire) => {
        this.waiters.push(fire);
        return () => {
          const i = this.waiters.indexOf(fire);
          if (i >= 0) this.waiters.splice(i, 1);
        };
      },
      clock,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Jobs: background activity that cancel/release/dispose can stop and wait for
// ---------------------------------------------------------------------------------------------

export class Job {
  readonly ac = new AbortController();
  private resolveDone!: () => void;
  readonly done = new Promise<void>((r) => (this.resolveDone = r));
  finished = false;

  constructor(private readonly onFinish: (j: Job) => void) {}

  get signal(): AbortSignal {
    return this.ac.signal;
  }

  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.onFinish(this);
    this.resolveDone();
  }
}

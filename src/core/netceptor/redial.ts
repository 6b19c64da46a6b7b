/**
 * The dialer back-off loop shared by every peer backend (netceptor-wire.md §4.8).
 *
 * After a failed dial, or after a session ends, a dialer waits and dials again. The delay
 * starts at 5 s, grows ×1.5 after each wait and is capped at 20 s (5, 7.5, 11.25, 16.875,
 * 20, 20, … s). It goes back to 5 s whenever a transport dial succeeds, even if the
 * netceptor handshake on that session later fails. `redial: false` dials exactly once.
 *
 * One addition to Go's schedule (README, "Where we differ from Go receptor"): while a dialer
 * has never connected, a *refused* dial (ECONNREFUSED: nothing listens yet, typically a peer
 * started at the same moment) is retried after 0.5 s, at most 10 times, so two nodes started
 * together link up within about half a second of the listener opening instead of 5 s later.
 * The 10 short waits span Go's first 5 s wait; after them, or after any other failure, or
 * once a dial has succeeded, the schedule is Go's.
 *
 * Time comes from an injected Clock and everything stops on an AbortSignal, so the loop is
 * unit-testable with ManualClock.
 */
import {systemClock, type Clock} from '../clock.js';

export const REDIAL_INITIAL_MS = 5_000;
export const REDIAL_MAX_MS = 20_000;
export const REDIAL_FACTOR = 1.5;
/**
 * A link or session that lasts this long was a real connection: when it ends, the next
 * failure or "Connection established" is news again (shorter ones, e.g. one per redial that
 * the peer then rejects, are logged once per cause).
 */
export const STABLE_LINK_MS = 60_000;
/** Wait after a refused dial while the dialer has never connected (our addition, see above). */
export const STARTUP_RETRY_MS = 500;
/** How many such short waits at most before Go's schedule takes over. */
export const STARTUP_RETRIES = 10;

export interface BackoffOptions {
  /** First delay (default 5000 ms). */
  initialMs?: number;
  /** Upper bound (default 20000 ms). */
  maxMs?: number;
  /** Growth factor applied after each wait (default 1.5). */
  factor?: number;
  /** Wait after a refused dial before the first connection (default 500 ms, never above initialMs). */
  startupMs?: number;
  /** How many refused dials get the short wait (default 10; 0 = Go's schedule only). */
  startupRetries?: number;
}

/** A transport dial refused because nothing listens (yet) on the address. */
export function isRefused(err: unknown): boolean {
  return (err as {code?: unknown} | undefined)?.code === 'ECONNREFUSED';
}

/**
 * Go's `utils.IncrementalDuration`: hands out the current delay, then grows it; plus the
 * short start-up retries for refused dials (`afterDialFailure`).
 */
export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
  readonly startupMs: number;
  private current: number;
  private startupLeft: number;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? REDIAL_INITIAL_MS;
    this.maxMs = opts.maxMs ?? REDIAL_MAX_MS;
    this.factor = opts.factor ?? REDIAL_FACTOR;
    if (!(this.initialMs >= 0) || !(this.maxMs >= this.initialMs) || !(this.factor >= 1)) {
      throw new RangeError('invalid back-off: need 0 <= initialMs <= maxMs and factor >= 1');
    }
    this.startupMs = Math.min(opts.startupMs ?? STARTUP_RETRY_MS, this.initialMs);
    const retries = opts.startupRetries ?? STARTUP_RETRIES;
    if (!(this.startupMs >= 0) || !Number.isInteger(retries) || retries < 0) {
      throw new RangeError('invalid back-off: need startupMs >= 0 and a whole startupRetries >= 0');
    }
    this.current = this.initialMs;
    this.startupLeft = retries;
  }

  /**
   * The delay to wait after a failed dial: the short start-up wait when the dial was refused,
   * no dial has succeeded yet and start-up retries are left; otherwise `next()`.
   */
  afterDialFailure(err: unknown): number {
    if (this.startupLeft > 0 && isRefused(err)) {
      this.startupLeft--;
      return this.startupMs;
    }
    return this.next();
  }

  /** The delay to wait now; the following one is `factor` times longer, up to `maxMs`. */
  next(): number {
    const d = this.current;
    this.current = Math.min(this.maxMs, this.current * this.factor);
    return d;
  }

  /** The delay the next call to `next()` will return. */
  peek(): number {
    return this.current;
  }

  /** A transport dial succeeded: back to `initialMs`, and the start-up retries are over. */
  reset(): void {
    this.current = this.initialMs;
    this.startupLeft = 0;
  }
}

/**
 * Waits `ms` on `clock`; resolves early (without rejecting) when `signal` aborts.
 * Callers check `signal.aborted` afterwards.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(timer);
      resolve();
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    timer.unref?.();
    signal?.addEventListener('abort', onAbort, {once: true});
  });
}

/** What the loop needs from a session: to know when it ends, and to end it on abort. */
export interface RedialSession {
  readonly closed: Promise<void>;
  close(err?: Error): void;
}

export type RedialEvent =
  | {type: 'connected'; attempt: number}
  /** `retryInMs` is absent when the loop gives up (redial off). */
  | {type: 'dial-failed'; attempt: number; err: Error; retryInMs?: number}
  /** `lastedMs`: how long the session was up. */
  | {type: 'session-ended'; attempt: number; lastedMs: number; retryInMs?: number};

export interface RedialLoopOptions<S extends RedialSession> {
  /** Opens one transport session; rejects when the transport dial fails. */
  dial(signal: AbortSignal): Promise<S>;
  /** Hands a freshly dialled session on (to the node). A throw closes the session. */
  onSession(session: S): void;
  /** false: dial once and stop after the first failure or session end. */
  redial: boolean;
  /** Stops the loop; the current session (if any) is closed. */
  signal: AbortSignal;
  clock?: Clock;
  backoff?: BackoffOptions;
  /** Progress notifications (for logging). */
  onEvent?(e: RedialEvent): void;
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * Runs the dial / wait-for-end / back-off cycle until aborted (or, with `redial: false`,
 * until the first session ends or the first dial fails). Never rejects.
 */
export async function runRedialLoop<S extends RedialSession>(o: RedialLoopOptions<S>): Promise<void> {
  const clock = o.clock ?? systemClock;
  const backoff = new Backoff(o.backoff);
  const {signal} = o;
  const emit = (e: RedialEvent) => {
    try {
      o.onEvent?.(e);
    } catch {
      // logging must not break the loop
    }
  };
  for (let attempt = 1; !signal.aborted; attempt++) {
    let session: S | undefined;
    let failure: Error | undefined;
    let lastedMs = 0;
    try {
      session = await o.dial(signal);
    } catch (err) {
      failure = asError(err);
    }
    if (signal.aborted) {
      session?.close();
      return;
    }
    if (session) {
      backoff.reset();
      emit({type: 'connected', attempt});
      const s = session;
      const since = clock.now();
      const onAbort = () => s.close();
      signal.addEventListener('abort', onAbort, {once: true});
      try {
        o.onSession(s);
      } catch (err) {
        s.close(asError(err));
      }
      await s.closed.catch(() => undefined);
      lastedMs = clock.now() - since;
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted) return;
    }
    const retryInMs = !o.redial ? undefined : failure ? backoff.afterDialFailure(failure) : backoff.next();
    if (failure) emit({type: 'dial-failed', attempt, err: failure, retryInMs});
    else emit({type: 'session-ended', attempt, lastedMs, retryInMs});
    if (retryInMs === undefined) return;
    await sleep(clock, retryInMs, signal);
  }
}

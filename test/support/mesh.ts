/** Helpers for mesh tests: in-memory backend sessions and node construction. */
import type {BackendSession, SessionHandler} from '../../src/core/netceptor/backend.js';
import type {Clock} from '../../src/core/clock.js';
import {createLogger} from '../../src/core/log.js';
import {Netceptor, type NetceptorOptions} from '../../src/core/netceptor/node.js';

export interface MemSessionOptions {
  /** Drop this fraction of messages (0–1), deterministic with `seed`. */
  loss?: number;
  /** Deliver out of order: hold back every n-th message by one slot. */
  reorderEvery?: number;
  seed?: number;
  maxMessageSize?: number;
}

/** One end of an in-memory session pair; messages are delivered asynchronously and whole. */
export class MemSession implements BackendSession {
  readonly kind = 'mem';
  readonly maxMessageSize: number;
  peer!: MemSession;
  sent: Buffer[] = [];
  private handler: SessionHandler | undefined;
  private inbox: Buffer[] = [];
  private isClosed = false;
  private resolveClosed!: () => void;
  readonly closed = new Promise<void>((r) => (this.resolveClosed = r));
  private rng: number;
  private counter = 0;
  private held: Buffer | undefined;

  constructor(
    readonly remote: string,
    readonly outbound: boolean,
    private readonly opts: MemSessionOptions = {},
  ) {
    this.maxMessageSize = opts.maxMessageSize ?? 65535;
    this.rng = opts.seed ?? 12345;
  }

  private random(): number {
    this.rng = (this.rng * 1103515245 + 12345) & 0x7fffffff;
    return this.rng / 0x7fffffff;
  }

  start(h: SessionHandler): void {
    this.handler = h;
    for (const m of this.inbox.splice(0)) h.onMessage(m);
    if (this.isClosed) h.onClose();
  }

  send(msg: Uint8Array): void {
    if (this.isClosed || msg.length === 0 || msg.length > this.maxMessageSize) return;
    const copy = Buffer.from(msg);
    this.sent.push(copy);
    if (this.opts.loss && this.random() < this.opts.loss) return;
    this.counter++;
    if (this.opts.reorderEvery && this.counter % this.opts.reorderEvery === 0 && !this.held) {
      this.held = copy;
      return;
    }
    const batch: Buffer[] = [copy];
    if (this.held) {
      batch.push(this.held);
      this.held = undefined;
    }
    setImmediate(() => {
      for (const m of batch) this.peer.receive(m);
    });
  }

  /** Injects raw bytes as if the peer had sent them. */
  receive(m: Buffer): void {
    if (this.isClosed) return;
    if (this.handler) this.handler.onMessage(m);
    else this.inbox.push(m);
  }

  close(err?: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.handler?.onClose(err);
    this.resolveClosed();
    setImmediate(() => this.peer.close());
  }

  get isClosedNow(): boolean {
    return this.isClosed;
  }
}

export function memPair(opts: MemSessionOptions = {}): [MemSession, MemSession] {
  const a = new MemSession('mem:b', true, opts);
  const b = new MemSession('mem:a', false, {...opts, seed: (opts.seed ?? 12345) + 1});
  a.peer = b;
  b.peer = a;
  return [a, b];
}

export function makeNode(id: string, opts: Partial<NetceptorOptions> & {clock?: Clock} = {}): Netceptor {
  return new Netceptor({nodeId: id, logger: createLogger((process.env.TEST_LOG_LEVEL as 'debug') ?? 'silent'), ...opts});
}

/** Links two nodes with an in-memory session pair. */
export function link(a: Netceptor, b: Netceptor, cost = 1, opts: MemSessionOptions = {}): [MemSession, MemSession] {
  const [sa, sb] = memPair(opts);
  a.attachSession(sa, {cost});
  b.attachSession(sb, {cost});
  return [sa, sb];
}

/** Polls until `probe` is truthy. */
export async function until<T>(probe: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    // A promise is always truthy: an async probe would pass at once (use waitFor from cli.ts).
    if (v instanceof Promise) throw new Error(`until(${what}): the probe returned a promise; use waitFor for async probes`);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Fast protocol timings for tests that run on the real clock. */
export const FAST = {triggerDelayMs: 5, handshakeIntervalMs: 50, serviceAdFirstDelayMs: 20};

/** A session that records what is sent on it and lets a test inject what it receives. */
export class RecordingSession implements BackendSession {
  readonly remote = 'rec:peer';
  readonly outbound = true;
  readonly maxMessageSize = 65535;
  sent: Buffer[] = [];
  handler: SessionHandler | undefined;
  isClosed = false;
  private resolveClosed!: () => void;
  readonly closed = new Promise<void>((r) => (this.resolveClosed = r));
  constructor(readonly kind = 'rec') {}
  start(h: SessionHandler): void {
    this.handler = h;
  }
  send(msg: Uint8Array): void {
    if (!this.isClosed) this.sent.push(Buffer.from(msg));
  }
  close(err?: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.handler?.onClose(err);
    this.resolveClosed();
  }
  inject(m: Buffer): void {
    this.handler?.onMessage(m);
  }
}

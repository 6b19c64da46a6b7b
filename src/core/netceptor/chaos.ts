/**
 * The chaos layer: a wrapper around any BackendSession / MeshBackend that drops, delays,
 * duplicates, reorders and corrupts whole messages and cuts links on a schedule, all from a
 * seed. For fault tests (around in-memory sessions and real backends) and for the opt-in
 * `chaos` config item (ours only). Each session direction draws from its own PRNG seeded from
 * the seed and the session's number, so a run is repeatable for a given message order.
 */
import type {Logger} from 'pino';
import {systemClock, type Clock, type TimerHandle} from '../clock.js';
import {mulberry32} from '../prng.js';
import type {BackendRunning, BackendSession, MeshBackend, SessionHandler, SessionSink} from './backend.js';
import {decodeMessage, MSG_TYPE_ROUTING_UPDATE} from './codec.js';

export interface ChaosOptions {
  /** PRNG seed (any 32-bit integer). */
  seed: number;
  /** Fraction (0–1) of messages dropped, per direction. */
  drop?: number;
  /** Fraction of messages delivered twice. */
  duplicate?: number;
  /** Fraction of messages held back and delivered after the next one. */
  reorder?: number;
  /** Fraction of messages with one byte changed. */
  corrupt?: number;
  /** Each message is delayed by a uniform time in [delayMinMs, delayMaxMs]; order is kept. */
  delayMinMs?: number;
  delayMaxMs?: number;
  /** Cut schedule: a cut starts every `cutEveryMs` (first one after `cutEveryMs`) and lasts `cutForMs`. */
  cutEveryMs?: number;
  cutForMs?: number;
  /** `drop`: a cut loses every message both ways (a partition); `close`: it also closes the sessions. */
  cutMode?: 'drop' | 'close';
  /** Only sessions with these peer node IDs (learnt from the peer's handshake) are affected. */
  peers?: readonly string[];
  /** Only these backends are wrapped: `tcp`, `udp`, `ws` (both ends) or a backend kind such as `udp-peer`. */
  backends?: readonly string[];
  clock?: Clock;
}

export interface ChaosStats {
  messages: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  corrupted: number;
  delayed: number;
  /** Messages lost because the link was cut. */
  cutDropped: number;
  cuts: number;
  sessions: number;
}

/** A seed for session `n`, direction `dir` (0 out, 1 in), well spread from the base seed. */
function derivedSeed(seed: number, n: number, dir: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(n * 2 + dir + 1, 0x85ebca6b)) >>> 0;
}

/** How long a held-back (reordered) message waits for a successor before it goes anyway. */
const REORDER_HOLD_MAX_MS = 20;

/**
 * One controller for a set of sessions: the options, the cut state and schedule, and the
 * counts. Wrap sessions with {@link ChaosLink.wrap} or backends with {@link ChaosLink.wrapBackend}.
 */
export class ChaosLink {
  readonly stats: ChaosStats = {messages: 0, dropped: 0, duplicated: 0, reordered: 0, corrupted: 0, delayed: 0, cutDropped: 0, cuts: 0, sessions: 0};
  readonly clock: Clock;
  private isCut = false;
  private readonly live = new Set<ChaosSession>();
  private timer: TimerHandle | undefined;
  private stopped = false;
  private readonly listeners: Array<(cut: boolean) => void> = [];

  constructor(readonly opts: ChaosOptions) {
    this.clock = opts.clock ?? systemClock;
    if (opts.cutEveryMs && opts.cutForMs) this.schedule(opts.cutEveryMs);
  }

  get cut(): boolean {
    return this.isCut;
  }

  /** Called with true when a cut starts and false when it ends. */
  onCutChange(fn: (cut: boolean) => void): void {
    this.listeners.push(fn);
  }

  /** Starts a cut now (until {@link restore}). */
  cutNow(): void {
    if (this.isCut) return;
    this.isCut = true;
    this.stats.cuts++;
    for (const fn of this.listeners) fn(true);
    if (this.opts.cutMode === 'close') for (const s of [...this.live]) if (s.affected) s.close(new Error('chaos: link cut'));
  }

  restore(): void {
    if (!this.isCut) return;
    this.isCut = false;
    for (const fn of this.listeners) fn(false);
  }

  /** Stops the cut schedule and lifts a cut in force. */
  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.restore();
  }

  private schedule(inMs: number): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      this.cutNow();
      this.timer = this.clock.setTimeout(() => {
        this.restore();
        this.schedule(this.opts.cutEveryMs! - this.opts.cutForMs!);
      }, this.opts.cutForMs!);
      this.timer.unref?.();
    }, inMs);
    this.timer.unref?.();
  }

  /** Wraps one session; its PRNGs are seeded from the seed and the session's number. */
  wrap(inner: BackendSession): BackendSession {
    const s = new ChaosSession(inner, this, this.stats.sessions++);
    this.live.add(s);
    void s.closed.then(() => this.live.delete(s));
    return s;
  }

  /** Whether this backend kind is wrapped: `udp` covers `udp-listener` and `udp-peer`; an item key only itself. */
  covers(kind: string): boolean {
    const only = this.opts.backends;
    return !only || only.length === 0 || only.some((k) => kind === k || kind.startsWith(`${k}-`));
  }

  /** Wraps a backend so that every session it yields goes through this link (when `covers` its kind). */
  wrapBackend(backend: MeshBackend): MeshBackend {
    if (!this.covers(backend.kind)) return backend;
    const start = (sink: SessionSink, logger: Logger): Promise<BackendRunning> => backend.start((s) => sink(this.wrap(s)), logger);
    return {kind: backend.kind, description: `${backend.description} (chaos)`, start};
  }
}

/** One direction of a session: the fault pipeline in front of `deliver`. */
class FaultPipe {
  private readonly rng: () => number;
  private held: Buffer | undefined;
  private heldTimer: TimerHandle | undefined;
  private lastDue = 0;
  private readonly timers = new Set<TimerHandle>();
  private dead = false;

  constructor(
    private readonly link: ChaosLink,
    seed: number,
    private readonly deliver: (m: Buffer) => void,
    private readonly affected: () => boolean,
  ) {
    this.rng = mulberry32(seed);
  }

  push(m: Buffer): void {
    if (this.dead) return;
    if (!this.affected()) return this.deliver(m);
    const o = this.link.opts;
    const st = this.link.stats;
    st.messages++;
    // A fixed number of draws per message, so one rate does not shift another's outcomes.
    const [rDrop, rDup, rReorder, rCorrupt, rPos, rDelay] = [this.rng(), this.rng(), this.rng(), this.rng(), this.rng(), this.rng()];
    if (this.link.cut) {
      st.cutDropped++;
      return;
    }
    if (rDrop < (o.drop ?? 0)) {
      st.dropped++;
      return;
    }
    let msg = m;
    if (rCorrupt < (o.corrupt ?? 0)) {
      msg = Buffer.from(m);
      const i = Math.floor(rPos * msg.length);
      msg[i] = msg[i]! ^ (1 + (Math.floor(rPos * 65536) % 255)); // never xor 0: the byte always changes
      st.corrupted++;
    }
    const copies = rDup < (o.duplicate ?? 0) ? 2 : 1;
    if (copies === 2) st.duplicated++;
    const out: Buffer[] = [];
    for (let i = 0; i < copies; i++) out.push(msg);
    if (rReorder < (o.reorder ?? 0) && !this.held) {
      st.reordered++;
      this.held = out.shift();
      this.heldTimer = this.link.clock.setTimeout(() => this.releaseHeld(), REORDER_HOLD_MAX_MS);
      this.heldTimer.unref?.();
    } else if (this.held) {
      out.push(this.held);
      this.held = undefined;
      if (this.heldTimer) this.link.clock.clearTimeout(this.heldTimer);
      this.heldTimer = undefined;
    }
    if (out.length > 0) this.emit(out, rDelay);
  }

  private releaseHeld(): void {
    this.heldTimer = undefined;
    const h = this.held;
    this.held = undefined;
    if (h) this.emit([h], this.rng());
  }

  private emit(batch: Buffer[], rDelay: number): void {
    const o = this.link.opts;
    const max = o.delayMaxMs ?? 0;
    const now = this.link.clock.now();
    if (max <= 0 && this.lastDue <= now) {
      for (const b of batch) this.deliver(b);
      return;
    }
    const min = o.delayMinMs ?? 0;
    const due = Math.max(this.lastDue, now + min + rDelay * (max - min));
    this.lastDue = due;
    this.link.stats.delayed += batch.length;
    const t = this.link.clock.setTimeout(() => {
      this.timers.delete(t);
      if (!this.dead) for (const b of batch) this.deliver(b);
    }, due - now);
    this.timers.add(t);
  }

  /** Drops whatever is still in flight (the session ended). */
  end(): void {
    this.dead = true;
    for (const t of this.timers) this.link.clock.clearTimeout(t);
    this.timers.clear();
    if (this.heldTimer) this.link.clock.clearTimeout(this.heldTimer);
    this.held = undefined;
  }
}

/** A session seen through a {@link ChaosLink}. */
export class ChaosSession implements BackendSession {
  readonly kind: string;
  readonly remote: string;
  readonly outbound: boolean;
  readonly maxMessageSize: number;
  readonly peerCertNodeIds?: readonly string[];
  /** The peer's node ID once its handshake (first routing update) came in. */
  peerId: string | undefined;
  private readonly out: FaultPipe;
  private inbound: FaultPipe | undefined;

  constructor(
    private readonly inner: BackendSession,
    private readonly link: ChaosLink,
    readonly index: number,
  ) {
    this.kind = inner.kind;
    this.remote = inner.remote;
    this.outbound = inner.outbound;
    this.maxMessageSize = inner.maxMessageSize;
    if (inner.peerCertNodeIds) this.peerCertNodeIds = inner.peerCertNodeIds;
    this.out = new FaultPipe(
      link,
      derivedSeed(link.opts.seed, index, 0),
      (m) => inner.send(m),
      () => this.affected,
    );
  }

  /** Whether faults apply: always without a peer filter, else once the peer is known to match. */
  get affected(): boolean {
    const peers = this.link.opts.peers;
    if (!peers || peers.length === 0) return true;
    return this.peerId !== undefined && peers.includes(this.peerId);
  }

  get closed(): Promise<void> {
    return this.inner.closed;
  }

  start(h: SessionHandler): void {
    let ended = false;
    const pipe = new FaultPipe(
      this.link,
      derivedSeed(this.link.opts.seed, this.index, 1),
      (m) => !ended && h.onMessage(m),
      () => this.affected,
    );
    this.inbound = pipe;
    this.inner.start({
      onMessage: (m) => {
        if (this.peerId === undefined && this.link.opts.peers?.length) this.learnPeer(m);
        pipe.push(m);
      },
      onClose: (err) => {
        ended = true;
        pipe.end();
        this.out.end();
        h.onClose(err);
      },
    });
  }

  private learnPeer(m: Buffer): void {
    if (m[0] !== MSG_TYPE_ROUTING_UPDATE) return;
    try {
      const msg = decodeMessage(m);
      if (msg.type === MSG_TYPE_ROUTING_UPDATE) this.peerId = msg.forwardingNode;
    } catch {
      // not a handshake we can read: the node will deal with it
    }
  }

  send(msg: Uint8Array): void {
    this.out.push(Buffer.from(msg));
  }

  close(err?: Error): void {
    this.out.end();
    this.inbound?.end();
    this.inner.close(err);
  }
}

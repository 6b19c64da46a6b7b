/**
 * One QUIC connection, driven by its endpoint (./endpoint.ts): feeds the engine connection the
 * packets and timer expiries, reports streams to their sinks (./stream.ts), and adds what the
 * engine does not do by itself: the 15 s handshake timeout and the dialer's 15 s keep-alive.
 */
import {EventEmitter} from 'node:events';
import type {TimerHandle} from '../../clock.js';
import type {QuicEndpoint} from './endpoint.js';
import {QuicError, type HostPort, type QuicEngineConnection, type ShutdownDirection} from './engine.js';

export interface QuicTimeouts {
  /** Close a connection whose handshake did not complete in this time (Go: 15 s). */
  handshakeMs: number;
  /** Dialer keep-alive: an ack-eliciting packet after this much silence (Go: 15 s; 0 = off). */
  keepAliveMs: number;
}

/** Something that reacts to one stream's events (see stream.ts). */
export interface StreamSink {
  onReadable(): void;
  onWritable(): void;
}

export type EngineConnectionState = 'handshake' | 'established' | 'closing' | 'closed';

/**
 * Events:
 *  - `established` (): the handshake completed;
 *  - `stream` (id): the peer opened a stream (first data/FIN seen);
 *  - `closing` (err: QuicError | undefined): the connection is going away; `undefined` for an
 *    application close with code 0 (either side);
 *  - `closed` (): all state is gone.
 */
export class EngineConnection extends EventEmitter {
  state: EngineConnectionState = 'handshake';
  /** Why the connection closed; undefined while open and after a normal (code 0) close. */
  closeError: QuicError | undefined;
  /** How the connection closed, including a normal close (application code 0); undefined while open. */
  closeReason: QuicError | undefined;
  /** @internal */
  readonly routeKeys: string[] = [];

  private readonly sinks = new Map<number, StreamSink>();
  private readonly announced = new Set<number>();
  private nextLocalStream: number;
  private timer: TimerHandle | undefined;
  private timerAt = 0;
  private handshakeTimer: TimerHandle | undefined;
  private keepAliveTimer: TimerHandle | undefined;
  private lastRecvAt: number;
  private readonly recvInfoFrom: HostPort;
  private readonly recvInfoTo: HostPort;
  private engineFailed = false;
  private closeWhenComplete: number | undefined;
  private pendingLocalError: QuicError | undefined;

  constructor(
    readonly endpoint: QuicEndpoint,
    private readonly core: QuicEngineConnection,
    readonly role: 'client' | 'server',
    readonly peer: string,
    readonly remoteAddr: HostPort,
    readonly scid: Buffer,
  ) {
    super();
    this.recvInfoFrom = remoteAddr;
    this.recvInfoTo = endpoint.localAddr;
    this.nextLocalStream = role === 'client' ? 0 : 1;
    this.lastRecvAt = endpoint.clock.now();
    const hs = endpoint.timeouts.handshakeMs;
    if (hs > 0) {
      this.handshakeTimer = endpoint.clock.setTimeout(() => {
        this.handshakeTimer = undefined;
        if (this.state === 'handshake') {
          this.closeWith(true, 500, 'timeout: handshake did not complete in time', new QuicError('handshake-timeout', 0, false, ''));
        }
      }, hs);
    }
  }

  get isEstablished(): boolean {
    return this.state === 'established';
  }

  get isClosing(): boolean {
    return this.state === 'closing' || this.state === 'closed';
  }

  /** Resolves when the handshake completed; rejects with the close error otherwise. */
  waitEstablished(): Promise<void> {
    if (this.state === 'established') return Promise.resolve();
    if (this.isClosing) return Promise.reject(this.closeReason ?? new Error('QUIC connection closed'));
    return new Promise((resolve, reject) => {
      const onEst = (): void => {
        this.off('closing', onClose);
        resolve();
      };
      const onClose = (err: QuicError | undefined): void => {
        this.off('established', onEst);
        reject(err ?? this.closeReason ?? new Error('QUIC connection closed'));
      };
      this.once('established', onEst);
      this.once('closing', onClose);
    });
  }

  /** Resolves once all state is gone. */
  waitClosed(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    return new Promise((resolve) => this.once('closed', resolve));
  }

  /** Allocates the next locally-initiated bidirectional stream ID. */
  openStream(): number {
    const id = this.nextLocalStream;
    this.nextLocalStream += 4;
    return id;
  }

  /** Routes readable/writable notifications of stream `id` to `sink`. */
  attachStream(id: number, sink: StreamSink): void {
    this.sinks.set(id, sink);
    this.announced.add(id);
  }

  detachStream(id: number, sink?: StreamSink): void {
    if (!sink || this.sinks.get(id) === sink) this.sinks.delete(id);
  }

  streamSend(id: number, data: Buffer, fin: boolean): number | null {
    if (this.state === 'closed') return null;
    const n = this.core.streamSend(id, data, fin);
    if (n !== null) this.endpoint.markDirty(this);
    return n;
  }

  streamRecv(id: number, buf: Buffer): [number, boolean] | null {
    if (this.state === 'closed') return null;
    const r = this.core.streamRecv(id, buf);
    if (r !== null) this.endpoint.markDirty(this);
    return r;
  }

  streamShutdown(id: number, direction: ShutdownDirection, code: number): void {
    if (this.state === 'closed') return;
    try {
      this.core.streamShutdown(id, direction, code);
    } catch {
      // already shut down / collected
    }
    this.endpoint.markDirty(this);
  }

  streamCapacity(id: number): number {
    return this.core.streamCapacity(id);
  }

  /** Closes the connection with application code 0 `normal close` once stream `id` is complete (all data read and acknowledged). */
  closeWhenStreamComplete(id: number): void {
    if (this.isClosing) return;
    this.closeWhenComplete = id;
    this.endpoint.markDirty(this);
  }

  peerCertChain(): Buffer[] {
    return this.core.peerCertChain() ?? [];
  }

  serverName(): string | null {
    return this.core.serverName();
  }

  engineStats(): Record<string, unknown> {
    return this.core.stats();
  }

  /**
   * Closes the connection (CONNECTION_CLOSE). `error` is what local users see; by default it is
   * derived from the code and reason. `wireReason` overrides the reason phrase sent to the peer.
   */
  close(app: boolean, code: number, reason: string, opts: {error?: QuicError; wireReason?: string} = {}): void {
    const err = opts.error ?? new QuicError(app ? 'application' : 'transport', code, false, reason);
    this.closeWith(app, code, opts.wireReason ?? reason, err);
  }

  /** Drops the connection without telling the peer (e.g. the mesh said the peer is unreachable). */
  destroy(error: Error | QuicError): void {
    if (this.state === 'closed') return;
    const qe = error instanceof QuicError ? error : new QuicError('transport', 1, false, error.message);
    try {
      this.core.close(false, 1, Buffer.alloc(0));
    } catch {
      // ignore
    }
    this.enterClosing(qe);
    this.finalize();
  }

  // -- driven by the endpoint ----------------------------------------------------------------

  /** @internal */
  receivePacket(packet: Buffer): void {
    if (this.state === 'closed') return;
    this.lastRecvAt = this.endpoint.clock.now();
    try {
      this.core.recv(packet, this.recvInfoFrom, this.recvInfoTo);
    } catch {
      this.engineFailed = true; // may just be an undecryptable/duplicate packet; checked in service()
    }
    this.endpoint.markDirty(this);
  }

  /** @internal Processes events, sends pending packets, re-arms the timer. */
  service(): void {
    if (this.state === 'closed') return;
    const core = this.core;
    if (this.state === 'handshake' && core.isEstablished()) {
      this.state = 'established';
      this.clearHandshakeTimer();
      if (this.role === 'client') this.armKeepAlive();
      this.emit('established');
    }
    if (this.state === 'established') {
      for (const id of core.readableStreams()) {
        const sink = this.sinks.get(id);
        if (sink) sink.onReadable();
        else if (!this.announced.has(id) && this.isPeerStream(id)) {
          this.announced.add(id);
          this.emit('stream', id);
        }
        if (this.state !== 'established') break;
      }
      if (this.sinks.size > 0 && this.state === 'established') {
        for (const id of core.writableStreams()) {
          this.sinks.get(id)?.onWritable();
          if (this.state !== 'established') break;
        }
      }
      if (this.closeWhenComplete !== undefined && this.state === 'established' && this.streamComplete(this.closeWhenComplete)) {
        this.closeWhenComplete = undefined;
        this.close(true, 0, 'normal close');
      }
    }
    if ((this.state as EngineConnectionState) === 'closed') return;
    const sendErr = this.endpoint.drain(this, core);
    if (sendErr) {
      // quic-go: a failed datagram write destroys the connection with INTERNAL_ERROR
      this.destroy(new QuicError('transport', 1, false, sendErr.message));
      return;
    }
    if (core.isClosed()) {
      this.enterClosing(this.deriveError());
      this.finalize();
      return;
    }
    if (this.state !== 'closing' && (core.isDraining() || this.engineFailed)) {
      this.engineFailed = false;
      if (core.isDraining() || core.localError() !== null || core.peerError() !== null) this.enterClosing(this.deriveError());
    }
    this.armTimer();
  }

  /** @internal Final cleanup. */
  finalize(): void {
    if (this.state === 'closed') return;
    if (this.state !== 'closing') this.enterClosing(this.deriveError());
    this.state = 'closed';
    this.clearTimer();
    this.clearHandshakeTimer();
    this.clearKeepAlive();
    this.endpoint.unregister(this, this.routeKeys);
    this.sinks.clear();
    this.emit('closed');
  }

  // -- helpers ---------------------------------------------------------------------------------

  private isPeerStream(id: number): boolean {
    return (id & 1) === (this.role === 'client' ? 1 : 0);
  }

  private streamComplete(id: number): boolean {
    try {
      this.core.streamCapacity(id);
      return false;
    } catch {
      return true;
    }
  }

  private closeWith(app: boolean, code: number, wireReason: string, error: QuicError): void {
    if (this.isClosing) return;
    this.pendingLocalError = error;
    try {
      this.core.close(app, code, Buffer.from(wireReason, 'utf8'));
    } catch {
      // already closing inside the engine
    }
    this.enterClosing(error);
    this.endpoint.markDirty(this);
  }

  private enterClosing(reason: QuicError): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.state = 'closing';
    this.closeReason = reason;
    this.closeError = reason.isNormalClose ? undefined : reason;
    this.clearHandshakeTimer();
    this.clearKeepAlive();
    this.emit('closing', this.closeError);
  }

  private deriveError(): QuicError {
    if (this.closeReason) return this.closeReason;
    if (this.pendingLocalError) return this.pendingLocalError;
    const peerErr = this.core.peerError();
    if (peerErr) return QuicError.fromInfo(peerErr, true);
    if (this.core.isTimedOut()) return this.state === 'handshake' ? new QuicError('handshake-timeout', 0, false, '') : new QuicError('idle-timeout', 0, false, '');
    const localErr = this.core.localError();
    if (localErr) return QuicError.fromInfo(localErr, false);
    return new QuicError('transport', 1, false, 'connection closed');
  }

  private armTimer(): void {
    const t = this.core.timeout();
    if (t === null) {
      this.clearTimer();
      return;
    }
    const clock = this.endpoint.clock;
    const ms = Math.max(1, Math.ceil(t));
    const at = clock.now() + ms;
    // A timer that fires no later than needed is kept: firing early is harmless (the engine
    // ignores a premature onTimeout) and saves re-arming on every packet.
    if (this.timer !== undefined && this.timerAt <= at) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = clock.setTimeout(this.onTimer, ms);
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    if (this.state === 'closed') return;
    try {
      this.core.onTimeout();
    } catch {
      // ignore
    }
    this.engineFailed = true;
    this.endpoint.markDirty(this);
  };

  private clearTimer(): void {
    if (this.timer !== undefined) {
      this.endpoint.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer !== undefined) {
      this.endpoint.clock.clearTimeout(this.handshakeTimer);
      this.handshakeTimer = undefined;
    }
  }

  private armKeepAlive(): void {
    const period = this.endpoint.timeouts.keepAliveMs;
    if (period <= 0) return;
    const clock = this.endpoint.clock;
    const due = Math.max(1, this.lastRecvAt + period - clock.now());
    this.keepAliveTimer = clock.setTimeout(() => {
      this.keepAliveTimer = undefined;
      if (this.state !== 'established') return;
      if (clock.now() - this.lastRecvAt >= period - 1) {
        this.core.sendAckEliciting();
        this.lastRecvAt = clock.now(); // next ping one period later unless the peer answers
        this.endpoint.markDirty(this);
      }
      this.armKeepAlive();
    }, due);
    (this.keepAliveTimer as {unref?: () => unknown}).unref?.();
  }

  private clearKeepAlive(): void {
    if (this.keepAliveTimer !== undefined) {
      this.endpoint.clock.clearTimeout(this.keepAliveTimer);
      this.keepAliveTimer = undefined;
    }
  }
}

// One SPDY/3.1 connection over an upgraded socket, for either end: streams with a Readable for the
// peer's bytes and a Writable for ours, receive-side flow control (WINDOW_UPDATE as the consumer
// takes data, socket paused while a consumer lags), PING echo, GOAWAY, and a fatal path for
// malformed input that closes the socket and never throws out of an event handler.
//
// moby/spdystream v0.2.0 (client-go's SPDY library, on both kubelet and client side) neither
// sends WINDOW_UPDATE nor looks at it (its frame loop drops the type as unhandled), so a server
// that waited for send window would stall a Go client after 64 KiB. Senders here ignore the
// peer's window unless honourSendWindow is set (the pure-TS test client sets it to exercise our
// WINDOW_UPDATEs); receivers rely on pausing the socket, which bounds memory for either kind.
import {EventEmitter} from 'node:events';
import type {Duplex} from 'node:stream';
import {Readable, Writable} from 'node:stream';
import {pino, type Logger} from 'pino';
import {
  DEFAULT_WINDOW,
  FLAG_FIN,
  FLAG_UNIDIRECTIONAL,
  FrameDecoder,
  GoAwayStatus,
  HeaderCompressor,
  HeaderDecompressor,
  RstStatus,
  SETTINGS_INITIAL_WINDOW_SIZE,
  SpdyProtocolError,
  encodeData,
  encodeGoAway,
  encodePing,
  encodeRstStream,
  encodeSynReply,
  encodeSynStream,
  encodeWindowUpdate,
  inflateFrame,
  type Frame,
  type HeaderMap,
  type RawFrame,
} from './frames.js';

export interface SessionOptions {
  server: boolean;
  /** Wait for the peer's flow-control window before sending DATA (off: spdystream's behaviour). */
  honourSendWindow?: boolean;
  /** Largest DATA payload we send (client-go and the kubelet copy with 32 KiB buffers). */
  maxDataFrame?: number;
  /** Bytes a stream may hold for a slow consumer before the socket is paused. */
  streamBuffer?: number;
  logger?: Logger;
}

const defaultLogger = (): Logger => pino({level: process.env.TEST_LOG_LEVEL ?? 'silent'}, pino.destination(2));

/** One stream: `readable` carries the peer's DATA, `writable` sends ours (end() sends FIN). */
export class SpdyStream {
  readonly readable: Readable;
  readonly writable: Writable;
  /** The peer sent FIN or RST (or the connection went away). */
  remoteClosed = false;
  /** We sent FIN or RST. */
  localClosed = false;
  reset = false;
  sendWindow: number;
  private queue: Buffer[] = [];
  private queued = 0;
  private wantRead = false;
  private unacked = 0;
  private replyWaiters: Array<{resolve: () => void; reject: (e: Error) => void}> = [];
  replied: boolean;

  constructor(
    private readonly session: SpdySession,
    readonly id: number,
    readonly headers: HeaderMap,
    replied: boolean,
  ) {
    this.replied = replied;
    this.sendWindow = session.initialSendWindow;
    this.readable = new Readable({highWaterMark: 64 * 1024, read: () => this.onRead()});
    this.writable = new Writable({
      highWaterMark: 64 * 1024,
      write: (chunk: Buffer, _enc, cb) => void this.session.sendData(this, chunk).then(() => cb()),
      final: (cb) => {
        this.closeLocal();
        cb();
      },
    });
  }

  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()]?.[0];
  }

  /** Bytes held for the consumer (our queue plus the Readable's buffer). */
  get bufferedBytes(): number {
    return this.queued + this.readable.readableLength;
  }

  /** DATA from the peer. */
  deliver(data: Buffer, fin: boolean): void {
    if (this.remoteClosed || this.session.discarding) {
      this.session.credit(this, data.length, false);
      return;
    }
    if (data.length > 0) {
      if (this.wantRead && this.queue.length === 0) {
        this.wantRead = false;
        this.readable.push(data);
        this.session.credit(this, data.length, true);
      } else {
        this.queue.push(data);
        this.queued += data.length;
        if (this.queued >= this.session.streamBuffer) this.session.holdSocket(this);
      }
    }
    if (fin) this.endRemote();
  }

  private onRead(): void {
    let more = true;
    while (more && this.queue.length > 0) {
      const c = this.queue.shift()!;
      this.queued -= c.length;
      more = this.readable.push(c);
      this.session.credit(this, c.length, true);
    }
    if (this.queued < this.session.streamBuffer) this.session.releaseSocket(this);
    if (this.queue.length === 0) {
      if (this.remoteClosed) this.readable.push(null);
      else this.wantRead = more;
    }
  }

  /** Peer half closed: the Readable ends once the queue is drained. */
  endRemote(): void {
    if (this.remoteClosed) return;
    this.remoteClosed = true;
    if (this.queue.length === 0) this.readable.push(null);
    this.session.maybeForget(this);
  }

  /** Acknowledge consumed bytes once half a window has gone (as most SPDY stacks do). */
  takeUnacked(n: number): number {
    this.unacked += n;
    if (this.unacked < DEFAULT_WINDOW / 2) return 0;
    const d = this.unacked;
    this.unacked = 0;
    return d;
  }

  /** Send FIN unless already closed. */
  closeLocal(): void {
    if (this.localClosed) return;
    this.localClosed = true;
    this.session.writeFrame(encodeData(this.id, Buffer.alloc(0), FLAG_FIN));
    this.session.maybeForget(this);
  }

  /** Send RST_STREAM: both halves close, queued input is dropped. */
  sendReset(status: number = RstStatus.CANCEL): void {
    if (this.reset) return;
    this.session.writeFrame(encodeRstStream(this.id, status));
    this.onReset();
  }

  onReset(): void {
    this.reset = true;
    this.localClosed = true;
    this.queue = [];
    this.queued = 0;
    this.session.releaseSocket(this);
    this.endRemote();
    this.readable.push(null);
    for (const w of this.replyWaiters.splice(0)) w.reject(new Error(`stream ${this.id} reset`));
  }

  onReply(): void {
    this.replied = true;
    for (const w of this.replyWaiters.splice(0)) w.resolve();
  }

  waitReply(): Promise<void> {
    if (this.replied) return Promise.resolve();
    if (this.reset) return Promise.reject(new Error(`stream ${this.id} reset`));
    return new Promise((resolve, reject) => this.replyWaiters.push({resolve, reject}));
  }

  /** Input is no longer wanted: drop what is queued and end the Readable. */
  dropInput(): void {
    this.queue = [];
    this.queued = 0;
    this.session.releaseSocket(this);
    this.endRemote();
    this.readable.push(null);
  }

  /** Connection gone: inputs end, outputs are discarded. */
  onConnectionGone(): void {
    this.localClosed = true;
    this.remoteClosed = true;
    // Queued data stays readable (onRead ends the Readable after it): it arrived before the loss.
    if (this.queue.length === 0) this.readable.push(null);
    this.session.releaseSocket(this);
    for (const w of this.replyWaiters.splice(0)) w.reject(new Error('connection closed'));
  }
}

/**
 * Events: 'stream' (SpdyStream, on the peer's SYN_STREAM; the owner replies), 'rst' (the frame),
 * 'goaway', 'protocolError', 'close'.
 */
export class SpdySession extends EventEmitter {
  readonly streams = new Map<number, SpdyStream>();
  readonly closed: Promise<void>;
  readonly log: Logger;
  initialSendWindow = DEFAULT_WINDOW;
  connSendWindow = DEFAULT_WINDOW;
  readonly streamBuffer: number;
  destroyed = false;
  goneAway = false;
  /** Set by discardInput(): DATA is acknowledged and dropped. */
  discarding = false;
  /** Highest stream id the peer opened (for our GOAWAY). */
  lastPeerStream = 0;
  private nextStreamId: number;
  private nextPingId: number;
  private readonly decoder = new FrameDecoder();
  private readonly inflater = new HeaderDecompressor();
  private readonly compressor = new HeaderCompressor();
  private readonly holders = new Set<SpdyStream>();
  private pumping = false;
  private connUnacked = 0;
  private readonly windowWaiters: Array<() => void> = [];
  private readonly pings = new Map<number, () => void>();
  private readonly maxDataFrame: number;
  private readonly honourSendWindow: boolean;
  private resolveClosed!: () => void;
  private endTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly socket: Duplex,
    head: Buffer,
    readonly opts: SessionOptions,
  ) {
    super();
    this.log = opts.logger ?? defaultLogger();
    this.maxDataFrame = opts.maxDataFrame ?? 32 * 1024;
    this.streamBuffer = opts.streamBuffer ?? 1024 * 1024;
    this.honourSendWindow = opts.honourSendWindow ?? false;
    this.nextStreamId = opts.server ? 2 : 1;
    this.nextPingId = opts.server ? 2 : 1;
    this.closed = new Promise((r) => (this.resolveClosed = r));
    socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    socket.on('error', (err: Error) => this.log.debug({err: err.message}, 'spdy socket error'));
    socket.on('close', () => this.onSocketClose());
    socket.on('end', () => this.onPeerEnd());
    if (head.length > 0) this.onBytes(head);
  }

  // ---- input

  private onBytes(chunk: Buffer): void {
    if (this.destroyed) return;
    this.decoder.push(chunk);
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.destroyed && this.holders.size === 0) {
        const raw: RawFrame | null = this.decoder.next();
        if (!raw) break;
        const f = await inflateFrame(this.inflater, raw);
        if (this.destroyed) break;
        this.handle(f);
      }
    } catch (err) {
      this.fail(err as Error);
    } finally {
      this.pumping = false;
    }
  }

  private handle(f: Frame): void {
    switch (f.type) {
      case 'data': {
        const s = this.streams.get(f.streamId);
        if (!s) {
          // Unknown or forgotten stream: spdystream drops these too; keep the connection window open.
          this.credit(null, f.data.length, false);
          return;
        }
        s.deliver(f.data, (f.flags & FLAG_FIN) !== 0);
        return;
      }
      case 'syn_stream': {
        const peerOdd = this.opts.server;
        if ((f.streamId % 2 === 1) !== peerOdd || f.streamId <= this.lastPeerStream || this.streams.has(f.streamId)) {
          this.writeFrame(encodeRstStream(f.streamId, RstStatus.PROTOCOL_ERROR));
          return;
        }
        this.lastPeerStream = f.streamId;
        if (this.goneAway) {
          this.writeFrame(encodeRstStream(f.streamId, RstStatus.REFUSED_STREAM));
          return;
        }
        const s = new SpdyStream(this, f.streamId, f.headers, false);
        this.streams.set(f.streamId, s);
        if (f.flags & FLAG_UNIDIRECTIONAL) s.localClosed = true;
        if (f.flags & FLAG_FIN) s.endRemote();
        this.emit('stream', s);
        return;
      }
      case 'syn_reply': {
        const s = this.streams.get(f.streamId);
        if (!s || s.replied) return;
        s.onReply();
        if (f.flags & FLAG_FIN) s.endRemote();
        return;
      }
      case 'headers': {
        const s = this.streams.get(f.streamId);
        if (s && f.flags & FLAG_FIN) s.endRemote();
        return;
      }
      case 'rst_stream': {
        this.emit('rst', f);
        const s = this.streams.get(f.streamId);
        if (!s) return;
        s.onReset();
        this.streams.delete(f.streamId);
        return;
      }
      case 'settings':
        for (const e of f.entries) {
          if (e.id === SETTINGS_INITIAL_WINDOW_SIZE && e.value <= 0x7fffffff) {
            const delta = e.value - this.initialSendWindow;
            this.initialSendWindow = e.value;
            for (const s of this.streams.values()) s.sendWindow += delta;
            this.wakeWriters();
          }
        }
        return;
      case 'ping':
        if (f.id % 2 === (this.opts.server ? 1 : 0)) {
          this.writeFrame(encodePing(f.id));
        } else {
          this.pings.get(f.id)?.();
          this.pings.delete(f.id);
        }
        return;
      case 'goaway':
        this.goneAway = true;
        // Streams the peer opened stay; nothing new will come. Its input is over.
        for (const s of this.streams.values()) s.endRemote();
        this.emit('goaway', f);
        return;
      case 'window_update':
        if (f.streamId === 0) this.connSendWindow += f.delta;
        else {
          const s = this.streams.get(f.streamId);
          if (s) s.sendWindow += f.delta;
        }
        this.wakeWriters();
        return;
      case 'unknown':
        return;
    }
  }

  /** Bytes handed to a consumer (or dropped): reopen the windows in WINDOW_UPDATE steps. */
  credit(s: SpdyStream | null, n: number, toStream: boolean): void {
    if (n <= 0 || this.destroyed) return;
    if (s && toStream && !s.remoteClosed) {
      const d = s.takeUnacked(n);
      if (d > 0) this.writeFrame(encodeWindowUpdate(s.id, d));
    }
    this.connUnacked += n;
    if (this.connUnacked >= DEFAULT_WINDOW / 2) {
      this.writeFrame(encodeWindowUpdate(0, this.connUnacked));
      this.connUnacked = 0;
    }
  }

  /** A stream's consumer lags: stop reading the socket (TCP pushes back on the peer). */
  holdSocket(s: SpdyStream): void {
    if (this.holders.has(s)) return;
    this.holders.add(s);
    this.socket.pause();
  }

  releaseSocket(s: SpdyStream): void {
    if (!this.holders.delete(s) || this.holders.size > 0 || this.destroyed) return;
    this.socket.resume();
    void this.pump();
  }

  /** True while a consumer holds the socket paused (for tests). */
  get socketHeld(): boolean {
    return this.holders.size > 0;
  }

  maybeForget(s: SpdyStream): void {
    if (s.localClosed && s.remoteClosed && s.readable.readableEnded) this.streams.delete(s.id);
  }

  // ---- output

  writeFrame(buf: Buffer): boolean {
    if (this.destroyed || this.socket.writableEnded) return true;
    return this.socket.write(buf);
  }

  /** DATA for a stream, split into frames; resolves once the socket took it (or it was dropped). */
  async sendData(s: SpdyStream, chunk: Buffer): Promise<void> {
    let off = 0;
    while (off < chunk.length) {
      if (this.destroyed || s.localClosed) return;
      let n = Math.min(this.maxDataFrame, chunk.length - off);
      if (this.honourSendWindow) {
        while (Math.min(s.sendWindow, this.connSendWindow) <= 0) {
          await new Promise<void>((r) => this.windowWaiters.push(r));
          if (this.destroyed || s.localClosed) return;
        }
        n = Math.min(n, s.sendWindow, this.connSendWindow);
        s.sendWindow -= n;
        this.connSendWindow -= n;
      }
      const ok = this.writeFrame(encodeData(s.id, chunk.subarray(off, off + n)));
      off += n;
      if (!ok) await this.drained();
    }
  }

  private drained(): Promise<void> {
    if (this.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.on('close', done);
    });
  }

  private wakeWriters(): void {
    for (const w of this.windowWaiters.splice(0)) w();
  }

  /** Reply to a peer's stream (empty header block, as the kubelet sends). */
  async reply(s: SpdyStream, headers: HeaderMap = {}): Promise<void> {
    const frame = await encodeSynReply(this.compressor, s.id, headers);
    this.writeFrame(frame);
    s.replied = true;
  }

  /** Open a stream and wait for the peer's SYN_REPLY. */
  async openStream(headers: HeaderMap, fin = false): Promise<SpdyStream> {
    if (this.destroyed || this.goneAway) throw new Error('connection closed');
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const s = new SpdyStream(this, id, headers, false);
    this.streams.set(id, s);
    const frame = await encodeSynStream(this.compressor, {streamId: id, headers, flags: fin ? FLAG_FIN : 0});
    if (fin) s.localClosed = true;
    this.writeFrame(frame);
    await s.waitReply();
    return s;
  }

  /** A SYN_STREAM outside the stream bookkeeping (tests: ids the peer must refuse). */
  async sendRawSynStream(streamId: number, headers: HeaderMap): Promise<void> {
    this.writeFrame(await encodeSynStream(this.compressor, {streamId, headers}));
  }

  /** Round-trip a PING. */
  ping(): Promise<void> {
    const id = this.nextPingId;
    this.nextPingId += 2;
    return new Promise((resolve) => {
      this.pings.set(id, resolve);
      this.writeFrame(encodePing(id));
    });
  }

  /** GOAWAY naming the last stream the peer opened; no new streams are accepted after it. */
  goAway(status: number = GoAwayStatus.OK): void {
    if (this.destroyed) return;
    this.goneAway = true;
    this.writeFrame(encodeGoAway(this.lastPeerStream, status));
  }

  /**
   * From now on the peer's DATA is dropped (and credited), never held: a Go client blocked writing
   * stdin into a paused socket could not send its own GOAWAY and would hang until we closed.
   */
  discardInput(): void {
    this.discarding = true;
    for (const s of this.streams.values()) s.dropInput();
    this.holders.clear();
    if (!this.destroyed) {
      this.socket.resume();
      void this.pump();
    }
  }

  /** FIN every stream still open on our side. */
  finishAll(): void {
    for (const s of [...this.streams.values()]) s.closeLocal();
  }

  /** Half-close the socket after what is queued; destroy it if the peer has not closed within graceMs. */
  end(graceMs = 5000): void {
    if (this.destroyed) return;
    if (!this.socket.writableEnded) this.socket.end();
    this.endTimer ??= setTimeout(() => this.destroy(), graceMs);
    this.endTimer.unref?.();
  }

  /** Malformed input: GOAWAY(PROTOCOL_ERROR) and close. */
  fail(err: Error): void {
    if (this.destroyed) return;
    this.log.debug({err: err.message, protocol: err instanceof SpdyProtocolError}, 'spdy connection failed');
    this.emit('protocolError', err);
    this.goAway(GoAwayStatus.PROTOCOL_ERROR);
    this.destroy();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.socket.destroy();
    this.cleanup();
  }

  private onPeerEnd(): void {
    // The peer sends nothing more (Go never half-closes: it is gone). Inputs end; what we queued
    // is flushed, then the socket closes.
    for (const s of this.streams.values()) s.endRemote();
    this.end(1000);
  }

  private onSocketClose(): void {
    this.destroyed = true;
    this.cleanup();
  }

  private cleanupDone = false;

  private cleanup(): void {
    if (this.cleanupDone) return;
    this.cleanupDone = true;
    if (this.endTimer) clearTimeout(this.endTimer);
    for (const s of this.streams.values()) s.onConnectionGone();
    this.holders.clear();
    this.wakeWriters();
    for (const p of this.pings.values()) p();
    this.pings.clear();
    this.inflater.close();
    this.compressor.close();
    this.emit('close');
    this.resolveClosed();
  }
}

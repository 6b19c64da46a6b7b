/**
 * A Node Duplex over one bidirectional QUIC stream (netceptor-wire.md §11.3): independent
 * half-close (`end()` sends FIN; a received FIN ends the readable side) and flow control in
 * both directions. The receptor connection protocol on top is in ./stream.ts.
 */
import {Duplex} from 'node:stream';
import type {EngineConnection, StreamSink} from './connection.js';
import {parseEngineError, SHUTDOWN_READ, SHUTDOWN_WRITE, streamCanceledText, type QuicError} from './engine.js';

/** STOP_SENDING / RESET_STREAM code of a cancelled stream direction (Go's CancelRead(499)). */
export const STREAM_CANCEL_CODE = 499;

const EMPTY = Buffer.alloc(0);
const READ_CHUNK = 64 * 1024;
const READ_SLAB = 512 * 1024;
/** Reads shorter than this are copied out, so that small retained chunks do not pin a slab. */
const COPY_BELOW = 4096;
const DEFAULT_HWM = 256 * 1024;

// One read slab shared by all streams (like Buffer's pool): large reads are pushed as
// zero-copy slices of it, small ones are copied.
let readSlab: Buffer | undefined;
let readSlabOff = 0;

function readTarget(): Buffer {
  if (!readSlab || READ_SLAB - readSlabOff < READ_CHUNK) {
    readSlab = Buffer.allocUnsafe(READ_SLAB);
    readSlabOff = 0;
  }
  return readSlab.subarray(readSlabOff, readSlabOff + READ_CHUNK);
}

function takeRead(n: number): Buffer {
  const slab = readSlab!;
  if (n < COPY_BELOW) return Buffer.from(slab.subarray(readSlabOff, readSlabOff + n));
  const out = slab.subarray(readSlabOff, readSlabOff + n);
  readSlabOff += n;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Duplex over one QUIC stream
// ---------------------------------------------------------------------------------------------

export interface QuicStreamOptions {
  /** Readable and writable high-water marks (bytes). */
  highWaterMark?: number;
  /** The readable side has already seen FIN (e.g. the 0x00 init byte came with it). */
  readEnded?: boolean;
  /** Called once both directions are finished (our FIN queued, the peer's FIN read). */
  onFinished?(stream: QuicStream): void;
  /** Called from _destroy (before the callback). `bothFinished` as for onFinished. */
  onDestroy?(stream: QuicStream, err: Error | null, bothFinished: boolean): void;
}

type Callback = (err?: Error | null) => void;

/**
 * A Duplex over one bidirectional QUIC stream. Writes are queued to the engine as far as flow
 * and congestion control allow; the rest waits until the stream is writable again (the write
 * callback is held back, so Duplex backpressure applies). Reads pull from the engine only while
 * the readable buffer has room, so the peer is flow-controlled by our consumer.
 */
export class QuicStream extends Duplex implements StreamSink {
  private pendingChunk: Buffer | undefined;
  private pendingCb: Callback | undefined;
  private finCb: Callback | undefined;
  private finQueued = false;
  private readEnded = false;
  private wantRead = false;
  private finishedNotified = false;
  private connGone = false;
  private readonly opts: QuicStreamOptions;

  constructor(
    readonly conn: EngineConnection,
    readonly id: number,
    opts: QuicStreamOptions = {},
  ) {
    const hwm = opts.highWaterMark ?? DEFAULT_HWM;
    super({allowHalfOpen: true, readableHighWaterMark: hwm, writableHighWaterMark: hwm, decodeStrings: true});
    this.opts = opts;
    conn.attachStream(id, this);
    conn.on('closing', this.onConnClosing);
    if (opts.readEnded) {
      this.readEnded = true;
      this.push(null);
    }
    if (conn.isClosing) queueMicrotask(() => this.onConnClosing(conn.closeError));
  }

  /** Our FIN has been queued. */
  get finSent(): boolean {
    return this.finQueued;
  }

  /** The peer's FIN has been read from the engine. */
  get finReceived(): boolean {
    return this.readEnded;
  }

  // -- writable side ---------------------------------------------------------------------------

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: Callback): void {
    if (this.connGone) return cb(this.goneError());
    if (chunk.length === 0) return cb();
    this.pendingChunk = chunk;
    this.pendingCb = cb;
    this.pumpWrite();
  }

  override _writev(chunks: Array<{chunk: Buffer; encoding: BufferEncoding}>, cb: Callback): void {
    const only = chunks.length === 1 ? chunks[0] : undefined;
    this._write(only ? only.chunk : Buffer.concat(chunks.map((c) => c.chunk)), 'binary', cb);
  }

  override _final(cb: Callback): void {
    if (this.connGone) return cb(this.goneError());
    this.finCb = cb;
    this.pumpWrite();
  }

  private pumpWrite(): void {
    while (this.pendingChunk) {
      let n: number | null;
      try {
        n = this.conn.streamSend(this.id, this.pendingChunk, false);
      } catch (err) {
        return this.failWrite(err);
      }
      if (n === null || n === 0) return; // blocked: wait for onWritable
      if (n >= this.pendingChunk.length) {
        const cb = this.pendingCb!;
        this.pendingChunk = undefined;
        this.pendingCb = undefined;
        cb();
        return;
      }
      this.pendingChunk = this.pendingChunk.subarray(n);
    }
    if (this.finCb) {
      let r: number | null;
      try {
        r = this.conn.streamSend(this.id, EMPTY, true);
      } catch (err) {
        return this.failWrite(err);
      }
      if (r === null) return;
      const cb = this.finCb;
      this.finCb = undefined;
      this.finQueued = true;
      cb();
      this.checkFinished();
    }
  }

  private failWrite(err: unknown): void {
    const e = this.engineStreamError(err);
    const cb = this.pendingCb ?? this.finCb;
    this.pendingChunk = undefined;
    this.pendingCb = undefined;
    this.finCb = undefined;
    if (cb) cb(e);
    else this.destroy(e);
  }

  // -- readable side ---------------------------------------------------------------------------

  override _read(): void {
    this.wantRead = true;
    this.pumpRead(false);
  }

  private pumpRead(ignoreBackpressure: boolean): void {
    while ((this.wantRead || ignoreBackpressure) && !this.readEnded && !this.destroyed) {
      let r: [number, boolean] | null;
      try {
        r = this.conn.streamRecv(this.id, readTarget());
      } catch (err) {
        this.destroy(this.engineStreamError(err));
        return;
      }
      if (r === null) return;
      const [n, fin] = r;
      if (n > 0) this.wantRead = this.push(takeRead(n));
      if (fin) {
        this.readEnded = true;
        this.push(null);
        this.checkFinished();
        return;
      }
      if (n === 0) return;
    }
  }

  // -- StreamSink ------------------------------------------------------------------------------

  onReadable(): void {
    if (this.wantRead) this.pumpRead(false);
  }

  onWritable(): void {
    if (this.pendingChunk || this.finCb) this.pumpWrite();
  }

  // -- closing ---------------------------------------------------------------------------------

  private checkFinished(): void {
    if (this.finishedNotified || !this.readEnded || !this.finQueued) return;
    this.finishedNotified = true;
    this.opts.onFinished?.(this);
  }

  private readonly onConnClosing = (err: QuicError | undefined): void => {
    if (this.connGone) return;
    this.connGone = true;
    this.conn.off('closing', this.onConnClosing);
    if (this.destroyed) return;
    if (this.readEnded && this.finQueued && !this.pendingChunk && !this.finCb) {
      // both directions were complete; nothing is lost
      if (this.readableEnded) this.destroy();
      else this.once('end', () => this.destroy());
      return;
    }
    if (err) {
      this.destroy(err);
      return;
    }
    // Normal close by either side: keep what already arrived, then end the readable side.
    this.pumpRead(true);
    if (!this.readEnded) {
      this.readEnded = true;
      this.push(null);
    }
    if (this.pendingChunk || this.finCb) this.failWrite(this.goneError());
    if (this.readableEnded) this.destroy();
    else this.once('end', () => this.destroy());
  };

  override _destroy(err: Error | null, cb: Callback): void {
    this.conn.off('closing', this.onConnClosing);
    const bothFinished = this.readEnded && this.finQueued;
    if (!this.connGone && !bothFinished) {
      if (!this.readEnded) this.conn.streamShutdown(this.id, SHUTDOWN_READ, STREAM_CANCEL_CODE);
      if (!this.finQueued) this.conn.streamShutdown(this.id, SHUTDOWN_WRITE, STREAM_CANCEL_CODE);
    }
    this.conn.detachStream(this.id, this);
    const pending = this.pendingCb ?? this.finCb;
    this.pendingChunk = undefined;
    this.pendingCb = undefined;
    this.finCb = undefined;
    try {
      this.opts.onDestroy?.(this, err, bothFinished);
    } finally {
      if (pending) pending(err ?? new Error('stream destroyed'));
      cb(err);
    }
  }

  private goneError(): Error {
    return this.conn.closeReason ?? new Error('QUIC connection closed');
  }

  private engineStreamError(err: unknown): Error {
    const {name, code} = parseEngineError(err);
    if (name === 'StreamReset' && code !== undefined) return new Error(streamCanceledText(this.id, true, code));
    if (name === 'StreamStopped' && code !== undefined) return new Error(streamCanceledText(this.id, true, code));
    if (this.conn.isClosing) return this.goneError();
    return new Error(`QUIC stream ${this.id}: ${name}`);
  }
}

/**
 * Streams of one connection (RFC 9000 §2–4): send and receive buffers, stream states, flow
 * control at stream and connection level with window auto-tuning, stream count limits, and the
 * frames they produce and consume. The application side follows the QuicEngineConnection stream
 * calls (../engine.ts) with quiche's semantics, so the stream layer above (../duplex.ts,
 * ../stream.ts) behaves the same on either engine: errors are thrown as Errors whose message is
 * `StreamReset(<code>)`, `StreamStopped(<code>)`, `InvalidStreamState(<id>)`, `StreamLimit`,
 * `FinalSize` (data after FIN or reset, as quiche 0.18); "nothing now" is null.
 *
 * Ownership: STREAM frame data handed to onFrame() may be kept by reference (large pieces), so
 * the caller must not reuse a packet buffer after passing its frames in.
 */
import {SHUTDOWN_READ, SHUTDOWN_WRITE, type QuicTransportParams, type ShutdownDirection} from '../engine.js';
import {TransportError, wireError, type WireError} from './errors.js';
import {FrameType, frameSize, maxStreamDataFor, streamFrameOverhead, type Frame} from './frames.js';
import {RangeSet, RecvBuffer, SendBuffer} from './stream-buffers.js';
import type {TransportParameters} from './transport-params.js';

export type StreamFrame = Extract<Frame, {type: 'stream'}>;

export interface StreamManagerOptions {
  role: 'client' | 'server';
  /** Our limits (what we advertise, and the auto-tuning caps maxStreamWindow/maxConnectionWindow). */
  local: QuicTransportParams;
  /**
   * Caps against a hostile peer: bytes buffered out of order per stream (default: the window).
   * Flow control is what enforces it, so a smaller value caps the auto-tuned stream window.
   */
  maxOutOfOrderBytes?: number;
  /** Bytes one stream may hold queued or unacknowledged before streamSend blocks (default: max(4 MiB, maxStreamWindow)). */
  maxSendBuffer?: number;
  /** Holes allowed in one stream's reassembly buffer (quic-go: 1000). */
  maxReceiveGaps?: number;
}

const DEFAULT_SEND_BUFFER = 4 * 1024 * 1024;

/** Engine errors carry quiche's error names as their message. */
function engineError(text: string): Error {
  return new Error(text);
}

class QStream {
  readonly bidi: boolean;
  readonly local: boolean;
  readonly canSend: boolean;
  readonly canRecv: boolean;

  // -- send side --
  readonly sb = new SendBuffer();
  /** Peer's credit for this stream (MAX_STREAM_DATA). */
  sendMax = 0;
  /** Offset after the last byte queued. */
  writeOff = 0;
  /** Offset after the highest byte sent. */
  sentOff = 0;
  /** Contiguous acknowledged prefix. */
  ackedOff = 0;
  readonly acked = new RangeSet();
  readonly lost = new RangeSet();
  finQueued = false;
  finSent = false;
  finAcked = false;
  finLost = false;
  /** RESET_STREAM code we sent (shutdown write or answer to STOP_SENDING), with its final size. */
  resetCode: number | null = null;
  resetFinal = 0;
  resetAcked = false;
  /** STOP_SENDING code from the peer. */
  stopCode: number | null = null;
  blockedAt = -1;
  /** A MAX_STREAM_DATA carrying recvMax was lost: send it again. */
  resendMax = false;

  // -- receive side --
  readonly rb: RecvBuffer;
  /** Our advertised limit (MAX_STREAM_DATA) and window. */
  recvMax: number;
  recvWindow: number;
  highest = 0;
  finalSize = -1;
  finDelivered = false;
  peerResetCode: number | null = null;
  resetReported = false;
  /** Reading was shut down: data is counted and dropped. */
  discarding = false;
  /** STOP_SENDING code we sent. */
  stopSentCode: number | null = null;
  /** Bytes of this stream counted as consumed for connection flow control. */
  consumed = 0;
  epochStart: number;
  epochOff = 0;

  constructor(
    readonly id: number,
    isServer: boolean,
    recvWindow: number,
    sendMax: number,
    now: number,
    maxGaps: number,
  ) {
    this.bidi = (id & 2) === 0;
    this.local = (id & 1) === (isServer ? 1 : 0);
    this.canSend = this.bidi || this.local;
    this.canRecv = this.bidi || !this.local;
    this.recvMax = this.canRecv ? recvWindow : 0;
    this.recvWindow = recvWindow;
    this.sendMax = this.canSend ? sendMax : 0;
    this.epochStart = now;
    this.rb = new RecvBuffer(maxGaps);
  }

  get readOffset(): number {
    return this.rb.readOffset;
  }

  /** The send side accepts more data. */
  sendOpen(): boolean {
    return this.canSend && !this.finQueued && this.resetCode === null && this.stopCode === null;
  }

  sendDone(): boolean {
    if (!this.canSend) return true;
    if (this.resetCode !== null) return this.resetAcked;
    return this.finQueued && this.finAcked && this.ackedOff >= this.writeOff;
  }

  recvDone(): boolean {
    if (!this.canRecv) return true;
    if (this.finDelivered) return true;
    if (this.peerResetCode !== null) return this.resetReported || this.discarding;
    return this.discarding && this.finalSize >= 0;
  }

  isReadable(): boolean {
    if (!this.canRecv || this.discarding || this.finDelivered) return false;
    if (this.peerResetCode !== null) return !this.resetReported;
    return this.rb.hasReadable() || (this.finalSize >= 0 && this.rb.readOffset === this.finalSize);
  }

  hasNewData(): boolean {
    return this.resetCode === null && (this.sentOff < this.writeOff || (this.finQueued && !this.finSent));
  }

  hasRetransmit(): boolean {
    return this.resetCode === null && (!this.lost.isEmpty() || this.finLost);
  }

  /** A MAX_STREAM_DATA would help the peer (half the window consumed, final size unknown). */
  wantsWindowUpdate(): boolean {
    if (!this.canRecv || this.discarding || this.peerResetCode !== null || this.finalSize >= 0) return false;
    return this.recvMax - this.rb.readOffset <= this.recvWindow / 2;
  }
}

export class StreamManager {
  private readonly isServer: boolean;
  private readonly local: QuicTransportParams;
  private readonly maxSendBuffer: number;
  private readonly maxGaps: number;
  private readonly maxStreamWindow: number;
  private readonly streams = new Map<number, QStream>();
  private peer: TransportParameters | null = null;
  private now = 0;

  // stream counts: index 0 bidi, 1 uni
  /** Streams we opened (highest index + 1). */
  private readonly localOpened = [0, 0];
  /** The peer's MAX_STREAMS for our streams. */
  private readonly peerMaxStreams = [0, 0];
  /** Streams the peer opened (highest index + 1). */
  private readonly peerOpened = [0, 0];
  /** Our MAX_STREAMS for the peer's streams, and how many of its streams are collected. */
  private readonly localMaxStreams: number[];
  private readonly peerCollected = [0, 0];
  private readonly maxStreamsPending = [false, false];
  private readonly streamsBlockedAt = [-1, -1];
  private readonly streamsBlockedPending = [false, false];

  // connection flow control, send side
  private peerMaxData = 0;
  private connQueued = 0;
  private dataBlockedAt = -1;
  private dataBlockedPending = false;

  // connection flow control, receive side
  private connMax: number;
  private connWindow: number;
  private connHighest = 0;
  private connConsumed = 0;
  private connEpochStart = 0;
  private connEpochOff = 0;
  private maxDataPending = false;

  // frames out
  private readonly sendQueue = new Set<QStream>();
  private readonly rtxQueue = new Set<QStream>();
  private readonly maxStreamDataPending = new Set<QStream>();
  private readonly resetPending = new Set<QStream>();
  private readonly stopPending = new Set<QStream>();
  private readonly streamBlockedPending = new Set<QStream>();
  private readonly readableSet = new Set<QStream>();

  private readonly counters = {
    streamsOpenedLocal: 0,
    streamsOpenedPeer: 0,
    streamsCollected: 0,
    streamBytesSent: 0,
    streamBytesRetransmitted: 0,
    streamBytesReceived: 0,
    streamBytesRead: 0,
    windowIncreases: 0,
  };

  constructor(opts: StreamManagerOptions) {
    this.isServer = opts.role === 'server';
    this.local = opts.local;
    this.maxSendBuffer = opts.maxSendBuffer ?? Math.max(DEFAULT_SEND_BUFFER, opts.local.maxStreamWindow);
    this.maxGaps = opts.maxReceiveGaps ?? 1000;
    this.maxStreamWindow = Math.min(opts.local.maxStreamWindow, opts.maxOutOfOrderBytes ?? Infinity);
    this.localMaxStreams = [opts.local.initialMaxStreamsBidi, opts.local.initialMaxStreamsUni];
    this.connMax = opts.local.initialMaxData;
    this.connWindow = opts.local.initialMaxData;
  }

  /** The peer's transport parameters arrived (send-side limits). */
  setPeerParams(peer: TransportParameters): void {
    this.peer = peer;
    if (peer.initialMaxData > this.peerMaxData) this.peerMaxData = peer.initialMaxData;
    if (peer.initialMaxStreamsBidi > this.peerMaxStreams[0]!) this.peerMaxStreams[0] = peer.initialMaxStreamsBidi;
    if (peer.initialMaxStreamsUni > this.peerMaxStreams[1]!) this.peerMaxStreams[1] = peer.initialMaxStreamsUni;
    for (const s of this.streams.values()) {
      const m = this.initialSendMax(s.id);
      if (m > s.sendMax) s.sendMax = m;
    }
  }

  // -- helpers -----------------------------------------------------------------------------------

  private isLocalId(id: number): boolean {
    return (id & 1) === (this.isServer ? 1 : 0);
  }

  private initialSendMax(id: number): number {
    const p = this.peer;
    if (p === null) return 0;
    if ((id & 2) !== 0) return p.initialMaxStreamDataUni;
    // the peer's "bidi_local" applies to streams the peer opened
    return this.isLocalId(id) ? p.initialMaxStreamDataBidiRemote : p.initialMaxStreamDataBidiLocal;
  }

  private initialRecvWindow(id: number): number {
    if ((id & 2) !== 0) return this.local.initialMaxStreamDataUni;
    return this.isLocalId(id) ? this.local.initialMaxStreamDataBidiLocal : this.local.initialMaxStreamDataBidiRemote;
  }

  private create(id: number): QStream {
    const s = new QStream(id, this.isServer, this.initialRecvWindow(id), this.initialSendMax(id), this.now, this.maxGaps);
    this.streams.set(id, s);
    return s;
  }

  /** Peer-initiated stream `id` for an incoming frame: opens it and all lower ones (§3.2). */
  private openPeer(id: number, ft: number): QStream | null | WireError {
    const t = (id & 2) === 0 ? 0 : 1;
    const idx = Math.floor(id / 4);
    if (idx >= this.localMaxStreams[t]!) return wireError(TransportError.STREAM_LIMIT_ERROR, `stream ${id} above the stream limit`, ft);
    if (idx < this.peerOpened[t]!) return this.streams.get(id) ?? null;
    const base = id & 3;
    for (let i = this.peerOpened[t]!; i <= idx; i++) {
      this.create(i * 4 + base);
      this.counters.streamsOpenedPeer++;
    }
    this.peerOpened[t] = idx + 1;
    return this.streams.get(id)!;
  }

  /** Stream for a frame about its receive side (STREAM, RESET_STREAM, STREAM_DATA_BLOCKED). */
  private recvStream(id: number, ft: number): QStream | null | WireError {
    if (this.isLocalId(id)) {
      if ((id & 2) !== 0) return wireError(TransportError.STREAM_STATE_ERROR, `stream ${id} is send-only`, ft);
      if (Math.floor(id / 4) >= this.localOpened[0]!) return wireError(TransportError.STREAM_STATE_ERROR, `stream ${id} not opened`, ft);
      return this.streams.get(id) ?? null;
    }
    return this.openPeer(id, ft);
  }

  /** Stream for a frame about its send side (STOP_SENDING, MAX_STREAM_DATA). */
  private sendStream(id: number, ft: number): QStream | null | WireError {
    if (this.isLocalId(id)) {
      const t = (id & 2) === 0 ? 0 : 1;
      if (Math.floor(id / 4) >= this.localOpened[t]!) return wireError(TransportError.STREAM_STATE_ERROR, `stream ${id} not opened`, ft);
      return this.streams.get(id) ?? null;
    }
    if ((id & 2) !== 0) return wireError(TransportError.STREAM_STATE_ERROR, `stream ${id} is receive-only`, ft);
    return this.openPeer(id, ft);
  }

  private connCredit(): number {
    return Math.max(0, this.peerMaxData - this.connQueued);
  }

  private capacityOf(s: QStream): number {
    const c = Math.min(s.sendMax - s.writeOff, this.connCredit(), this.maxSendBuffer - (s.writeOff - s.ackedOff));
    return c > 0 ? c : 0;
  }

  private maybeCollect(s: QStream): void {
    if (!s.sendDone() || !s.recvDone()) return;
    if (this.streams.get(s.id) !== s) return;
    this.streams.delete(s.id);
    this.sendQueue.delete(s);
    this.rtxQueue.delete(s);
    this.maxStreamDataPending.delete(s);
    this.resetPending.delete(s);
    this.stopPending.delete(s);
    this.streamBlockedPending.delete(s);
    this.readableSet.delete(s);
    this.counters.streamsCollected++;
    if (!s.local) {
      const t = s.bidi ? 0 : 1;
      this.peerCollected[t]!++;
      const initial = t === 0 ? this.local.initialMaxStreamsBidi : this.local.initialMaxStreamsUni;
      const next = this.peerCollected[t]! + initial;
      if (next > this.localMaxStreams[t]!) {
        this.localMaxStreams[t] = next;
        this.maxStreamsPending[t] = true;
      }
    }
  }

  /** Adds consumed bytes for connection flow control and checks for a MAX_DATA update. */
  private consume(s: QStream, upTo: number): void {
    if (upTo <= s.consumed) return;
    this.connConsumed += upTo - s.consumed;
    s.consumed = upTo;
    if (this.connMax - this.connConsumed <= this.connWindow / 2) this.maxDataPending = true;
  }

  // -- application side (quiche semantics) -------------------------------------------------------

  /** Queues data (and/or FIN); returns bytes accepted (0 when only a FIN was queued) or null when blocked. Opens local streams implicitly. */
  streamSend(id: number, data: Buffer, fin: boolean): number | null {
    let s = this.streams.get(id);
    if (s === undefined) {
      if (!this.isLocalId(id)) {
        // peer streams appear only when the peer opens them; peer uni streams are receive-only
        if ((id & 2) === 0 && Math.floor(id / 4) < this.peerOpened[0]!) return null; // collected
        throw engineError(`InvalidStreamState(${id})`);
      }
      const t = (id & 2) === 0 ? 0 : 1;
      const idx = Math.floor(id / 4);
      if (idx < this.localOpened[t]!) return null; // collected
      if (idx >= this.peerMaxStreams[t]!) {
        if (this.streamsBlockedAt[t] !== this.peerMaxStreams[t]) {
          this.streamsBlockedAt[t] = this.peerMaxStreams[t]!;
          this.streamsBlockedPending[t] = true;
        }
        throw engineError('StreamLimit');
      }
      this.localOpened[t] = idx + 1;
      s = this.create(id);
      this.counters.streamsOpenedLocal++;
    }
    if (!s.canSend) throw engineError(`InvalidStreamState(${id})`);
    if (s.stopCode !== null) {
      throw engineError(`StreamStopped(${s.stopCode})`);
    }
    if (s.finQueued || s.resetCode !== null) {
      // quiche: the final size is fixed; a FIN again is accepted, more data is not
      if (data.length === 0 && fin) return 0;
      throw engineError('FinalSize');
    }
    const cap = this.capacityOf(s);
    let n = data.length;
    if (n > cap) {
      n = cap;
      fin = false;
      if (s.sendMax - s.writeOff <= n && s.blockedAt !== s.sendMax) {
        s.blockedAt = s.sendMax;
        this.streamBlockedPending.add(s);
      }
      if (this.connCredit() <= n && this.dataBlockedAt !== this.peerMaxData) {
        this.dataBlockedAt = this.peerMaxData;
        this.dataBlockedPending = true;
      }
    }
    if (n === 0 && data.length > 0) return null;
    if (n > 0) {
      s.sb.append(n === data.length ? data : data.subarray(0, n));
      s.writeOff += n;
      this.connQueued += n;
    }
    if (fin) s.finQueued = true;
    if (s.hasNewData()) this.sendQueue.add(s);
    return n;
  }

  /** Reads in-order data into buf: [bytes, fin] or null when nothing is readable. */
  streamRecv(id: number, buf: Buffer): [number, boolean] | null {
    const s = this.streams.get(id);
    if (s === undefined || !s.canRecv) throw engineError(`InvalidStreamState(${id})`);
    if (!s.isReadable()) return null;
    if (s.peerResetCode !== null) {
      s.resetReported = true;
      this.readableSet.delete(s);
      this.maybeCollect(s);
      throw engineError(`StreamReset(${s.peerResetCode})`);
    }
    const n = s.rb.read(buf);
    this.counters.streamBytesRead += n;
    const fin = s.finalSize >= 0 && s.rb.readOffset === s.finalSize;
    if (n > 0) {
      this.consume(s, s.rb.readOffset);
      if (s.wantsWindowUpdate()) this.maxStreamDataPending.add(s);
    }
    if (fin) {
      s.finDelivered = true;
      this.readableSet.delete(s);
      this.maybeCollect(s);
    } else if (!s.rb.hasReadable()) {
      this.readableSet.delete(s);
    }
    return [n, fin];
  }

  /** SHUTDOWN_READ sends STOP_SENDING(code) and discards; SHUTDOWN_WRITE sends RESET_STREAM(code). */
  streamShutdown(id: number, direction: ShutdownDirection, code: number): void {
    const s = this.streams.get(id);
    if (s === undefined) {
      if (direction === SHUTDOWN_WRITE ? (id & 2) !== 0 && !this.isLocalId(id) : (id & 2) !== 0 && this.isLocalId(id)) {
        throw engineError(`InvalidStreamState(${id})`);
      }
      return;
    }
    if (direction === SHUTDOWN_READ) {
      if (!s.canRecv) throw engineError(`InvalidStreamState(${id})`);
      if (s.discarding || s.recvDone()) return;
      s.discarding = true;
      if (s.finalSize < 0 && s.peerResetCode === null) {
        s.stopSentCode = code;
        this.stopPending.add(s);
      }
      s.rb.discard(s.highest);
      this.consume(s, s.highest);
      this.readableSet.delete(s);
      this.maxStreamDataPending.delete(s);
      this.maybeCollect(s);
      return;
    }
    if (direction !== SHUTDOWN_WRITE) return;
    if (!s.canSend) throw engineError(`InvalidStreamState(${id})`);
    if (s.resetCode !== null || s.sendDone()) return;
    this.resetSend(s, code);
  }

  /** Abandons the send side with RESET_STREAM(code): final size = bytes sent, unsent bytes return their credit. */
  private resetSend(s: QStream, code: number): void {
    s.resetCode = code;
    s.resetFinal = s.sentOff;
    this.connQueued -= s.writeOff - s.sentOff;
    s.writeOff = s.sentOff;
    s.sb.clear();
    s.lost.clear();
    s.acked.clear();
    s.finLost = false;
    this.sendQueue.delete(s);
    this.rtxQueue.delete(s);
    this.streamBlockedPending.delete(s);
    this.resetPending.add(s);
  }

  /** Send capacity in bytes (stream and connection flow control, buffer cap); throws InvalidStreamState(id) once collected. */
  streamCapacity(id: number): number {
    const s = this.streams.get(id);
    if (s === undefined) throw engineError(`InvalidStreamState(${id})`);
    if (!s.canSend) return 0; // quiche: a receive-only stream has no credit
    if (s.stopCode !== null) throw engineError(`StreamStopped(${s.stopCode})`);
    return this.capacityOf(s);
  }

  readable(): number[] {
    const out: number[] = [];
    for (const s of this.readableSet) {
      if (s.isReadable()) out.push(s.id);
      else this.readableSet.delete(s);
    }
    return out;
  }

  writable(): number[] {
    const out: number[] = [];
    for (const s of this.streams.values()) {
      if (!s.canSend) continue;
      // quiche lists stopped streams so that the application sees StreamStopped
      if (s.stopCode !== null) out.push(s.id);
      else if (s.sendOpen() && this.capacityOf(s) > 0) out.push(s.id);
    }
    return out;
  }

  // -- frames in ---------------------------------------------------------------------------------

  /** Returns a transport error for the connection to close with, or null. */
  onFrame(f: Frame): WireError | null {
    switch (f.type) {
      case 'stream':
        return this.onStream(f);
      case 'reset_stream':
        return this.onResetStream(f.streamId, f.errorCode, f.finalSize);
      case 'stop_sending': {
        const s = this.sendStream(f.streamId, FrameType.STOP_SENDING);
        if (s === null) return null;
        if ('ok' in s) return s;
        if (s.stopCode === null) {
          s.stopCode = f.errorCode;
          // §3.5: answer with RESET_STREAM carrying the same code
          if (s.resetCode === null && !s.sendDone()) this.resetSend(s, f.errorCode);
        }
        return null;
      }
      case 'max_data':
        if (f.maximum > this.peerMaxData) this.peerMaxData = f.maximum;
        return null;
      case 'max_stream_data': {
        const s = this.sendStream(f.streamId, FrameType.MAX_STREAM_DATA);
        if (s === null) return null;
        if ('ok' in s) return s;
        if (f.maximum > s.sendMax) s.sendMax = f.maximum;
        return null;
      }
      case 'max_streams': {
        const t = f.bidi ? 0 : 1;
        if (f.maximum > this.peerMaxStreams[t]!) this.peerMaxStreams[t] = f.maximum;
        return null;
      }
      case 'data_blocked':
        // the peer waits for MAX_DATA: ours was lost or is in flight, or reading freed some credit
        if (f.limit < this.connMax || this.connConsumed + this.connWindow > this.connMax) this.maxDataPending = true;
        return null;
      case 'stream_data_blocked': {
        const s = this.recvStream(f.streamId, FrameType.STREAM_DATA_BLOCKED);
        if (s === null) return null;
        if ('ok' in s) return s;
        if (f.limit < s.recvMax && s.finalSize < 0 && !s.discarding && s.peerResetCode === null) {
          s.resendMax = true;
          this.maxStreamDataPending.add(s);
        } else if (s.wantsWindowUpdate()) this.maxStreamDataPending.add(s);
        return null;
      }
      case 'streams_blocked': {
        const t = f.bidi ? 0 : 1;
        // the peer has not seen our current MAX_STREAMS yet (lost or in flight): send it again
        if (f.limit < this.localMaxStreams[t]!) this.maxStreamsPending[t] = true;
        return null;
      }
      default:
        return null;
    }
  }

  private onStream(f: StreamFrame): WireError | null {
    const ft = FrameType.STREAM | (f.offset > 0 ? 0x04 : 0) | 0x02 | (f.fin ? 0x01 : 0);
    const s = this.recvStream(f.streamId, ft);
    if (s === null) return null;
    if ('ok' in s) return s;
    const end = f.offset + f.data.length;
    // final size checks (§4.5)
    if (s.finalSize >= 0) {
      if (end > s.finalSize || (f.fin && end !== s.finalSize)) return wireError(TransportError.FINAL_SIZE_ERROR, `stream ${s.id} data beyond its final size`, ft);
    } else if (f.fin && end < s.highest) {
      return wireError(TransportError.FINAL_SIZE_ERROR, `stream ${s.id} final size below data received`, ft);
    }
    // flow control (§4.1)
    if (end > s.recvMax) return wireError(TransportError.FLOW_CONTROL_ERROR, `stream ${s.id} data beyond its flow control limit`, ft);
    if (end > s.highest) {
      const inc = end - s.highest;
      if (this.connHighest + inc > this.connMax) return wireError(TransportError.FLOW_CONTROL_ERROR, 'data beyond the connection flow control limit', ft);
      this.connHighest += inc;
      s.highest = end;
    }
    this.counters.streamBytesReceived += f.data.length;
    if (f.fin && s.finalSize < 0) {
      s.finalSize = end;
      this.maxStreamDataPending.delete(s);
    }
    if (s.peerResetCode !== null || s.finDelivered) return null;
    if (s.discarding) {
      this.consume(s, s.highest);
      this.maybeCollect(s);
      return null;
    }
    if (f.data.length > 0 && s.rb.insert(f.offset, f.data) === 'too-many-gaps') {
      return wireError(TransportError.INTERNAL_ERROR, 'too many gaps in received data', ft);
    }
    if (s.isReadable()) this.readableSet.add(s);
    return null;
  }

  private onResetStream(id: number, code: number, finalSize: number): WireError | null {
    const ft = FrameType.RESET_STREAM;
    const s = this.recvStream(id, ft);
    if (s === null) return null;
    if ('ok' in s) return s;
    if (s.finalSize >= 0 ? finalSize !== s.finalSize : finalSize < s.highest) {
      return wireError(TransportError.FINAL_SIZE_ERROR, `stream ${id} reset with an inconsistent final size`, ft);
    }
    if (finalSize > s.recvMax) return wireError(TransportError.FLOW_CONTROL_ERROR, `stream ${id} final size beyond its flow control limit`, ft);
    if (finalSize > s.highest) {
      const inc = finalSize - s.highest;
      if (this.connHighest + inc > this.connMax) return wireError(TransportError.FLOW_CONTROL_ERROR, 'reset beyond the connection flow control limit', ft);
      this.connHighest += inc;
      s.highest = finalSize;
    }
    s.finalSize = finalSize;
    if (s.peerResetCode !== null || s.finDelivered) return null;
    s.peerResetCode = code;
    s.rb.discard(finalSize);
    // the peer abandoned the data: all of it counts as consumed
    this.consume(s, finalSize);
    this.maxStreamDataPending.delete(s);
    this.stopPending.delete(s);
    if (s.discarding) this.maybeCollect(s);
    else this.readableSet.add(s);
    return null;
  }

  // -- frames out --------------------------------------------------------------------------------

  /** Whether anything (control frames or stream data allowed by flow control) is waiting to go out. */
  hasPending(): boolean {
    return this.sendQueue.size > 0 || this.rtxQueue.size > 0 || this.hasControlPending();
  }

  private hasControlPending(): boolean {
    return (
      this.maxDataPending ||
      this.maxStreamDataPending.size > 0 ||
      this.resetPending.size > 0 ||
      this.stopPending.size > 0 ||
      this.maxStreamsPending[0]! ||
      this.maxStreamsPending[1]! ||
      this.dataBlockedPending ||
      this.streamBlockedPending.size > 0 ||
      this.streamsBlockedPending[0]! ||
      this.streamsBlockedPending[1]!
    );
  }

  /** quic-go's auto-tuning: the window doubles when half of it was read within ~2 RTTs of the epoch start. */
  private tune(window: number, max: number, epochStart: number, epochOff: number, consumed: number, now: number, rtt: number): number {
    const inEpoch = consumed - epochOff;
    if (inEpoch <= window / 2 || rtt <= 0) return window;
    const fraction = inEpoch / window;
    if (now - epochStart < 4 * fraction * rtt) return Math.min(window * 2, max);
    return window;
  }

  /**
   * Control frames to send now (MAX_DATA, MAX_STREAM_DATA, MAX_STREAMS, RESET_STREAM,
   * STOP_SENDING, DATA_BLOCKED, STREAM_DATA_BLOCKED, STREAMS_BLOCKED), fitting `budget` bytes.
   * `now` and `smoothedRttMs` drive window auto-tuning.
   */
  popControlFrames(budget: number, now: number, smoothedRttMs: number): Frame[] {
    this.now = now;
    const out: Frame[] = [];
    if (!this.hasControlPending()) return out;
    let left = budget;
    const put = (f: Frame): boolean => {
      const n = frameSize(f);
      if (n > left) return false;
      left -= n;
      out.push(f);
      return true;
    };
    for (const s of this.resetPending) {
      if (!put({type: 'reset_stream', streamId: s.id, errorCode: s.resetCode!, finalSize: s.resetFinal})) return out;
      this.resetPending.delete(s);
    }
    for (const s of this.stopPending) {
      if (!put({type: 'stop_sending', streamId: s.id, errorCode: s.stopSentCode!})) return out;
      this.stopPending.delete(s);
    }
    for (const s of this.maxStreamDataPending) {
      if (!s.wantsWindowUpdate()) {
        if (s.resendMax && s.finalSize < 0 && !s.discarding && s.peerResetCode === null) {
          if (!put({type: 'max_stream_data', streamId: s.id, maximum: s.recvMax})) return out;
        }
        s.resendMax = false;
        this.maxStreamDataPending.delete(s);
        continue;
      }
      s.resendMax = false;
      const consumed = s.rb.readOffset;
      const w = this.tune(s.recvWindow, this.maxStreamWindow, s.epochStart, s.epochOff, consumed, now, smoothedRttMs);
      const newMax = consumed + w;
      if (!put({type: 'max_stream_data', streamId: s.id, maximum: newMax})) return out;
      this.maxStreamDataPending.delete(s);
      if (consumed - s.epochOff > s.recvWindow / 2) {
        s.epochStart = now;
        s.epochOff = consumed;
      }
      if (w > s.recvWindow) {
        s.recvWindow = w;
        this.counters.windowIncreases++;
        // keep the connection window at least 1.5 stream windows (quic-go)
        const want = Math.min(Math.floor(w * 1.5), this.local.maxConnectionWindow);
        if (want > this.connWindow) {
          this.connWindow = want;
          this.connEpochStart = now;
          this.connEpochOff = this.connConsumed;
          if (this.connMax - this.connConsumed <= this.connWindow / 2) this.maxDataPending = true;
        }
      }
      s.recvMax = newMax;
    }
    if (this.maxDataPending) {
      const w = this.tune(this.connWindow, this.local.maxConnectionWindow, this.connEpochStart, this.connEpochOff, this.connConsumed, now, smoothedRttMs);
      const newMax = Math.max(this.connMax, this.connConsumed + w);
      if (newMax > this.connMax || newMax === this.connMax) {
        if (!put({type: 'max_data', maximum: newMax})) return out;
      }
      this.maxDataPending = false;
      if (this.connConsumed - this.connEpochOff > this.connWindow / 2) {
        this.connEpochStart = now;
        this.connEpochOff = this.connConsumed;
      }
      if (w > this.connWindow) {
        this.connWindow = w;
        this.counters.windowIncreases++;
      }
      this.connMax = newMax;
    }
    for (const t of [0, 1] as const) {
      if (!this.maxStreamsPending[t]) continue;
      if (!put({type: 'max_streams', bidi: t === 0, maximum: this.localMaxStreams[t]!})) return out;
      this.maxStreamsPending[t] = false;
    }
    if (this.dataBlockedPending) {
      if (!put({type: 'data_blocked', limit: this.dataBlockedAt})) return out;
      this.dataBlockedPending = false;
    }
    for (const s of this.streamBlockedPending) {
      if (!put({type: 'stream_data_blocked', streamId: s.id, limit: s.blockedAt})) return out;
      this.streamBlockedPending.delete(s);
    }
    for (const t of [0, 1] as const) {
      if (!this.streamsBlockedPending[t]) continue;
      if (!put({type: 'streams_blocked', bidi: t === 0, limit: this.streamsBlockedAt[t]!})) return out;
      this.streamsBlockedPending[t] = false;
    }
    return out;
  }

  /** The next STREAM frame fitting `budget` bytes (encoded size), retransmissions first, streams round-robin. */
  popStreamFrame(budget: number): StreamFrame | null {
    while (this.rtxQueue.size > 0) {
      const s = this.rtxQueue.values().next().value as QStream;
      if (!s.hasRetransmit()) {
        this.rtxQueue.delete(s);
        continue;
      }
      const f = this.buildRetransmit(s, budget);
      if (f === null) return null;
      this.rtxQueue.delete(s);
      if (s.hasRetransmit()) this.rtxQueue.add(s);
      return f;
    }
    while (this.sendQueue.size > 0) {
      const s = this.sendQueue.values().next().value as QStream;
      if (!s.hasNewData()) {
        this.sendQueue.delete(s);
        continue;
      }
      const f = this.buildNew(s, budget);
      if (f === null) return null;
      this.sendQueue.delete(s);
      if (s.hasNewData()) this.sendQueue.add(s);
      return f;
    }
    return null;
  }

  private finOnly(s: QStream, budget: number): StreamFrame | null {
    if (streamFrameOverhead(s.id, s.writeOff, 0, true) > budget) return null;
    return {type: 'stream', streamId: s.id, offset: s.writeOff, data: EMPTY, fin: true};
  }

  private buildRetransmit(s: QStream, budget: number): StreamFrame | null {
    const r = s.lost.first();
    if (r === null) {
      const f = this.finOnly(s, budget);
      if (f !== null) s.finLost = false;
      return f;
    }
    const [a, b] = r;
    const n = Math.min(b - a, maxStreamDataFor(budget, s.id, a));
    if (n <= 0) return null;
    const data = s.sb.get(a, n);
    const end = a + data.length;
    s.lost.remove(a, end);
    const fin = s.finQueued && end === s.writeOff;
    if (fin) {
      s.finLost = false;
      s.finSent = true;
    }
    this.counters.streamBytesRetransmitted += data.length;
    return {type: 'stream', streamId: s.id, offset: a, data, fin};
  }

  private buildNew(s: QStream, budget: number): StreamFrame | null {
    const a = s.sentOff;
    if (a === s.writeOff) {
      const f = this.finOnly(s, budget);
      if (f !== null) s.finSent = true;
      return f;
    }
    const n = Math.min(s.writeOff - a, maxStreamDataFor(budget, s.id, a));
    if (n <= 0) return null;
    const data = s.sb.get(a, n);
    s.sentOff = a + data.length;
    const fin = s.finQueued && s.sentOff === s.writeOff;
    if (fin) s.finSent = true;
    this.counters.streamBytesSent += data.length;
    return {type: 'stream', streamId: s.id, offset: a, data, fin};
  }

  /** A frame produced here was acknowledged. */
  onAcked(f: Frame): void {
    switch (f.type) {
      case 'stream': {
        const s = this.streams.get(f.streamId);
        if (s === undefined || s.resetCode !== null) return;
        const end = f.offset + f.data.length;
        if (end > f.offset) {
          s.acked.add(f.offset, end);
          s.lost.remove(f.offset, end);
          const first = s.acked.first();
          if (first !== null && first[0] <= s.ackedOff) {
            s.ackedOff = Math.max(s.ackedOff, first[1]);
            s.acked.removeBelow(s.ackedOff);
            s.sb.release(s.ackedOff);
          }
        }
        if (f.fin) {
          s.finAcked = true;
          s.finLost = false;
        }
        this.maybeCollect(s);
        return;
      }
      case 'reset_stream': {
        const s = this.streams.get(f.streamId);
        if (s === undefined || s.resetCode === null) return;
        s.resetAcked = true;
        this.maybeCollect(s);
        return;
      }
      default:
        return;
    }
  }

  /** A frame produced here was lost: queue what still matters for retransmission. */
  onLost(f: Frame): void {
    switch (f.type) {
      case 'stream': {
        const s = this.streams.get(f.streamId);
        if (s === undefined || s.resetCode !== null) return;
        const start = Math.max(f.offset, s.ackedOff);
        const end = f.offset + f.data.length;
        if (end > start) s.acked.forEachGap(start, end, (a, b) => s.lost.add(a, b));
        if (f.fin && !s.finAcked) s.finLost = true;
        if (s.hasRetransmit()) this.rtxQueue.add(s);
        return;
      }
      case 'reset_stream': {
        const s = this.streams.get(f.streamId);
        if (s !== undefined && s.resetCode !== null && !s.resetAcked) this.resetPending.add(s);
        return;
      }
      case 'stop_sending': {
        const s = this.streams.get(f.streamId);
        if (s !== undefined && s.stopSentCode !== null && s.finalSize < 0 && s.peerResetCode === null) this.stopPending.add(s);
        return;
      }
      case 'max_data':
        // a newer value went out since, or will: only the current one is worth re-sending
        if (f.maximum === this.connMax) this.maxDataPending = true;
        return;
      case 'max_stream_data': {
        const s = this.streams.get(f.streamId);
        if (s !== undefined && f.maximum === s.recvMax && s.canRecv && !s.discarding && s.finalSize < 0 && s.peerResetCode === null) {
          s.resendMax = true;
          this.maxStreamDataPending.add(s);
        }
        return;
      }
      case 'max_streams': {
        const t = f.bidi ? 0 : 1;
        if (f.maximum === this.localMaxStreams[t]) this.maxStreamsPending[t] = true;
        return;
      }
      default:
        return;
    }
  }

  /** Counters for stats(). */
  stats(): Record<string, number> {
    return {
      ...this.counters,
      streamsOpen: this.streams.size,
      connMaxData: this.connMax,
      connWindow: this.connWindow,
      peerMaxData: this.peerMaxData,
    };
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Streams of one connection (RFC 9000 §2–4): send and receive buffers, stream states, flow
 * control at stream and connection level with window auto-tuning, stream count limits, and the
 * frames they produce and consume. The application side follows the QuicEngineConnection stream
 * calls (../engine.ts) with quiche's semantics, so the stream layer above (../duplex.ts,
 * ../stream.ts) behaves the same on either engine: errors are thrown as Errors whose message is
 * `StreamReset(<code>)`, `StreamStopped(<code>)`, `InvalidStreamState(<id>)`, `StreamLimit`,
 * `FlowControl`; "nothing now" is null.
 */
import type {QuicTransportParams, ShutdownDirection} from '../engine.js';
import type {WireError} from './errors.js';
import type {Frame} from './frames.js';
import type {TransportParameters} from './transport-params.js';

export type StreamFrame = Extract<Frame, {type: 'stream'}>;

export interface StreamManagerOptions {
  role: 'client' | 'server';
  /** Our limits (what we advertise, and the auto-tuning caps maxStreamWindow/maxConnectionWindow). */
  local: QuicTransportParams;
  /** Caps against a hostile peer: bytes buffered out of order per stream (default: the window). */
  maxOutOfOrderBytes?: number;
}

export class StreamManager {
  constructor(opts: StreamManagerOptions) {
    void opts;
    throw new Error('StreamManager: not implemented');
  }

  /** The peer's transport parameters arrived (send-side limits). */
  setPeerParams(peer: TransportParameters): void {
    void peer;
  }

  // -- application side (quiche semantics) -------------------------------------------------------

  /** Queues data (and/or FIN); returns bytes accepted (0 when only a FIN was queued) or null when blocked. Opens local streams implicitly. */
  streamSend(id: number, data: Buffer, fin: boolean): number | null {
    void id;
    void data;
    void fin;
    return null;
  }

  /** Reads in-order data into buf: [bytes, fin] or null when nothing is readable. */
  streamRecv(id: number, buf: Buffer): [number, boolean] | null {
    void id;
    void buf;
    return null;
  }

  /** SHUTDOWN_READ sends STOP_SENDING(code) and discards; SHUTDOWN_WRITE sends RESET_STREAM(code). */
  streamShutdown(id: number, direction: ShutdownDirection, code: number): void {
    void id;
    void direction;
    void code;
  }

  /** Send capacity in bytes (stream and connection flow control, buffer cap); throws InvalidStreamState(id) once collected. */
  streamCapacity(id: number): number {
    void id;
    return 0;
  }

  readable(): number[] {
    return [];
  }

  writable(): number[] {
    return [];
  }

  // -- frames in ---------------------------------------------------------------------------------

  /** Returns a transport error for the connection to close with, or null. */
  onFrame(f: Frame): WireError | null {
    void f;
    return null;
  }

  // -- frames out --------------------------------------------------------------------------------

  /** Whether anything (control frames or stream data allowed by flow control) is waiting to go out. */
  hasPending(): boolean {
    return false;
  }

  /**
   * Control frames to send now (MAX_DATA, MAX_STREAM_DATA, MAX_STREAMS, RESET_STREAM,
   * STOP_SENDING, DATA_BLOCKED, STREAM_DATA_BLOCKED, STREAMS_BLOCKED), fitting `budget` bytes.
   * `now` and `smoothedRttMs` drive window auto-tuning.
   */
  popControlFrames(budget: number, now: number, smoothedRttMs: number): Frame[] {
    void budget;
    void now;
    void smoothedRttMs;
    return [];
  }

  /** The next STREAM frame fitting `budget` bytes (encoded size), retransmissions first, streams round-robin. */
  popStreamFrame(budget: number): StreamFrame | null {
    void budget;
    return null;
  }

  /** A frame produced here was acknowledged. */
  onAcked(f: Frame): void {
    void f;
  }

  /** A frame produced here was lost: queue what still matters for retransmission. */
  onLost(f: Frame): void {
    void f;
  }

  /** Counters for stats(). */
  stats(): Record<string, number> {
    return {};
  }
}

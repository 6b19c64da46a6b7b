/**
 * Loss detection and congestion control (RFC 9002): the RTT estimator, the sent-packet record
 * of the three packet number spaces, packet- and time-threshold loss detection, the probe
 * timeout (PTO), and NewReno (§7). Sans-IO: times are milliseconds from the connection's clock,
 * passed in; what a lost packet carried (`frames`) is opaque here and handed back to the
 * connection to retransmit.
 */
import type {AckRange} from './frames.js';

/** 0 = Initial, 1 = Handshake, 2 = Application data (0-RTT is not used). */
export type SpaceId = 0 | 1 | 2;

export interface SentPacket<F = unknown> {
  pn: number;
  space: SpaceId;
  timeSent: number;
  /** Bytes on the wire (whole packet, header and AEAD tag included). */
  size: number;
  ackEliciting: boolean;
  /** Counts toward bytes in flight (ack-eliciting or padding-only). */
  inFlight: boolean;
  /** What the packet carried, for the connection to retransmit or to mark acknowledged. */
  frames: F;
}

export interface AckResult<F = unknown> {
  /** Newly acknowledged packets (ascending packet numbers). */
  acked: Array<SentPacket<F>>;
  /** Packets declared lost by this ACK. */
  lost: Array<SentPacket<F>>;
  /** Whether an RTT sample was taken. */
  rttSampled: boolean;
}

export interface RecoveryOptions {
  /** kInitialRtt (RFC 9002 §6.2.2: 333 ms). */
  initialRttMs?: number;
  /** The largest datagram we send (for the congestion window in bytes). */
  maxDatagramSize: number;
  /** kPersistentCongestionThreshold etc. may stay at the RFC's values. */
}

export class RttEstimator {
  latestRtt = 0;
  smoothedRtt: number;
  rttvar: number;
  minRtt = Infinity;
  hasSample = false;
  constructor(initialRttMs = 333) {
    this.smoothedRtt = initialRttMs;
    this.rttvar = initialRttMs / 2;
  }
  /** RFC 9002 §5.3; ackDelay is already capped by the caller rules (max_ack_delay once confirmed). */
  update(latestRtt: number, ackDelay: number, handshakeConfirmed: boolean, peerMaxAckDelay: number): void {
    void latestRtt;
    void ackDelay;
    void handshakeConfirmed;
    void peerMaxAckDelay;
    throw new Error('not implemented');
  }
  /** PTO duration without backoff (§6.2.1); includes max_ack_delay when `withAckDelay`. */
  pto(peerMaxAckDelay: number, withAckDelay: boolean): number {
    void peerMaxAckDelay;
    void withAckDelay;
    throw new Error('not implemented');
  }
}

export class NewReno {
  congestionWindow = 0;
  bytesInFlight = 0;
  ssthresh = Infinity;
  constructor(maxDatagramSize: number) {
    void maxDatagramSize;
  }
  /** Bytes that may be sent now under the congestion window. */
  available(): number {
    return 0;
  }
}

/** Loss recovery state of one connection, all three spaces. */
export class LossRecovery<F = unknown> {
  readonly rtt: RttEstimator;
  readonly cc: NewReno;
  /** Consecutive PTOs without an ACK (backoff exponent). */
  ptoCount = 0;
  /** Set by the connection: the peer's max_ack_delay (ms), from its transport parameters. */
  peerMaxAckDelay = 25;
  /** Set by the connection once HANDSHAKE_DONE was sent/received (RFC 9001 §4.1.2). */
  handshakeConfirmed = false;
  /** Client: set once a Handshake packet was received / server: address validated (always true here). */
  peerCompletedAddressValidation = true;

  constructor(opts: RecoveryOptions) {
    this.rtt = new RttEstimator(opts.initialRttMs);
    this.cc = new NewReno(opts.maxDatagramSize);
    throw new Error('LossRecovery: not implemented');
  }

  onPacketSent(p: SentPacket<F>): void {
    void p;
  }

  /**
   * Processes an ACK frame of `space` (ranges descending, ackDelay in ms already decoded with the
   * peer's exponent). Returns null when the ACK acknowledges a packet never sent (the connection
   * closes with PROTOCOL_VIOLATION).
   */
  onAckReceived(space: SpaceId, ranges: readonly AckRange[], ackDelayMs: number, now: number): AckResult<F> | null {
    void space;
    void ranges;
    void ackDelayMs;
    void now;
    return null;
  }

  /** Absolute time (ms) of the loss detection timer (time-threshold loss or PTO), or null. */
  lossDetectionTimer(): number | null {
    return null;
  }

  /**
   * The loss detection timer fired: returns packets now lost (time threshold), or, on PTO, the
   * space to probe and how many ack-eliciting probe packets to send (1 or 2).
   */
  onLossDetectionTimeout(now: number): {lost: Array<SentPacket<F>>; probe: {space: SpaceId; count: number} | null} {
    void now;
    return {lost: [], probe: null};
  }

  /** Drops a space's keys (Initial/Handshake discarded): its packets leave bytes in flight, unacked. */
  discardSpace(space: SpaceId): void {
    void space;
  }

  /** Largest packet number of `space` the peer acknowledged (-1 for none): for packet number encoding. */
  largestAcked(space: SpaceId): number {
    void space;
    return -1;
  }

  /** Whether any ack-eliciting packet of `space` awaits acknowledgement. */
  hasAckElicitingInFlight(space?: SpaceId): boolean {
    void space;
    return false;
  }

  /** Bytes that may be sent now (congestion window minus bytes in flight, ≥ 0). */
  sendAllowance(): number {
    return 0;
  }
}

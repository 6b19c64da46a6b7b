/**
 * Received-packet tracking of one packet number space (RFC 9000 §13.2): duplicate detection,
 * ACK frame generation and the ack-delay timer. Sans-IO: times are milliseconds from the
 * connection's clock, passed in.
 */
import type {AckRange, Frame} from './frames.js';

export interface AckTrackerOptions {
  /** Our max_ack_delay (ms); application space only: Initial and Handshake ACK at once. */
  maxAckDelayMs: number;
  /** Our ack_delay_exponent (transport parameter; 3 by default). */
  ackDelayExponent: number;
  /** Send an ACK after this many ack-eliciting packets without one (RFC 9000 §13.2.2: 2). */
  ackElicitingThreshold?: number;
  /** Ranges kept (oldest dropped first); bounds memory against a hostile peer. */
  maxRanges?: number;
  /** Initial/Handshake spaces: every ack-eliciting packet is acknowledged immediately. */
  immediate?: boolean;
}

export class AckTracker {
  constructor(opts: AckTrackerOptions) {
    void opts;
    throw new Error('AckTracker: not implemented');
  }

  /** Largest packet number received so far (-1 for none): the base for packet number decoding. */
  get largestReceived(): number {
    throw new Error('not implemented');
  }

  /** Whether `pn` was already received (or is below the tracked window): drop the packet. */
  isDuplicate(pn: number): boolean {
    void pn;
    throw new Error('not implemented');
  }

  /** Records a packet that decrypted and whose frames were processed. */
  onPacketReceived(pn: number, ackEliciting: boolean, now: number): void {
    void pn;
    void ackEliciting;
    void now;
  }

  /** Whether an ACK should go out now (threshold reached, reordering seen, or timer expired). */
  ackDue(now: number): boolean {
    void now;
    return false;
  }

  /** When the delayed-ack timer expires (absolute ms), or null when nothing awaits acknowledgement. */
  ackDeadline(): number | null {
    return null;
  }

  /** Whether any packet is unacknowledged (an ACK may be piggybacked on an outgoing packet). */
  hasUnacked(): boolean {
    return false;
  }

  /** Builds the ACK frame (ranges descending, delay encoded with the exponent), or null if nothing to ack. */
  buildAck(now: number, maxRanges?: number): Extract<Frame, {type: 'ack'}> | null {
    void now;
    void maxRanges;
    return null;
  }

  /** Call when a packet carrying the ACK from buildAck() was sent: resets the counters and timer. */
  onAckSent(): void {}

  /** An ACK we sent (whose largest was `largestAcked`) was itself acknowledged: older ranges can go. */
  onAckAcked(largestAcked: number): void {
    void largestAcked;
  }

  /** Current ranges (descending), for tests and stats. */
  ranges(): AckRange[] {
    return [];
  }
}

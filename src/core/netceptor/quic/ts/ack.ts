/**
 * Received-packet tracking of one packet number space (RFC 9000 §13.2): duplicate detection,
 * ACK frame generation and the ack-delay timer. Sans-IO: times are milliseconds from the
 * connection's clock, passed in.
 */
import {encodeAckDelay, type AckRange, type Frame} from './frames.js';

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
  private readonly maxAckDelayMs: number;
  private readonly exponent: number;
  private readonly threshold: number;
  private readonly maxRanges: number;
  private readonly immediate: boolean;
  /** Received packet numbers, descending, disjoint and non-adjacent. */
  private rs: AckRange[] = [];
  /** Packet numbers <= floor are duplicates (forgotten ranges, or below the tracked window). */
  private floor = -1;
  private largest = -1;
  private largestEliciting = -1;
  private largestTime = 0;
  /** Ack-eliciting packets received since the last ACK sent. */
  private elicitingSinceAck = 0;
  /** Arrival of the first of them (the delayed-ack timer runs from it). */
  private firstElicitingTime: number | null = null;
  /** Arrival time of the packet that requires an ACK at once (reordering, Initial/Handshake). */
  private immediateAt: number | null = null;
  /** Any packet (ack-eliciting or not) received since the last ACK sent. */
  private unacked = false;

  constructor(opts: AckTrackerOptions) {
    this.maxAckDelayMs = opts.maxAckDelayMs;
    this.exponent = opts.ackDelayExponent;
    this.threshold = Math.max(1, opts.ackElicitingThreshold ?? 2);
    this.maxRanges = Math.max(1, opts.maxRanges ?? 64);
    this.immediate = opts.immediate ?? false;
  }

  /** Largest packet number received so far (-1 for none): the base for packet number decoding. */
  get largestReceived(): number {
    return this.largest;
  }

  /** Whether `pn` was already received (or is below the tracked window): drop the packet. */
  isDuplicate(pn: number): boolean {
    if (pn <= this.floor) return true;
    // Ranges are descending; the newest ones are the likely hits.
    for (const r of this.rs) {
      if (pn > r.largest) return false;
      if (pn >= r.smallest) return true;
    }
    return false;
  }

  /** Records a packet that decrypted and whose frames were processed. */
  onPacketReceived(pn: number, ackEliciting: boolean, now: number): void {
    if (this.isDuplicate(pn)) return;
    this.insert(pn);
    if (pn > this.largest) {
      this.largest = pn;
      this.largestTime = now;
    }
    this.unacked = true;
    if (!ackEliciting) return;
    // RFC 9000 §13.2.1: out of order = below the largest ack-eliciting packet, or above it with
    // packets missing in between.
    const le = this.largestEliciting;
    const outOfOrder = pn < le || (this.rangeOf(pn)?.smallest ?? Infinity) > le + 1;
    if (pn > le) this.largestEliciting = pn;
    this.elicitingSinceAck++;
    if (this.firstElicitingTime === null) this.firstElicitingTime = now;
    if ((this.immediate || outOfOrder) && this.immediateAt === null) this.immediateAt = now;
  }

  /** Whether an ACK should go out now (threshold reached, reordering seen, or timer expired). */
  ackDue(now: number): boolean {
    if (this.elicitingSinceAck === 0) return false;
    if (this.elicitingSinceAck >= this.threshold || this.immediateAt !== null) return true;
    const d = this.ackDeadline();
    return d !== null && now >= d;
  }

  /** When the delayed-ack timer expires (absolute ms), or null when nothing awaits acknowledgement. */
  ackDeadline(): number | null {
    if (this.elicitingSinceAck === 0 || this.firstElicitingTime === null) return null;
    // Threshold reached or immediate: due since the packet that made it so arrived.
    if (this.immediateAt !== null) return this.immediateAt;
    if (this.elicitingSinceAck >= this.threshold) return this.firstElicitingTime;
    return this.firstElicitingTime + this.maxAckDelayMs;
  }

  /** Whether any packet is unacknowledged (an ACK may be piggybacked on an outgoing packet). */
  hasUnacked(): boolean {
    return this.unacked && this.rs.length > 0;
  }

  /** Builds the ACK frame (ranges descending, delay encoded with the exponent), or null if nothing to ack. */
  buildAck(now: number, maxRanges = 32): Extract<Frame, {type: 'ack'}> | null {
    if (this.rs.length === 0) return null;
    const n = Math.max(1, Math.min(maxRanges, this.rs.length));
    const ranges = this.rs.slice(0, n).map((r) => ({smallest: r.smallest, largest: r.largest}));
    // The delay refers to the largest acknowledged; once it was forgotten it is not reported.
    const delayMs = ranges[0]?.largest === this.largest ? Math.max(0, now - this.largestTime) : 0;
    return {type: 'ack', ackDelay: encodeAckDelay(Math.round(delayMs * 1000), this.exponent), ranges};
  }

  /** Call when a packet carrying the ACK from buildAck() was sent: resets the counters and timer. */
  onAckSent(): void {
    this.elicitingSinceAck = 0;
    this.firstElicitingTime = null;
    this.immediateAt = null;
    this.unacked = false;
  }

  /** An ACK we sent (whose largest was `largestAcked`) was itself acknowledged: older ranges can go. */
  onAckAcked(largestAcked: number): void {
    // RFC 9000 §13.2.4: the peer saw everything up to largestAcked reported; later packets at or
    // below it are treated as duplicates (the floor) so nothing is processed twice.
    if (largestAcked <= this.floor) return;
    this.floor = largestAcked;
    this.trimToFloor();
  }

  /** Current ranges (descending), for tests and stats. */
  ranges(): AckRange[] {
    return this.rs.map((r) => ({smallest: r.smallest, largest: r.largest}));
  }

  private rangeOf(pn: number): AckRange | undefined {
    return this.rs.find((r) => r.smallest <= pn && pn <= r.largest);
  }

  /** Inserts a packet number known not to be present, merging neighbours. */
  private insert(pn: number): void {
    const rs = this.rs;
    // First range (descending) whose largest is below pn.
    let i = 0;
    while (i < rs.length && (rs[i] as AckRange).largest >= pn) i++;
    const above = i > 0 ? rs[i - 1] : undefined; // smallest > pn
    const below = rs[i]; // largest < pn
    const joinAbove = above !== undefined && above.smallest === pn + 1;
    const joinBelow = below !== undefined && below.largest === pn - 1;
    if (joinAbove && joinBelow) {
      above.smallest = below.smallest;
      rs.splice(i, 1);
    } else if (joinAbove) above.smallest = pn;
    else if (joinBelow) below.largest = pn;
    else rs.splice(i, 0, {smallest: pn, largest: pn});
    if (rs.length > this.maxRanges) {
      // The oldest range goes; everything up to it now counts as duplicate.
      const dropped = rs.pop() as AckRange;
      this.floor = Math.max(this.floor, dropped.largest);
      this.trimToFloor();
    }
  }

  private trimToFloor(): void {
    const rs = this.rs;
    while (rs.length > 0 && (rs[rs.length - 1] as AckRange).largest <= this.floor) rs.pop();
    const last = rs[rs.length - 1];
    if (last !== undefined && last.smallest <= this.floor) last.smallest = this.floor + 1;
  }
}

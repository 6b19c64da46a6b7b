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

/** RFC 9002 constants. */
export const kPacketThreshold = 3;
export const kTimeThreshold = 9 / 8;
export const kGranularity = 1;
export const kLossReductionFactor = 0.5;
export const kPersistentCongestionThreshold = 3;

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
    latestRtt = Math.max(0, latestRtt);
    ackDelay = Math.max(0, ackDelay);
    this.latestRtt = latestRtt;
    if (!this.hasSample) {
      this.hasSample = true;
      this.minRtt = latestRtt;
      this.smoothedRtt = latestRtt;
      this.rttvar = latestRtt / 2;
      return;
    }
    // min_rtt ignores the acknowledgement delay.
    this.minRtt = Math.min(this.minRtt, latestRtt);
    const delay = handshakeConfirmed ? Math.min(ackDelay, peerMaxAckDelay) : ackDelay;
    // Subtract the delay only if that does not go below min_rtt.
    const adjusted = latestRtt >= this.minRtt + delay ? latestRtt - delay : latestRtt;
    this.rttvar = (3 / 4) * this.rttvar + (1 / 4) * Math.abs(this.smoothedRtt - adjusted);
    this.smoothedRtt = (7 / 8) * this.smoothedRtt + (1 / 8) * adjusted;
  }
  /** PTO duration without backoff (§6.2.1); includes max_ack_delay when `withAckDelay`. */
  pto(peerMaxAckDelay: number, withAckDelay: boolean): number {
    return this.smoothedRtt + Math.max(4 * this.rttvar, kGranularity) + (withAckDelay ? peerMaxAckDelay : 0);
  }
}

/**
 * NewReno (RFC 9002 §7, Appendix B). The window is kept fractional (congestion avoidance adds
 * mds × acked / cwnd). Growth while application-limited is not suppressed (optional in §7.8).
 */
export class NewReno {
  congestionWindow = 0;
  bytesInFlight = 0;
  ssthresh = Infinity;
  readonly maxDatagramSize: number;
  readonly minimumWindow: number;
  /** Start of the current recovery period; packets sent at or before it do not reduce again. */
  recoveryStartTime = -Infinity;
  constructor(maxDatagramSize: number) {
    this.maxDatagramSize = maxDatagramSize;
    this.congestionWindow = Math.min(10 * maxDatagramSize, Math.max(14720, 2 * maxDatagramSize));
    this.minimumWindow = 2 * maxDatagramSize;
  }
  /** Bytes that may be sent now under the congestion window. */
  available(): number {
    return Math.max(0, Math.floor(this.congestionWindow - this.bytesInFlight));
  }
  inRecovery(sentTime: number): boolean {
    return sentTime <= this.recoveryStartTime;
  }
  /** An in-flight packet was acknowledged (bytes in flight already reduced by the caller). */
  onPacketAcked(size: number, timeSent: number): void {
    if (this.inRecovery(timeSent)) return;
    if (this.congestionWindow < this.ssthresh) this.congestionWindow += size;
    else this.congestionWindow += (this.maxDatagramSize * size) / this.congestionWindow;
  }
  /** In-flight packets were lost, the newest sent at `sentTime`. */
  onCongestionEvent(sentTime: number, now: number): void {
    if (this.inRecovery(sentTime)) return;
    this.recoveryStartTime = now;
    this.ssthresh = this.congestionWindow * kLossReductionFactor;
    this.congestionWindow = Math.max(this.ssthresh, this.minimumWindow);
  }
  onPersistentCongestion(): void {
    this.congestionWindow = this.minimumWindow;
    this.recoveryStartTime = -Infinity;
  }
}

interface Space<F> {
  /** Unacknowledged, not yet lost packets, ascending packet numbers. */
  sent: Array<SentPacket<F>>;
  largestSent: number;
  largestAcked: number;
  lossTime: number | null;
  timeOfLastAckEliciting: number | null;
  ackElicitingInFlight: number;
  /** Non-ack-eliciting packets in `sent` (ACK-only; bounded by MAX_NON_ELICITING). */
  nonEliciting: number;
  /** Ranges of the last ACK frame (descending): which packet numbers the peer reported. */
  lastAckRanges: readonly AckRange[];
}

const newSpace = <F>(): Space<F> => ({
  sent: [],
  largestSent: -1,
  largestAcked: -1,
  lossTime: null,
  timeOfLastAckEliciting: null,
  ackElicitingInFlight: 0,
  nonEliciting: 0,
  lastAckRanges: [],
});

/** Non-ack-eliciting packets tracked per space at most (a peer that never acknowledges them). */
export const MAX_NON_ELICITING = 1024;

/** Removes the index spans [from, to) (ascending, disjoint) from `arr`, in place. */
function removeSpans<T>(arr: T[], spans: ReadonlyArray<readonly [number, number]>): void {
  const first = spans[0];
  if (first === undefined) return;
  let w = first[0];
  for (let i = 0; i < spans.length; i++) {
    const to = (spans[i] as readonly [number, number])[1];
    const next = spans[i + 1]?.[0] ?? arr.length;
    arr.copyWithin(w, to, next);
    w += next - to;
  }
  arr.length = w;
}

/** First index in `sent` (ascending pn) whose pn is >= `pn`. */
function lowerBound<F>(sent: ReadonlyArray<SentPacket<F>>, pn: number): number {
  let lo = 0;
  let hi = sent.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sent[mid] as SentPacket<F>).pn < pn) lo = mid + 1;
    else hi = mid;
  }
  return lo;
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
  /**
   * Client: whether Handshake keys are available (the anti-deadlock probe space). Set by the
   * connection; also set here when a Handshake packet is sent or the Initial space discarded.
   */
  hasHandshakeKeys = false;
  /** Time of the first RTT sample (persistent congestion only counts packets sent after it). */
  firstRttSampleTime: number | null = null;

  private readonly spaces: [Space<F>, Space<F>, Space<F>];
  /** When the loss detection timer was last set (the anti-deadlock PTO runs from it). */
  private timerSetAt = 0;

  constructor(opts: RecoveryOptions) {
    this.rtt = new RttEstimator(opts.initialRttMs);
    this.cc = new NewReno(opts.maxDatagramSize);
    this.spaces = [newSpace<F>(), newSpace<F>(), newSpace<F>()];
  }

  onPacketSent(p: SentPacket<F>): void {
    const s = this.spaces[p.space];
    if (p.pn <= s.largestSent) throw new RangeError(`packet number ${p.pn} not above ${s.largestSent}`);
    s.largestSent = p.pn;
    s.sent.push(p);
    if (p.space === 1) this.hasHandshakeKeys = true;
    if (p.inFlight) {
      if (p.ackEliciting) s.timeOfLastAckEliciting = p.timeSent;
      this.cc.bytesInFlight += p.size;
    }
    if (p.ackEliciting) s.ackElicitingInFlight++;
    else if (++s.nonEliciting > MAX_NON_ELICITING) {
      // The peer only acknowledges these along with ack-eliciting ones: when it never does,
      // the oldest are given up (their bytes leave the flight, nothing is retransmitted).
      const i = s.sent.findIndex((q) => !q.ackEliciting);
      const old = s.sent[i] as SentPacket<F>;
      s.sent.splice(i, 1);
      this.forget(s, old);
      if (old.inFlight) this.cc.bytesInFlight -= old.size;
    }
    this.timerSetAt = p.timeSent;
  }

  /**
   * Processes an ACK frame of `space` (ranges descending, ackDelay in ms already decoded with the
   * peer's exponent). Returns null when the ACK acknowledges a packet never sent (the connection
   * closes with PROTOCOL_VIOLATION).
   */
  onAckReceived(space: SpaceId, ranges: readonly AckRange[], ackDelayMs: number, now: number): AckResult<F> | null {
    const s = this.spaces[space];
    const first = ranges[0];
    if (first === undefined) return {acked: [], lost: [], rttSampled: false};
    if (first.largest > s.largestSent) return null;
    s.largestAcked = Math.max(s.largestAcked, first.largest);
    s.lastAckRanges = ranges;
    // A Handshake ACK proves the server validated our address (RFC 9002 §A.6).
    if (space === 1) this.peerCompletedAddressValidation = true;

    // Newly acked: walk the sent packets inside each range (never the range span itself);
    // ranges are descending, so iterate them backwards for ascending packet numbers.
    const acked: Array<SentPacket<F>> = [];
    const spans: Array<[number, number]> = [];
    const sent = s.sent;
    let floor = 0; // ranges that overlap (never from the decoder) cannot ack a packet twice
    for (let i = ranges.length - 1; i >= 0; i--) {
      const r = ranges[i] as AckRange;
      const from = Math.max(floor, lowerBound(sent, r.smallest));
      let to = from;
      for (; to < sent.length; to++) {
        const p = sent[to] as SentPacket<F>;
        if (p.pn > r.largest) break;
        acked.push(p);
        this.forget(s, p);
      }
      if (to > from) spans.push([from, to]);
      floor = Math.max(floor, to);
    }
    if (acked.length === 0) return {acked, lost: [], rttSampled: false};
    removeSpans(sent, spans);

    let rttSampled = false;
    const largest = acked[acked.length - 1] as SentPacket<F>;
    if (largest.pn === first.largest && acked.some((p) => p.ackEliciting)) {
      // Initial/Handshake ACKs are not delayed (RFC 9000 §13.2.1): their delay is ignored, as quic-go does.
      this.rtt.update(now - largest.timeSent, space === 2 ? ackDelayMs : 0, this.handshakeConfirmed, this.peerMaxAckDelay);
      if (this.firstRttSampleTime === null) this.firstRttSampleTime = now;
      rttSampled = true;
    }

    const lost = this.detectAndRemoveLost(space, now);
    if (lost.length > 0) this.onPacketsLost(space, lost, now);
    for (const p of acked) {
      if (!p.inFlight) continue;
      this.cc.bytesInFlight -= p.size;
      this.cc.onPacketAcked(p.size, p.timeSent);
    }
    // A client unsure whether the server validated its address keeps backing off (§A.7).
    if (this.addressValidated()) this.ptoCount = 0;
    this.timerSetAt = now;
    return {acked, lost, rttSampled};
  }

  /** Absolute time (ms) of the loss detection timer (time-threshold loss or PTO), or null. */
  lossDetectionTimer(): number | null {
    const loss = this.earliestLossTime();
    if (loss !== null) return loss.time;
    // No amplification limit over the mesh: the server's timer is never held back by it.
    if (!this.hasAckElicitingInFlight() && this.addressValidated()) return null;
    return this.ptoTimeAndSpace()?.time ?? null;
  }

  /**
   * The loss detection timer fired: returns packets now lost (time threshold), or, on PTO, the
   * space to probe and how many ack-eliciting probe packets to send (1 or 2).
   * Probes: 2 in the application space (a single lost datagram does not cost another PTO),
   * 1 in Initial/Handshake (a coalesced datagram carries both). Called before the timer's time
   * (or with no timer) it does nothing.
   */
  onLossDetectionTimeout(now: number): {lost: Array<SentPacket<F>>; probe: {space: SpaceId; count: number} | null} {
    const timer = this.lossDetectionTimer();
    if (timer === null || now < timer) return {lost: [], probe: null};
    const loss = this.earliestLossTime();
    if (loss !== null) {
      const lost = this.detectAndRemoveLost(loss.space, now);
      if (lost.length > 0) this.onPacketsLost(loss.space, lost, now);
      this.timerSetAt = now;
      return {lost, probe: null};
    }
    let probe: {space: SpaceId; count: number};
    if (!this.hasAckElicitingInFlight()) {
      // Client anti-deadlock probe: a Handshake packet if it can, else a padded Initial.
      probe = {space: this.hasHandshakeKeys ? 1 : 0, count: 1};
    } else {
      const pto = this.ptoTimeAndSpace();
      const space = pto?.space ?? 2;
      probe = {space, count: space === 2 ? 2 : 1};
    }
    this.ptoCount++;
    this.timerSetAt = now;
    return {lost: [], probe};
  }

  /** Drops a space's keys (Initial/Handshake discarded): its packets leave bytes in flight, unacked. */
  discardSpace(space: SpaceId): void {
    const s = this.spaces[space];
    for (const p of s.sent) if (p.inFlight) this.cc.bytesInFlight -= p.size;
    s.sent = [];
    s.ackElicitingInFlight = 0;
    s.nonEliciting = 0;
    s.timeOfLastAckEliciting = null;
    s.lossTime = null;
    s.lastAckRanges = [];
    if (space === 0) this.hasHandshakeKeys = true;
    this.ptoCount = 0;
  }

  /** Largest packet number of `space` the peer acknowledged (-1 for none): for packet number encoding. */
  largestAcked(space: SpaceId): number {
    return this.spaces[space].largestAcked;
  }

  /** Whether any ack-eliciting packet of `space` awaits acknowledgement. */
  hasAckElicitingInFlight(space?: SpaceId): boolean {
    if (space !== undefined) return this.spaces[space].ackElicitingInFlight > 0;
    return this.spaces.some((s) => s.ackElicitingInFlight > 0);
  }

  /** Bytes that may be sent now (congestion window minus bytes in flight, ≥ 0). */
  sendAllowance(): number {
    return this.cc.available();
  }

  /** Packets of `space` awaiting acknowledgement (ascending packet numbers), for stats and tests. */
  outstanding(space: SpaceId): ReadonlyArray<SentPacket<F>> {
    return this.spaces[space].sent;
  }

  /** Persistent congestion duration (§7.6.1). */
  persistentCongestionDuration(): number {
    return (this.rtt.smoothedRtt + Math.max(4 * this.rtt.rttvar, kGranularity) + this.peerMaxAckDelay) * kPersistentCongestionThreshold;
  }

  /** Counters of a packet leaving the record (acked, lost or given up). */
  private forget(s: Space<F>, p: SentPacket<F>): void {
    if (p.ackEliciting) s.ackElicitingInFlight--;
    else s.nonEliciting--;
  }

  private addressValidated(): boolean {
    return this.peerCompletedAddressValidation || this.handshakeConfirmed;
  }

  /** §A.10 DetectAndRemoveLostPackets. */
  private detectAndRemoveLost(space: SpaceId, now: number): Array<SentPacket<F>> {
    const s = this.spaces[space];
    s.lossTime = null;
    const lost: Array<SentPacket<F>> = [];
    if (s.largestAcked < 0) return lost;
    const lossDelay = Math.max(kTimeThreshold * Math.max(this.rtt.latestRtt, this.rtt.smoothedRtt), kGranularity);
    const lostSendTime = now - lossDelay;
    // Only packets up to the largest acknowledged can be lost; compact those in place.
    const sent = s.sent;
    const end = lowerBound(sent, s.largestAcked + 1);
    let w = 0;
    for (let i = 0; i < end; i++) {
      const p = sent[i] as SentPacket<F>;
      if (p.timeSent <= lostSendTime || s.largestAcked >= p.pn + kPacketThreshold) {
        lost.push(p);
        this.forget(s, p);
      } else {
        sent[w++] = p;
        const t = p.timeSent + lossDelay;
        s.lossTime = s.lossTime === null ? t : Math.min(s.lossTime, t);
      }
    }
    if (w < end) removeSpans(sent, [[w, end]]);
    return lost;
  }

  /** §B.8 OnPacketsLost: bytes in flight, the congestion event, persistent congestion. */
  private onPacketsLost(space: SpaceId, lost: ReadonlyArray<SentPacket<F>>, now: number): void {
    let lastLossSent: number | null = null;
    for (const p of lost) {
      if (!p.inFlight) continue;
      this.cc.bytesInFlight -= p.size;
      lastLossSent = lastLossSent === null ? p.timeSent : Math.max(lastLossSent, p.timeSent);
    }
    if (lastLossSent !== null) this.cc.onCongestionEvent(lastLossSent, now);
    const firstSample = this.firstRttSampleTime;
    if (firstSample === null) return;
    const candidates = lost.filter((p) => p.timeSent > firstSample);
    if (this.inPersistentCongestion(space, candidates)) {
      this.cc.onPersistentCongestion();
      // §5.2: min_rtt restarts from the newest sample after persistent congestion.
      this.rtt.minRtt = this.rtt.latestRtt;
    }
  }

  /**
   * §7.6.2: two ack-eliciting lost packets sent more than the persistent congestion duration
   * apart with no packet acknowledged in between. Checked within the space of the loss (the
   * others are quiet by then: Initial/Handshake are discarded early); "acknowledged in between"
   * is read from the space's latest ACK ranges, which report every packet number received.
   */
  private inPersistentCongestion(space: SpaceId, lost: ReadonlyArray<SentPacket<F>>): boolean {
    if (lost.length < 2) return false;
    const duration = this.persistentCongestionDuration();
    const ranges = this.spaces[space].lastAckRanges;
    let k = ranges.length - 1; // ascending walk over descending ranges
    let runStart: number | null = null;
    let prevPn = -1;
    for (const p of lost) {
      if (runStart !== null) {
        while (k >= 0 && (ranges[k] as AckRange).largest <= prevPn) k--;
        const r = ranges[k];
        if (r !== undefined && r.smallest < p.pn) runStart = null; // something between was acked
      }
      prevPn = p.pn;
      if (!p.ackEliciting) continue;
      if (runStart === null) runStart = p.timeSent;
      else if (p.timeSent - runStart > duration) return true;
    }
    return false;
  }

  private earliestLossTime(): {time: number; space: SpaceId} | null {
    let best: {time: number; space: SpaceId} | null = null;
    for (const space of [0, 1, 2] as const) {
      const t = this.spaces[space].lossTime;
      if (t !== null && (best === null || t < best.time)) best = {time: t, space};
    }
    return best;
  }

  /** §A.8 GetPtoTimeAndSpace; null when no space may arm a PTO. */
  private ptoTimeAndSpace(): {time: number; space: SpaceId} | null {
    const backoff = 2 ** this.ptoCount;
    let duration = (this.rtt.smoothedRtt + Math.max(4 * this.rtt.rttvar, kGranularity)) * backoff;
    if (!this.hasAckElicitingInFlight()) {
      // Client anti-deadlock PTO, from when the timer was last set.
      return {time: this.timerSetAt + duration, space: this.hasHandshakeKeys ? 1 : 0};
    }
    let best: {time: number; space: SpaceId} | null = null;
    for (const space of [0, 1, 2] as const) {
      const s = this.spaces[space];
      if (s.ackElicitingInFlight === 0 || s.timeOfLastAckEliciting === null) continue;
      if (space === 2) {
        // The application space is not armed before the handshake is confirmed.
        if (!this.handshakeConfirmed) return best;
        duration += this.peerMaxAckDelay * backoff;
      }
      const t = s.timeOfLastAckEliciting + duration;
      if (best === null || t < best.time) best = {time: t, space};
    }
    return best;
  }
}

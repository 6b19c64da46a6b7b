/** Loss detection and congestion control (RFC 9002): RTT, loss, PTO, NewReno, with the RFC's formulas. */
import {expect} from 'chai';
import fc from 'fast-check';
import {ackRangesFrom} from '../../../src/core/netceptor/quic/ts/frames.js';
import {LossRecovery, MAX_NON_ELICITING, NewReno, RttEstimator, type SentPacket, type SpaceId} from '../../../src/core/netceptor/quic/ts/recovery.js';

const pkt = (pn: number, timeSent: number, space: SpaceId = 2, size = 1200, ackEliciting = true): SentPacket<string> => ({
  pn,
  space,
  timeSent,
  size,
  ackEliciting,
  inFlight: ackEliciting,
  frames: `p${space}.${pn}`,
});
const pns = (ps: ReadonlyArray<SentPacket<string>>): number[] => ps.map((p) => p.pn);
const recovery = (confirmed = true): LossRecovery<string> => {
  const r = new LossRecovery<string>({maxDatagramSize: 1200});
  r.handshakeConfirmed = confirmed;
  return r;
};
const r1 = (smallest: number, largest = smallest): {smallest: number; largest: number} => ({smallest, largest});

describe('quic-ts RttEstimator (RFC 9002 §5)', () => {
  it('starts from kInitialRtt', () => {
    const e = new RttEstimator();
    expect([e.smoothedRtt, e.rttvar, e.minRtt, e.hasSample]).to.deep.equal([333, 166.5, Infinity, false]);
    expect(e.pto(25, false)).to.equal(333 + 666);
    expect(e.pto(25, true)).to.equal(333 + 666 + 25);
  });

  it('takes the first sample as is', () => {
    const e = new RttEstimator();
    e.update(100, 40, true, 25);
    expect([e.latestRtt, e.smoothedRtt, e.rttvar, e.minRtt, e.hasSample]).to.deep.equal([100, 100, 50, 100, true]);
  });

  it('subtracts the ack delay when plausible', () => {
    const e = new RttEstimator();
    e.update(100, 0, true, 25);
    e.update(120, 10, true, 25); // adjusted 110
    expect(e.rttvar).to.equal(0.75 * 50 + 0.25 * 10);
    expect(e.smoothedRtt).to.equal(0.875 * 100 + 0.125 * 110);
    expect(e.minRtt).to.equal(100);
  });

  it('caps the ack delay by max_ack_delay once the handshake is confirmed, not before', () => {
    const a = new RttEstimator();
    a.update(100, 0, true, 25);
    a.update(200, 100, true, 25); // adjusted 175
    expect(a.smoothedRtt).to.equal(0.875 * 100 + 0.125 * 175);
    expect(a.rttvar).to.equal(0.75 * 50 + 0.25 * 75);
    const b = new RttEstimator();
    b.update(100, 0, false, 25);
    b.update(200, 100, false, 25); // adjusted 100
    expect(b.smoothedRtt).to.equal(100);
    expect(b.rttvar).to.equal(37.5);
  });

  it('does not subtract the ack delay below min_rtt; min_rtt ignores it', () => {
    const e = new RttEstimator();
    e.update(100, 0, true, 25);
    e.update(105, 10, true, 25); // 105 < 100 + 10: adjusted 105
    expect(e.smoothedRtt).to.equal(0.875 * 100 + 0.125 * 105);
    e.update(80, 50, true, 25);
    expect(e.minRtt).to.equal(80);
    expect(e.latestRtt).to.equal(80);
  });

  it('PTO has a 1 ms granularity floor on the variance term', () => {
    const e = new RttEstimator();
    e.update(10, 0, true, 25);
    for (let i = 0; i < 200; i++) e.update(10, 0, true, 25);
    expect(e.rttvar).to.be.below(0.25);
    expect(e.pto(25, false)).to.equal(e.smoothedRtt + 1);
  });
});

describe('quic-ts NewReno (RFC 9002 §7, Appendix B)', () => {
  it('initial and minimum windows follow the datagram size', () => {
    const w = (mds: number): number[] => {
      const c = new NewReno(mds);
      return [c.congestionWindow, c.minimumWindow];
    };
    expect(w(1200)).to.deep.equal([12000, 2400]);
    expect(w(1452)).to.deep.equal([14520, 2904]); // towards quic-go
    expect(w(16349)).to.deep.equal([32698, 32698]); // between our own nodes
  });

  it('slow start adds the acked bytes; congestion avoidance one datagram per window', () => {
    const c = new NewReno(1200);
    c.onPacketAcked(1200, 0);
    expect(c.congestionWindow).to.equal(13200);
    c.ssthresh = 13200;
    c.onPacketAcked(1200, 1);
    expect(c.congestionWindow).to.equal(13200 + (1200 * 1200) / 13200);
  });

  it('reduces once per recovery period, does not grow inside it, floors at the minimum window', () => {
    const c = new NewReno(1200);
    c.onCongestionEvent(5, 10);
    expect([c.congestionWindow, c.ssthresh, c.recoveryStartTime]).to.deep.equal([6000, 6000, 10]);
    c.onCongestionEvent(8, 20); // sent before recovery started: same event
    expect(c.congestionWindow).to.equal(6000);
    c.onPacketAcked(1200, 10);
    expect(c.congestionWindow).to.equal(6000);
    c.onPacketAcked(1200, 11); // sent after: congestion avoidance (cwnd == ssthresh)
    expect(c.congestionWindow).to.equal(6240);
    c.onCongestionEvent(11, 30);
    expect([c.congestionWindow, c.ssthresh]).to.deep.equal([3120, 3120]);
    c.onCongestionEvent(31, 40);
    expect([c.congestionWindow, c.ssthresh]).to.deep.equal([2400, 1560]);
  });

  it('available() is the window minus bytes in flight, never negative', () => {
    const c = new NewReno(1200);
    c.bytesInFlight = 5000;
    expect(c.available()).to.equal(7000);
    c.bytesInFlight = 20000;
    expect(c.available()).to.equal(0);
  });
});

describe('quic-ts LossRecovery (RFC 9002 §6, Appendix A)', () => {
  it('acks packets from descending ranges, samples the RTT, keeps bytes in flight', () => {
    const r = recovery();
    for (let pn = 0; pn < 6; pn++) r.onPacketSent(pkt(pn, 50 + pn));
    expect(r.cc.bytesInFlight).to.equal(7200);
    expect(r.sendAllowance()).to.equal(12000 - 7200);
    const res = r.onAckReceived(2, [r1(4, 5), r1(1, 2)], 5, 85)!;
    expect(pns(res.acked)).to.deep.equal([1, 2, 4, 5]);
    expect(res.acked[0]!.frames).to.equal('p2.1');
    expect(res.rttSampled).to.equal(true);
    expect(r.rtt.latestRtt).to.equal(30); // 85 - 55
    expect(r.rtt.smoothedRtt).to.equal(30); // first sample: ack delay not used
    expect(pns(res.lost)).to.deep.equal([0]); // 5 >= 0 + 3; 3 is within both thresholds (53 > 85 - 33.75)
    expect(r.largestAcked(2)).to.equal(5);
    expect(pns(r.outstanding(2))).to.deep.equal([3]);
    expect(r.cc.bytesInFlight).to.equal(1200);
  });

  it('takes no RTT sample unless the largest acknowledged is newly acked and ack-eliciting was acked', () => {
    const r = recovery();
    r.onPacketSent(pkt(0, 0));
    r.onPacketSent(pkt(1, 10, 2, 50, false)); // ACK-only packet
    expect(r.cc.bytesInFlight).to.equal(1200);
    expect(r.onAckReceived(2, [r1(1)], 0, 100)!.rttSampled).to.equal(false); // only non-eliciting acked
    expect(r.rtt.hasSample).to.equal(false);
    const again = r.onAckReceived(2, [r1(0, 1)], 0, 120)!;
    expect(pns(again.acked)).to.deep.equal([0]);
    expect(again.rttSampled).to.equal(false); // largest (1) was not newly acked
    expect(r.onAckReceived(2, [r1(0, 1)], 0, 130)).to.deep.equal({acked: [], lost: [], rttSampled: false});
  });

  it('uses the ack delay in the application space only', () => {
    const r = recovery();
    r.onPacketSent(pkt(0, 0, 0));
    r.onPacketSent(pkt(1, 0, 0));
    r.onPacketSent(pkt(0, 0, 2));
    r.onPacketSent(pkt(1, 0, 2));
    r.onAckReceived(0, [r1(0)], 0, 100);
    r.onAckReceived(0, [r1(1)], 15, 120); // Initial: delay ignored (else 105), adjusted 120
    expect(r.rtt.smoothedRtt).to.equal(0.875 * 100 + 0.125 * 120);
    const s = r.rtt.smoothedRtt;
    r.onAckReceived(2, [r1(0)], 20, 140); // app: 140 - 20
    expect(r.rtt.smoothedRtt).to.equal(0.875 * s + 0.125 * 120);
  });

  it('returns null for an ACK of a packet number never sent, changing nothing', () => {
    const r = recovery();
    expect(r.onAckReceived(2, [r1(0)], 0, 10)).to.equal(null);
    for (let pn = 0; pn < 3; pn++) r.onPacketSent(pkt(pn, pn));
    expect(r.onAckReceived(2, [r1(0, 3)], 0, 10)).to.equal(null);
    expect(r.onAckReceived(1, [r1(0)], 0, 10)).to.equal(null); // other space: nothing sent there
    expect(r.largestAcked(2)).to.equal(-1);
    expect(r.outstanding(2)).to.have.length(3);
    expect(r.cc.bytesInFlight).to.equal(3600);
  });

  it('a hostile ACK range spanning 2^53 packet numbers costs only the packets sent', () => {
    const r = recovery();
    r.onPacketSent(pkt(0, 0));
    r.onPacketSent(pkt(2 ** 52, 1));
    // 4000 ranges of 2^40 packet numbers each, then one at the bottom
    const ranges = Array.from({length: 4000}, (_, i) => r1(2 ** 52 - (i + 1) * 2 ** 40 + 2, 2 ** 52 - i * 2 ** 40));
    ranges.push(r1(0, 5));
    const t0 = process.hrtime.bigint();
    const res = r.onAckReceived(2, ranges, 0, 10)!;
    expect(Number(process.hrtime.bigint() - t0) / 1e6).to.be.below(500);
    expect(pns(res.acked)).to.deep.equal([0, 2 ** 52]);
    // overlapping, unordered ranges (the decoder never gives these) never ack a packet twice
    const odd = recovery();
    for (let pn = 0; pn < 6; pn++) odd.onPacketSent(pkt(pn, pn));
    const got = pns(odd.onAckReceived(2, [r1(3, 5), r1(0, 4), r1(1, 2)], 0, 10)!.acked);
    expect(got).to.deep.equal([...new Set(got)].sort((a, b) => a - b));
    expect(odd.cc.bytesInFlight).to.equal(1200 * odd.outstanding(2).length);
    const big = recovery();
    big.onPacketSent(pkt(0, 0));
    big.onPacketSent(pkt(2 ** 53 - 1, 1));
    expect(pns(big.onAckReceived(2, [r1(0, 2 ** 53 - 1)], 0, 10)!.acked)).to.deep.equal([0, 2 ** 53 - 1]);
  });

  it('declares loss by packet threshold at once and by time threshold from the loss timer', () => {
    const r = recovery();
    for (let pn = 0; pn < 5; pn++) r.onPacketSent(pkt(pn, pn));
    const res = r.onAckReceived(2, [r1(3, 4)], 0, 50)!;
    expect(pns(res.acked)).to.deep.equal([3, 4]);
    expect(pns(res.lost)).to.deep.equal([0, 1]);
    // latest = smoothed = 46: loss delay 9/8 × 46 = 51.75 from pn 2's send time
    expect(r.lossDetectionTimer()).to.equal(2 + 51.75);
    expect(r.onLossDetectionTimeout(53)).to.deep.equal({lost: [], probe: null}); // early: nothing
    const t = r.onLossDetectionTimeout(53.75);
    expect(pns(t.lost)).to.deep.equal([2]);
    expect(t.probe).to.equal(null);
    expect(r.cc.bytesInFlight).to.equal(0);
    expect(r.lossDetectionTimer()).to.equal(null); // nothing in flight, address validated
    expect(r.ptoCount).to.equal(0);
  });

  it('declares loss by time threshold on an ACK', () => {
    const r = recovery();
    r.onPacketSent(pkt(0, 0));
    r.onPacketSent(pkt(1, 100));
    const res = r.onAckReceived(2, [r1(1)], 0, 110)!; // rtt 10: sent before 110 - 11.25
    expect(pns(res.lost)).to.deep.equal([0]);
    expect(r.lossDetectionTimer()).to.equal(null);
  });

  it('time threshold uses max(latest, smoothed) and at least kGranularity', () => {
    const r = recovery();
    r.onPacketSent(pkt(0, 0));
    r.onPacketSent(pkt(1, 0.5));
    r.onPacketSent(pkt(2, 0.6));
    r.onAckReceived(2, [r1(2)], 0, 0.7); // rtt 0.1 ms: loss delay floors at 1 ms
    expect(r.lossDetectionTimer()).to.equal(0 + 1);
    expect(pns(r.onLossDetectionTimeout(1).lost)).to.deep.equal([0]);
    expect(r.lossDetectionTimer()).to.equal(1.5);
  });

  it('arms the PTO from the last ack-eliciting packet, with max_ack_delay and backoff in the application space', () => {
    const r = recovery();
    r.onPacketSent(pkt(0, 1000));
    // 333 + 4 × 166.5 + 25
    expect(r.lossDetectionTimer()).to.equal(1000 + 1024);
    expect(r.onLossDetectionTimeout(2000)).to.deep.equal({lost: [], probe: null});
    expect(r.onLossDetectionTimeout(2024)).to.deep.equal({lost: [], probe: {space: 2, count: 2}});
    expect(r.ptoCount).to.equal(1);
    expect(r.lossDetectionTimer()).to.equal(1000 + 2 * 1024);
    r.onLossDetectionTimeout(3048);
    expect(r.lossDetectionTimer()).to.equal(1000 + 4 * 1024);
    r.onPacketSent(pkt(1, 5100)); // a probe: the PTO runs from the newest ack-eliciting packet
    expect(r.lossDetectionTimer()).to.equal(5100 + 4 * 1024);
    expect(pns(r.onAckReceived(2, [r1(1)], 0, 5200)!.lost)).to.deep.equal([0]); // by time: rtt 100
    expect(r.ptoCount).to.equal(0);
    expect(r.lossDetectionTimer()).to.equal(null);
  });

  it('does not arm the application PTO before the handshake is confirmed; handshake spaces have no max_ack_delay', () => {
    const r = recovery(false);
    r.onPacketSent(pkt(0, 0, 2));
    expect(r.lossDetectionTimer()).to.equal(null);
    r.onPacketSent(pkt(0, 10, 1));
    expect(r.lossDetectionTimer()).to.equal(10 + 999);
    r.onPacketSent(pkt(0, 5, 0));
    expect(r.lossDetectionTimer()).to.equal(5 + 999); // the earliest space
    expect(r.onLossDetectionTimeout(1004).probe).to.deep.equal({space: 0, count: 1});
    expect(r.lossDetectionTimer()).to.equal(5 + 2 * 999);
    r.handshakeConfirmed = true;
    r.discardSpace(0);
    r.discardSpace(1);
    expect(r.lossDetectionTimer()).to.equal(0 + 1024);
  });

  it('discardSpace removes its bytes in flight and timers and resets the PTO count', () => {
    const r = recovery(false);
    r.onPacketSent(pkt(0, 0, 0));
    r.onPacketSent(pkt(1, 1, 0));
    r.onPacketSent(pkt(0, 2, 1));
    r.onLossDetectionTimeout(1000);
    expect(r.ptoCount).to.equal(1);
    expect(r.cc.bytesInFlight).to.equal(3600);
    r.discardSpace(0);
    expect(r.ptoCount).to.equal(0);
    expect(r.cc.bytesInFlight).to.equal(1200);
    expect(r.hasAckElicitingInFlight(0)).to.equal(false);
    expect(r.hasAckElicitingInFlight(1)).to.equal(true);
    expect(r.hasAckElicitingInFlight()).to.equal(true);
    expect(r.outstanding(0)).to.have.length(0);
    expect(r.lossDetectionTimer()).to.equal(2 + 999);
  });

  it('a client without address validation keeps its PTO count on ACKs and arms the anti-deadlock PTO', () => {
    const r = recovery(false);
    r.peerCompletedAddressValidation = false;
    r.onPacketSent(pkt(0, 0, 0));
    r.onLossDetectionTimeout(999);
    expect(r.ptoCount).to.equal(1);
    r.onPacketSent(pkt(1, 1000, 0));
    r.onAckReceived(0, [r1(0, 1)], 0, 1100); // Initial ACK: the server may still be amplification-limited
    expect(r.ptoCount).to.equal(1);
    expect(r.hasAckElicitingInFlight()).to.equal(false);
    // nothing in flight: the timer still runs, from now (rtt 100, rttvar 50), backed off
    expect(r.lossDetectionTimer()).to.equal(1100 + 300 * 2);
    expect(r.onLossDetectionTimeout(1700).probe).to.deep.equal({space: 0, count: 1});
    r.hasHandshakeKeys = true;
    expect(r.lossDetectionTimer()).to.equal(1700 + 300 * 4);
    expect(r.onLossDetectionTimeout(2900).probe).to.deep.equal({space: 1, count: 1});
    // a Handshake ACK completes address validation: the count resets, the timer stops
    r.onPacketSent(pkt(0, 3000, 1));
    r.onAckReceived(1, [r1(0)], 0, 3100);
    expect(r.ptoCount).to.equal(0);
    expect(r.lossDetectionTimer()).to.equal(null);
  });

  it('a loss enters recovery once; acks of packets sent before it do not grow the window', () => {
    const r = recovery();
    for (let pn = 0; pn < 5; pn++) r.onPacketSent(pkt(pn, pn));
    r.onAckReceived(2, [r1(3, 4)], 0, 50);
    expect(r.cc.congestionWindow).to.equal(6000);
    expect(r.cc.recoveryStartTime).to.equal(50);
    r.onLossDetectionTimeout(53.75); // pn 2, sent before recovery started
    expect(r.cc.congestionWindow).to.equal(6000);
    r.onPacketSent(pkt(5, 60));
    r.onAckReceived(2, [r1(5)], 0, 110); // sent after: congestion avoidance
    expect(r.cc.congestionWindow).to.equal(6000 + (1200 * 1200) / 6000);
  });

  it('bounds the ACK-only packets it tracks when the peer never acknowledges them', () => {
    const r = recovery();
    r.onPacketSent(pkt(0, 0));
    for (let pn = 1; pn <= MAX_NON_ELICITING + 10; pn++) r.onPacketSent(pkt(pn, pn, 2, 40, false));
    r.onPacketSent({...pkt(MAX_NON_ELICITING + 11, 2000, 2, 1200, false), inFlight: true}); // padding-only, in flight
    const out = r.outstanding(2);
    expect(out).to.have.length(MAX_NON_ELICITING + 1);
    expect(pns(out.slice(0, 2))).to.deep.equal([0, 12]); // the ack-eliciting one stays, the oldest ACK-only ones went
    expect(r.cc.bytesInFlight).to.equal(2400);
    for (let pn = MAX_NON_ELICITING + 12; pn < MAX_NON_ELICITING + 12 + MAX_NON_ELICITING; pn++) r.onPacketSent(pkt(pn, 3000, 2, 40, false));
    expect(r.cc.bytesInFlight).to.equal(1200); // the padding-only packet was given up too
    expect(r.hasAckElicitingInFlight(2)).to.equal(true);
  });

  it('property: any ACK sequence keeps the record, counters and bytes in flight consistent', () => {
    const arb = fc.record({
      gaps: fc.array(fc.nat({max: 3}), {minLength: 1, maxLength: 80}),
      kinds: fc.array(fc.nat({max: 3}), {minLength: 80, maxLength: 80}),
      acks: fc.array(fc.array(fc.nat({max: 400}), {maxLength: 60}), {maxLength: 6}),
    });
    fc.assert(
      fc.property(arb, ({gaps, kinds, acks}) => {
        const r = recovery();
        const sent = new Map<number, SentPacket<string>>();
        let pn = -1;
        gaps.forEach((g, i) => {
          pn += g + 1;
          const kind = kinds[i]!;
          const p = {...pkt(pn, i, 2, 100 + i, kind !== 0), inFlight: kind !== 0 || i % 2 === 0};
          sent.set(pn, p);
          r.onPacketSent(p);
        });
        const gone = new Set<number>();
        let t = 1000;
        for (const ackPns of acks) {
          const ranges = ackRangesFrom(
            ackPns.filter((n) => n <= pn),
            1000,
          );
          if (ranges.length === 0) continue;
          const res = r.onAckReceived(2, ranges, 0, (t += 10))!;
          const covered = (n: number): boolean => ranges.some((x) => x.smallest <= n && n <= x.largest);
          const want = [...sent.keys()].filter((n) => covered(n) && !gone.has(n));
          expect(pns(res.acked)).to.deep.equal(want);
          for (const p of [...res.acked, ...res.lost]) {
            expect(gone.has(p.pn)).to.equal(false);
            gone.add(p.pn);
          }
          for (const p of res.lost) expect(p.pn).to.be.at.most(r.largestAcked(2));
        }
        const left = [...sent.values()].filter((p) => !gone.has(p.pn));
        expect(pns(r.outstanding(2))).to.deep.equal(pns(left));
        expect(r.cc.bytesInFlight).to.equal(left.filter((p) => p.inFlight).reduce((a, p) => a + p.size, 0));
        expect(r.hasAckElicitingInFlight(2)).to.equal(left.some((p) => p.ackEliciting));
        expect(r.onAckReceived(2, [{smallest: 0, largest: pn + 1}], 0, t)).to.equal(null);
      }),
      {numRuns: 300},
    );
  });

  describe('persistent congestion (§7.6)', () => {
    /** RTT sample 100 at t=100, then pn 1..4 sent at 200, 700, 1300, 1400; the ACK at 1500. */
    const scenario = (ranges: Array<{smallest: number; largest: number}>, times = [200, 700, 1300, 1400]): LossRecovery<string> => {
      const r = recovery();
      r.onPacketSent(pkt(0, 0));
      r.onAckReceived(2, [r1(0)], 0, 100);
      expect(r.cc.congestionWindow).to.equal(13200);
      times.forEach((t, i) => r.onPacketSent(pkt(i + 1, t)));
      r.onAckReceived(2, ranges, 0, 1500);
      return r;
    };

    it('collapses the window when lost ack-eliciting packets span more than the duration', () => {
      const r = scenario([r1(4)]);
      // rtt 100 again: rttvar 37.5; (100 + 150 + 25) × 3 = 825 < 1300 - 200
      expect(r.persistentCongestionDuration()).to.equal(825);
      expect(r.cc.ssthresh).to.equal(6600);
      expect(r.cc.recoveryStartTime).to.equal(-Infinity);
      // the minimum window, then pn 4's ACK in slow start (no recovery period left, as in §B.8)
      expect(r.cc.congestionWindow).to.equal(2400 + 1200);
    });

    it('restarts min_rtt from the newest sample (§5.2)', () => {
      const r = recovery();
      r.onPacketSent(pkt(0, 0));
      r.onAckReceived(2, [r1(0)], 0, 50);
      [200, 700, 1300, 1400].forEach((t, i) => r.onPacketSent(pkt(i + 1, t)));
      r.onAckReceived(2, [r1(4)], 0, 1600); // latest 200; duration (68.75 + 225 + 25) × 3
      expect(r.persistentCongestionDuration()).to.equal(956.25);
      expect(r.cc.ssthresh).to.equal(6600);
      expect(r.rtt.minRtt).to.equal(200);
    });

    it('not when a packet sent in between was acknowledged', () => {
      const r = scenario([r1(4), r1(2)]);
      expect(r.cc.congestionWindow).to.equal(6600);
    });

    it('not when the span is within the duration', () => {
      const r = scenario([r1(4)], [600, 700, 1300, 1400]); // 1300 - 600 = 700 <= 825
      expect(r.cc.congestionWindow).to.equal(6600);
    });

    it('not for packets sent before the first RTT sample', () => {
      const r = recovery();
      r.onPacketSent(pkt(0, 0));
      r.onPacketSent(pkt(1, 10));
      r.onPacketSent(pkt(2, 2000));
      r.onPacketSent(pkt(3, 2100));
      r.onPacketSent(pkt(4, 2200));
      r.onAckReceived(2, [r1(4)], 0, 2300); // first sample now: 0..2 are lost but sent before it
      expect(r.rtt.smoothedRtt).to.equal(100);
      expect(r.cc.congestionWindow).to.equal(6000);
    });
  });
});

/** Received-packet tracking (RFC 9000 §13.2): duplicates, ranges, ack timing, ACK frames, bounds. */
import {expect} from 'chai';
import fc from 'fast-check';
import {AckTracker, type AckTrackerOptions} from '../../../src/core/netceptor/quic/ts/ack.js';
import {ackRangesFrom, decodeFrame, encodeFrame, type AckRange} from '../../../src/core/netceptor/quic/ts/frames.js';

const tracker = (o: Partial<AckTrackerOptions> = {}): AckTracker => new AckTracker({maxAckDelayMs: 25, ackDelayExponent: 3, ...o});
const recv = (t: AckTracker, pns: number[], now = 0, eliciting = true): void => {
  for (const pn of pns) t.onPacketReceived(pn, eliciting, now);
};

describe('quic-ts AckTracker', () => {
  it('starts empty', () => {
    const t = tracker();
    expect(t.largestReceived).to.equal(-1);
    expect(t.isDuplicate(0)).to.equal(false);
    expect(t.hasUnacked()).to.equal(false);
    expect(t.ackDeadline()).to.equal(null);
    expect(t.ackDue(1e9)).to.equal(false);
    expect(t.buildAck(0)).to.equal(null);
    expect(t.ranges()).to.deep.equal([]);
  });

  it('detects duplicates and keeps the largest received', () => {
    const t = tracker();
    recv(t, [0, 1, 2, 7]);
    expect(t.largestReceived).to.equal(7);
    for (const pn of [0, 1, 2, 7]) expect(t.isDuplicate(pn), `pn ${pn}`).to.equal(true);
    for (const pn of [3, 4, 5, 6, 8, 100]) expect(t.isDuplicate(pn), `pn ${pn}`).to.equal(false);
    t.onPacketReceived(1, true, 5); // a duplicate is ignored
    expect(t.ranges()).to.deep.equal([
      {smallest: 7, largest: 7},
      {smallest: 0, largest: 2},
    ]);
  });

  it('merges ranges as reordered packets fill the gaps', () => {
    const t = tracker();
    recv(t, [0, 1, 3, 5, 4]);
    expect(t.ranges()).to.deep.equal([
      {smallest: 3, largest: 5},
      {smallest: 0, largest: 1},
    ]);
    recv(t, [2]);
    expect(t.ranges()).to.deep.equal([{smallest: 0, largest: 5}]);
    recv(t, [10, 8]);
    expect(t.ranges()).to.deep.equal([
      {smallest: 10, largest: 10},
      {smallest: 8, largest: 8},
      {smallest: 0, largest: 5},
    ]);
    recv(t, [9, 6]);
    expect(t.ranges()).to.deep.equal([
      {smallest: 8, largest: 10},
      {smallest: 0, largest: 6},
    ]);
    expect(t.largestReceived).to.equal(10);
  });

  it('acknowledges after two ack-eliciting packets, or at the delayed-ack deadline', () => {
    const t = tracker();
    t.onPacketReceived(0, true, 10);
    expect(t.ackDue(10)).to.equal(false);
    expect(t.ackDeadline()).to.equal(35); // first unacked ack-eliciting arrival + max_ack_delay
    expect(t.ackDue(34.9)).to.equal(false);
    expect(t.ackDue(35)).to.equal(true);
    t.onPacketReceived(1, true, 12);
    expect(t.ackDue(12)).to.equal(true);
    expect(t.ackDeadline()).to.equal(10);
    t.onAckSent();
    expect(t.ackDue(1000)).to.equal(false);
    expect(t.ackDeadline()).to.equal(null);
    // the deadline runs from the first packet after the ACK
    t.onPacketReceived(2, true, 50);
    expect(t.ackDeadline()).to.equal(75);
  });

  it('honours a custom threshold', () => {
    const t = tracker({ackElicitingThreshold: 3});
    recv(t, [0, 1], 0);
    expect(t.ackDue(0)).to.equal(false);
    recv(t, [2], 0);
    expect(t.ackDue(0)).to.equal(true);
  });

  it('does not ack non-ack-eliciting packets on their own but reports them as unacked', () => {
    const t = tracker();
    recv(t, [0, 1, 2, 3], 0, false);
    expect(t.ackDue(1e6)).to.equal(false);
    expect(t.ackDeadline()).to.equal(null);
    expect(t.hasUnacked()).to.equal(true);
    expect(t.buildAck(0)?.ranges).to.deep.equal([{smallest: 0, largest: 3}]);
    t.onAckSent();
    expect(t.hasUnacked()).to.equal(false);
  });

  it('acks at once when a gap appears or a missing packet arrives', () => {
    const t = tracker();
    t.onPacketReceived(0, true, 0);
    expect(t.ackDue(0)).to.equal(false);
    t.onAckSent();
    t.onPacketReceived(2, true, 5); // 1 is missing
    expect(t.ackDue(5)).to.equal(true);
    expect(t.ackDeadline()).to.equal(5);
    t.onAckSent();
    t.onPacketReceived(3, true, 6); // in order again
    expect(t.ackDue(6)).to.equal(false);
    t.onAckSent();
    t.onPacketReceived(1, true, 7); // fills the gap
    expect(t.ackDue(7)).to.equal(true);
    t.onAckSent();
    t.onPacketReceived(9, false, 8); // a gap, but not ack-eliciting
    expect(t.ackDue(8)).to.equal(false);
    t.onPacketReceived(10, true, 9); // contiguous with 9, but 4..8 are missing above 3 (the largest ack-eliciting)
    expect(t.ackDue(9)).to.equal(true);
    t.onAckSent();
    t.onPacketReceived(11, false, 10);
    t.onPacketReceived(12, true, 10); // nothing missing since 10
    expect(t.ackDue(10)).to.equal(false);
    t.onPacketReceived(5, false, 11); // fills in, but not ack-eliciting
    t.onPacketReceived(13, true, 11);
    expect(t.ackDue(11)).to.equal(true); // threshold (12 and 13)
    t.onAckSent();
    t.onPacketReceived(6, true, 12); // below the largest ack-eliciting
    expect(t.ackDue(12)).to.equal(true);
  });

  it('Initial/Handshake (immediate): every ack-eliciting packet is acked at once', () => {
    const t = tracker({immediate: true});
    t.onPacketReceived(0, false, 0);
    expect(t.ackDue(0)).to.equal(false);
    t.onPacketReceived(1, true, 3);
    expect(t.ackDue(3)).to.equal(true);
    expect(t.ackDeadline()).to.equal(3);
  });

  it('encodes the ack delay from the arrival of the largest, with the exponent', () => {
    const t = tracker();
    t.onPacketReceived(4, true, 100);
    t.onPacketReceived(2, true, 105); // not the largest: the delay still counts from 100
    const ack = t.buildAck(108);
    expect(ack).to.deep.equal({
      type: 'ack',
      ackDelay: 1000, // 8000 µs >> 3
      ranges: [
        {smallest: 4, largest: 4},
        {smallest: 2, largest: 2},
      ],
    });
    const t0 = tracker({ackDelayExponent: 0});
    t0.onPacketReceived(0, true, 10);
    expect(t0.buildAck(10.5)?.ackDelay).to.equal(500);
    const t20 = tracker({ackDelayExponent: 20});
    t20.onPacketReceived(0, true, 10);
    expect(t20.buildAck(11)?.ackDelay).to.equal(0);
    expect(t20.buildAck(5)?.ackDelay).to.equal(0); // a clock going back never gives a negative delay
    // the frame encodes and decodes unchanged
    const back = decodeFrame(encodeFrame(ack!), 0);
    expect(back.ok && back.frame).to.deep.equal(ack);
  });

  it('gives at most maxRanges ranges in an ACK (32 by default), newest first', () => {
    const t = tracker();
    recv(
      t,
      Array.from({length: 50}, (_, i) => 2 * i),
    );
    expect(t.ranges()).to.have.length(50);
    const ack = t.buildAck(0)!;
    expect(ack.ranges).to.have.length(32);
    expect(ack.ranges[0]).to.deep.equal({smallest: 98, largest: 98});
    expect(ack.ranges[31]).to.deep.equal({smallest: 36, largest: 36});
    expect(t.buildAck(0, 3)!.ranges).to.deep.equal([
      {smallest: 98, largest: 98},
      {smallest: 96, largest: 96},
      {smallest: 94, largest: 94},
    ]);
  });

  it('caps the tracked ranges (64 by default), dropping the oldest: those become duplicates', () => {
    const t = tracker();
    recv(
      t,
      Array.from({length: 100}, (_, i) => 2 * i),
    );
    expect(t.ranges()).to.have.length(64);
    expect(t.ranges()[63]).to.deep.equal({smallest: 72, largest: 72});
    expect(t.isDuplicate(70)).to.equal(true); // below the tracked window
    expect(t.isDuplicate(1)).to.equal(true);
    expect(t.isDuplicate(71)).to.equal(false);

    const s = tracker({maxRanges: 4});
    recv(s, [0, 2, 4, 6, 8]);
    expect(s.ranges()).to.deep.equal([8, 6, 4, 2].map((n) => ({smallest: n, largest: n})));
    expect(s.isDuplicate(0)).to.equal(true);
    s.onPacketReceived(1, true, 0); // above the window floor: new
    expect(s.ranges()[3]).to.deep.equal({smallest: 1, largest: 2});
    s.onPacketReceived(3, true, 0);
    expect(s.ranges()).to.deep.equal([
      {smallest: 8, largest: 8},
      {smallest: 6, largest: 6},
      {smallest: 1, largest: 4},
    ]);
  });

  it('forgets ranges the peer saw acknowledged, keeping a duplicate floor', () => {
    const t = tracker();
    recv(t, [0, 1, 2, 3, 4, 6, 7, 8, 9]);
    t.onAckAcked(7);
    expect(t.ranges()).to.deep.equal([{smallest: 8, largest: 9}]);
    for (const pn of [0, 4, 5, 7]) expect(t.isDuplicate(pn), `pn ${pn}`).to.equal(true);
    expect(t.isDuplicate(10)).to.equal(false);
    expect(t.largestReceived).to.equal(9);
    t.onAckAcked(3); // an older ACK acknowledged later changes nothing
    expect(t.ranges()).to.deep.equal([{smallest: 8, largest: 9}]);
    t.onAckAcked(9);
    expect(t.ranges()).to.deep.equal([]);
    expect(t.buildAck(0)).to.equal(null);
    expect(t.hasUnacked()).to.equal(false);
    t.onPacketReceived(11, true, 0);
    expect(t.buildAck(0)?.ranges).to.deep.equal([{smallest: 11, largest: 11}]);
  });

  it('property: any arrival order gives ACK ranges covering exactly the received set', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({max: 300}), {minLength: 1, maxLength: 400}), (pns) => {
        const t = tracker({maxRanges: 1000});
        pns.forEach((pn, i) => t.onPacketReceived(pn, i % 3 !== 0, i));
        const want = ackRangesFrom(pns, 1000);
        expect(t.ranges()).to.deep.equal(want);
        expect(t.buildAck(pns.length, 1000)!.ranges).to.deep.equal(want);
        expect(t.buildAck(pns.length)!.ranges).to.deep.equal(ackRangesFrom(pns));
        expect(t.largestReceived).to.equal(Math.max(...pns));
      }),
      {numRuns: 500},
    );
  });

  it('property: with a small cap, ranges stay bounded, maximal, and cover what they claim', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({max: 200}), {minLength: 1, maxLength: 300}), fc.integer({min: 1, max: 8}), (pns, cap) => {
        const t = tracker({maxRanges: cap});
        for (const pn of pns) t.onPacketReceived(pn, true, 0);
        const got = t.ranges();
        const received = new Set(pns);
        expect(got.length).to.be.within(1, cap);
        let prev: AckRange | undefined;
        for (const r of got) {
          expect(r.smallest).to.be.at.most(r.largest);
          if (prev !== undefined) expect(r.largest).to.be.below(prev.smallest - 1); // descending, not adjacent
          for (let pn = r.smallest; pn <= r.largest; pn++) expect(received.has(pn), `pn ${pn}`).to.equal(true);
          prev = r;
        }
        // every received packet is a duplicate now; every received one above the window is covered
        const lowest = got[got.length - 1]!.smallest;
        for (const pn of received) {
          expect(t.isDuplicate(pn)).to.equal(true);
          if (pn >= lowest) expect(got.some((r) => r.smallest <= pn && pn <= r.largest)).to.equal(true);
        }
      }),
      {numRuns: 500},
    );
  });
});

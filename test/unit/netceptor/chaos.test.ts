/** The chaos layer: determinism from a seed, each fault kind, rates, cuts, filters, backends. */
import {expect} from 'chai';
import {pino} from 'pino';
import {ManualClock} from '../../../src/core/clock.js';
import type {BackendSession, MeshBackend} from '../../../src/core/netceptor/backend.js';
import {ChaosLink, type ChaosOptions} from '../../../src/core/netceptor/chaos.js';
import {encodeRoutingUpdate} from '../../../src/core/netceptor/codec.js';
import {RoutingState} from '../../../src/core/netceptor/routing.js';
import {FAST, makeNode, memPair, RecordingSession, until} from '../../support/mesh.js';

interface Rig {
  link: ChaosLink;
  inner: RecordingSession;
  outer: BackendSession;
  received: Buffer[];
  closes: Array<Error | undefined>;
  clock: ManualClock;
}

function rig(opts: Omit<ChaosOptions, 'clock'>, clock = new ManualClock()): Rig {
  const l = new ChaosLink({...opts, clock});
  const inner = new RecordingSession();
  const outer = l.wrap(inner);
  const received: Buffer[] = [];
  const closes: Array<Error | undefined> = [];
  outer.start({onMessage: (m) => received.push(m), onClose: (e) => closes.push(e)});
  return {link: l, inner, outer, received, closes, clock};
}

/** Message i: 4-byte big-endian index plus a few bytes, so a corrupted copy is still findable. */
const msgOf = (i: number) => {
  const b = Buffer.alloc(16, 0xa5);
  b.writeUInt32BE(i, 0);
  return b;
};
const idx = (b: Buffer) => b.readUInt32BE(0);

function sendN(r: Rig, n: number): void {
  for (let i = 0; i < n; i++) r.outer.send(msgOf(i));
  r.clock.advance(1000);
}

describe('chaos layer (src/core/netceptor/chaos.ts)', () => {
  const mixed = {drop: 0.1, duplicate: 0.1, reorder: 0.1, corrupt: 0.1, delayMinMs: 1, delayMaxMs: 30};

  it('is deterministic for a seed and message order, and a different seed differs', () => {
    const a = rig({seed: 42, ...mixed});
    const b = rig({seed: 42, ...mixed});
    const c = rig({seed: 43, ...mixed});
    for (const r of [a, b, c]) sendN(r, 2000);
    expect(a.inner.sent.length).to.be.greaterThan(1500);
    expect(Buffer.concat(a.inner.sent).equals(Buffer.concat(b.inner.sent))).to.equal(true);
    expect(a.link.stats).to.deep.equal(b.link.stats);
    expect(Buffer.concat(a.inner.sent).equals(Buffer.concat(c.inner.sent))).to.equal(false);
    // the inbound direction is just as repeatable
    const d = rig({seed: 7, ...mixed});
    const e = rig({seed: 7, ...mixed});
    for (const r of [d, e]) {
      for (let i = 0; i < 500; i++) r.inner.inject(msgOf(i));
      r.clock.advance(1000);
    }
    expect(d.received.map(idx)).to.deep.equal(e.received.map(idx));
    expect(d.received.length).to.be.greaterThan(300);
  });

  it('passes everything through unchanged with all rates 0', () => {
    const r = rig({seed: 1});
    for (let i = 0; i < 100; i++) r.outer.send(msgOf(i));
    expect(r.inner.sent.map(idx)).to.deep.equal([...Array(100).keys()]);
    for (let i = 0; i < 100; i++) r.inner.inject(msgOf(i));
    expect(r.received.map(idx)).to.deep.equal([...Array(100).keys()]);
  });

  it('drop: messages go missing, the rest arrive in order and intact', () => {
    const r = rig({seed: 3, drop: 0.3});
    sendN(r, 1000);
    const got = r.inner.sent.map(idx);
    expect(got.length).to.equal(1000 - r.link.stats.dropped);
    expect(r.link.stats.dropped).to.be.greaterThan(200);
    expect(got).to.deep.equal([...got].sort((x, y) => x - y));
    for (const m of r.inner.sent) expect(m.equals(msgOf(idx(m)))).to.equal(true);
  });

  it('duplicate: some messages arrive twice, back to back', () => {
    const r = rig({seed: 4, duplicate: 0.2});
    sendN(r, 1000);
    const got = r.inner.sent.map(idx);
    expect(got.length).to.equal(1000 + r.link.stats.duplicated);
    const twice = got.filter((v, i) => i > 0 && got[i - 1] === v).length;
    expect(twice).to.equal(r.link.stats.duplicated).and.to.be.greaterThan(100);
    expect([...new Set(got)]).to.deep.equal([...Array(1000).keys()]);
  });

  it('reorder: a held message comes right after its successor; none is lost', () => {
    const r = rig({seed: 5, reorder: 0.2});
    sendN(r, 1000);
    const got = r.inner.sent.map(idx);
    expect([...got].sort((x, y) => x - y)).to.deep.equal([...Array(1000).keys()]);
    const swaps = got.filter((v, i) => i > 0 && got[i - 1]! > v).length;
    expect(swaps).to.be.greaterThan(100);
    expect(swaps).to.be.at.most(r.link.stats.reordered);
  });

  it('reorder: a held message with no successor goes after a short hold', () => {
    const r = rig({seed: 5, reorder: 1});
    r.outer.send(msgOf(9));
    expect(r.inner.sent).to.have.length(0);
    r.clock.advance(25);
    expect(r.inner.sent.map(idx)).to.deep.equal([9]);
  });

  it('corrupt: some messages have exactly one byte changed, same length', () => {
    const r = rig({seed: 6, corrupt: 0.2});
    for (let i = 0; i < 1000; i++) r.outer.send(Buffer.alloc(64, i & 0xff));
    expect(r.inner.sent).to.have.length(1000);
    let changed = 0;
    r.inner.sent.forEach((m, i) => {
      expect(m.length).to.equal(64);
      const diff = [...m].filter((byte) => byte !== (i & 0xff)).length;
      expect(diff).to.be.at.most(1);
      changed += diff;
    });
    expect(changed).to.equal(r.link.stats.corrupted).and.to.be.greaterThan(100);
  });

  it('delay: nothing before delaymin, everything by delaymax, order kept', () => {
    const r = rig({seed: 8, delayMinMs: 50, delayMaxMs: 100});
    for (let i = 0; i < 200; i++) r.outer.send(msgOf(i));
    r.clock.advance(49);
    expect(r.inner.sent).to.have.length(0);
    r.clock.advance(51);
    expect(r.inner.sent.map(idx)).to.deep.equal([...Array(200).keys()]);
    expect(r.link.stats.delayed).to.equal(200);
  });

  it('honours each rate within ±15 % of the rate over 40,000 messages', () => {
    // binomial: at 5 % of 40,000 one standard deviation is about 2.2 % of the expected count
    const rates = {drop: 0.05, duplicate: 0.02, reorder: 0.03, corrupt: 0.01};
    const r = rig({seed: 99, ...rates});
    const n = 40_000;
    for (let i = 0; i < n; i++) r.outer.send(msgOf(i));
    const s = r.link.stats;
    expect(s.messages).to.equal(n);
    const within = (count: number, rate: number, of: number) => expect(Math.abs(count / of - rate), `${count}/${of} vs ${rate}`).to.be.below(rate * 0.15);
    within(s.dropped, rates.drop, n);
    const kept = n - s.dropped;
    within(s.duplicated, rates.duplicate, kept);
    within(s.corrupted, rates.corrupt, kept);
    // a reorder draw while a message is already held is not a new hold
    within(s.reordered, rates.reorder * (1 - rates.reorder), kept);
  });

  it('cut: nothing passes either way until restore; cut mode close closes the session', () => {
    const r = rig({seed: 1});
    r.outer.send(msgOf(1));
    r.link.cutNow();
    expect(r.link.cut).to.equal(true);
    r.outer.send(msgOf(2));
    r.inner.inject(msgOf(3));
    expect(r.inner.sent.map(idx)).to.deep.equal([1]);
    expect(r.received).to.have.length(0);
    r.link.restore();
    r.outer.send(msgOf(4));
    r.inner.inject(msgOf(5));
    expect(r.inner.sent.map(idx)).to.deep.equal([1, 4]);
    expect(r.received.map(idx)).to.deep.equal([5]);
    expect(r.link.stats).to.include({cuts: 1, cutDropped: 2});
    expect(r.inner.isClosed).to.equal(false);

    const c = rig({seed: 1, cutMode: 'close'});
    c.link.cutNow();
    expect(c.inner.isClosed).to.equal(true);
    expect(c.closes).to.have.length(1);
    expect(c.closes[0]?.message).to.equal('chaos: link cut');
  });

  it('cut schedule: cutevery/cutfor on the clock, repeating; stop() lifts it', () => {
    const clock = new ManualClock();
    const r = rig({seed: 1, cutEveryMs: 1000, cutForMs: 300}, clock);
    const changes: boolean[] = [];
    r.link.onCutChange((c) => changes.push(c));
    clock.advance(999);
    expect(r.link.cut).to.equal(false);
    clock.advance(1);
    expect(r.link.cut).to.equal(true);
    clock.advance(299);
    expect(r.link.cut).to.equal(true);
    clock.advance(1);
    expect(r.link.cut).to.equal(false);
    clock.advance(700);
    expect(r.link.cut).to.equal(true);
    expect(r.link.stats.cuts).to.equal(2);
    r.link.stop();
    expect(r.link.cut).to.equal(false);
    clock.advance(5000);
    expect(r.link.stats.cuts).to.equal(2);
    expect(changes).to.deep.equal([true, false, true, false]);
  });

  it('peers filter: only a session whose handshake names a listed node is affected', () => {
    const hello = (id: string) => encodeRoutingUpdate(new RoutingState({nodeId: id, clock: new ManualClock()}).buildUpdate());
    for (const [peer, affected] of [
      ['victim', true],
      ['other', false],
    ] as const) {
      const r = rig({seed: 1, drop: 1, peers: ['victim']});
      r.outer.send(msgOf(1)); // before the handshake: unknown peer, untouched
      r.inner.inject(hello(peer));
      expect(r.received).to.have.length(affected ? 0 : 1); // the handshake already counts
      r.outer.send(msgOf(2));
      expect(r.inner.sent.map(idx)).to.deep.equal(affected ? [1] : [1, 2]);
    }
  });

  it('wrapBackend wraps the sessions of covered kinds only', async () => {
    const fake = (kind: string): MeshBackend & {session: RecordingSession} => {
      const session = new RecordingSession();
      return {kind, description: `${kind} fake`, session, start: async (sink) => (sink(session), {stop: async () => {}})};
    };
    const l = new ChaosLink({seed: 1, drop: 1, backends: ['udp']});
    const seen: BackendSession[] = [];
    const udp = fake('udp');
    const tcp = fake('tcp');
    expect(l.wrapBackend(tcp)).to.equal(tcp);
    const wrapped = l.wrapBackend(udp);
    expect(wrapped.description).to.equal('udp fake (chaos)');
    await wrapped.start((s) => seen.push(s), pino({level: 'silent'}));
    expect(seen).to.have.length(1);
    expect(seen[0]).to.not.equal(udp.session);
    seen[0]!.send(msgOf(1));
    expect(udp.session.sent).to.have.length(0);
    // the real backends' kinds are their item keys: `udp` covers both ends, an item key only itself
    for (const [kind, covered] of [
      ['udp-listener', true],
      ['udp-peer', true],
      ['udpx', false],
      ['tcp-peer', false],
    ] as const) {
      expect(l.covers(kind), kind).to.equal(covered);
    }
    expect(new ChaosLink({seed: 1, backends: ['udp-peer']}).covers('udp-listener')).to.equal(false);
  });

  it('around in-memory sessions: two nodes still link and route with loss, duplicates and reordering', async function () {
    this.timeout(20_000);
    const a = makeNode('a', {timings: FAST});
    const b = makeNode('b', {timings: FAST});
    const l = new ChaosLink({seed: 11, drop: 0.2, duplicate: 0.2, reorder: 0.2, delayMaxMs: 5});
    const [sa, sb] = memPair();
    a.attachSession(l.wrap(sa), {cost: 1});
    b.attachSession(l.wrap(sb), {cost: 1});
    try {
      await until(() => a.reachable('b') && b.reachable('a'), 'routes both ways');
      expect(l.stats.dropped + l.stats.duplicated + l.stats.reordered).to.be.greaterThan(0);
    } finally {
      await Promise.all([a.shutdown(), b.shutdown()]);
      l.stop();
    }
  });
});

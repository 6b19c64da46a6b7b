/**
 * The TS engine's stream layer: two StreamManagers wired back to back through encoded frames
 * (frames.ts, so sizes are honest), with loss, reordering and duplication; the error paths of
 * RFC 9000 §2–4; and the application-side semantics against a real quiche pair.
 */
import {expect} from 'chai';
import {createHash, randomBytes} from 'node:crypto';
import fc from 'fast-check';
import {DEFAULT_TRANSPORT_PARAMS, SHUTDOWN_READ, SHUTDOWN_WRITE, type QuicEngineConnection, type QuicTransportParams} from '../../../src/core/netceptor/quic/engine.js';
import {TransportError, type WireError} from '../../../src/core/netceptor/quic/ts/errors.js';
import {decodeFrames, encodeFrames, frameSize, type Frame} from '../../../src/core/netceptor/quic/ts/frames.js';
import {RangeSet, RecvBuffer, SendBuffer} from '../../../src/core/netceptor/quic/ts/stream-buffers.js';
import {StreamManager} from '../../../src/core/netceptor/quic/ts/streams.js';
import {transportParametersFromEngine} from '../../../src/core/netceptor/quic/ts/transport-params.js';
import {mulberry32} from '../../support/prng.js';

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

function params(over: Partial<QuicTransportParams> = {}): QuicTransportParams {
  return {...DEFAULT_TRANSPORT_PARAMS, ...over};
}

function manager(role: 'client' | 'server', local: QuicTransportParams, peer: QuicTransportParams, extra: {maxSendBuffer?: number; maxReceiveGaps?: number} = {}): StreamManager {
  const m = new StreamManager({role, local, ...extra});
  m.setPeerParams(transportParametersFromEngine(peer, {initialSourceConnectionId: Buffer.from('abcd')}));
  return m;
}

interface Packet {
  from: 'a' | 'b';
  frames: Frame[];
  bytes: Buffer;
}

interface WireOpts {
  loss?: number;
  reorder?: number;
  dup?: number;
  seed?: number;
  /** Packet payload budget. */
  budget?: number;
  /** Packets each side may send per round (a crude congestion window). */
  perRound?: number;
}

/** A sender's application: writes `data` to stream `id`, then FIN. */
interface Writer {
  id: number;
  data: Buffer;
  off: number;
  finDone: boolean;
}

class Pair {
  readonly a: StreamManager;
  readonly b: StreamManager;
  now = 0;
  rtt = 10;
  readonly rng: () => number;
  readonly opts: Required<Omit<WireOpts, 'seed'>>;
  readonly writers: {a: Writer[]; b: Writer[]} = {a: [], b: []};
  readonly received: {a: Map<number, Buffer[]>; b: Map<number, Buffer[]>} = {a: new Map(), b: new Map()};
  readonly fins: {a: Set<number>; b: Set<number>} = {a: new Set(), b: new Set()};
  readonly errors: Array<{side: 'a' | 'b'; err: WireError}> = [];
  readonly frameCounts = new Map<string, number>();
  readonly readBuf = Buffer.alloc(64 * 1024);
  packets = 0;
  /** Whether round() plays the applications (writers and readers). */
  autoApp = true;

  constructor(a: StreamManager, b: StreamManager, opts: WireOpts = {}) {
    this.a = a;
    this.b = b;
    this.rng = mulberry32(opts.seed ?? 1);
    this.opts = {loss: opts.loss ?? 0, reorder: opts.reorder ?? 0, dup: opts.dup ?? 0, budget: opts.budget ?? 1400, perRound: opts.perRound ?? 64};
  }

  static make(opts: WireOpts = {}, a: Partial<QuicTransportParams> = {}, b: Partial<QuicTransportParams> = {}, extra: {maxSendBuffer?: number} = {}): Pair {
    const pa = params(a);
    const pb = params(b);
    return new Pair(manager('client', pa, pb, extra), manager('server', pb, pa, extra), opts);
  }

  side(s: 'a' | 'b'): StreamManager {
    return s === 'a' ? this.a : this.b;
  }

  write(s: 'a' | 'b', id: number, data: Buffer): void {
    this.writers[s].push({id, data, off: 0, finDone: false});
  }

  private pumpWriters(s: 'a' | 'b'): void {
    const m = this.side(s);
    for (const w of this.writers[s]) {
      while (w.off < w.data.length) {
        const n = m.streamSend(w.id, w.data.subarray(w.off, Math.min(w.data.length, w.off + 100_000)), false);
        if (n === null || n === 0) break;
        w.off += n;
      }
      if (w.off === w.data.length && !w.finDone) {
        const r = m.streamSend(w.id, Buffer.alloc(0), true);
        if (r !== null) w.finDone = true;
      }
    }
  }

  private pumpReaders(s: 'a' | 'b'): void {
    const m = this.side(s);
    for (const id of m.readable()) {
      for (;;) {
        const r = m.streamRecv(id, this.readBuf);
        if (r === null) break;
        const [n, fin] = r;
        if (n > 0) {
          const list = this.received[s].get(id) ?? [];
          list.push(Buffer.from(this.readBuf.subarray(0, n)));
          this.received[s].set(id, list);
        }
        if (fin) {
          this.fins[s].add(id);
          break;
        }
        if (n === 0) break;
      }
    }
  }

  buildPacket(s: 'a' | 'b'): Frame[] {
    const m = this.side(s);
    const budget = this.opts.budget;
    const frames = m.popControlFrames(budget, this.now, this.rtt);
    let left = budget - frames.reduce((n, f) => n + frameSize(f), 0);
    while (left > 0) {
      const f = m.popStreamFrame(left);
      if (f === null) break;
      const sz = frameSize(f);
      expect(sz, 'STREAM frame within budget').to.be.at.most(left);
      frames.push(f);
      left -= sz;
    }
    return frames;
  }

  /** One round: both apps act, both sides send, the wire delivers. Returns packets sent. */
  round(): number {
    const wire: Packet[] = [];
    for (const s of ['a', 'b'] as const) {
      if (this.autoApp) {
        this.pumpWriters(s);
        this.pumpReaders(s);
      }
      for (let i = 0; i < this.opts.perRound; i++) {
        const frames = this.buildPacket(s);
        if (frames.length === 0) break;
        const bytes = encodeFrames(frames);
        expect(bytes.length).to.be.at.most(this.opts.budget);
        for (const f of frames) this.frameCounts.set(f.type, (this.frameCounts.get(f.type) ?? 0) + 1);
        if (process.env.QS_DEBUG) console.log(s, JSON.stringify(frames.map((f) => ({...f, data: (f as {data?: Buffer}).data?.length}))));
        wire.push({from: s, frames, bytes});
      }
    }
    this.packets += wire.length;
    // reorder: shuffle a fraction of the packets
    if (this.opts.reorder > 0) {
      for (let i = wire.length - 1; i > 0; i--) {
        if (this.rng() < this.opts.reorder) {
          const j = Math.floor(this.rng() * (i + 1));
          [wire[i], wire[j]] = [wire[j]!, wire[i]!];
        }
      }
    }
    const acks: Array<() => void> = [];
    for (const p of wire) {
      const sender = this.side(p.from);
      const receiver = p.from === 'a' ? this.b : this.a;
      if (this.rng() < this.opts.loss) {
        acks.push(() => p.frames.forEach((f) => sender.onLost(f)));
        continue;
      }
      const copies = this.rng() < this.opts.dup ? 2 : 1;
      for (let c = 0; c < copies; c++) {
        const dec = decodeFrames(Buffer.from(p.bytes));
        if (!dec.ok) throw new Error(`decode failed: ${dec.reason}`);
        for (const f of dec.frames) {
          const err = receiver.onFrame(f);
          if (err !== null) this.errors.push({side: p.from === 'a' ? 'b' : 'a', err});
        }
      }
      acks.push(() => p.frames.forEach((f) => sender.onAcked(f)));
    }
    // acks/loss reports arrive after the round, in random order when reordering
    if (this.opts.reorder > 0) acks.sort(() => this.rng() - 0.5);
    for (const a of acks) a();
    this.now += 1;
    return wire.length;
  }

  /** Rounds until `done` holds (or throws after maxRounds). */
  run(done: () => boolean, maxRounds = 20_000): number {
    for (let i = 0; i < maxRounds; i++) {
      if (this.errors.length > 0) throw new Error(`transport error: ${JSON.stringify(this.errors[0])}`);
      if (done()) return i;
      this.round();
    }
    throw new Error('did not finish');
  }

  /** Rounds until a round sends nothing (the applications included) and nothing is pending. */
  settle(maxRounds = 1000): void {
    for (let i = 0; i < maxRounds; i++) {
      if (this.errors.length > 0) throw new Error(`transport error: ${JSON.stringify(this.errors[0])}`);
      if (this.round() === 0 && !this.a.hasPending() && !this.b.hasPending()) return;
    }
    throw new Error('did not settle');
  }

  got(s: 'a' | 'b', id: number): Buffer {
    return Buffer.concat(this.received[s].get(id) ?? []);
  }
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function expectThrows(f: () => unknown, text: string): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${text}`).to.be.instanceOf(Error);
  expect((err as Error).message).to.equal(text);
}

const stream = (streamId: number, offset: number, data: Buffer | number, fin = false): Frame => ({
  type: 'stream',
  streamId,
  offset,
  data: typeof data === 'number' ? Buffer.alloc(data, 7) : data,
  fin,
});

/**
 * The peer fills stream 1 from `off` to `limit`; we read it all, then take the MAX_STREAM_DATA
 * that the read earns at time `now` (ms): returns its new limit.
 */
function fillAndRead(m: StreamManager, off: number, limit: number, now: number): number {
  expect(m.onFrame(stream(1, off, limit - off))).to.equal(null);
  expect(m.streamRecv(1, Buffer.alloc(limit - off + 1))).to.deep.equal([limit - off, false]);
  const f = m.popControlFrames(1000, now, 10).find((x) => x.type === 'max_stream_data');
  expect(f, 'a MAX_STREAM_DATA frame').to.not.equal(undefined);
  return (f as {maximum: number}).maximum;
}

// ---------------------------------------------------------------------------------------------
// Buffers
// ---------------------------------------------------------------------------------------------

describe('quic-ts stream buffers', () => {
  it('RangeSet merges, splits and reports gaps', () => {
    const r = new RangeSet();
    r.add(10, 20);
    r.add(30, 40);
    r.add(20, 30);
    expect(r.toArray()).to.deep.equal([[10, 40]]);
    r.remove(15, 25);
    expect(r.toArray()).to.deep.equal([
      [10, 15],
      [25, 40],
    ]);
    r.add(0, 5);
    r.add(50, 60);
    r.add(3, 12);
    expect(r.toArray()).to.deep.equal([
      [0, 15],
      [25, 40],
      [50, 60],
    ]);
    const gaps: Array<[number, number]> = [];
    r.forEachGap(5, 55, (a, b) => gaps.push([a, b]));
    expect(gaps).to.deep.equal([
      [15, 25],
      [40, 50],
    ]);
    expect(r.covers(26, 40)).to.equal(true);
    expect(r.covers(14, 16)).to.equal(false);
    r.removeBelow(30);
    expect(r.toArray()).to.deep.equal([
      [30, 40],
      [50, 60],
    ]);
  });

  it('SendBuffer keeps copies in slabs and hands out subarrays', () => {
    const sb = new SendBuffer();
    const src = Buffer.from('hello world');
    sb.append(src);
    src.fill(0); // the caller may reuse its buffer
    sb.append(Buffer.from('!'));
    expect(sb.get(0, 100).toString()).to.equal('hello world!');
    expect(sb.get(6, 3).toString()).to.equal('wor');
    const big = randomBytes(200_000);
    sb.append(big);
    expect(sb.end).to.equal(12 + 200_000);
    const piece = sb.get(12 + 70_000, 10_000);
    expect(piece.equals(big.subarray(70_000, 80_000))).to.equal(true);
    sb.release(12 + 100_000);
    expect(sb.get(12 + 150_000, 5).equals(big.subarray(150_000, 150_005))).to.equal(true);
  });

  it('RecvBuffer reassembles out-of-order overlapping pieces and bounds the holes', () => {
    const rb = new RecvBuffer(3);
    const data = randomBytes(10_000);
    expect(rb.insert(5000, data.subarray(5000, 7000))).to.equal('ok');
    expect(rb.insert(100, data.subarray(100, 200))).to.equal('ok');
    expect(rb.hasReadable()).to.equal(false);
    expect(rb.insert(0, data.subarray(0, 150))).to.equal('ok');
    expect(rb.insert(150, data.subarray(150, 6000))).to.equal('ok');
    expect(rb.insert(6500, data.subarray(6500, 10_000))).to.equal('ok');
    const out = Buffer.alloc(20_000);
    expect(rb.read(out)).to.equal(10_000);
    expect(out.subarray(0, 10_000).equals(data)).to.equal(true);
    // holes: 3 allowed, the 4th is refused
    for (let i = 0; i < 3; i++) expect(rb.insert(20_000 + i * 10, Buffer.alloc(1))).to.equal('ok');
    expect(rb.insert(30_000, Buffer.alloc(1))).to.equal('too-many-gaps');
    // filling a hole is always allowed
    expect(rb.insert(10_000, Buffer.alloc(10_000))).to.equal('ok');
    expect(rb.gaps).to.equal(2);
  });

  it('RecvBuffer merges tiny in-order pieces into few chunks', () => {
    const rb = new RecvBuffer();
    const data = randomBytes(50_000);
    for (let i = 0; i < data.length; i++) rb.insert(i, data.subarray(i, i + 1));
    expect(rb.buffered).to.equal(50_000);
    const out = Buffer.alloc(60_000);
    expect(rb.read(out)).to.equal(50_000);
    expect(out.subarray(0, 50_000).equals(data)).to.equal(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Transfers
// ---------------------------------------------------------------------------------------------

describe('quic-ts StreamManager transfers', () => {
  it('moves a few MiB both ways on one stream, with flow control updates and window growth', () => {
    const p = Pair.make(
      {budget: 16_000, perRound: 32},
      {initialMaxData: 256 * 1024, initialMaxStreamDataBidiLocal: 128 * 1024, initialMaxStreamDataBidiRemote: 128 * 1024},
      {initialMaxData: 256 * 1024, initialMaxStreamDataBidiLocal: 128 * 1024, initialMaxStreamDataBidiRemote: 128 * 1024},
    );
    const up = randomBytes(3 * 1024 * 1024 + 17);
    const down = randomBytes(2 * 1024 * 1024 + 5);
    p.write('a', 0, up);
    p.run(() => p.fins.b.has(0));
    p.write('b', 0, down);
    p.run(() => p.fins.a.has(0));
    expect(sha(p.got('b', 0))).to.equal(sha(up));
    expect(sha(p.got('a', 0))).to.equal(sha(down));
    expect(p.frameCounts.get('max_stream_data') ?? 0).to.be.greaterThan(5);
    expect(p.frameCounts.get('max_data') ?? 0).to.be.greaterThan(5);
    expect(p.b.stats().windowIncreases).to.be.greaterThan(0);
    p.settle();
    // both directions complete and acknowledged: collected on both sides
    expectThrows(() => p.a.streamCapacity(0), 'InvalidStreamState(0)');
    expectThrows(() => p.b.streamCapacity(0), 'InvalidStreamState(0)');
    expect(p.a.stats().streamsOpen).to.equal(0);
    expect(p.b.stats().streamsOpen).to.equal(0);
  });

  it('keeps bytes intact under loss and reordering, several streams at once', () => {
    const p = Pair.make({loss: 0.15, reorder: 0.3, seed: 7, budget: 1200, perRound: 40});
    const blobs = new Map<number, Buffer>();
    for (const id of [0, 4, 8]) {
      const b = randomBytes(300_000 + id);
      blobs.set(id, b);
      p.write('a', id, b);
    }
    const back = randomBytes(200_000);
    p.write('b', 1, back);
    p.write('a', 2, randomBytes(50_000)); // client uni stream
    p.run(() => [0, 4, 8].every((id) => p.fins.b.has(id)) && p.fins.a.has(1) && p.fins.b.has(2));
    for (const [id, b] of blobs) expect(p.got('b', id).equals(b), `stream ${id}`).to.equal(true);
    expect(p.got('a', 1).equals(back)).to.equal(true);
    expect(p.got('b', 2).length).to.equal(50_000);
    expect(p.a.stats().streamBytesRetransmitted).to.be.greaterThan(0);
    // lost flow-control updates were re-sent; everything settles and is collected
    for (const id of [0, 4, 8]) p.b.streamSend(id, Buffer.alloc(0), true);
    p.a.streamSend(1, Buffer.alloc(0), true);
    p.run(() => p.fins.a.has(0) && p.fins.a.has(4) && p.fins.a.has(8) && p.fins.b.has(1));
    p.opts.loss = 0;
    p.settle();
    expect(p.a.stats().streamsOpen).to.equal(0);
    expect(p.b.stats().streamsOpen).to.equal(0);
  });

  it('property: random loss, reordering and duplication never corrupt the bytes', () => {
    fc.assert(
      fc.property(
        fc.integer({min: 1, max: 2 ** 31 - 1}),
        fc.double({min: 0, max: 0.4, noNaN: true}),
        fc.double({min: 0, max: 0.5, noNaN: true}),
        fc.double({min: 0, max: 0.3, noNaN: true}),
        fc.integer({min: 60, max: 3000}),
        fc.array(fc.integer({min: 0, max: 120_000}), {minLength: 1, maxLength: 3}),
        (seed, loss, reorder, dup, budget, sizes) => {
          const p = Pair.make(
            {seed, loss, reorder, dup, budget, perRound: 16},
            {initialMaxData: 64 * 1024, initialMaxStreamDataBidiRemote: 32 * 1024, initialMaxStreamDataBidiLocal: 32 * 1024},
            {initialMaxData: 64 * 1024, initialMaxStreamDataBidiRemote: 32 * 1024, initialMaxStreamDataBidiLocal: 32 * 1024},
          );
          const blobs = sizes.map((n, i) => {
            const b = Buffer.alloc(n);
            for (let j = 0; j < n; j++) b[j] = (seed * 31 + j * 7 + i) & 0xff;
            return b;
          });
          blobs.forEach((b, i) => p.write('a', i * 4, b));
          blobs.forEach((b, i) => p.write('b', i * 4 + 1, b));
          p.run(() => blobs.every((_, i) => p.fins.b.has(i * 4) && p.fins.a.has(i * 4 + 1)), 50_000);
          blobs.forEach((b, i) => {
            expect(p.got('b', i * 4).equals(b)).to.equal(true);
            expect(p.got('a', i * 4 + 1).equals(b)).to.equal(true);
          });
        },
      ),
      {numRuns: Number(process.env.QS_RUNS ?? 40)},
    );
  });

  it('sends STREAM frames that fill the budget exactly and never exceed it', () => {
    const p = Pair.make();
    p.a.streamSend(0, randomBytes(100_000), true);
    for (const budget of [1, 3, 4, 5, 63, 64, 65, 66, 100, 1200, 16_383, 16_384, 16_386]) {
      const f = p.a.popStreamFrame(budget);
      if (f === null) {
        expect(budget).to.be.below(5);
        continue;
      }
      expect(frameSize(f)).to.be.at.most(budget);
      expect(encodeFrames([f]).length).to.equal(frameSize(f));
      expect(frameSize(f)).to.be.at.least(budget - 1); // a varint boundary may leave one byte
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Stream states, limits, errors
// ---------------------------------------------------------------------------------------------

describe('quic-ts StreamManager states and errors', () => {
  it('application semantics: FIN-only returns 0, FinalSize after FIN, StreamLimit, InvalidStreamState', () => {
    const p = Pair.make({}, {}, {initialMaxStreamsBidi: 2, initialMaxData: 1000, initialMaxStreamDataBidiRemote: 600});
    expect(p.a.streamSend(0, Buffer.from('hello'), false)).to.equal(5);
    expect(p.a.streamCapacity(0)).to.equal(595);
    expect(p.a.streamSend(0, Buffer.alloc(0), true)).to.equal(0);
    expect(p.a.streamSend(0, Buffer.alloc(0), true)).to.equal(0);
    expectThrows(() => p.a.streamSend(0, Buffer.from('x'), false), 'FinalSize');
    expectThrows(() => p.a.streamSend(8, Buffer.from('x'), false), 'StreamLimit');
    expectThrows(() => p.a.streamSend(1, Buffer.from('x'), false), 'InvalidStreamState(1)');
    expectThrows(() => p.a.streamSend(3, Buffer.from('x'), false), 'InvalidStreamState(3)');
    expectThrows(() => p.a.streamCapacity(4), 'InvalidStreamState(4)');
    expectThrows(() => p.a.streamRecv(396, Buffer.alloc(10)), 'InvalidStreamState(396)');
    expect(p.a.streamRecv(0, Buffer.alloc(10))).to.equal(null);
    // stream credit (600) then connection credit (1000) limit what is accepted
    expect(p.a.streamSend(4, randomBytes(700), false)).to.equal(600);
    expect(p.a.streamSend(4, randomBytes(10), false)).to.equal(null);
    expect(p.a.streamSend(4, Buffer.alloc(0), true)).to.equal(0); // FIN alone, no capacity
    expect(p.a.writable()).to.deep.equal([]);
    const ctl = p.a.popControlFrames(1000, 0, 10);
    expect(ctl.map((f) => f.type)).to.include.members(['stream_data_blocked', 'streams_blocked']);
    // the send side frees the connection credit only when the peer raises MAX_DATA
    expect(p.a.onFrame({type: 'max_data', maximum: 2000})).to.equal(null);
    expect(p.a.onFrame({type: 'max_streams', bidi: true, maximum: 3})).to.equal(null);
    expect(p.a.streamSend(8, randomBytes(10), false)).to.equal(10);
  });

  it('STOP_SENDING: RESET_STREAM with the same code, StreamStopped on send and capacity', () => {
    const p = Pair.make();
    p.autoApp = false;
    p.a.streamSend(0, Buffer.from('abc'), false);
    p.settle();
    expect(p.b.readable()).to.deep.equal([0]);
    p.b.streamShutdown(0, SHUTDOWN_READ, 7);
    expect(p.b.readable()).to.deep.equal([]);
    expect(p.b.streamRecv(0, Buffer.alloc(10))).to.equal(null);
    const ctl = p.b.popControlFrames(100, 0, 10);
    expect(ctl).to.deep.equal([{type: 'stop_sending', streamId: 0, errorCode: 7}]);
    expect(p.a.onFrame(ctl[0]!)).to.equal(null);
    expect(p.a.writable()).to.include(0);
    expectThrows(() => p.a.streamCapacity(0), 'StreamStopped(7)');
    expectThrows(() => p.a.streamSend(0, Buffer.from('x'), false), 'StreamStopped(7)');
    expectThrows(() => p.a.streamSend(0, Buffer.alloc(0), true), 'StreamStopped(7)');
    const reset = p.a.popControlFrames(100, 0, 10);
    expect(reset).to.deep.equal([{type: 'reset_stream', streamId: 0, errorCode: 7, finalSize: 3}]);
  });

  it('RESET_STREAM: StreamReset(code) once, final size = bytes sent, unsent data dropped', () => {
    const p = Pair.make();
    p.a.streamSend(0, Buffer.from('abc'), false);
    p.settle();
    p.autoApp = false;
    expect(p.got('b', 0).toString()).to.equal('abc');
    p.b.streamSend(0, Buffer.from('zz'), false);
    p.b.popStreamFrame(1000); // "sent" (never delivered)
    p.b.streamSend(0, randomBytes(5000), false); // queued, never sent
    p.b.streamShutdown(0, SHUTDOWN_WRITE, 9);
    p.b.streamShutdown(0, SHUTDOWN_WRITE, 9); // again: nothing new
    expect(p.b.streamSend(0, Buffer.alloc(0), true)).to.equal(0);
    expectThrows(() => p.b.streamSend(0, Buffer.from('x'), false), 'FinalSize');
    const frames = p.b.popControlFrames(1000, 0, 10);
    expect(frames).to.deep.equal([{type: 'reset_stream', streamId: 0, errorCode: 9, finalSize: 2}]);
    expect(p.b.popStreamFrame(1000)).to.equal(null);
    expect(p.a.onFrame(frames[0]!)).to.equal(null);
    p.b.onAcked(frames[0]!);
    expect(p.a.readable()).to.deep.equal([0]);
    expectThrows(() => p.a.streamRecv(0, Buffer.alloc(10)), 'StreamReset(9)');
    expect(p.a.readable()).to.deep.equal([]);
    // the client's send side is still open: not collected yet
    expect(p.a.streamCapacity(0)).to.be.greaterThan(0);
    expect(p.a.streamRecv(0, Buffer.alloc(10))).to.equal(null);
    p.autoApp = true;
    p.a.streamSend(0, Buffer.alloc(0), true);
    p.settle();
    expectThrows(() => p.a.streamCapacity(0), 'InvalidStreamState(0)');
    // the reset was acknowledged and the client's FIN read: collected at the server too
    expect(p.fins.b.has(0)).to.equal(true);
    expectThrows(() => p.b.streamCapacity(0), 'InvalidStreamState(0)');
  });

  it('lost RESET_STREAM / STOP_SENDING are re-sent as is; lost data of a reset stream is not', () => {
    const p = Pair.make();
    p.a.streamSend(0, randomBytes(3000), false);
    const f1 = p.a.popStreamFrame(1200)!;
    p.a.streamShutdown(0, SHUTDOWN_WRITE, 3);
    const [r] = p.a.popControlFrames(100, 0, 10);
    p.a.onLost(f1);
    p.a.onLost(r!);
    expect(p.a.popStreamFrame(1200)).to.equal(null);
    expect(p.a.popControlFrames(100, 0, 10)).to.deep.equal([r]);
    p.b.onFrame(stream(1, 0, 10));
    p.a.onFrame(stream(1, 0, 10)); // server stream 1 at the client
    p.a.streamShutdown(1, SHUTDOWN_READ, 5);
    const [s] = p.a.popControlFrames(100, 0, 10);
    expect(s).to.deep.equal({type: 'stop_sending', streamId: 1, errorCode: 5});
    p.a.onLost(s!);
    expect(p.a.popControlFrames(100, 0, 10)).to.deep.equal([s]);
  });

  it('lost MAX_DATA / MAX_STREAM_DATA / MAX_STREAMS carry the current value; BLOCKED frames are not re-sent', () => {
    // RTT 0 turns window auto-tuning off, so the values are the plain windows
    const p = Pair.make({}, {initialMaxData: 1000, initialMaxStreamDataBidiRemote: 1000, initialMaxStreamsBidi: 2}, {});
    expect(p.a.onFrame(stream(1, 0, 800, true))).to.equal(null);
    expect(p.a.streamRecv(1, Buffer.alloc(2000))).to.deep.equal([800, true]);
    const ctl = p.a.popControlFrames(1000, 0, 0);
    const md = ctl.find((f) => f.type === 'max_data');
    expect(md).to.deep.equal({type: 'max_data', maximum: 1800});
    expect(ctl.find((f) => f.type === 'max_stream_data')).to.equal(undefined); // final size known
    p.a.onLost(md!);
    expect(p.a.popControlFrames(1000, 0, 0)).to.deep.equal([{type: 'max_data', maximum: 1800}]);
    // a stream window update
    expect(p.a.onFrame(stream(5, 0, 600))).to.equal(null);
    p.a.streamRecv(5, Buffer.alloc(2000));
    const upd = p.a.popControlFrames(1000, 0, 0);
    const msd = upd.find((f) => f.type === 'max_stream_data');
    expect(msd).to.deep.equal({type: 'max_stream_data', streamId: 5, maximum: 1600});
    p.a.onLost(msd!);
    expect(p.a.popControlFrames(1000, 0, 0)).to.deep.include({type: 'max_stream_data', streamId: 5, maximum: 1600});
    // stale MAX_DATA values are not re-sent
    p.a.onLost({type: 'max_data', maximum: 5});
    expect(p.a.popControlFrames(1000, 0, 0)).to.deep.equal([]);
    // BLOCKED frames are not retransmitted
    p.a.onLost({type: 'data_blocked', limit: 1});
    p.a.onLost({type: 'streams_blocked', bidi: true, limit: 1});
    expect(p.a.hasPending()).to.equal(false);
  });

  it('MAX_STREAMS replenishment keeps the advertised window at initialMaxStreamsBidi', () => {
    const p = Pair.make({}, {}, {initialMaxStreamsBidi: 2});
    for (let round = 0; round < 5; round++) {
      const ids = [round * 8, round * 8 + 4];
      for (const id of ids) p.a.streamSend(id, Buffer.from(`s${id}`), true);
      expectThrows(() => p.a.streamSend(round * 8 + 8, Buffer.from('x'), false), 'StreamLimit');
      p.settle();
      for (const id of ids) {
        expect(p.got('b', id).toString()).to.equal(`s${id}`);
        p.b.streamSend(id, Buffer.alloc(0), true);
      }
      p.settle();
      p.settle();
      for (const id of ids) expectThrows(() => p.b.streamCapacity(id), `InvalidStreamState(${id})`);
    }
    expect(p.frameCounts.get('max_streams')).to.be.at.least(5);
    // a peer going beyond the advertised limit: 10 streams collected + 2 = 12 -> index 12 is too far
    const err = p.b.onFrame(stream(12 * 4, 0, 1));
    expect(err?.code).to.equal(TransportError.STREAM_LIMIT_ERROR);
    expect(p.b.onFrame(stream(11 * 4, 0, 1))).to.equal(null);
  });

  it('peer streams open all lower ones; uni streams are accepted and readable', () => {
    const p = Pair.make({}, {}, {});
    expect(p.b.onFrame(stream(8, 0, Buffer.from('x')))).to.equal(null);
    expect(p.b.streamCapacity(0)).to.be.greaterThan(0);
    expect(p.b.streamCapacity(4)).to.be.greaterThan(0);
    expect(p.b.onFrame(stream(6, 0, Buffer.from('uni'), true))).to.equal(null);
    expect(p.b.readable().sort()).to.deep.equal([6, 8]);
    expect(p.b.streamRecv(6, Buffer.alloc(10))).to.deep.equal([3, true]);
    expect(p.b.streamCapacity(2)).to.equal(0); // receive-only (quiche answers 0)
    expectThrows(() => p.b.streamSend(2, Buffer.from('x'), false), 'InvalidStreamState(2)');
    // stream 6 is complete on the receive side and has no send side: collected, and the peer may open one more
    expectThrows(() => p.b.streamRecv(6, Buffer.alloc(10)), 'InvalidStreamState(6)');
    expect(p.b.popControlFrames(100, 0, 10)).to.deep.include({type: 'max_streams', bidi: false, maximum: 101});
  });

  it('STREAM_STATE_ERROR for frames on the wrong direction or unopened local streams', () => {
    const p = Pair.make();
    p.a.streamSend(2, Buffer.from('x'), false); // our uni stream
    expect(p.a.onFrame(stream(2, 0, 1))?.code).to.equal(TransportError.STREAM_STATE_ERROR);
    expect(p.a.onFrame({type: 'reset_stream', streamId: 2, errorCode: 1, finalSize: 0})?.code).to.equal(TransportError.STREAM_STATE_ERROR);
    expect(p.a.onFrame(stream(4, 0, 1))?.code).to.equal(TransportError.STREAM_STATE_ERROR); // not opened by us
    expect(p.a.onFrame({type: 'max_stream_data', streamId: 8, maximum: 10})?.code).to.equal(TransportError.STREAM_STATE_ERROR);
    expect(p.a.onFrame({type: 'stop_sending', streamId: 3, errorCode: 1})?.code).to.equal(TransportError.STREAM_STATE_ERROR); // peer uni
    expect(p.a.onFrame({type: 'max_stream_data', streamId: 3, maximum: 1})?.code).to.equal(TransportError.STREAM_STATE_ERROR);
    expect(p.a.onFrame({type: 'stop_sending', streamId: 2, errorCode: 1})).to.equal(null);
  });

  it('FLOW_CONTROL_ERROR beyond stream and connection credit', () => {
    const p = Pair.make({}, {initialMaxData: 1500, initialMaxStreamDataBidiRemote: 1000}, {});
    expect(p.a.onFrame(stream(1, 0, 1000))).to.equal(null);
    const e1 = p.a.onFrame(stream(1, 1000, 1));
    expect(e1?.code).to.equal(TransportError.FLOW_CONTROL_ERROR);
    expect(p.a.onFrame(stream(5, 0, 500))).to.equal(null);
    const e2 = p.a.onFrame(stream(9, 0, 1));
    expect(e2?.code).to.equal(TransportError.FLOW_CONTROL_ERROR);
    // a reset's final size counts too
    const q = Pair.make({}, {initialMaxData: 1500, initialMaxStreamDataBidiRemote: 1000}, {});
    expect(q.a.onFrame({type: 'reset_stream', streamId: 1, errorCode: 0, finalSize: 1001})?.code).to.equal(TransportError.FLOW_CONTROL_ERROR);
    // data read and discarded after a shutdown still counts for the connection
    expect(q.a.onFrame(stream(1, 0, 1000))).to.equal(null);
    q.a.streamShutdown(1, SHUTDOWN_READ, 1);
    expect(q.a.onFrame(stream(5, 0, 500))).to.equal(null);
    expect(q.a.onFrame(stream(5, 500, 1))?.code).to.equal(TransportError.FLOW_CONTROL_ERROR);
  });

  it('FINAL_SIZE_ERROR on inconsistent final sizes', () => {
    const p = Pair.make();
    expect(p.a.onFrame(stream(1, 0, 10, true))).to.equal(null);
    expect(p.a.onFrame(stream(1, 10, 1))?.code).to.equal(TransportError.FINAL_SIZE_ERROR);
    expect(p.a.onFrame(stream(1, 0, 5, true))?.code).to.equal(TransportError.FINAL_SIZE_ERROR);
    expect(p.a.onFrame(stream(1, 0, 10, true))).to.equal(null); // duplicate is fine
    expect(p.a.onFrame({type: 'reset_stream', streamId: 1, errorCode: 0, finalSize: 11})?.code).to.equal(TransportError.FINAL_SIZE_ERROR);
    expect(p.a.onFrame(stream(5, 0, 20))).to.equal(null);
    expect(p.a.onFrame(stream(5, 0, 10, true))?.code).to.equal(TransportError.FINAL_SIZE_ERROR);
    expect(p.a.onFrame({type: 'reset_stream', streamId: 5, errorCode: 0, finalSize: 19})?.code).to.equal(TransportError.FINAL_SIZE_ERROR);
    expect(p.a.onFrame({type: 'reset_stream', streamId: 5, errorCode: 4, finalSize: 20})).to.equal(null);
  });

  it('window auto-tuning: doubles when the window is read within ~2 RTTs, up to maxStreamWindow', () => {
    const local = params({initialMaxStreamDataBidiRemote: 64 * 1024, maxStreamWindow: 256 * 1024, initialMaxData: 10 * 1024 * 1024});
    const fast = manager('client', local, params());
    const slow = manager('client', local, params());
    const limits: number[] = [];
    let off = 0;
    let now = 0;
    let limit = 64 * 1024;
    for (let i = 0; i < 6; i++) {
      // the peer fills the whole window at once; we read it all within 1 ms
      now += 1;
      [off, limit] = [limit, fillAndRead(fast, off, limit, now)];
      limits.push(limit - off);
    }
    expect(limits).to.deep.equal([128 * 1024, 256 * 1024, 256 * 1024, 256 * 1024, 256 * 1024, 256 * 1024]);
    // the same reads spread over seconds keep the window
    off = 0;
    limit = 64 * 1024;
    for (let i = 0; i < 3; i++) {
      now += 1000;
      [off, limit] = [limit, fillAndRead(slow, off, limit, now)];
      expect(limit - off).to.equal(64 * 1024);
    }
    // the connection window follows the stream window (1.5x)
    expect(fast.stats().connWindow).to.be.at.least(10 * 1024 * 1024);
    const small = manager(
      'client',
      params({initialMaxData: 100_000, maxConnectionWindow: 1_000_000, maxStreamWindow: 512 * 1024, initialMaxStreamDataBidiRemote: 64 * 1024}),
      params(),
    );
    let o = 0;
    let l = 64 * 1024;
    for (let i = 0; i < 4; i++) [o, l] = [l, fillAndRead(small, o, l, i)];
    expect(small.stats().connWindow).to.be.within(1.5 * 512 * 1024, 1_000_000);
  });

  it('credit is returned once half the window is read; control frames are coalesced per stream', () => {
    const m = manager('client', params({initialMaxData: 40_000, initialMaxStreamDataBidiRemote: 10_000}), params());
    expect(m.onFrame(stream(1, 0, 10_000))).to.equal(null);
    expect(m.onFrame(stream(5, 0, 10_000))).to.equal(null);
    expect(m.streamRecv(1, Buffer.alloc(4000))).to.deep.equal([4000, false]);
    expect(m.hasPending()).to.equal(false); // 4000 < half of 10 000
    expect(m.streamRecv(1, Buffer.alloc(1000))).to.deep.equal([1000, false]);
    expect(m.hasPending()).to.equal(true);
    expect(m.popControlFrames(1000, 0, 0)).to.deep.equal([{type: 'max_stream_data', streamId: 1, maximum: 15_000}]);
    m.streamRecv(5, Buffer.alloc(20_000));
    m.streamRecv(1, Buffer.alloc(20_000));
    // 20 000 of 40 000 read: MAX_DATA too
    expect(m.popControlFrames(1000, 0, 0)).to.deep.equal([
      {type: 'max_stream_data', streamId: 5, maximum: 20_000},
      {type: 'max_stream_data', streamId: 1, maximum: 20_000},
      {type: 'max_data', maximum: 60_000},
    ]);
    // repeated losses and shutdowns queue one frame each
    m.streamShutdown(1, SHUTDOWN_WRITE, 4);
    m.streamShutdown(5, SHUTDOWN_READ, 6);
    const frames = m.popControlFrames(1000, 0, 0);
    expect(frames).to.deep.equal([
      {type: 'reset_stream', streamId: 1, errorCode: 4, finalSize: 0},
      {type: 'stop_sending', streamId: 5, errorCode: 6},
    ]);
    for (let i = 0; i < 100; i++) for (const f of frames) m.onLost(f);
    for (let i = 0; i < 100; i++) m.onLost({type: 'max_data', maximum: 60_000});
    expect(m.popControlFrames(1000, 0, 0)).to.deep.equal([...frames, {type: 'max_data', maximum: 60_000}]);
    // a budget too small keeps frames queued
    m.onLost(frames[0]!);
    expect(m.popControlFrames(2, 0, 0)).to.deep.equal([]);
    expect(m.popControlFrames(100, 0, 0)).to.deep.equal([frames[0]]);
  });

  it('the send buffer cap blocks streamSend until data is acknowledged', () => {
    const m = manager('client', params(), params(), {maxSendBuffer: 10_000});
    expect(m.streamSend(0, randomBytes(15_000), false)).to.equal(10_000);
    expect(m.streamSend(0, randomBytes(10), false)).to.equal(null);
    expect(m.writable()).to.deep.equal([]);
    const f1 = m.popStreamFrame(5000)!;
    const f2 = m.popStreamFrame(5000)!;
    m.onAcked(f2); // out of order: nothing freed yet
    expect(m.streamCapacity(0)).to.equal(0);
    m.onAcked(f1);
    expect(m.streamCapacity(0)).to.equal(f1.data.length + f2.data.length);
    expect(m.writable()).to.deep.equal([0]);
  });

  it('maxOutOfOrderBytes caps the auto-tuned stream window', () => {
    const m = new StreamManager({role: 'client', local: params({initialMaxStreamDataBidiRemote: 64 * 1024, maxStreamWindow: 1024 * 1024}), maxOutOfOrderBytes: 100_000});
    m.setPeerParams(transportParametersFromEngine(params(), {initialSourceConnectionId: Buffer.from('ab')}));
    let off = 0;
    let limit = 64 * 1024;
    for (let i = 0; i < 4; i++) {
      [off, limit] = [limit, fillAndRead(m, off, limit, i)];
      expect(limit - off).to.be.at.most(100_000);
    }
    expect(m.onFrame(stream(1, off, limit - off + 1))?.code).to.equal(TransportError.FLOW_CONTROL_ERROR);
  });

  it('answers DATA_BLOCKED / STREAMS_BLOCKED below our current limits by re-sending them', () => {
    const p = Pair.make({}, {initialMaxStreamsBidi: 1, initialMaxData: 1000}, {});
    p.autoApp = false;
    expect(p.a.onFrame(stream(1, 0, 600, true))).to.equal(null);
    p.a.streamRecv(1, Buffer.alloc(1000));
    p.a.streamSend(1, Buffer.alloc(0), true);
    p.a.onAcked(p.a.popStreamFrame(100)!);
    const first = p.a.popControlFrames(1000, 0, 0);
    expect(first).to.deep.include({type: 'max_streams', bidi: true, maximum: 2});
    expect(first).to.deep.include({type: 'max_data', maximum: 1600});
    expect(p.a.hasPending()).to.equal(false);
    // the peer did not get them
    expect(p.a.onFrame({type: 'streams_blocked', bidi: true, limit: 1})).to.equal(null);
    expect(p.a.onFrame({type: 'data_blocked', limit: 1000})).to.equal(null);
    const again = p.a.popControlFrames(1000, 0, 0);
    expect(again).to.deep.include({type: 'max_streams', bidi: true, maximum: 2});
    expect(again).to.deep.include({type: 'max_data', maximum: 1600});
    // blocked at the current limits: nothing to say
    expect(p.a.onFrame({type: 'streams_blocked', bidi: true, limit: 2})).to.equal(null);
    expect(p.a.popControlFrames(1000, 0, 0)).to.deep.equal([]);
  });

  it('property: arbitrary peer frames give null or a transport error, never an exception', () => {
    const id = fc.oneof(fc.integer({min: 0, max: 40}), fc.integer({min: 0, max: 2 ** 40}));
    const off = fc.oneof(fc.integer({min: 0, max: 70_000}), fc.integer({min: 0, max: 2 ** 50}));
    const frame: fc.Arbitrary<Frame> = fc.oneof(
      fc.record({type: fc.constant('stream' as const), streamId: id, offset: off, data: fc.integer({min: 0, max: 3000}).map((n) => Buffer.alloc(n, 1)), fin: fc.boolean()}),
      fc.record({type: fc.constant('reset_stream' as const), streamId: id, errorCode: fc.nat(), finalSize: off}),
      fc.record({type: fc.constant('stop_sending' as const), streamId: id, errorCode: fc.nat()}),
      fc.record({type: fc.constant('max_stream_data' as const), streamId: id, maximum: off}),
      fc.record({type: fc.constant('max_data' as const), maximum: off}),
      fc.record({type: fc.constant('max_streams' as const), bidi: fc.boolean(), maximum: fc.integer({min: 0, max: 2 ** 40})}),
      fc.record({type: fc.constant('stream_data_blocked' as const), streamId: id, limit: off}),
      fc.record({type: fc.constant('data_blocked' as const), limit: off}),
      fc.record({type: fc.constant('streams_blocked' as const), bidi: fc.boolean(), limit: fc.integer({min: 0, max: 2 ** 40})}),
    );
    fc.assert(
      fc.property(fc.boolean(), fc.array(frame, {maxLength: 60}), (server, frames) => {
        const m = manager(server ? 'server' : 'client', params({initialMaxData: 100_000, initialMaxStreamDataBidiRemote: 50_000, initialMaxStreamsBidi: 5}), params());
        m.streamSend(server ? 1 : 0, Buffer.from('hello'), false);
        const buf = Buffer.alloc(4096);
        for (const f of frames) {
          const err = m.onFrame(f);
          if (err !== null) {
            expect(err.code).to.be.oneOf([
              TransportError.STREAM_LIMIT_ERROR,
              TransportError.STREAM_STATE_ERROR,
              TransportError.FLOW_CONTROL_ERROR,
              TransportError.FINAL_SIZE_ERROR,
            ]);
            return;
          }
          for (const rid of m.readable()) {
            try {
              m.streamRecv(rid, buf);
            } catch (e) {
              expect((e as Error).message).to.match(/^StreamReset\(\d+\)$/);
            }
          }
          m.popControlFrames(1200, 0, 10);
          for (let sf = m.popStreamFrame(1200); sf !== null; sf = m.popStreamFrame(1200)) m.onAcked(sf);
        }
        // ours (1) + the peer's bidi streams within the limit (5) + its uni streams with ids ≤ 40 (10)
        expect(m.stats().streamsOpen).to.be.at.most(16);
      }),
      {numRuns: Number(process.env.QS_RUNS ?? 200)},
    );
  });

  it('a peer scattering tiny frames is stopped at the gap limit', () => {
    const p = new Pair(manager('client', params(), params(), {maxReceiveGaps: 50}), manager('server', params(), params()));
    let err: WireError | null = null;
    for (let i = 0; i < 100 && err === null; i++) err = p.a.onFrame(stream(1, 1 + i * 2, 1));
    expect(err?.code).to.equal(TransportError.INTERNAL_ERROR);
    expect(err?.reason).to.equal('too many gaps in received data');
  });
});

// ---------------------------------------------------------------------------------------------
// Against quiche
// ---------------------------------------------------------------------------------------------

describe('quic-ts StreamManager application semantics match quiche', function () {
  let quiche: {c: QuicEngineConnection; s: QuicEngineConnection; pump: () => void} | null = null;

  before(async function () {
    const {quicheAvailable, quicheEngine} = await import('../../../src/core/netceptor/quic/quiche.js');
    if (!quicheAvailable()) this.skip();
    const {createInsecureStreamCert} = await import('../../../src/core/pki/x509.js');
    const cert = await createInsecureStreamCert();
    const e = quicheEngine();
    const prm = params({initialMaxStreamsBidi: 4, initialMaxData: 100_000, initialMaxStreamDataBidiLocal: 50_000, initialMaxStreamDataBidiRemote: 50_000});
    const sc = e.createConfig({role: 'server', alpn: ['netceptor'], tls: {certPem: cert.certPem, keyPem: cert.keyPem, verifyPeer: false}, params: prm});
    const cc = e.createConfig({role: 'client', alpn: ['netceptor'], tls: {verifyPeer: false}, params: prm});
    const A = {host: '127.0.0.1', port: 1};
    const B = {host: '127.0.0.1', port: 2};
    const c = e.connect(cc, 'x', Buffer.from('aaaa'), A, B);
    const s = e.accept(sc, Buffer.from('bbbb'), null, B, A);
    const buf = Buffer.alloc(70_000);
    const pump = (): void => {
      for (let i = 0; i < 50; i++) {
        let any = false;
        for (const [x, y, from, to] of [
          [c, s, A, B],
          [s, c, B, A],
        ] as const) {
          for (let n = x.send(buf); n !== null; n = x.send(buf)) {
            any = true;
            y.recv(Buffer.from(buf.subarray(0, n)), from, to);
          }
        }
        if (!any) return;
      }
    };
    pump();
    expect(c.isEstablished()).to.equal(true);
    quiche = {c, s, pump};
  });

  /** Runs the same script on the quiche pair and on a StreamManager pair; returns both transcripts. */
  function both(script: (c: Ops, s: Ops, pump: () => void) => void): [string[], string[]] {
    const out: string[][] = [[], []];
    const q = quiche!;
    const tsPair = Pair.make(
      {},
      {initialMaxStreamsBidi: 4, initialMaxData: 100_000, initialMaxStreamDataBidiLocal: 50_000, initialMaxStreamDataBidiRemote: 50_000},
      {initialMaxStreamsBidi: 4, initialMaxData: 100_000, initialMaxStreamDataBidiLocal: 50_000, initialMaxStreamDataBidiRemote: 50_000},
    );
    tsPair.autoApp = false;
    const impls: Array<[Ops | QuicEngineConnection, Ops | QuicEngineConnection, () => void]> = [
      [q.c, q.s, q.pump],
      [opsOf(tsPair.a), opsOf(tsPair.b), () => tsPair.settle()],
    ];
    impls.forEach(([c, s, pump], i) => {
      const rec = (label: string, f: () => unknown): void => {
        try {
          out[i]!.push(`${label} => ${JSON.stringify(f())}`);
        } catch (err) {
          out[i]!.push(`${label} throws ${(err as Error).message}`);
        }
      };
      script(recorder(c, rec, 'c'), recorder(s, rec, 's'), pump);
    });
    return [out[0]!, out[1]!];
  }

  it('FIN-only, FinalSize, StreamStopped, StreamReset and streamCapacity after completion', function () {
    const [q, t] = both((c, s, pump) => {
      c.streamSend(0, Buffer.from('hello'), false);
      c.streamSend(0, Buffer.alloc(0), true);
      c.streamSend(0, Buffer.alloc(0), true);
      c.streamSend(0, Buffer.from('x'), false);
      pump();
      s.readable();
      s.streamRecv(0, Buffer.alloc(100));
      s.streamRecv(0, Buffer.alloc(100));
      s.streamSend(0, Buffer.from('bye'), true);
      pump();
      c.streamRecv(0, Buffer.alloc(100));
      pump();
      c.streamCapacity(0);
      s.streamCapacity(0);
      c.streamSend(0, Buffer.from('x'), false);
      // stop sending / reset
      c.streamSend(4, Buffer.from('abc'), false);
      pump();
      s.streamShutdown(4, SHUTDOWN_READ, 7);
      s.streamRecv(4, Buffer.alloc(100));
      pump();
      c.streamCapacity(4);
      c.streamSend(4, Buffer.from('x'), false);
      c.streamSend(4, Buffer.alloc(0), true);
      s.streamSend(4, Buffer.from('zz'), false);
      s.streamShutdown(4, SHUTDOWN_WRITE, 9);
      s.streamSend(4, Buffer.from('zz'), false);
      s.streamSend(4, Buffer.alloc(0), true);
      pump();
      c.readable();
      c.streamRecv(4, Buffer.alloc(100));
      c.streamRecv(4, Buffer.alloc(100));
      c.readable();
      pump();
      c.streamCapacity(4);
      s.streamCapacity(0);
      // Not compared: quiche 0.18 never collects a stream whose reading was shut down and which
      // the peer then reset (s.streamCapacity(4) keeps answering, the stream credit is not
      // returned); here it is collected once the reset arrives and our RESET_STREAM is acked.
      c.streamSend(12, Buffer.from('x'), false);
      c.streamSend(3, Buffer.from('x'), false);
      c.streamRecv(396, Buffer.alloc(10));
      // unidirectional streams
      c.streamSend(2, Buffer.from('uni'), false);
      c.streamSend(6, Buffer.alloc(0), false);
      c.streamCapacity(6);
      pump();
      s.readable();
      s.streamCapacity(2);
      s.streamSend(2, Buffer.from('x'), false);
      s.streamShutdown(2, SHUTDOWN_WRITE, 1);
      c.streamShutdown(2, SHUTDOWN_READ, 1);
      c.streamRecv(2, Buffer.alloc(10));
      s.streamRecv(2, Buffer.alloc(10));
      s.streamRecv(6, Buffer.alloc(10));
      c.streamShutdown(40, SHUTDOWN_READ, 1);
      c.streamSend(2, Buffer.from('!'), true);
      pump();
      s.streamRecv(2, Buffer.alloc(10));
      s.streamRecv(2, Buffer.alloc(10));
    });
    expect(t).to.deep.equal(q);
    expect(t.length).to.be.greaterThan(30);
  });
});

type Ops = Pick<QuicEngineConnection, 'streamSend' | 'streamRecv' | 'streamShutdown' | 'streamCapacity'> & {readable(): Iterable<number>};

function opsOf(m: StreamManager): Ops {
  return {
    streamSend: (id, d, fin) => m.streamSend(id, d, fin),
    streamRecv: (id, b) => m.streamRecv(id, b),
    streamShutdown: (id, dir, code) => m.streamShutdown(id, dir, code),
    streamCapacity: (id) => m.streamCapacity(id),
    readable: () => m.readable(),
  };
}

function recorder(x: Ops | QuicEngineConnection, rec: (label: string, f: () => unknown) => void, name: string): Ops {
  const readable = 'readableStreams' in x ? (): Iterable<number> => x.readableStreams() : (): Iterable<number> => x.readable();
  return {
    streamSend: (id, d, fin) => (rec(`${name}.send(${id}, ${d.length}, ${fin})`, () => x.streamSend(id, d, fin)), null),
    streamRecv: (id, b) => (rec(`${name}.recv(${id})`, () => x.streamRecv(id, b)), null),
    streamShutdown: (id, dir, code) => rec(`${name}.shutdown(${id}, ${dir}, ${code})`, () => x.streamShutdown(id, dir, code) ?? null),
    streamCapacity: (id) => (rec(`${name}.capacity(${id})`, () => (x.streamCapacity(id) > 0 ? 'some' : 0)), 0),
    readable: () => (rec(`${name}.readable()`, () => [...readable()].sort()), []),
  };
}

/// <reference types="mocha" />
/**
 * The compliance suite every mesh backend runs, built-in or third-party (public as
 * `receptor-mesh/testing`): real sockets, polling with deadlines (no fixed sleeps). It runs
 * under mocha (its `describe`/`it` globals) and asserts with chai: both are optional peer
 * dependencies of receptor-mesh, needed only by the tests that import this.
 *
 * A backend test file calls `backendCompliance(name, makePair)`; `makePair` builds a fresh
 * listener (for IP transports bound to 127.0.0.1, port `opts.port` or 0; for others at
 * `opts.address` or a fresh one) and a factory for dialers of the listener's `localAddress`.
 * Dialers should use a short back-off so the reconnect test stays fast.
 */
import {expect} from 'chai';
import {pino, type Logger} from 'pino';
import type {BackendRunning, BackendSession, MeshBackend} from '../core/netceptor/backend.js';

export interface GarbageCase {
  name: string;
  /**
   * Sends garbage to the listener at `address` from a raw socket. Resolves when done (for
   * connection-oriented transports: once the listener has dropped that connection).
   */
  send(address: string): Promise<void>;
  /**
   * Connectionless transports, where nothing tells that the garbage arrived: `send` also sends
   * this valid message right after the garbage, from another source (on loopback, datagrams
   * reach the listener in send order). The listener must then show exactly one new session,
   * the marker's, holding only the marker: the garbage reached it first and was dropped
   * without opening a session or delivering a message.
   */
  marker?: Buffer;
}

export interface BackendPair {
  listener: MeshBackend;
  /** A dialer for `address` (the listener's localAddress); redial on unless told otherwise. */
  dialerFor(address: string, opts?: {redial?: boolean}): MeshBackend;
  /** The transport signals closes to the other side (false for UDP). */
  supportsClose: boolean;
  /** What sessions report as maxMessageSize (Infinity allowed). */
  maxMessageSize: number;
  /** Messages that may be in flight at once (lossy transports such as UDP); default unlimited. */
  window?: number;
  /** Raw-socket garbage that must drop only the offending session. */
  garbage?: GarbageCase[];
  /** What a listener's `localAddress` looks like; default `host:port` (ends in `:<digits>`). */
  addressPattern?: RegExp;
}

export interface PairOptions {
  /** Listen on this port again (`host:port` transports; 0 or absent = any free port). */
  port?: number;
  /** Listen at this `localAddress` of an earlier listener again (any transport). */
  address?: string;
}

export type MakePair = (opts?: PairOptions) => Promise<BackendPair>;

/** Options that make a listener bind where an earlier one (at `address`) was. */
function sameAddress(address: string): PairOptions {
  const m = /:(\d+)$/.exec(address);
  return m ? {port: Number(m[1]), address} : {address};
}

export const testLogger: Logger = pino({level: process.env.RECEPTOR_TEST_LOG ?? 'silent'});

/** Polls `check` until it returns something truthy, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | null | false, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Retries `fn` while it fails with `code`, until the deadline. */
export async function retryOn<T>(code: string, fn: () => Promise<T>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== code || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Records what one session delivers. */
export class SessionRecord {
  readonly msgs: Buffer[] = [];
  closeCount = 0;
  closeErr: Error | undefined;
  constructor(readonly s: BackendSession) {
    s.start({
      onMessage: (m) => this.msgs.push(Buffer.from(m)),
      onClose: (err) => {
        this.closeCount++;
        this.closeErr = err;
      },
    });
  }
  get closed(): boolean {
    return this.closeCount > 0;
  }
  /** Takes the first `n` messages once they have arrived. */
  async take(n: number, timeoutMs = 5_000): Promise<Buffer[]> {
    await waitFor(`${n} message(s) on ${this.s.outbound ? 'dialer' : 'listener'} session (have ${this.msgs.length})`, () => this.msgs.length >= n, timeoutMs);
    return this.msgs.splice(0, n);
  }
}

/** A running backend plus the sessions it produced. */
export class Endpoint {
  readonly records: SessionRecord[] = [];
  running: BackendRunning | undefined;
  async start(backend: MeshBackend, logger: Logger = testLogger): Promise<BackendRunning> {
    this.running = await backend.start((s) => this.records.push(new SessionRecord(s)), logger);
    return this.running;
  }
  async stop(): Promise<void> {
    const r = this.running;
    this.running = undefined;
    await r?.stop();
  }
  session(i: number): Promise<SessionRecord> {
    return waitFor(`session #${i + 1}`, () => this.records[i]);
  }
}

/** A message whose bytes say which one it is. */
export function numbered(i: number, size = 8): Buffer {
  const b = Buffer.alloc(size);
  for (let k = 0; k < size; k++) b[k] = (i * 31 + k) & 0xff;
  if (size >= 4) b.writeUInt32BE(i, 0);
  return b;
}

export function backendCompliance(name: string, makePair: MakePair): void {
  describe(`backend compliance: ${name}`, function () {
    let cleanups: Array<() => Promise<void>> = [];
    const track = (e: Endpoint) => {
      cleanups.push(() => e.stop());
      return e;
    };
    afterEach(async () => {
      const list = cleanups.reverse();
      cleanups = [];
      for (const c of list) await c().catch(() => undefined);
    });

    /** Listener + dialer with one established session each (the dialer spoke first). */
    async function connect(opts: {redial?: boolean} = {}) {
      const pair = await makePair();
      const L = track(new Endpoint());
      const D = track(new Endpoint());
      const running = await L.start(pair.listener);
      const address = running.localAddress!;
      expect(address, 'listener reports its bound address').to.match(pair.addressPattern ?? /:\d+$/);
      await D.start(pair.dialerFor(address, opts));
      const d = await D.session(0);
      const hello = Buffer.from('hello from the dialer');
      d.s.send(hello);
      const l = await L.session(0);
      expect(await l.take(1)).to.deep.equal([hello]);
      return {pair, L, D, l, d, address};
    }

    async function roundTrip(l: SessionRecord, d: SessionRecord, tag: number) {
      const a = numbered(tag, 36);
      const b = numbered(tag + 1, 36);
      d.s.send(a);
      l.s.send(b);
      expect(await l.take(1)).to.deep.equal([a]);
      expect(await d.take(1)).to.deep.equal([b]);
    }

    async function sendAll(from: SessionRecord, to: SessionRecord, msgs: Buffer[], window: number) {
      const got: Buffer[] = [];
      for (let i = 0; i < msgs.length; i += window) {
        const batch = msgs.slice(i, i + window);
        for (const m of batch) from.s.send(m);
        got.push(...(await to.take(batch.length)));
      }
      expect(got.length).to.equal(msgs.length);
      for (const [i, m] of msgs.entries()) {
        const g = got[i]!; // as many as sent: checked above
        if (!g.equals(m)) expect.fail(`message ${i} differs (${g.length} vs ${m.length} bytes)`);
      }
    }

    it('a session appears on both sides, with sane properties', async () => {
      const {pair, l, d} = await connect();
      expect(d.s.outbound).to.equal(true);
      expect(l.s.outbound).to.equal(false);
      expect(l.s.kind).to.equal(d.s.kind).and.to.be.a('string').that.is.not.empty;
      expect(l.s.remote).to.be.a('string').that.is.not.empty;
      expect(d.s.remote).to.be.a('string').that.is.not.empty;
      expect(l.s.maxMessageSize).to.equal(pair.maxMessageSize);
      expect(d.s.maxMessageSize).to.equal(pair.maxMessageSize);
      expect(l.closed || d.closed).to.equal(false);
    });

    it('carries 1-byte and 36-byte messages whole in both directions', async () => {
      const {l, d} = await connect();
      for (const size of [1, 36]) {
        const m1 = numbered(size, size);
        const m2 = Buffer.from(numbered(size + 7, size));
        d.s.send(m1);
        l.s.send(m2);
        expect(await l.take(1)).to.deep.equal([m1]);
        expect(await d.take(1)).to.deep.equal([m2]);
      }
    });

    it('carries large messages up to the maximum size whole', async () => {
      const {pair, l, d} = await connect();
      const top = Math.min(pair.maxMessageSize, 1 << 20);
      const sizes = [...new Set([1000, 16_384, 65_000, top - 1, top].filter((s) => s > 0 && s <= top))];
      for (const size of sizes) {
        const m = Buffer.alloc(size, size & 0xff);
        m.writeUInt32BE(size, 0);
        d.s.send(m);
        const [got] = await l.take(1);
        if (!got) return expect.fail('take(1) gave no message');
        expect(got.length, `dialer→listener ${size}`).to.equal(size);
        expect(got.equals(m)).to.equal(true);
        l.s.send(m);
        const [back] = await d.take(1);
        if (!back) return expect.fail('take(1) gave no message');
        expect(back.length, `listener→dialer ${size}`).to.equal(size);
        expect(back.equals(m)).to.equal(true);
      }
    });

    it('delivers 1000 small messages back-to-back in order, both ways', async () => {
      const {pair, l, d} = await connect();
      const window = pair.window ?? 1000;
      const msgs = Array.from({length: 1000}, (_, i) => numbered(i, 4 + (i % 60)));
      await sendAll(d, l, msgs, window);
      await sendAll(l, d, msgs, window);
    });

    it('never puts an empty or oversize message on the wire, and keeps the session', async () => {
      const {pair, l, d} = await connect();
      d.s.send(Buffer.alloc(0));
      l.s.send(new Uint8Array(0));
      if (Number.isFinite(pair.maxMessageSize)) {
        d.s.send(Buffer.alloc(pair.maxMessageSize + 1, 1));
        l.s.send(Buffer.alloc(pair.maxMessageSize + 1, 2));
      }
      await roundTrip(l, d, 100);
      expect(l.closed || d.closed).to.equal(false);
    });

    it('closing a session locally reports onClose once and resolves closed', async () => {
      const {pair, l, d} = await connect();
      d.s.close();
      d.s.close();
      await d.s.closed;
      expect(d.closeCount).to.equal(1);
      d.s.send(Buffer.from('after close')); // ignored, must not throw
      if (pair.supportsClose) {
        await waitFor('listener side to close', () => l.closed);
        await l.s.closed;
        expect(l.closeCount).to.equal(1);
      }
    });

    it('closing the listener side closes the dialer side', async function () {
      const {pair, l, d} = await connect({redial: false});
      if (!pair.supportsClose) this.skip();
      l.s.close();
      await waitFor('dialer side to close', () => d.closed);
      await d.s.closed;
      expect(d.closeCount).to.equal(1);
      expect(l.closeCount).to.equal(1);
    });

    it('flushes messages sent just before close', async function () {
      const {pair, l, d} = await connect({redial: false});
      if (!pair.supportsClose) this.skip();
      const last = Buffer.from('last words');
      l.s.send(last);
      l.s.close();
      expect(await d.take(1)).to.deep.equal([last]);
      await waitFor('dialer side to close', () => d.closed);
    });

    it('stop() closes the listener and its sessions and frees the port', async () => {
      const {pair, L, l, d, address} = await connect({redial: false});
      await L.stop();
      expect(l.closeCount).to.equal(1);
      if (pair.supportsClose) await waitFor('dialer side to close', () => d.closed);
      const again = await makePair(sameAddress(address));
      const L2 = track(new Endpoint());
      const r2 = await retryOn('EADDRINUSE', () => L2.start(again.listener));
      expect(r2.localAddress).to.equal(address);
    });

    it('stop() on a dialer closes its session', async () => {
      const {pair, D, l, d} = await connect();
      await D.stop();
      expect(d.closeCount).to.equal(1);
      if (pair.supportsClose) await waitFor('listener side to close', () => l.closed);
    });

    it('a redialling dialer reconnects after the listener restarts', async () => {
      const {pair, L, D, d, address} = await connect({redial: true});
      await L.stop();
      if (pair.supportsClose) await waitFor('dialer session to end', () => d.closed);
      else d.s.close(); // what the node's idle timeout would do
      const again = await makePair(sameAddress(address));
      const L2 = track(new Endpoint());
      await retryOn('EADDRINUSE', () => L2.start(again.listener));
      const d2 = await waitFor('a second dialer session', () => D.records[1], 10_000);
      const hello = Buffer.from('hello again');
      d2.s.send(hello);
      const l2 = await L2.session(0);
      expect(await l2.take(1)).to.deep.equal([hello]);
      await roundTrip(l2, d2, 200);
    });

    it('garbage from a raw socket drops only that session', async function () {
      const probe = await makePair();
      if (!probe.garbage || probe.garbage.length === 0) this.skip();
      const {pair, L, l, d, address} = await connect();
      let tag = 300;
      for (const g of pair.garbage!) {
        const before = L.records.length;
        await g.send(address);
        if (g.marker) {
          const marked = await waitFor(`the marker sent after garbage "${g.name}"`, () => L.records.slice(before).find((r) => r.msgs.length > 0));
          expect(L.records.length - before, `sessions opened by garbage "${g.name}" and its marker`).to.equal(1);
          expect(marked.msgs, `what garbage "${g.name}" and its marker delivered`).to.deep.equal([g.marker]);
          marked.s.close(); // no close signal on this transport: end the marker's session here
        }
        await waitFor(`sessions opened by garbage "${g.name}" to close`, () => L.records.filter((r) => r !== l).every((r) => r.closed));
        expect(l.closed || d.closed, `good session survives "${g.name}"`).to.equal(false);
        await roundTrip(l, d, (tag += 2));
      }
    });
  });
}

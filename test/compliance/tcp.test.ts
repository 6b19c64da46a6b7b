/** TCP backend: the shared compliance suite plus framing checks against Go captures. */
import {expect} from 'chai';
import {readFileSync} from 'node:fs';
import * as net from 'node:net';
import {pino} from 'pino';
import {ManualClock} from '../../src/core/clock.js';
import {TcpFramer} from '../../src/core/netceptor/tcp-framer.js';
import {TCP_MAX_MESSAGE, TcpDialerBackend, TcpListenerBackend} from '../../src/plugins/backend-tcp/backend.js';
import type {BackendSession} from '../../src/core/netceptor/backend.js';
import {backendCompliance, Endpoint, retryOn, testLogger, waitFor, type GarbageCase, type MakePair} from '../../src/testing/index.js';
import {TEST_TLS} from './tls-fixture.js';

const FAST = {initialMs: 10, maxMs: 50};

function hostPort(address: string): {host: string; port: number} {
  const i = address.lastIndexOf(':');
  return {host: address.slice(0, i), port: Number(address.slice(i + 1))};
}

/** Connects a raw socket, writes `chunks` one by one, and resolves when the peer closes it. */
function rawTcp(address: string, chunks: Buffer[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(hostPort(address));
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('listener did not drop the raw connection'));
    }, 5_000);
    sock.on('connect', () => {
      for (const c of chunks) sock.write(c);
    });
    sock.on('data', () => undefined);
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

const makePair: MakePair = async (opts = {}) => ({
  listener: new TcpListenerBackend({port: opts.port ?? 0, bindAddr: '127.0.0.1'}),
  dialerFor: (address, o = {}) => new TcpDialerBackend({address, redial: o.redial ?? true, backoff: FAST}),
  supportsClose: true,
  maxMessageSize: TCP_MAX_MESSAGE,
  garbage: [
    {name: 'zero-length frame', send: (a) => rawTcp(a, [Buffer.from([0x00, 0x00])])},
    {name: 'zero-length frame after a good one', send: (a) => rawTcp(a, [Buffer.from([0x01, 0x00, 0x01, 0x00, 0x00])])},
  ],
});

backendCompliance('tcp', makePair);

/** Plain bytes to a TLS port: the handshake fails and no session appears. */
const notTls: GarbageCase = {name: 'plain bytes to a TLS port', send: (a) => rawTcp(a, [Buffer.from('0600010203040506', 'hex')])};

const makeTlsPair: MakePair = async (opts = {}) => ({
  listener: new TcpListenerBackend({port: opts.port ?? 0, bindAddr: '127.0.0.1', tls: {key: TEST_TLS.key, cert: TEST_TLS.cert}}),
  dialerFor: (address, o = {}) => new TcpDialerBackend({address, redial: o.redial ?? true, backoff: FAST, tls: {ca: TEST_TLS.cert}}),
  supportsClose: true,
  maxMessageSize: TCP_MAX_MESSAGE,
  garbage: [notTls],
});

backendCompliance('tcp over TLS', makeTlsPair);

interface CaptureLine {
  conn: number;
  dir: string;
  hex: string;
  event?: string;
  msg_hex?: string;
  layer?: string;
}

function readJsonl(name: string): CaptureLine[] {
  const url = new URL(`../vectors/captures/${name}`, import.meta.url);
  return readFileSync(url, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as CaptureLine);
}

describe('tcp backend specifics', () => {
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => undefined);
  });

  async function listener(): Promise<{L: Endpoint; address: string}> {
    const L = new Endpoint();
    stops.push(() => L.stop());
    const r = await L.start(new TcpListenerBackend({port: 0, bindAddr: '127.0.0.1'}));
    return {L, address: r.localAddress!};
  }

  it('the framer reproduces the messages of tcp.jsonl from the recorded chunks (both directions)', () => {
    const chunks = readJsonl('tcp.jsonl');
    const frames = readJsonl('tcp.frames.jsonl');
    for (const dir of ['bar->foo', 'foo->bar']) {
      const framer = new TcpFramer();
      const got: string[] = [];
      for (const c of chunks) if (c.dir === dir && !c.event && c.hex) got.push(...framer.push(Buffer.from(c.hex, 'hex')).map((m) => m.toString('hex')));
      const want = frames.filter((f) => f.dir === dir && f.msg_hex).map((f) => f.msg_hex);
      expect(got.length, dir).to.equal(want.length);
      expect(got).to.deep.equal(want);
    }
  });

  it('a listener session delivers the Go frames of tcp.jsonl replayed chunk by chunk', async () => {
    const {L, address} = await listener();
    const chunks = readJsonl('tcp.jsonl').filter((c) => c.dir === 'bar->foo' && !c.event && c.hex);
    const want = readJsonl('tcp.frames.jsonl')
      .filter((f) => f.dir === 'bar->foo' && f.msg_hex)
      .map((f) => f.msg_hex);
    const sock = net.connect(hostPort(address));
    stops.push(async () => void sock.destroy());
    await new Promise((r) => sock.once('connect', r));
    sock.on('data', () => undefined);
    for (const c of chunks) sock.write(Buffer.from(c.hex, 'hex'));
    const l = await L.session(0);
    const got = await l.take(want.length);
    expect(got.map((m) => m.toString('hex'))).to.deep.equal(want);
  });

  it('reassembles frames split across writes and several frames coalesced in one write', async () => {
    const {L, address} = await listener();
    const sock = net.connect(hostPort(address));
    sock.setNoDelay(true);
    stops.push(async () => void sock.destroy());
    await new Promise((r) => sock.once('connect', r));
    const msgs = [Buffer.from('0102030405', 'hex'), Buffer.alloc(300, 7), Buffer.from('ff', 'hex'), Buffer.alloc(65_535, 9)];
    const wire = Buffer.concat(
      msgs.map((m) => {
        const h = Buffer.alloc(2);
        h.writeUInt16LE(m.length);
        return Buffer.concat([h, m]);
      }),
    );
    // split: the first frame byte by byte, including a lone first length byte
    let off = 0;
    for (; off < 7; off++) {
      sock.write(wire.subarray(off, off + 1));
      await new Promise((r) => setImmediate(r));
    }
    // coalesced: everything else in two writes that cut the big frame in the middle
    sock.write(wire.subarray(off, wire.length - 1000));
    await new Promise((r) => setImmediate(r));
    sock.write(wire.subarray(wire.length - 1000));
    const l = await L.session(0);
    const got = await l.take(msgs.length);
    expect(got.map((m) => m.length)).to.deep.equal(msgs.map((m) => m.length));
    got.forEach((m, i) => expect(m.equals(msgs[i])).to.equal(true));
  });

  it('the dialer frames messages as u16 little-endian length + payload', async () => {
    const received: Buffer[] = [];
    const server = net.createServer((s) => s.on('data', (d) => received.push(d)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    stops.push(() => new Promise((r) => server.close(() => r())));
    const port = (server.address() as net.AddressInfo).port;
    const D = new Endpoint();
    stops.push(() => D.stop());
    await D.start(new TcpDialerBackend({address: `127.0.0.1:${port}`, redial: false}));
    const d = await D.session(0);
    d.s.send(Buffer.from('010203040506', 'hex'));
    d.s.send(Buffer.alloc(271, 0xab));
    await waitFor('bytes at the raw server', () => Buffer.concat(received).length >= 8 + 273);
    const all = Buffer.concat(received);
    expect(all.subarray(0, 8).toString('hex')).to.equal('0600010203040506');
    expect(all.subarray(8, 10).toString('hex')).to.equal('0f01');
    expect(all.length).to.equal(8 + 273);
  });

  it('a dialer with redial off gives up after a refused dial', async () => {
    // find a port that refuses: bind, note it, close
    const tmp = net.createServer();
    await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
    const port = (tmp.address() as net.AddressInfo).port;
    await new Promise<void>((r) => tmp.close(() => r()));
    const lines: Array<{level: number; msg: string}> = [];
    const logger = pino({level: 'debug'}, {write: (l: string) => void lines.push(JSON.parse(l))});
    const D = new Endpoint();
    stops.push(() => D.stop());
    await D.start(new TcpDialerBackend({address: `127.0.0.1:${port}`, redial: false, backoff: {initialMs: 10, maxMs: 10}}), logger);
    await waitFor('the give-up log line', () => lines.find((l) => l.level === 50 && l.msg.startsWith('Backend connection failed:')));
    expect(lines.filter((l) => l.msg.includes('will retry'))).to.have.length(0);
    expect(D.records).to.have.length(0);
  });

  it('a dialer started before its listener (default back-off) connects within about 0.5 s of the listener opening', async () => {
    const tmp = net.createServer();
    await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
    const port = (tmp.address() as net.AddressInfo).port;
    await new Promise<void>((r) => tmp.close(() => r()));
    const lines: Array<{level: number; msg: string; retryInMs?: number}> = [];
    const logger = pino({level: 'debug'}, {write: (l: string) => void lines.push(JSON.parse(l))});
    const D = new Endpoint();
    stops.push(() => D.stop());
    // The back-off runs on a manual clock: the redial can only come from its own timer.
    const clock = new ManualClock();
    await D.start(new TcpDialerBackend({address: `127.0.0.1:${port}`, clock}), logger);
    const refused = await waitFor('a refused dial', () => lines.find((l) => l.msg.startsWith('Backend connection failed (will retry):')));
    expect(refused.msg).to.match(/ECONNREFUSED|connection refused/);
    expect(refused.retryInMs).to.equal(500);
    const L = new Endpoint();
    stops.push(() => L.stop());
    await retryOn('EADDRINUSE', () => L.start(new TcpListenerBackend({port, bindAddr: '127.0.0.1'})));
    // Go's schedule would wait 5 s after the first refused dial; ours retries after 0.5 s.
    clock.advance(499);
    await new Promise((r) => setImmediate(r));
    expect(D.records, 'no redial before 500 ms').to.have.length(0);
    clock.advance(1);
    await D.session(0);
  });

  it('a listener refuses to start on a port in use', async () => {
    const {address} = await listener();
    const port = hostPort(address).port;
    const L2 = new Endpoint();
    let err: unknown;
    try {
      await retryOn('never', () => L2.start(new TcpListenerBackend({port, bindAddr: '127.0.0.1'})));
    } catch (e) {
      err = e;
    }
    expect((err as NodeJS.ErrnoException)?.code).to.equal('EADDRINUSE');
    expect((err as Error).message).to.equal(`listen tcp 127.0.0.1:${port}: bind: address already in use`);
  });

  it('a TLS dialer that does not trust the listener fails the dial and makes no session', async () => {
    const L = new Endpoint();
    stops.push(() => L.stop());
    const r = await L.start(new TcpListenerBackend({port: 0, bindAddr: '127.0.0.1', tls: {key: TEST_TLS.key, cert: TEST_TLS.cert}}));
    const lines: Array<{level: number; msg: string}> = [];
    const logger = pino({level: 'debug'}, {write: (l: string) => void lines.push(JSON.parse(l))});
    const D = new Endpoint();
    stops.push(() => D.stop());
    await D.start(new TcpDialerBackend({address: r.localAddress!, redial: false, tls: {}}), logger);
    const line = await waitFor('the failed dial', () => lines.find((l) => l.msg.startsWith('Backend connection failed:')));
    expect(line.msg).to.match(/certificate/i);
    expect(D.records).to.have.length(0);
    expect(L.records).to.have.length(0);
  });

  it('messages that arrive before start() are delivered first, then onClose', async () => {
    const held: BackendSession[] = [];
    const backend = new TcpListenerBackend({port: 0, bindAddr: '127.0.0.1'});
    const running = await backend.start((s) => held.push(s), testLogger);
    stops.push(() => running.stop());
    const frame = (text: string) => {
      const h = Buffer.alloc(2);
      h.writeUInt16LE(text.length);
      return Buffer.concat([h, Buffer.from(text)]);
    };
    const sock = net.connect(hostPort(running.localAddress!));
    sock.on('error', () => undefined);
    await new Promise((r) => sock.once('connect', r));
    sock.end(Buffer.concat([frame('one'), frame('two'), frame('three')]));
    // the listener destroys its side once it has read everything and the FIN
    await new Promise((r) => sock.once('close', r));
    const s = await waitFor('the held session', () => held[0]);
    const events: string[] = [];
    s.start({onMessage: (m) => events.push(String(m)), onClose: (err) => events.push(`close:${err?.message ?? ''}`)});
    expect(events).to.deep.equal(['one', 'two', 'three', 'close:']);
    await s.closed;
  });

  it('a zero-length frame ends the session with an error after the frames before it', async () => {
    const {L, address} = await listener();
    await rawTcp(address, [Buffer.from('010041020042430000', 'hex')]);
    const l = await L.session(0);
    await waitFor('the session to close', () => l.closed);
    expect(l.msgs.map(String)).to.deep.equal(['A', 'BC']);
    expect(l.closeErr?.message).to.match(/zero-length/);
  });
});

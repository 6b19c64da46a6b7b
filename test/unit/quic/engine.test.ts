/**
 * QUIC engine layer against the real quiche binding (no mocks): two endpoints joined by an
 * in-memory "wire" that delivers packets asynchronously and can drop (seeded RNG) and reorder
 * them.
 */
import {expect} from 'chai';
import {createHash, randomFillSync} from 'node:crypto';
import {once} from 'node:events';
import type {Readable, Writable} from 'node:stream';
import {ReceptorError} from '../../../src/core/errors.js';
import {verifyReceptorName} from '../../../src/core/pki/names.js';
import {createCa, createCsr, createInsecureStreamCert, signCsr} from '../../../src/core/pki/x509.js';
import {EngineConnection} from '../../../src/core/netceptor/quic/connection.js';
import {QuicEndpoint, type QuicEndpointOptions} from '../../../src/core/netceptor/quic/endpoint.js';
import {formatQuicErrorText, QuicError} from '../../../src/core/netceptor/quic/engine.js';
import {loadQuicheFrom, quicheEngine} from '../../../src/core/netceptor/quic/quiche.js';
import {dialQuic, listenQuic, QuicConnection, QuicListener, type QuicListenerOptions} from '../../../src/core/netceptor/quic/stream.js';

// ---------------------------------------------------------------------------------------------
// Test wire
// ---------------------------------------------------------------------------------------------

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface WireOptions {
  /** Fraction of packets dropped. */
  loss?: number;
  /** Fraction of packets held back one delivery round (delivered after later packets). */
  reorder?: number;
  seed?: number;
}

interface InFlight {
  from: string;
  to: string;
  packet: Buffer;
}

class TestWire {
  readonly endpoints = new Map<string, QuicEndpoint>();
  readonly blackholes = new Set<string>();
  loss: number;
  reorder: number;
  sent = 0;
  dropped = 0;
  reordered = 0;
  maxPacket = 0;
  /** Length of each peer's first packet. */
  readonly firstPacket = new Map<string, number>();
  private queue: InFlight[] = [];
  private held: InFlight[] = [];
  private scheduled = false;
  private readonly rng: () => number;

  constructor(opts: WireOptions = {}) {
    this.loss = opts.loss ?? 0;
    this.reorder = opts.reorder ?? 0;
    this.rng = mulberry32(opts.seed ?? 1);
  }

  endpoint(key: string, opts: Partial<QuicEndpointOptions> = {}): QuicEndpoint {
    const ep = new QuicEndpoint({engine: quicheEngine(), ...opts, send: opts.send ?? ((to, packet) => this.send(key, to, packet))});
    this.endpoints.set(key, ep);
    return ep;
  }

  send(from: string, to: string, packet: Buffer): void {
    this.sent++;
    if (packet.length > this.maxPacket) this.maxPacket = packet.length;
    if (!this.firstPacket.has(from)) this.firstPacket.set(from, packet.length);
    this.queue.push({from, to, packet});
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.deliver);
  }

  private readonly deliver = (): void => {
    this.scheduled = false;
    const batch = this.queue;
    const late = this.held;
    this.queue = [];
    this.held = [];
    for (const p of batch) {
      if (this.loss > 0 && this.rng() < this.loss) {
        this.dropped++;
        continue;
      }
      if (this.reorder > 0 && this.rng() < this.reorder) {
        this.reordered++;
        this.held.push(p);
        continue;
      }
      this.hand(p);
    }
    for (const p of late) this.hand(p);
    if (this.held.length > 0) this.schedule();
  };

  private hand(p: InFlight): void {
    if (this.blackholes.has(p.to)) return;
    this.endpoints.get(p.to)?.receive(p.from, p.packet);
  }

  close(): void {
    for (const ep of this.endpoints.values()) ep.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

async function waitFor(probe: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function nextConnection(l: QuicListener): Promise<QuicConnection> {
  return once(l, 'connection').then(([c]) => c as QuicConnection);
}

function nextRefusal(l: QuicListener): Promise<Error> {
  return once(l, 'refused').then(([, e]) => e as Error);
}

async function expectReject(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

function readAll(r: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    r.on('data', (d: Buffer) => chunks.push(d));
    r.on('end', () => resolve(Buffer.concat(chunks)));
    r.on('error', reject);
  });
}

/** Writes `size` random bytes with backpressure, then ends; resolves to their SHA-256. */
async function pumpRandom(w: Writable, size: number): Promise<string> {
  const h = createHash('sha256');
  let left = size;
  while (left > 0) {
    const n = Math.min(64 * 1024, left);
    const b = randomFillSync(Buffer.allocUnsafe(n));
    h.update(b);
    left -= n;
    if (!w.write(b)) await once(w, 'drain');
  }
  w.end();
  return h.digest('hex');
}

/** Reads to the end; resolves to the SHA-256 and length. */
function hashAll(r: Readable): Promise<{hash: string; bytes: number}> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let bytes = 0;
    r.on('data', (d: Buffer) => {
      bytes += d.length;
      h.update(d);
    });
    r.on('end', () => resolve({hash: h.digest('hex'), bytes}));
    r.on('error', reject);
  });
}

interface Pair {
  wire: TestWire;
  a: QuicEndpoint;
  b: QuicEndpoint;
  listener: QuicListener;
}

let insecureCert: {certPem: string; keyPem: string};

async function makePair(wireOpts: WireOptions = {}, epOpts: Partial<QuicEndpointOptions> = {}, listenOpts: QuicListenerOptions = {}): Promise<Pair> {
  const wire = new TestWire(wireOpts);
  const a = wire.endpoint('A:dial0001', epOpts);
  const b = wire.endpoint('B:control', epOpts);
  const listener = await listenQuic(b, {insecureCert, ...listenOpts});
  return {wire, a, b, listener};
}

async function connectPair(p: Pair, localNodeId = 'A'): Promise<{client: QuicConnection; server: QuicConnection}> {
  const serverP = nextConnection(p.listener);
  const client = await dialQuic(p.a, 'B:control', {localNodeId});
  const server = await serverP;
  return {client, server};
}

/** Both directions concurrently; returns the elapsed time in ms. */
async function bidirectionalTransfer(client: QuicConnection, server: QuicConnection, size: number): Promise<number> {
  const t0 = Date.now();
  const [sentUp, sentDown, gotUp, gotDown] = await Promise.all([pumpRandom(client.stream, size), pumpRandom(server.stream, size), hashAll(server.stream), hashAll(client.stream)]);
  const ms = Date.now() - t0;
  expect(gotUp.bytes).to.equal(size);
  expect(gotDown.bytes).to.equal(size);
  expect(gotUp.hash).to.equal(sentUp);
  expect(gotDown.hash).to.equal(sentDown);
  return ms;
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

describe('QUIC engine (quiche)', function () {
  this.timeout(30_000);
  let pair: Pair | undefined;
  let ca: {certPem: string; keyPem: string};
  let serverB: {certPem: string; keyPem: string};
  let clientA: {certPem: string; keyPem: string};
  let otherCn: {certPem: string; keyPem: string};

  before(async function () {
    this.timeout(60_000);
    const [ins, caCert] = await Promise.all([createInsecureStreamCert(), createCa({commonName: 'Test CA'})]);
    insecureCert = ins;
    ca = caCert;
    const [csrB, csrA] = await Promise.all([createCsr({commonName: 'B', nodeIds: ['B']}), createCsr({commonName: 'A', nodeIds: ['A']})]);
    serverB = {certPem: signCsr({csrPem: csrB.csrPem, caCertPem: ca.certPem, caKeyPem: ca.keyPem}).certPem, keyPem: csrB.keyPem};
    clientA = {certPem: signCsr({csrPem: csrA.csrPem, caCertPem: ca.certPem, caKeyPem: ca.keyPem}).certPem, keyPem: csrA.keyPem};
    otherCn = {certPem: caCert.certPem, keyPem: caCert.keyPem}; // CN "Test CA"
  });

  afterEach(() => {
    pair?.wire.close();
    pair = undefined;
  });

  describe('errors and loading', () => {
    it('formats connection errors like quic-go', () => {
      expect(formatQuicErrorText('transport', 0x12a, false, 'insecure connection to secure service')).to.equal('CRYPTO_ERROR 0x12a (local): insecure connection to secure service');
      expect(formatQuicErrorText('transport', 0x12a, true, '')).to.equal('CRYPTO_ERROR 0x12a (remote): tls: bad certificate');
      expect(formatQuicErrorText('transport', 0x130, false, '')).to.equal('CRYPTO_ERROR 0x130 (local): tls: unknown certificate authority');
      expect(formatQuicErrorText('transport', 1, false, 'no route to node')).to.equal('INTERNAL_ERROR (local): no route to node');
      expect(formatQuicErrorText('transport', 0, true, '')).to.equal('NO_ERROR (remote)');
      expect(formatQuicErrorText('application', 0, true, 'normal close')).to.equal('Application error 0x0 (remote): normal close');
      expect(formatQuicErrorText('application', 500, false, 'Read Data Error')).to.equal('Application error 0x1f4 (local): Read Data Error');
      expect(formatQuicErrorText('idle-timeout', 0, false, '')).to.equal('timeout: no recent network activity');
      expect(formatQuicErrorText('handshake-timeout', 0, false, '')).to.equal('timeout: handshake did not complete in time');
    });

    it('reports a missing native binding as a ReceptorError naming the platform', () => {
      let err: unknown;
      try {
        loadQuicheFrom('@matrixai/quic-nonexistent-platform');
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(ReceptorError);
      expect((err as Error).message).to.include(`${process.platform}-${process.arch}`);
      expect((err as Error).message).to.include('@matrixai/quic-nonexistent-platform');
    });

    it('refuses packet sizes above one mesh message (16348)', () => {
      expect(() => new QuicEndpoint({engine: quicheEngine(), send: () => undefined, maxPacketSize: 16349})).to.throw(RangeError);
    });
  });

  describe('handshake and stream protocol', () => {
    it('completes the handshake with ALPN netceptor, SNI = dialer node ID, bounded packet sizes', async () => {
      pair = await makePair();
      const serverP = nextConnection(pair.listener);
      const client = await dialQuic(pair.a, 'B:control', {localNodeId: 'A'});
      const server = await serverP;
      expect(client.engine.isEstablished).to.equal(true);
      expect(server.serverName).to.equal('A');
      expect(server.peer).to.equal('A:dial0001');
      expect(client.peer).to.equal('B:control');
      expect(client.peerCertificates).to.have.length(1);
      expect(client.stream.id).to.equal(0);
      expect(server.stream.id).to.equal(0);
      expect(pair.wire.firstPacket.get('A:dial0001')).to.be.at.least(1200);
      expect(pair.wire.maxPacket).to.be.at.most(16348);
    });

    it('never sends more than a Go peer advertises (max_udp_payload_size 1452), Initials stay 1200', async () => {
      // B plays a Go peer: it advertises 1452 and sends at most 1452.
      const wire = new TestWire({});
      const a = wire.endpoint('A:dial0001', {});
      const b = wire.endpoint('B:control', {maxPacketSize: 1452, params: {maxRecvUdpPayloadSize: 1452}});
      pair = {wire, a, b, listener: await listenQuic(b, {insecureCert})};
      const {client, server} = await connectPair(pair);
      await bidirectionalTransfer(client, server, 512 * 1024);
      expect(pair.wire.firstPacket.get([...pair.wire.firstPacket.keys()][0])).to.equal(1200);
      expect(pair.wire.maxPacket).to.be.at.most(1452);
    });

    it('sends no SNI when the node ID is an IP literal', async () => {
      pair = await makePair();
      const {server} = await connectPair(pair, '192.0.2.7');
      expect(server.serverName).to.equal(null);
    });

    it('honours a larger max packet size up to 1452', async () => {
      pair = await makePair({}, {maxPacketSize: 1452});
      const {client, server} = await connectPair(pair);
      await bidirectionalTransfer(client, server, 512 * 1024);
      expect(pair.wire.maxPacket).to.be.at.most(1452).and.above(1350);
    });

    it('the dialer writes 0x00 on stream 0 before application data; the listener consumes it', async () => {
      pair = await makePair();
      const serverP = nextConnection(pair.listener);
      // a raw dialer: the init byte and the payload in one write
      const raw = pair.a.connect('B:control', {tls: {verifyPeer: false}, serverName: 'A'});
      await raw.waitEstablished();
      expect(raw.openStream()).to.equal(0);
      raw.streamSend(0, Buffer.from([0, ...Buffer.from('payload')]), true);
      const server = await serverP;
      expect((await readAll(server.stream)).toString()).to.equal('payload');
    });

    it('exchanges data both ways', async () => {
      pair = await makePair();
      const {client, server} = await connectPair(pair);
      server.stream.write('Receptor Control, node B\n');
      client.stream.write('hello ');
      client.stream.write('world');
      const got: Buffer[] = [];
      server.stream.on('data', (d: Buffer) => got.push(d));
      let line = '';
      client.stream.on('data', (d: Buffer) => (line += d.toString()));
      await waitFor(() => Buffer.concat(got).toString() === 'hello world' && line === 'Receptor Control, node B\n', 5000, 'data');
    });

    it('supports half-close: client ends, server keeps sending, then ends; then a normal close', async () => {
      pair = await makePair();
      const {client, server} = await connectPair(pair);
      const serverGot = readAll(server.stream);
      client.stream.end('request');
      expect((await serverGot).toString()).to.equal('request');
      // the server's direction is still open
      const clientGot = readAll(client.stream);
      let seen = '';
      client.stream.on('data', (d: Buffer) => (seen += d.toString()));
      server.stream.write('part 1;');
      await waitFor(() => seen === 'part 1;', 5000, 'part 1');
      expect(client.stream.finReceived).to.equal(false);
      server.stream.end('part 2');
      expect((await clientGot).toString()).to.equal('part 1;part 2');
      await Promise.all([client.waitClosed(), server.waitClosed()]);
      for (const c of [client, server]) {
        expect(c.engine.closeError).to.equal(undefined);
        expect(c.engine.closeReason?.message).to.match(/^Application error 0x0 \((local|remote)\): normal close$/);
      }
    });

    it('destroy() closes the connection; the peer sees the end of the stream', async () => {
      pair = await makePair();
      const {client, server} = await connectPair(pair);
      const got = readAll(server.stream);
      let seen = '';
      server.stream.on('data', (d: Buffer) => (seen += d.toString()));
      client.stream.write('last words');
      await waitFor(() => seen === 'last words', 5000, 'data');
      client.stream.destroy();
      expect((await got).toString()).to.equal('last words');
      await server.waitClosed();
      expect(server.engine.closeReason?.message).to.equal('Application error 0x0 (remote): normal close');
    });

    it('destroy(err) closes with application error 500 and the reason', async () => {
      pair = await makePair();
      const {client, server} = await connectPair(pair);
      const errP = once(server.stream, 'error').then(([e]) => e as Error);
      client.stream.on('error', () => undefined);
      client.stream.destroy(new Error('boom'));
      expect((await errP).message).to.equal('Application error 0x1f4 (remote): boom');
    });

    it('applies backpressure end to end when the reader stops reading', async () => {
      pair = await makePair();
      const {client, server} = await connectPair(pair);
      server.stream.pause();
      const chunk = Buffer.alloc(64 * 1024, 1);
      let accepted = 0;
      let written = 0;
      let lastProgress = Date.now();
      let stop = false;
      const writer = (async () => {
        while (!stop) {
          written += chunk.length;
          const ok = client.stream.write(chunk, () => {
            accepted += chunk.length;
            lastProgress = Date.now();
          });
          if (!ok) await once(client.stream, 'drain');
        }
      })();
      await waitFor(() => accepted > 0 && Date.now() - lastProgress > 300, 10_000, 'the writer to stall');
      // quiche windows: 1 MiB initial per stream, auto-tuned up to 6 MiB; plus cwnd and our buffers
      expect(accepted).to.be.below(16 * 1024 * 1024);
      expect(client.stream.writableNeedDrain).to.equal(true);
      stop = true;
      const got = hashAll(server.stream);
      server.stream.resume();
      await writer;
      client.stream.end();
      const total = await got;
      expect(total.bytes).to.equal(written);
    });

    it('handles 20 concurrent connections between two endpoints', async () => {
      pair = await makePair();
      const n = 20;
      const servers: QuicConnection[] = [];
      pair.listener.on('connection', (c: QuicConnection) => {
        servers.push(c);
        // echo with a prefix
        const parts: Buffer[] = [];
        c.stream.on('data', (d: Buffer) => parts.push(d));
        c.stream.on('end', () => c.stream.end(Buffer.concat([Buffer.from('echo:'), ...parts])));
      });
      const clients = await Promise.all(Array.from({length: n}, () => dialQuic(pair!.a, 'B:control', {localNodeId: 'A'})));
      expect(new Set(clients.map((c) => c.engine.scid.toString('hex'))).size).to.equal(n);
      const replies = await Promise.all(
        clients.map((c, i) => {
          const body = Buffer.alloc(50_000 + i, i);
          const r = readAll(c.stream);
          c.stream.end(body);
          return r.then((got) => ({got, body}));
        }),
      );
      for (const {got, body} of replies) expect(got.equals(Buffer.concat([Buffer.from('echo:'), body]))).to.equal(true);
      expect(servers).to.have.length(n);
      await waitFor(() => pair!.a.connections().length === 0 && pair!.b.connections().length === 0, 10_000, 'all connections closed');
    });
  });

  describe('bulk transfer', () => {
    const MB = 1024 * 1024;

    it('50 MB in both directions concurrently (SHA-256), clean wire', async function () {
      this.timeout(60_000);
      pair = await makePair();
      const {client, server} = await connectPair(pair);
      const ms = await bidirectionalTransfer(client, server, 50 * MB);
      const rate = (2 * 50) / (ms / 1000);
      console.log(`      clean: 2 x 50 MB in ${ms} ms (${rate.toFixed(1)} MB/s total), ${pair.wire.sent} packets, max ${pair.wire.maxPacket} bytes`);
    });

    it('50 MB in both directions with 2 % loss and reordering (SHA-256)', async function () {
      this.timeout(90_000);
      pair = await makePair({loss: 0.02, reorder: 0.02, seed: 42});
      const {client, server} = await connectPair(pair);
      const ms = await bidirectionalTransfer(client, server, 50 * MB);
      const rate = (2 * 50) / (ms / 1000);
      console.log(`      lossy: 2 x 50 MB in ${ms} ms (${rate.toFixed(1)} MB/s total), ${pair.wire.sent} packets, ${pair.wire.dropped} dropped, ${pair.wire.reordered} reordered`);
      expect(pair.wire.dropped).to.be.above(0);
      expect(pair.wire.reordered).to.be.above(0);
    });
  });

  describe('timers', () => {
    it('times out a handshake the server never answers', async () => {
      const wire = new TestWire();
      pair = {wire, a: wire.endpoint('A:dial0001', {timeouts: {handshakeMs: 300}}), b: wire.endpoint('B:control'), listener: undefined as unknown as QuicListener};
      wire.blackholes.add('B:control');
      const t0 = Date.now();
      const err = await expectReject(dialQuic(pair.a, 'B:control', {localNodeId: 'A'}));
      const ms = Date.now() - t0;
      expect(err).to.be.instanceOf(QuicError);
      expect(err.message).to.equal('timeout: handshake did not complete in time');
      expect(ms).to.be.within(250, 5000);
      await waitFor(() => pair!.a.connections().length === 0, 5000, 'cleanup');
    });

    it('dialer keep-alive holds an idle connection open; without it the idle timeout closes it', async () => {
      const params = {maxIdleTimeoutMs: 600};
      // with keep-alive (200 ms)
      pair = await makePair({}, {params, timeouts: {keepAliveMs: 200}});
      const {client} = await connectPair(pair);
      const t0 = Date.now();
      const out0 = pair.a.stats.packetsOut;
      await waitFor(() => pair!.a.stats.packetsOut >= out0 + 5 && Date.now() - t0 > 1000, 5000, 'keep-alive packets');
      expect(client.engine.isEstablished).to.equal(true);
      pair.wire.close();
      // without keep-alive
      pair = await makePair({}, {params, timeouts: {keepAliveMs: 0}});
      const c2 = await connectPair(pair);
      const errP = once(c2.client.stream, 'error').then(([e]) => e as Error);
      c2.server.stream.on('error', () => undefined);
      expect((await errP).message).to.equal('timeout: no recent network activity');
    });

    it('closes a connection that opens no stream with 500 Accept Timeout', async () => {
      pair = await makePair({}, {}, {acceptTimeoutMs: 200});
      const refused = nextRefusal(pair.listener);
      const raw = pair.a.connect('B:control', {tls: {verifyPeer: false}});
      await raw.waitEstablished();
      await raw.waitClosed();
      expect(raw.closeError?.message).to.equal('Application error 0x1f4 (remote): Accept Timeout');
      expect((await refused).message).to.equal('Application error 0x1f4 (local): Accept Timeout');
    });
  });

  describe('failures', () => {
    it('a wrong init byte makes the listener close with 500 Read Data Error', async () => {
      pair = await makePair();
      const refused = nextRefusal(pair.listener);
      const raw: EngineConnection = pair.a.connect('B:control', {tls: {verifyPeer: false}});
      await raw.waitEstablished();
      raw.streamSend(raw.openStream(), Buffer.from([0x01, 0x02]), false);
      await raw.waitClosed();
      expect(raw.closeError?.message).to.equal('Application error 0x1f4 (remote): Read Data Error');
      expect((await refused).message).to.equal('Application error 0x1f4 (local): Read Data Error');
    });

    it('a stream that ends before the init byte is a Read Error: EOF', async () => {
      pair = await makePair();
      const raw = pair.a.connect('B:control', {tls: {verifyPeer: false}});
      await raw.waitEstablished();
      raw.streamSend(raw.openStream(), Buffer.alloc(0), true);
      await raw.waitClosed();
      expect(raw.closeError?.message).to.equal('Application error 0x1f4 (remote): Read Error: EOF');
    });

    it('closing the listener closes pending connections with 500 Listener Closed', async () => {
      pair = await makePair();
      const raw = pair.a.connect('B:control', {tls: {verifyPeer: false}});
      await raw.waitEstablished();
      await waitFor(() => pair!.b.connections()[0]?.isEstablished === true, 5000, 'server handshake');
      pair.listener.close();
      await raw.waitClosed();
      expect(raw.closeError?.message).to.equal('Application error 0x1f4 (remote): Listener Closed');
    });

    it('a send failure fails the dial with INTERNAL_ERROR, like quic-go', async () => {
      const wire = new TestWire();
      pair = {
        wire,
        a: wire.endpoint('A:dial0001', {
          send: () => {
            throw new Error('no route to node');
          },
        }),
        b: wire.endpoint('B:control'),
        listener: undefined as unknown as QuicListener,
      };
      const err = await expectReject(dialQuic(pair.a, 'B:control', {localNodeId: 'A'}));
      expect(err.message).to.equal('INTERNAL_ERROR (local): no route to node');
      expect(pair.a.connections()).to.have.length(0);
    });

    it('an insecure dialer refuses a server certificate with another CN', async () => {
      pair = await makePair({}, {}, {insecureCert: otherCn});
      const refused = nextRefusal(pair.listener);
      const err = await expectReject(dialQuic(pair.a, 'B:control', {localNodeId: 'A'}));
      expect(err.message).to.equal('CRYPTO_ERROR 0x12a (local): insecure connection to secure service');
      expect((await refused).message).to.equal('CRYPTO_ERROR 0x12a (remote): insecure connection to secure service');
    });
  });

  describe('verified TLS', () => {
    it('connects with CA-signed certificates and post-handshake node-ID checks on both sides', async () => {
      const seenByServer: string[] = [];
      pair = await makePair(
        {},
        {},
        {
          tls: {
            ...serverB,
            caPem: ca.certPem,
            requireClientCert: true,
            verifyPeer: (chain) => {
              seenByServer.push(chain.length > 0 ? 'cert' : 'none');
              return verifyReceptorName(chain[0], 'A');
            },
          },
        },
      );
      const serverP = nextConnection(pair.listener);
      const client = await dialQuic(pair.a, 'B:control', {tls: {...clientA, caPem: ca.certPem, verifyPeer: (chain) => verifyReceptorName(chain[0], 'B')}});
      const server = await serverP;
      expect(seenByServer).to.deep.equal(['cert']);
      expect(server.serverName).to.equal(null); // receptor's tls-client sends no SNI
      expect(server.peerCertificates).to.have.length(1);
      const got = readAll(server.stream);
      client.stream.end('over TLS');
      expect((await got).toString()).to.equal('over TLS');
    });

    it('a refusing client hook fails the dial with CRYPTO_ERROR 0x12a (local)', async () => {
      pair = await makePair({}, {}, {tls: {...serverB}});
      const refused = nextRefusal(pair.listener);
      const err = await expectReject(dialQuic(pair.a, 'B:control', {tls: {...clientA, caPem: ca.certPem, verifyPeer: (chain) => verifyReceptorName(chain[0], 'W')}}));
      expect(err.message).to.equal('CRYPTO_ERROR 0x12a (local): x509: certificate is valid for Receptor node ID B, not W');
      expect((await refused).message).to.match(/^CRYPTO_ERROR 0x12a \(remote\)/);
    });

    it('a refusing server hook surfaces on the client after its dial as CRYPTO_ERROR 0x12a (remote): tls: bad certificate', async () => {
      pair = await makePair({}, {}, {tls: {...serverB, caPem: ca.certPem, requireClientCert: true, verifyPeer: (chain) => verifyReceptorName(chain[0], 'Z')}});
      const refused = nextRefusal(pair.listener);
      const client = await dialQuic(pair.a, 'B:control', {tls: {...clientA, caPem: ca.certPem, verifyPeer: () => undefined}});
      const err = await once(client.stream, 'error').then(([e]) => e as Error);
      expect(err.message).to.equal('CRYPTO_ERROR 0x12a (remote): tls: bad certificate');
      expect((await refused).message).to.equal('CRYPTO_ERROR 0x12a (local): x509: certificate is valid for Receptor node ID A, not Z');
    });

    it('a client without certificate is refused by a server requiring one', async () => {
      pair = await makePair({}, {}, {tls: {...serverB, caPem: ca.certPem, requireClientCert: true, verifyPeer: () => undefined}});
      const client = dialQuic(pair.a, 'B:control', {tls: {caPem: ca.certPem, verifyPeer: () => undefined}});
      // TLS 1.3: the client may finish its handshake before the refusal arrives
      const outcome = await client.then(
        (c) => once(c.stream, 'error').then(([e]) => e as Error),
        (e: Error) => e,
      );
      expect(outcome.message).to.match(/^CRYPTO_ERROR 0x1[0-9a-f]{2} \(remote\): tls: /);
    });
  });
});

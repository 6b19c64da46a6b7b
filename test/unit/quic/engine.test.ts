/**
 * QUIC engine layer against the real engines (no mocks): two endpoints joined by an in-memory
 * wire (test/support/quic-wire.ts) that delivers packets asynchronously and can drop, reorder
 * and duplicate them (seeded). The protocol suite runs for each engine pair of the matrix
 * (client engine ↔ server engine): quiche↔quiche, ts↔ts, ts↔quiche, quiche↔ts. QUIC_MATRIX
 * picks pairs (`quiche-ts,ts` = client quiche/server ts, and ts↔ts; `all`); without it,
 * RECEPTOR_QUIC_ENGINE=ts (or quiche) runs the pairs using that engine; by default every pair
 * whose engines are available here runs and the others are skipped with a message. An engine
 * asked for (named in QUIC_MATRIX, or RECEPTOR_QUIC_ENGINE's) that is unavailable fails; the
 * other engine of a mixed pair may be missing (skipped).
 */
import {expect} from 'chai';
import {once} from 'node:events';
import {ManualClock} from '../../../src/core/clock.js';
import {ReceptorError} from '../../../src/core/errors.js';
import {verifyReceptorName} from '../../../src/core/pki/names.js';
import {EngineConnection} from '../../../src/core/netceptor/quic/connection.js';
import {QuicEndpoint, type QuicEndpointOptions} from '../../../src/core/netceptor/quic/endpoint.js';
import {formatQuicErrorText, QuicError} from '../../../src/core/netceptor/quic/engine.js';
import {loadQuicheFrom, quicheEngine} from '../../../src/core/netceptor/quic/quiche.js';
import {dialQuic, listenQuic, QuicConnection, QuicListener, type QuicListenerOptions} from '../../../src/core/netceptor/quic/stream.js';
import {ENGINE_NAMES, engineUnavailable, makeEngine, skipBecause, type EngineName} from '../../support/quic-engines.js';
import {bidirectionalTransfer, expectReject, hashAll, nextConnection, nextRefusal, quicTestCerts, readAll} from '../../support/quic-streams.js';
import {TestWire, type WireOptions} from '../../support/quic-wire.js';

// ---------------------------------------------------------------------------------------------
// The engine matrix
// ---------------------------------------------------------------------------------------------

interface EnginePair {
  client: EngineName;
  server: EngineName;
}

function isEngineName(v: string): v is EngineName {
  return (ENGINE_NAMES as readonly string[]).includes(v);
}

/**
 * The pairs to run: QUIC_MATRIX (explicit), else with RECEPTOR_QUIC_ENGINE=ts|quiche (the CI
 * pass that forces an engine) every pair using that engine, else all (default); `required`:
 * the engines whose absence fails rather than skips.
 */
function enginePairs(spec = process.env.QUIC_MATRIX ?? '', forced = process.env.RECEPTOR_QUIC_ENGINE ?? ''): {pairs: EnginePair[]; required: Set<EngineName>} {
  const all = ENGINE_NAMES.flatMap((client) => ENGINE_NAMES.map((server) => ({client, server})));
  const text = spec.trim().toLowerCase();
  const force = forced.trim().toLowerCase();
  if (text === '' && isEngineName(force)) return {pairs: all.filter((p) => p.client === force || p.server === force), required: new Set([force])};
  if (text === '' || text === 'all') return {pairs: all, required: new Set(text === 'all' ? ENGINE_NAMES : [])};
  const pairs: EnginePair[] = [];
  for (const tok of text.split(/[\s,]+/).filter(Boolean)) {
    const [client, server = client] = tok.split('-');
    if (!client || !isEngineName(client) || !isEngineName(server))
      throw new Error(`QUIC_MATRIX: bad pair ${JSON.stringify(tok)} (use client-server with engines ${ENGINE_NAMES.join(', ')}, e.g. quiche-ts)`);
    if (!pairs.some((p) => p.client === client && p.server === server)) pairs.push({client, server});
  }
  return {pairs, required: new Set(pairs.flatMap((p) => [p.client, p.server]))};
}

const MATRIX = enginePairs();

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

interface Pair {
  wire: TestWire;
  a: QuicEndpoint;
  b: QuicEndpoint;
  listener: QuicListener;
}

let insecureCert: {certPem: string; keyPem: string};

/** A (the dialer, key A:dial0001) on the pair's client engine, B (B:control) on its server engine. */
function endpoints(engines: EnginePair, wire: TestWire, aOpts: Partial<QuicEndpointOptions> = {}, bOpts: Partial<QuicEndpointOptions> = aOpts): {a: QuicEndpoint; b: QuicEndpoint} {
  return {a: wire.endpoint('A:dial0001', {engine: makeEngine(engines.client), ...aOpts}), b: wire.endpoint('B:control', {engine: makeEngine(engines.server), ...bOpts})};
}

async function makePair(engines: EnginePair, wireOpts: WireOptions = {}, epOpts: Partial<QuicEndpointOptions> = {}, listenOpts: QuicListenerOptions = {}): Promise<Pair> {
  const wire = new TestWire(wireOpts);
  const {a, b} = endpoints(engines, wire, epOpts);
  const listener = await listenQuic(b, {insecureCert, ...listenOpts});
  return {wire, a, b, listener};
}

async function connectPair(p: Pair, localNodeId = 'A'): Promise<{client: QuicConnection; server: QuicConnection}> {
  const serverP = nextConnection(p.listener);
  const client = await dialQuic(p.a, 'B:control', {localNodeId});
  const server = await serverP;
  return {client, server};
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

describe('QUIC engine', function () {
  this.timeout(30_000);
  let ca: {certPem: string; keyPem: string};
  let serverB: {certPem: string; keyPem: string};
  let clientA: {certPem: string; keyPem: string};
  let otherCn: {certPem: string; keyPem: string};

  before(async function () {
    this.timeout(60_000);
    ({insecure: insecureCert, ca, serverB, clientA} = await quicTestCerts());
    otherCn = {certPem: ca.certPem, keyPem: ca.keyPem}; // CN "Test CA"
  });

  describe('errors and loading (quiche)', () => {
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

  for (const engines of MATRIX.pairs) {
    const label = `${engines.client} (client) ↔ ${engines.server} (server)`;
    describe(label, function () {
      let pair: Pair | undefined;

      before(function () {
        const used = [...new Set([engines.client, engines.server])];
        const missing = used
          .filter((e) => MATRIX.required.has(e))
          .map(engineUnavailable)
          .filter(Boolean);
        if (missing.length > 0) throw new Error(`QUIC_MATRIX or RECEPTOR_QUIC_ENGINE asks for ${label}, which cannot run here: ${missing.join('; ')}`);
        const why = used.map(engineUnavailable).filter(Boolean).join('; ');
        if (why) skipBecause(this, `QUIC engine pair ${label}: ${why}`);
      });

      afterEach(() => {
        pair?.wire.close();
        pair = undefined;
      });

      describe('handshake and stream protocol', () => {
        it('completes the handshake with ALPN netceptor, SNI = dialer node ID, bounded packet sizes', async () => {
          pair = await makePair(engines);
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
          const {a, b} = endpoints(engines, wire, {}, {maxPacketSize: 1452, params: {maxRecvUdpPayloadSize: 1452}});
          pair = {wire, a, b, listener: await listenQuic(b, {insecureCert})};
          const {client, server} = await connectPair(pair);
          await bidirectionalTransfer(client, server, 512 * 1024);
          expect(pair.wire.firstPacket.get([...pair.wire.firstPacket.keys()][0])).to.equal(1200);
          expect(pair.wire.maxPacket).to.be.at.most(1452);
        });

        it('sends no SNI when the node ID is an IP literal', async () => {
          pair = await makePair(engines);
          const {server} = await connectPair(pair, '192.0.2.7');
          expect(server.serverName).to.equal(null);
        });

        it('honours a larger max packet size up to 1452', async () => {
          pair = await makePair(engines, {}, {maxPacketSize: 1452});
          const {client, server} = await connectPair(pair);
          await bidirectionalTransfer(client, server, 512 * 1024);
          expect(pair.wire.maxPacket).to.be.at.most(1452).and.above(1350);
        });

        it('the dialer writes 0x00 on stream 0 before application data; the listener consumes it', async () => {
          pair = await makePair(engines);
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
          pair = await makePair(engines);
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
          pair = await makePair(engines);
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
          pair = await makePair(engines);
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
          pair = await makePair(engines);
          const {client, server} = await connectPair(pair);
          const errP = once(server.stream, 'error').then(([e]) => e as Error);
          client.stream.on('error', () => undefined);
          client.stream.destroy(new Error('boom'));
          expect((await errP).message).to.equal('Application error 0x1f4 (remote): boom');
        });

        it('applies backpressure end to end when the reader stops reading', async () => {
          pair = await makePair(engines);
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
          // windows: 1 MiB initial per stream, auto-tuned up to 6 MiB (max_stream_window); plus cwnd and our buffers
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
          pair = await makePair(engines);
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
          pair = await makePair(engines);
          const {client, server} = await connectPair(pair);
          const ms = await bidirectionalTransfer(client, server, 50 * MB);
          const rate = (2 * 50) / (ms / 1000);
          console.log(`      clean: 2 x 50 MB in ${ms} ms (${rate.toFixed(1)} MB/s total), ${pair.wire.sent} packets, max ${pair.wire.maxPacket} bytes`);
        });

        it('50 MB in both directions with 2 % loss and reordering (SHA-256)', async function () {
          this.timeout(90_000);
          pair = await makePair(engines, {loss: 0.02, reorder: 0.02, seed: 42});
          const {client, server} = await connectPair(pair);
          const ms = await bidirectionalTransfer(client, server, 50 * MB);
          const rate = (2 * 50) / (ms / 1000);
          console.log(
            `      lossy: 2 x 50 MB in ${ms} ms (${rate.toFixed(1)} MB/s total), ${pair.wire.sent} packets, ${pair.wire.dropped} dropped, ${pair.wire.reordered} reordered`,
          );
          expect(pair.wire.dropped).to.be.above(0);
          expect(pair.wire.reordered).to.be.above(0);
        });
      });

      describe('timers', () => {
        it('times out a handshake the server never answers', async () => {
          const wire = new TestWire();
          const clock = new ManualClock();
          pair = {wire, ...endpoints(engines, wire, {timeouts: {handshakeMs: 300}, clock}, {}), listener: undefined as unknown as QuicListener};
          wire.blackholes.add('B:control');
          let settled: unknown;
          const dial = dialQuic(pair.a, 'B:control', {localNodeId: 'A'}).then(
            () => (settled = 'connected'),
            (e: unknown) => (settled = e),
          );
          await waitFor(() => pair!.a.connections().length === 1, 5000, 'the dial to start');
          clock.advance(299);
          await new Promise((r) => setImmediate(r));
          expect(settled).to.equal(undefined); // not before its time
          clock.advance(1);
          await dial;
          const err = settled as Error;
          expect(err).to.be.instanceOf(QuicError);
          expect(err.message).to.equal('timeout: handshake did not complete in time');
          await waitFor(() => pair!.a.connections().length === 0, 5000, 'cleanup');
        });

        it('dialer keep-alive holds an idle connection open; without it the idle timeout closes it', async () => {
          const params = {maxIdleTimeoutMs: 600};
          // with keep-alive (200 ms)
          pair = await makePair(engines, {}, {params, timeouts: {keepAliveMs: 200}});
          const {client} = await connectPair(pair);
          const t0 = Date.now();
          const out0 = pair.a.stats.packetsOut;
          await waitFor(() => pair!.a.stats.packetsOut >= out0 + 5 && Date.now() - t0 > 1000, 5000, 'keep-alive packets');
          expect(client.engine.isEstablished).to.equal(true);
          pair.wire.close();
          // without keep-alive
          pair = await makePair(engines, {}, {params, timeouts: {keepAliveMs: 0}});
          const c2 = await connectPair(pair);
          const errP = once(c2.client.stream, 'error').then(([e]) => e as Error);
          c2.server.stream.on('error', () => undefined);
          expect((await errP).message).to.equal('timeout: no recent network activity');
        });

        it('closes a connection that opens no stream with 500 Accept Timeout', async () => {
          pair = await makePair(engines, {}, {}, {acceptTimeoutMs: 200});
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
          pair = await makePair(engines);
          const refused = nextRefusal(pair.listener);
          const raw: EngineConnection = pair.a.connect('B:control', {tls: {verifyPeer: false}});
          await raw.waitEstablished();
          raw.streamSend(raw.openStream(), Buffer.from([0x01, 0x02]), false);
          await raw.waitClosed();
          expect(raw.closeError?.message).to.equal('Application error 0x1f4 (remote): Read Data Error');
          expect((await refused).message).to.equal('Application error 0x1f4 (local): Read Data Error');
        });

        it('a stream that ends before the init byte is a Read Error: EOF', async () => {
          pair = await makePair(engines);
          const raw = pair.a.connect('B:control', {tls: {verifyPeer: false}});
          await raw.waitEstablished();
          raw.streamSend(raw.openStream(), Buffer.alloc(0), true);
          await raw.waitClosed();
          expect(raw.closeError?.message).to.equal('Application error 0x1f4 (remote): Read Error: EOF');
        });

        it('closing the listener closes pending connections with 500 Listener Closed', async () => {
          pair = await makePair(engines);
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
            ...endpoints(
              engines,
              wire,
              {
                send: () => {
                  throw new Error('no route to node');
                },
              },
              {},
            ),
            listener: undefined as unknown as QuicListener,
          };
          const err = await expectReject(dialQuic(pair.a, 'B:control', {localNodeId: 'A'}));
          expect(err.message).to.equal('INTERNAL_ERROR (local): no route to node');
          expect(pair.a.connections()).to.have.length(0);
        });

        it('an insecure dialer refuses a server certificate with another CN', async () => {
          pair = await makePair(engines, {}, {}, {insecureCert: otherCn});
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
            engines,
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
          pair = await makePair(engines, {}, {}, {tls: {...serverB}});
          const refused = nextRefusal(pair.listener);
          const err = await expectReject(dialQuic(pair.a, 'B:control', {tls: {...clientA, caPem: ca.certPem, verifyPeer: (chain) => verifyReceptorName(chain[0], 'W')}}));
          expect(err.message).to.equal('CRYPTO_ERROR 0x12a (local): x509: certificate is valid for Receptor node ID B, not W');
          expect((await refused).message).to.match(/^CRYPTO_ERROR 0x12a \(remote\)/);
        });

        it('a refusing server hook surfaces on the client after its dial as CRYPTO_ERROR 0x12a (remote): tls: bad certificate', async () => {
          pair = await makePair(engines, {}, {}, {tls: {...serverB, caPem: ca.certPem, requireClientCert: true, verifyPeer: (chain) => verifyReceptorName(chain[0], 'Z')}});
          const refused = nextRefusal(pair.listener);
          const client = await dialQuic(pair.a, 'B:control', {tls: {...clientA, caPem: ca.certPem, verifyPeer: () => undefined}});
          const err = await once(client.stream, 'error').then(([e]) => e as Error);
          expect(err.message).to.equal('CRYPTO_ERROR 0x12a (remote): tls: bad certificate');
          expect((await refused).message).to.equal('CRYPTO_ERROR 0x12a (local): x509: certificate is valid for Receptor node ID A, not Z');
        });

        it('a client without certificate is refused by a server requiring one', async () => {
          pair = await makePair(engines, {}, {}, {tls: {...serverB, caPem: ca.certPem, requireClientCert: true, verifyPeer: () => undefined}});
          const client = dialQuic(pair.a, 'B:control', {tls: {caPem: ca.certPem, verifyPeer: () => undefined}});
          // TLS 1.3: the client may finish its handshake before the refusal arrives
          const outcome = await client.then(
            (c) => once(c.stream, 'error').then(([e]) => e as Error),
            (e: Error) => e,
          );
          expect(outcome.message).to.match(/^CRYPTO_ERROR 0x1[0-9a-f]{2} \(remote\): tls: /);
        });
      });

      describe('loss, reordering and duplication (4 MiB each way, SHA-256, seeded)', () => {
        const SIZE = 4 * 1024 * 1024;
        const cases: Array<{name: string; wire: WireOptions; ep?: Partial<QuicEndpointOptions>}> = [
          {name: '1 % loss', wire: {loss: 0.01, seed: 101}},
          {name: '5 % loss', wire: {loss: 0.05, seed: 105}},
          {name: '20 % loss', wire: {loss: 0.2, seed: 120}},
          // As between a Go peer and us: packets of at most 1452 bytes, so ten times as many.
          {name: '5 % loss, packets ≤ 1452 bytes', wire: {loss: 0.05, seed: 1452}, ep: {maxPacketSize: 1452, params: {maxRecvUdpPayloadSize: 1452}}},
          {name: '10 % reordering', wire: {reorder: 0.1, seed: 7}},
          {name: '10 % duplication', wire: {duplicate: 0.1, seed: 8}},
          {name: '20 % loss A→B, 1 % B→A, 5 % reordering and duplication', wire: {lossFrom: {'A:dial0001': 0.2, 'B:control': 0.01}, reorder: 0.05, duplicate: 0.05, seed: 9}},
        ];
        for (const c of cases) {
          it(`bytes intact under ${c.name}`, async function () {
            this.timeout(60_000);
            pair = await makePair(engines, c.wire, c.ep);
            const {client, server} = await connectPair(pair);
            const ms = await bidirectionalTransfer(client, server, SIZE);
            const w = pair.wire;
            console.log(`        ${c.name}: 2 x 4 MiB in ${ms} ms, ${w.sent} packets, ${w.dropped} dropped, ${w.reordered} reordered, ${w.duplicated} duplicated`);
            // The wire did what the case says (else the case proves nothing).
            if (c.wire.loss || c.wire.lossFrom) expect(w.dropped).to.be.above(0);
            if (c.wire.reorder) expect(w.reordered).to.be.above(0);
            if (c.wire.duplicate) expect(w.duplicated).to.be.above(0);
            if (c.wire.lossFrom) expect(w.droppedFrom.get('A:dial0001') ?? 0).to.be.above(w.droppedFrom.get('B:control') ?? 0);
          });
        }

        it('verified TLS mode under 5 % loss and reordering', async function () {
          this.timeout(60_000);
          pair = await makePair(
            engines,
            {loss: 0.05, reorder: 0.05, seed: 55},
            {},
            {tls: {...serverB, caPem: ca.certPem, requireClientCert: true, verifyPeer: (chain) => verifyReceptorName(chain[0], 'A')}},
          );
          const serverP = nextConnection(pair.listener);
          const client = await dialQuic(pair.a, 'B:control', {tls: {...clientA, caPem: ca.certPem, verifyPeer: (chain) => verifyReceptorName(chain[0], 'B')}});
          const server = await serverP;
          expect(server.peerCertificates).to.have.length(1);
          await bidirectionalTransfer(client, server, SIZE);
          expect(pair.wire.dropped).to.be.above(0);
        });
      });

      describe('close codes and idle timeout', () => {
        it('an application close code and reason reach the peer (client closes, then server closes)', async () => {
          pair = await makePair(engines);
          const cases = [
            {closer: 'client', peer: 'server', code: 0x42, reason: 'bye from A'},
            {closer: 'server', peer: 'client', code: 0x3fff_ffff, reason: 'bye from B'},
          ] as const;
          for (const {closer, peer, code, reason} of cases) {
            const c = await connectPair(pair);
            c.server.stream.on('error', () => undefined);
            c.client.stream.on('error', () => undefined);
            c[closer].engine.close(true, code, reason);
            await Promise.all([c.client.waitClosed(), c.server.waitClosed()]);
            expect(c[closer].engine.closeReason?.message).to.equal(`Application error 0x${code.toString(16)} (local): ${reason}`);
            expect(c[peer].engine.closeReason?.message).to.equal(`Application error 0x${code.toString(16)} (remote): ${reason}`);
          }
        });

        it('a dead link closes both ends with the idle timeout, keep-alive or not', async () => {
          pair = await makePair(engines, {}, {params: {maxIdleTimeoutMs: 500}, timeouts: {keepAliveMs: 150}});
          const {client, server} = await connectPair(pair);
          const errs: Array<Error | undefined> = [undefined, undefined];
          for (const [i, c] of [client, server].entries()) c.stream.once('error', (e: Error) => (errs[i] = e));
          // The engine's idle timer runs on its own monotonic time (quiche cannot take a clock), so
          // only a lower bound is checked on wall time: load can delay a timer, never advance it.
          const t0 = performance.now();
          pair.wire.blackholes.add('A:dial0001');
          pair.wire.blackholes.add('B:control');
          await waitFor(() => errs.every((e) => e !== undefined), 20_000, 'both ends to time out');
          expect(performance.now() - t0).to.be.at.least(400);
          expect(errs.map((e) => e!.message)).to.deep.equal(['timeout: no recent network activity', 'timeout: no recent network activity']);
        });
      });
    });
  }
});

/**
 * The TypeScript QUIC engine's connection: two engine connections driven directly (a loop
 * moving datagrams between them on a fake clock, with seeded loss and reordering), and whole
 * endpoints through QuicEndpoint + dialQuic/listenQuic, TS↔TS and TS↔quiche in both roles.
 */
import {expect} from 'chai';
import {createHash, randomFillSync} from 'node:crypto';
import {once} from 'node:events';
import {verifyReceptorName} from '../../../src/core/pki/names.js';
import {createCa} from '../../../src/core/pki/x509.js';
import type {QuicEndpoint} from '../../../src/core/netceptor/quic/endpoint.js';
import {DEFAULT_TRANSPORT_PARAMS, MAX_GO_QUIC_PACKET, type QuicEngine, type QuicTlsConfig, type QuicTransportParams} from '../../../src/core/netceptor/quic/engine.js';
import {quicheAvailable, quicheEngine} from '../../../src/core/netceptor/quic/quiche.js';
import {dialQuic, listenQuic, type QuicListener, type QuicListenerOptions} from '../../../src/core/netceptor/quic/stream.js';
import type {TsConnection} from '../../../src/core/netceptor/quic/ts/connection.js';
import {TsQuicEngine} from '../../../src/core/netceptor/quic/ts/engine.js';
import {encodeFrames, type Frame} from '../../../src/core/netceptor/quic/ts/frames.js';
import type {PeerCids} from '../../../src/core/netceptor/quic/ts/peer-cids.js';
import type {KeyPhaseState} from '../../../src/core/netceptor/quic/ts/protection.js';
import {mulberry32} from '../../support/prng.js';
import {bidirectionalTransfer, expectReject, hashAll, nextConnection, nextRefusal, pumpRandom, quicTestCerts, readAll} from '../../support/quic-streams.js';
import {TestWire} from '../../support/quic-wire.js';

const HP = {host: '10.0.0.1', port: 4242};

// ---------------------------------------------------------------------------------------------
// Sans-IO pair on a fake clock
// ---------------------------------------------------------------------------------------------

interface PairOptions {
  loss?: number;
  reorder?: number;
  seed?: number;
  clientTls?: QuicTlsConfig;
  serverTls?: QuicTlsConfig;
  clientAlpn?: string[];
  serverAlpn?: string[];
  params?: Partial<QuicTransportParams>;
  serverParams?: Partial<QuicTransportParams>;
  maxPacket?: number;
  keyUpdatePackets?: number;
}

class DirectPair {
  t = 1000;
  readonly engine: TsQuicEngine;
  readonly client: TsConnection;
  readonly server: TsConnection;
  readonly rng: () => number;
  readonly loss: number;
  readonly reorder: number;
  readonly out: Buffer;
  sizes = {client: [] as number[], server: [] as number[]};
  private held: Array<{to: TsConnection; p: Buffer}> = [];

  constructor(cert: {certPem: string; keyPem: string}, opts: PairOptions = {}) {
    this.engine = new TsQuicEngine({now: () => this.t, ...(opts.keyUpdatePackets !== undefined ? {keyUpdatePackets: opts.keyUpdatePackets} : {})});
    this.rng = mulberry32(opts.seed ?? 7);
    this.loss = opts.loss ?? 0;
    this.reorder = opts.reorder ?? 0;
    this.out = Buffer.alloc(opts.maxPacket ?? 1452);
    const params = {...DEFAULT_TRANSPORT_PARAMS, maxSendUdpPayloadSize: this.out.length, ...opts.params};
    const cc = this.engine.createConfig({role: 'client', alpn: opts.clientAlpn ?? ['netceptor'], tls: opts.clientTls ?? {verifyPeer: false}, params});
    const sc = this.engine.createConfig({
      role: 'server',
      alpn: opts.serverAlpn ?? ['netceptor'],
      tls: opts.serverTls ?? {certPem: cert.certPem, keyPem: cert.keyPem, verifyPeer: false},
      params: {...params, ...opts.serverParams},
    });
    this.client = this.engine.connect(cc, 'A', Buffer.from('c1c2c3c4', 'hex'), HP, HP);
    this.server = this.engine.accept(sc, Buffer.from('5a5b5c5d', 'hex'), null, HP, HP);
  }

  /** Moves every pending datagram once; returns how many were sent. */
  step(): number {
    let moved = 0;
    for (const [from, to, key] of [
      [this.client, this.server, 'client'],
      [this.server, this.client, 'server'],
    ] as const) {
      for (let i = 0; i < 10_000; i++) {
        const n = from.send(this.out);
        if (n === null) break;
        moved++;
        this.sizes[key].push(n);
        const p = Buffer.from(this.out.subarray(0, n));
        if (this.loss > 0 && this.rng() < this.loss) continue;
        if (this.reorder > 0 && this.rng() < this.reorder) {
          this.held.push({to, p});
          continue;
        }
        to.recv(p);
      }
    }
    const late = this.held;
    this.held = [];
    for (const h of late) h.to.recv(h.p);
    return moved + late.length;
  }

  /** Advances the clock to the earliest timer and fires what is due. */
  tick(maxMs = 60_000): void {
    const ts = [this.client.timeout(), this.server.timeout()].filter((x): x is number => x !== null);
    const d = ts.length > 0 ? Math.min(...ts, maxMs) : maxMs;
    this.t += Math.max(d, 0.001);
    this.client.onTimeout();
    this.server.onTimeout();
  }

  /** Runs until `done` or the round budget is used; timers fire when nothing moves. */
  run(done: () => boolean, rounds = 20_000, onRound?: () => void): void {
    for (let i = 0; i < rounds; i++) {
      if (done()) return;
      onRound?.();
      if (this.step() === 0) this.tick();
    }
    if (!done()) throw new Error('DirectPair: condition not reached');
  }

  handshake(): void {
    this.run(() => this.client.isEstablished() && this.server.isEstablished());
  }
}

/** Streams `size` bytes each way on stream 0 (client-opened), returns the SHA-256s seen. */
function transfer(p: DirectPair, size: number, onRound?: () => void): {sentUp: string; gotUp: string; sentDown: string; gotDown: string} {
  const rng = mulberry32(99);
  const chunk = Buffer.alloc(32 * 1024);
  const hashes = {su: createHash('sha256'), gu: createHash('sha256'), sd: createHash('sha256'), gd: createHash('sha256')};
  let up = 0;
  let down = 0;
  let gotUp = 0;
  let gotDown = 0;
  let finUp = false;
  let finDown = false;
  let serverSeen = false;
  const rbuf = Buffer.alloc(64 * 1024);
  const fill = (b: Buffer): void => {
    for (let i = 0; i < b.length; i += 4) b.writeUInt32LE((rng() * 2 ** 32) >>> 0, i);
  };
  const pushSide = (c: TsConnection, sent: number, h: ReturnType<typeof createHash>): number => {
    let s = sent;
    while (s < size) {
      const n = Math.min(chunk.length, size - s);
      fill(chunk);
      const w = c.streamSend(0, chunk.subarray(0, n), s + n === size);
      if (w === null || w === 0) break;
      h.update(chunk.subarray(0, w));
      s += w;
      if (w < n) break;
    }
    return s;
  };
  const pullSide = (c: TsConnection, h: ReturnType<typeof createHash>): [number, boolean] => {
    let got = 0;
    let fin = false;
    for (;;) {
      let r: [number, boolean] | null;
      try {
        r = c.streamRecv(0, rbuf);
      } catch {
        break;
      }
      if (r === null) break;
      h.update(rbuf.subarray(0, r[0]));
      got += r[0];
      if (r[1]) {
        fin = true;
        break;
      }
    }
    return [got, fin];
  };
  p.run(
    () => finUp && finDown,
    400_000,
    () => {
      onRound?.();
      up = pushSide(p.client, up, hashes.su);
      if (!serverSeen && [...p.server.readableStreams()].includes(0)) serverSeen = true;
      if (serverSeen) down = pushSide(p.server, down, hashes.sd);
      const [a, fa] = pullSide(p.server, hashes.gu);
      gotUp += a;
      finUp ||= fa;
      const [b, fb] = pullSide(p.client, hashes.gd);
      gotDown += b;
      finDown ||= fb;
    },
  );
  expect(gotUp).to.equal(size);
  expect(gotDown).to.equal(size);
  return {sentUp: hashes.su.digest('hex'), gotUp: hashes.gu.digest('hex'), sentDown: hashes.sd.digest('hex'), gotDown: hashes.gd.digest('hex')};
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

describe('TS QUIC engine: connection', function () {
  this.timeout(60_000);
  let insecure: {certPem: string; keyPem: string};
  let ca: {certPem: string; keyPem: string};
  let serverB: {certPem: string; keyPem: string};
  let clientA: {certPem: string; keyPem: string};

  before(async function () {
    this.timeout(60_000);
    ({insecure, ca, serverB, clientA} = await quicTestCerts());
  });

  describe('through QuicEndpoint and dialQuic/listenQuic', () => {
    class RecordingTsEngine extends TsQuicEngine {
      conns: TsConnection[] = [];
      override connect(...args: Parameters<TsQuicEngine['connect']>): TsConnection {
        const c = super.connect(...args);
        this.conns.push(c);
        return c;
      }
      override accept(...args: Parameters<TsQuicEngine['accept']>): TsConnection {
        const c = super.accept(...args);
        this.conns.push(c);
        return c;
      }
    }
    const recording = new RecordingTsEngine();
    const ts = recording;
    beforeEach(() => {
      recording.conns = [];
    });
    const haveQuiche = quicheAvailable();
    const rows: Array<{name: string; dialer: () => QuicEngine; listener: () => QuicEngine; quiche: boolean}> = [
      {name: 'TS → TS', dialer: () => ts, listener: () => ts, quiche: false},
      {name: 'TS → quiche', dialer: () => ts, listener: () => quicheEngine(), quiche: true},
      {name: 'quiche → TS', dialer: () => quicheEngine(), listener: () => ts, quiche: true},
    ];
    let wire: TestWire | undefined;
    afterEach(() => {
      wire?.close();
      wire = undefined;
    });

    async function setup(
      row: (typeof rows)[number],
      listenOpts: QuicListenerOptions,
      opts: {loss?: number; reorder?: number; maxPacketSize?: number} = {},
    ): Promise<{a: QuicEndpoint; b: QuicEndpoint; listener: QuicListener}> {
      wire = new TestWire({loss: opts.loss ?? 0, reorder: opts.reorder ?? 0, seed: 5});
      const epOpts = opts.maxPacketSize !== undefined ? {maxPacketSize: opts.maxPacketSize} : {};
      const a = wire.endpoint('A:dial0001', {engine: row.dialer(), ...epOpts});
      const b = wire.endpoint('B:control', {engine: row.listener(), ...epOpts});
      const listener = await listenQuic(b, listenOpts);
      return {a, b, listener};
    }

    for (const row of rows) {
      describe(row.name, () => {
        before(function () {
          if (row.quiche && !haveQuiche) this.skip();
        });

        it('plain mode: handshake, SNI, data both ways, normal close', async () => {
          const {a, listener} = await setup(row, {insecureCert: insecure});
          const serverP = nextConnection(listener);
          const client = await dialQuic(a, 'B:control', {localNodeId: 'A'});
          const server = await serverP;
          expect(server.serverName).to.equal('A');
          expect(client.peerCertificates).to.have.length(1);
          const gotUp = readAll(server.stream);
          const gotDown = readAll(client.stream);
          client.stream.end('ping from A');
          server.stream.end('pong from B');
          expect((await gotUp).toString()).to.equal('ping from A');
          expect((await gotDown).toString()).to.equal('pong from B');
          expect(wire?.firstPacket.get('A:dial0001')).to.be.at.least(1200);
        });

        it('verified mode: CA-signed node-ID certificates on both sides', async () => {
          const {a, listener} = await setup(row, {
            tls: {...serverB, caPem: ca.certPem, requireClientCert: true, verifyPeer: (chain) => verifyReceptorName(chain[0], 'A')},
          });
          const serverP = nextConnection(listener);
          const client = await dialQuic(a, 'B:control', {tls: {...clientA, caPem: ca.certPem, verifyPeer: (chain) => verifyReceptorName(chain[0], 'B')}});
          const server = await serverP;
          expect(server.peerCertificates).to.have.length(1);
          const got = readAll(server.stream);
          client.stream.end('over TLS');
          expect((await got).toString()).to.equal('over TLS');
        });

        it('a refused certificate fails the dial with CRYPTO_ERROR 0x12a', async () => {
          const {a, listener} = await setup(row, {tls: {...serverB}});
          const refused = nextRefusal(listener);
          const err = await expectReject(dialQuic(a, 'B:control', {tls: {...clientA, caPem: ca.certPem, verifyPeer: (chain) => verifyReceptorName(chain[0], 'W')}}));
          expect(err.message).to.equal('CRYPTO_ERROR 0x12a (local): x509: certificate is valid for Receptor node ID B, not W');
          expect((await refused).message).to.match(/^CRYPTO_ERROR 0x12a \(remote\)/);
        });

        it('8 MiB both directions at once with 5 % loss and reordering (SHA-256)', async function () {
          this.timeout(180_000);
          const {a, listener} = await setup(row, {insecureCert: insecure}, {loss: 0.05, reorder: 0.05});
          const serverP = nextConnection(listener);
          const client = await dialQuic(a, 'B:control', {localNodeId: 'A'});
          const server = await serverP;
          await bidirectionalTransfer(client, server, 8 * 1024 * 1024);
        });

        it("packets stay within a Go peer's 1452 bytes when the endpoint allows 1452", async () => {
          const {a, listener} = await setup(row, {insecureCert: insecure}, {maxPacketSize: MAX_GO_QUIC_PACKET});
          const serverP = nextConnection(listener);
          const client = await dialQuic(a, 'B:control', {localNodeId: 'A'});
          const server = await serverP;
          const got = hashAll(server.stream);
          const sent = await pumpRandom(client.stream, 512 * 1024);
          expect((await got).hash).to.equal(sent);
          expect(wire?.maxPacket).to.be.at.most(MAX_GO_QUIC_PACKET);
          expect(wire?.maxPacket).to.be.above(1300);
        });

        it('our forced key updates during a transfer (TS side initiates)', async function () {
          this.timeout(60_000);
          const {a, listener} = await setup(row, {insecureCert: insecure});
          const serverP = nextConnection(listener);
          const client = await dialQuic(a, 'B:control', {localNodeId: 'A'});
          const server = await serverP;
          const tsConns = [...recording.conns];
          expect(tsConns.length).to.be.at.least(1);
          const size = 4 * 1024 * 1024;
          let timer: NodeJS.Timeout | undefined;
          const kick = (): void => {
            for (const c of tsConns) c.initiateKeyUpdate();
            timer = setTimeout(kick, 20);
          };
          kick();
          try {
            const [sentUp, gotUp] = await Promise.all([pumpRandom(client.stream, size), hashAll(server.stream), pumpRandom(server.stream, 0), hashAll(client.stream)]);
            expect(gotUp.hash).to.equal(sentUp);
          } finally {
            clearTimeout(timer);
          }
          for (const c of tsConns) expect(c.stats().keyUpdates).to.be.at.least(2);
        });

        it('an application close code and reason reach the other side', async () => {
          const {a, listener} = await setup(row, {insecureCert: insecure});
          const serverP = nextConnection(listener);
          const client = await dialQuic(a, 'B:control', {localNodeId: 'A'});
          const server = await serverP;
          const errP = once(server.stream, 'error').then(([e]) => e as Error);
          client.stream.on('error', () => undefined);
          client.stream.destroy(new Error('Read Data Error'));
          expect((await errP).message).to.equal('Application error 0x1f4 (remote): Read Data Error');
          await server.waitClosed();
          expect(server.engine.closeReason?.message).to.equal('Application error 0x1f4 (remote): Read Data Error');
        });
      });
    }
  });

  describe('two engine connections, fake clock', () => {
    it('completes the handshake: ALPN, SNI, certificate, padded client Initials, confirmation', () => {
      const p = new DirectPair(insecure);
      p.handshake();
      expect(p.client.applicationProto()).to.equal('netceptor');
      expect(p.server.applicationProto()).to.equal('netceptor');
      expect(p.server.serverName()).to.equal('A');
      expect(p.client.peerCertChain()).to.have.length(1);
      expect(p.server.peerCertChain()).to.equal(null);
      expect(p.sizes.client[0]).to.be.at.least(1200);
      // Until the handshake completes nothing exceeds 1200 bytes.
      expect(Math.max(...p.sizes.client.slice(0, 2), ...p.sizes.server.slice(0, 3))).to.be.at.most(1200);
      p.run(() => p.step() === 0);
      expect(p.client.stats().keyPhase).to.equal(0);
      expect(p.client.isDraining()).to.equal(false);
    });

    it('moves 1 MiB each way on a clean wire, SHA-256 intact', () => {
      const p = new DirectPair(insecure);
      p.handshake();
      const r = transfer(p, 1024 * 1024);
      expect(r.gotUp).to.equal(r.sentUp);
      expect(r.gotDown).to.equal(r.sentDown);
    });

    it('moves 8 MiB each way at once with 5 % loss and reordering, SHA-256 intact', function () {
      this.timeout(120_000);
      const p = new DirectPair(insecure, {loss: 0.05, reorder: 0.05, seed: 3});
      p.handshake();
      const r = transfer(p, 8 * 1024 * 1024);
      expect(r.gotUp).to.equal(r.sentUp);
      expect(r.gotDown).to.equal(r.sentDown);
      expect(p.client.stats().lost).to.be.above(0);
    });

    it('forced key updates both ways keep data flowing; the peer follows each update', () => {
      const p = new DirectPair(insecure);
      p.handshake();
      let rounds = 0;
      const r = transfer(p, 2 * 1024 * 1024, () => {
        rounds++;
        // The fake clock stands still, so a round moves a whole window: update early.
        if (rounds === 2) p.client.initiateKeyUpdate();
        if (rounds === 5) p.server.initiateKeyUpdate();
        if (rounds === 8) p.client.initiateKeyUpdate();
      });
      expect(r.gotUp).to.equal(r.sentUp);
      expect(r.gotDown).to.equal(r.sentDown);
      expect(p.client.stats().keyUpdates).to.equal(3);
      expect(p.server.stats().keyUpdates).to.equal(3);
      expect(p.client.localError()).to.equal(null);
      expect(p.server.localError()).to.equal(null);
    });

    it('an application close carries its code and reason to the peer; both end closed', () => {
      const p = new DirectPair(insecure);
      p.handshake();
      expect(p.client.close(true, 0x1f4, Buffer.from('Read Data Error'))).to.equal(true);
      expect(p.client.close(true, 1, Buffer.alloc(0))).to.equal(false);
      expect(p.client.isDraining()).to.equal(true);
      p.step();
      expect(p.server.peerError()).to.deep.include({isApp: true, code: 0x1f4});
      expect(p.server.peerError()?.reason.toString()).to.equal('Read Data Error');
      expect(p.server.isDraining()).to.equal(true);
      expect(p.client.localError()).to.deep.include({isApp: true, code: 0x1f4});
      p.run(() => p.client.isClosed() && p.server.isClosed(), 100);
      expect(p.client.isTimedOut()).to.equal(false);
    });

    it('a close before anything was received closes at once without a packet', () => {
      const p = new DirectPair(insecure);
      expect(p.client.close(true, 0, Buffer.from('normal close'))).to.equal(true);
      expect(p.client.isClosed()).to.equal(true);
      expect(p.client.send(p.out)).to.equal(null);
    });

    it('an application close during the handshake goes out as APPLICATION_ERROR (0x0c)', () => {
      const p = new DirectPair(insecure);
      const n = p.client.send(p.out) as number;
      p.server.recv(Buffer.from(p.out.subarray(0, n)));
      expect(p.server.close(true, 77, Buffer.from('nope'))).to.equal(true);
      p.step();
      expect(p.client.peerError()).to.deep.include({isApp: false, code: 0x0c});
    });

    it('times out an idle connection silently (fake clock): isClosed and isTimedOut', () => {
      const p = new DirectPair(insecure, {params: {maxIdleTimeoutMs: 5000}});
      p.handshake();
      p.run(() => p.step() === 0);
      const t0 = p.t;
      p.run(() => p.client.isClosed() && p.server.isClosed(), 100);
      expect(p.client.isTimedOut()).to.equal(true);
      expect(p.server.isTimedOut()).to.equal(true);
      expect(p.t - t0).to.be.within(4000, 6500);
      expect(p.client.peerError()).to.equal(null);
    });

    it('an ALPN mismatch fails with CRYPTO_ERROR 0x178 (no_application_protocol)', () => {
      const p = new DirectPair(insecure, {clientAlpn: ['other']});
      p.run(() => p.server.isClosed() || p.server.isDraining(), 200);
      expect(p.server.localError()).to.deep.include({isApp: false, code: 0x178});
      p.run(() => p.client.peerError() !== null, 200);
      expect(p.client.peerError()).to.deep.include({isApp: false, code: 0x178});
      expect(p.client.isEstablished()).to.equal(false);
    });

    it('stream resets and stop-sending codes reach the peer', () => {
      const p = new DirectPair(insecure);
      p.handshake();
      expect(p.client.streamSend(4, Buffer.from('hello'), false)).to.equal(5);
      p.run(() => [...p.server.readableStreams()].includes(4));
      p.client.streamShutdown(4, 1, 77);
      p.run(() => p.step() === 0);
      const buf = Buffer.alloc(100);
      let err: unknown;
      try {
        for (let i = 0; i < 3; i++) p.server.streamRecv(4, buf);
      } catch (e) {
        err = e;
      }
      expect((err as Error).message).to.equal('StreamReset(77)');
    });

    it('forced key updates under 5 % loss and reordering', () => {
      const p = new DirectPair(insecure, {loss: 0.05, reorder: 0.1, seed: 11});
      p.handshake();
      let rounds = 0;
      const r = transfer(p, 2 * 1024 * 1024, () => {
        rounds++;
        if (rounds % 7 === 0) p.client.initiateKeyUpdate();
        if (rounds % 11 === 0) p.server.initiateKeyUpdate();
      });
      expect(r.gotUp).to.equal(r.sentUp);
      expect(r.gotDown).to.equal(r.sentDown);
      expect(p.client.stats().keyUpdates).to.be.at.least(2);
      expect(p.client.stats().keyUpdates).to.equal(p.server.stats().keyUpdates);
      expect(p.client.localError()).to.equal(null);
    });

    it('keyUpdatePackets: each side starts an update after that many packets with one key', () => {
      const p = new DirectPair(insecure, {keyUpdatePackets: 100, loss: 0.02, reorder: 0.05, seed: 5});
      p.handshake();
      const r = transfer(p, 2 * 1024 * 1024);
      expect(r.gotUp).to.equal(r.sentUp);
      expect(r.gotDown).to.equal(r.sentDown);
      expect(p.client.stats().keyUpdates).to.be.at.least(5);
      expect(p.client.stats().keyUpdates).to.equal(p.server.stats().keyUpdates);
    });

    it('a second peer key update before we sent with the current keys is KEY_UPDATE_ERROR', () => {
      const p = new DirectPair(insecure);
      p.handshake();
      p.run(() => p.step() === 0);
      const c = p.client as unknown as {rollKeys(): void};
      expect(p.client.streamSend(0, Buffer.from('a'), false)).to.equal(1);
      c.rollKeys();
      let n = p.client.send(p.out) as number;
      p.server.recv(Buffer.from(p.out.subarray(0, n)));
      expect(p.server.stats().keyUpdates).to.equal(1);
      expect(p.client.streamSend(0, Buffer.from('b'), false)).to.equal(1);
      c.rollKeys();
      n = p.client.send(p.out) as number;
      p.server.recv(Buffer.from(p.out.subarray(0, n)));
      expect(p.server.localError()).to.deep.include({isApp: false, code: 0x0e});
    });

    it('a TLS verification failure closes with CRYPTO_ERROR 0x100 + alert, seen by the peer', async () => {
      const other = await createCa({commonName: 'Other CA'});
      const p = new DirectPair(insecure, {serverTls: {...serverB, verifyPeer: false}, clientTls: {caPem: other.certPem, verifyPeer: true}});
      p.run(() => p.client.isClosed() || p.client.isDraining(), 200);
      const code = p.client.localError()?.code ?? 0;
      expect(code).to.be.within(0x100, 0x1ff);
      p.run(() => p.server.peerError() !== null, 200);
      expect(p.server.peerError()?.code).to.equal(code);
      expect(p.client.isEstablished()).to.equal(false);
    });

    it('the server sends at most 3× what it received before the client is validated', () => {
      const p = new DirectPair(insecure);
      const n = p.client.send(p.out) as number;
      p.server.recv(Buffer.from(p.out.subarray(0, n)));
      let sent = 0;
      // Nothing more from the client: PTOs fire, the server may not exceed its budget.
      for (let i = 0; i < 6; i++) {
        for (let m = p.server.send(p.out); m !== null; m = p.server.send(p.out)) sent += m;
        p.t += (p.server.timeout() ?? 1000) + 1;
        p.server.onTimeout();
      }
      expect(sent).to.be.above(1000);
      expect(sent).to.be.at.most(3 * n);
    });

    it('a stateless reset (known token at the end of an undecryptable short packet) closes the connection', () => {
      const p = new DirectPair(insecure);
      p.handshake();
      const token = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
      (p.client as unknown as {cids: PeerCids}).cids.addResetToken(token);
      const junk = Buffer.concat([Buffer.from([0x41]), Buffer.alloc(30, 7), token]);
      p.client.recv(junk);
      expect(p.client.isClosed()).to.equal(true);
      expect(p.client.localError()?.reason.toString()).to.equal('received a stateless reset with token 00112233445566778899aabbccddeeff');
    });

    it('forgeries up to the AEAD integrity limit close with AEAD_LIMIT_REACHED', () => {
      const p = new DirectPair(insecure);
      p.handshake();
      const ks = (p.client as unknown as {app: KeyPhaseState}).app;
      ks.read.usage.openFailures = ks.read.usage.limits.integrity - 1;
      ks.nextRead.usage.openFailures = ks.nextRead.usage.limits.integrity - 1;
      const forged = Buffer.concat([Buffer.from([0x40]), Buffer.from('c1c2c3c4', 'hex'), Buffer.alloc(40, 0x33)]);
      p.client.recv(forged);
      expect(p.client.localError()).to.deep.include({isApp: false, code: 0x0f});
    });

    it('NEW_CONNECTION_ID: stored up to the limit, retire_prior_to answered and the DCID switched', () => {
      const p = new DirectPair(insecure);
      p.handshake();
      const c = (p.client as unknown as {cids: PeerCids}).cids;
      const cid1 = Buffer.from('0102030405060708', 'hex');
      const cid2 = Buffer.from('1112131415161718', 'hex');
      expect(c.onNewConnectionId(1, 0, cid1, Buffer.alloc(16, 1))).to.equal(null);
      expect(c.onNewConnectionId(2, 2, cid2, Buffer.alloc(16, 2))).to.equal(null);
      expect(c.retireQueue).to.deep.equal([0, 1]);
      expect(c.current.equals(cid2)).to.equal(true);
      expect(c.onNewConnectionId(3, 0, Buffer.from('21', 'hex'), Buffer.alloc(16, 3))).to.equal(null);
      expect(c.onNewConnectionId(4, 0, Buffer.from('31', 'hex'), Buffer.alloc(16, 4))).to.deep.include({code: 0x09});
      // The retirements go out and the peer keeps talking to the new CID.
      p.run(() => p.step() === 0);
      expect(c.retireQueue).to.deep.equal([]);
    });

    it('fuzz: sealed 1-RTT packets of random frames never throw or end in INTERNAL_ERROR', function () {
      this.timeout(120_000);
      const rng = mulberry32(2024);
      const int = (n: number): number => Math.floor(rng() * n);
      const big = (): number => [0, 1, 2, 63, 64, 16383, 16384, 2 ** 30, 2 ** 40, 2 ** 52][int(10)] as number;
      const sid = (): number => [0, 1, 2, 3, 4, 5, 8, 400, 2 ** 40][int(9)] as number;
      const frame = (): Frame => {
        switch (int(17)) {
          case 0:
            return {type: 'ping'};
          case 1:
            return {type: 'padding', length: 1 + int(20)};
          case 2: {
            const largest = int(3000);
            return {type: 'ack', ackDelay: big(), ranges: [{largest, smallest: Math.max(0, largest - int(5))}]};
          }
          case 3:
            return {type: 'reset_stream', streamId: sid(), errorCode: big(), finalSize: int(2) === 0 ? int(100) : big()};
          case 4:
            return {type: 'stop_sending', streamId: sid(), errorCode: big()};
          case 5:
            return {type: 'crypto', offset: int(2) === 0 ? int(100) : big() % 2 ** 40, data: randomFillSync(Buffer.alloc(int(40)))};
          case 6:
            return {type: 'new_token', token: Buffer.alloc(1 + int(10), 1)};
          case 7:
            return {type: 'stream', streamId: sid(), offset: int(2) === 0 ? int(5000) : big() % 2 ** 40, data: Buffer.alloc(int(300), 0x61), fin: int(2) === 0};
          case 8:
            return {type: 'max_data', maximum: big()};
          case 9:
            return {type: 'max_stream_data', streamId: sid(), maximum: big()};
          case 10:
            return {type: 'max_streams', bidi: int(2) === 0, maximum: int(2) === 0 ? int(200) : 2 ** 50};
          case 11:
            return {type: 'data_blocked', limit: big()};
          case 12:
            return {type: 'stream_data_blocked', streamId: sid(), limit: big()};
          case 13:
            return {type: 'streams_blocked', bidi: int(2) === 0, limit: int(1000)};
          case 14: {
            const sequence = int(6);
            return {
              type: 'new_connection_id',
              sequence,
              retirePriorTo: int(sequence + 1),
              connectionId: randomFillSync(Buffer.alloc(1 + int(20))),
              statelessResetToken: Buffer.alloc(16, 9),
            };
          }
          case 15:
            return {type: 'retire_connection_id', sequence: int(3)};
          default:
            return {type: 'path_challenge', data: randomFillSync(Buffer.alloc(8))};
        }
      };
      let p = new DirectPair(insecure);
      p.handshake();
      p.run(() => p.step() === 0);
      let closes = 0;
      for (let i = 0; i < 3000; i++) {
        if (p.server.isClosed() || p.server.isDraining()) {
          const e = p.server.localError();
          expect(e?.code, `iteration ${i}: ${e?.reason.toString()}`).to.not.equal(1);
          closes++;
          p = new DirectPair(insecure);
          p.handshake();
          p.run(() => p.step() === 0);
        }
        const frames = Array.from({length: 1 + int(4)}, frame);
        const c = p.client as unknown as {app: KeyPhaseState; cids: PeerCids; spaces: Array<{nextPn: number}>};
        const space = c.spaces[2] as {nextPn: number};
        const pn = space.nextPn++;
        const payload = Buffer.concat([encodeFrames(frames), Buffer.alloc(4)]);
        const header = Buffer.concat([
          Buffer.from([0x40 | (c.app.phase ? 0x04 : 0) | 0x03]),
          c.cids.current,
          Buffer.from([(pn >>> 24) & 0xff, (pn >>> 16) & 0xff, (pn >>> 8) & 0xff, pn & 0xff]),
        ]);
        const pkt = c.app.write.seal(header, header.length - 4, 4, pn, payload);
        expect(() => p.server.recv(pkt)).to.not.throw();
        expect(() => p.server.send(p.out)).to.not.throw();
        expect(() => p.server.onTimeout()).to.not.throw();
        const buf = Buffer.alloc(64);
        for (const id of p.server.readableStreams()) {
          try {
            p.server.streamRecv(id, buf);
          } catch {
            // stream errors are thrown by design (StreamReset etc.)
          }
        }
      }
      expect(closes).to.be.above(10);
    });

    it('many streams at once', () => {
      const p = new DirectPair(insecure);
      p.handshake();
      const n = 60;
      for (let i = 0; i < n; i++) expect(p.client.streamSend(i * 4, Buffer.from(`stream ${i}`), true)).to.be.a('number');
      const got = new Map<number, string>();
      const buf = Buffer.alloc(100);
      p.run(() => {
        for (const id of p.server.readableStreams()) {
          const r = p.server.streamRecv(id, buf);
          if (r !== null) got.set(id, (got.get(id) ?? '') + buf.subarray(0, r[0]).toString());
        }
        return got.size === n && [...got.values()].every((v) => /^stream \d+$/.test(v));
      });
      expect(got.get(4 * 17)).to.equal('stream 17');
    });
  });
});

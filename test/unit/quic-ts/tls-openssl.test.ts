import {expect} from 'chai';
import {createCipheriv, createDecipheriv, X509Certificate} from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import {CIPHER_SUITES, hkdfExpandLabel} from '../../../src/core/netceptor/quic/ts/tls/keyschedule.js';
import {GROUP} from '../../../src/core/netceptor/quic/ts/tls/messages.js';
import {TlsHandshake, type Level, type TlsHandshakeOptions} from '../../../src/core/netceptor/quic/ts/tls/handshake.js';
import {ecIdentity, rsaIdentity, type Identity} from './tls-helpers.js';

// A minimal TLS 1.3 record layer (RFC 8446 §5) around the sans-IO handshake, for tests only.

const AEAD: Record<number, {alg: string; keyLen: number}> = {
  0x1301: {alg: 'aes-128-gcm', keyLen: 16},
  0x1302: {alg: 'aes-256-gcm', keyLen: 32},
  0x1303: {alg: 'chacha20-poly1305', keyLen: 32},
};

class RecordKey {
  private seq = 0n;
  private readonly key: Buffer;
  private readonly iv: Buffer;
  private readonly alg: string;

  constructor(suite: number, secret: Buffer) {
    const a = AEAD[suite];
    const h = CIPHER_SUITES[suite];
    if (!a || !h) throw new Error(`suite ${suite}`);
    this.alg = a.alg;
    this.key = hkdfExpandLabel(h.hash, secret, 'key', Buffer.alloc(0), a.keyLen);
    this.iv = hkdfExpandLabel(h.hash, secret, 'iv', Buffer.alloc(0), 12);
  }

  private nonce(): Buffer {
    const n = Buffer.from(this.iv);
    const s = Buffer.alloc(8);
    s.writeBigUInt64BE(this.seq++);
    for (let i = 0; i < 8; i++) n[4 + i] ^= s[i];
    return n;
  }

  seal(type: number, content: Buffer): Buffer {
    const inner = Buffer.concat([content, Buffer.from([type])]);
    const header = Buffer.from([23, 3, 3, (inner.length + 16) >> 8, (inner.length + 16) & 0xff]);
    const c = createCipheriv(this.alg as 'aes-128-gcm', this.key, this.nonce(), {authTagLength: 16});
    c.setAAD(header);
    return Buffer.concat([header, c.update(inner), c.final(), c.getAuthTag()]);
  }

  open(header: Buffer, body: Buffer): {type: number; content: Buffer} {
    const d = createDecipheriv(this.alg as 'aes-128-gcm', this.key, this.nonce(), {authTagLength: 16});
    d.setAAD(header);
    d.setAuthTag(body.subarray(body.length - 16));
    const inner = Buffer.concat([d.update(body.subarray(0, body.length - 16)), d.final()]);
    let end = inner.length - 1;
    while (end >= 0 && inner[end] === 0) end--;
    return {type: inner[end], content: inner.subarray(0, end)};
  }
}

class RecordShim {
  readonly hs: TlsHandshake;
  readonly appData: Buffer[] = [];
  readonly errors: string[] = [];
  private buf = Buffer.alloc(0);
  private readonly read: Partial<Record<Level, RecordKey>> = {};
  private readonly write: Partial<Record<Level, RecordKey>> = {};
  private readLevel: Level = 'initial';

  constructor(
    private readonly socket: net.Socket,
    opts: TlsHandshakeOptions,
  ) {
    this.hs = new TlsHandshake(opts);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (e) => this.errors.push(e.message));
  }

  start(): void {
    this.hs.start();
    this.pump();
  }

  sendApp(data: Buffer): void {
    const k = this.write.application;
    if (!k) throw new Error('no application key');
    this.socket.write(k.seal(23, data));
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    while (this.buf.length >= 5) {
      const len = this.buf.readUInt16BE(3);
      if (this.buf.length < 5 + len) return;
      const header = this.buf.subarray(0, 5);
      const body = this.buf.subarray(5, 5 + len);
      this.buf = this.buf.subarray(5 + len);
      const type = header[0];
      if (type === 20) continue; // middlebox-compatibility ChangeCipherSpec
      if (type === 22) this.hs.receive('initial', body);
      else if (type === 21) this.errors.push(`alert ${body.toString('hex')}`);
      else if (type === 23) {
        const key = this.read[this.readLevel];
        if (!key) {
          this.errors.push('encrypted record without key');
          continue;
        }
        const {type: inner, content} = key.open(header, body);
        if (inner === 22) this.hs.receive(this.readLevel, content);
        else if (inner === 23) this.appData.push(content);
        else this.errors.push(`inner type ${inner} ${content.toString('hex')}`);
      }
      this.pump();
    }
  }

  private pump(): void {
    for (const s of this.hs.takeSecrets()) {
      const key = new RecordKey(s.suite, s.secret);
      if (s.direction === 'read') {
        this.read[s.level] = key;
        this.readLevel = s.level;
      } else {
        this.write[s.level] = key;
      }
    }
    for (const o of this.hs.takeOutput()) {
      if (o.level === 'initial') this.socket.write(Buffer.concat([Buffer.from([22, 3, 3, o.data.length >> 8, o.data.length & 0xff]), o.data]));
      else this.socket.write((this.write[o.level] as RecordKey).seal(22, o.data));
    }
    if (this.hs.error) this.errors.push(`handshake: ${this.hs.error.alert} ${this.hs.error.message}`);
  }
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

const pem = (der: Buffer): string => new X509Certificate(der).toString();
const keyPem = (id: Identity): string => id.key.export({type: 'pkcs8', format: 'pem'}) as string;
const SUITE_NAMES: Record<number, string> = {0x1301: 'TLS_AES_128_GCM_SHA256', 0x1302: 'TLS_AES_256_GCM_SHA384', 0x1303: 'TLS_CHACHA20_POLY1305_SHA256'};

describe('quic-ts TLS 1.3 handshake against node:tls (OpenSSL) over a record shim', function () {
  this.timeout(60_000);
  let rsa: Identity;
  let client: Identity;
  let ec: Identity;
  const cleanup: Array<() => void> = [];
  before(async () => {
    rsa = await rsaIdentity('node-srv');
    client = await rsaIdentity('node-cli');
    ec = ecIdentity('node-ec');
  });
  afterEach(() => {
    for (const f of cleanup.splice(0)) f();
  });

  async function openSslServer(id: Identity, extra: tls.TlsOptions = {}): Promise<{port: number; got: Buffer[]; auth: Array<boolean>}> {
    const got: Buffer[] = [];
    const auth: boolean[] = [];
    const server = tls.createServer({key: keyPem(id), cert: pem(id.chain[0] as Buffer), ALPNProtocols: ['netceptor'], minVersion: 'TLSv1.3', ...extra}, (s) => {
      auth.push(s.authorized);
      s.on('error', () => {});
      s.on('data', (d: Buffer) => {
        got.push(d);
        s.write(Buffer.concat([Buffer.from('pong:'), d]));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => server.close());
    return {port: (server.address() as net.AddressInfo).port, got, auth};
  }

  async function ourClient(port: number, opts: Partial<TlsHandshakeOptions>): Promise<RecordShim> {
    const sock = net.connect(port, '127.0.0.1');
    cleanup.push(() => sock.destroy());
    await new Promise<void>((r, j) => sock.once('connect', r).once('error', j));
    const shim = new RecordShim(sock, {
      role: 'client',
      alpn: ['netceptor'],
      serverName: 'localhost',
      transportParams: Buffer.alloc(0),
      verifyPeer: true,
      ca: [rsa.ca],
      withoutQuic: true,
      ...opts,
    });
    shim.start();
    return shim;
  }

  for (const suite of [0x1301, 0x1302, 0x1303]) {
    it(`our client ↔ OpenSSL server, ${SUITE_NAMES[suite]}, one application record each way`, async () => {
      const srv = await openSslServer(rsa, {ciphers: SUITE_NAMES[suite]});
      const shim = await ourClient(srv.port, {});
      await until(() => shim.hs.complete || shim.errors.length > 0, 'handshake');
      expect(shim.errors).to.deep.equal([]);
      expect(shim.hs.alpn).to.equal('netceptor');
      expect(shim.hs.suite).to.equal(suite);
      expect(shim.hs.peerCertVerified).to.equal(true);
      shim.sendApp(Buffer.from('ping'));
      await until(() => shim.appData.length > 0 || shim.errors.length > 0, 'reply');
      expect(shim.errors).to.deep.equal([]);
      expect(Buffer.concat(shim.appData).toString()).to.equal('pong:ping');
      expect(Buffer.concat(srv.got).toString()).to.equal('ping');
    });
  }

  it('our client ↔ OpenSSL server with a client certificate and a P-256-only server (HRR)', async () => {
    const srv = await openSslServer(rsa, {requestCert: true, rejectUnauthorized: true, ca: [pem(client.ca)], ecdhCurve: 'prime256v1'});
    const shim = await ourClient(srv.port, {certChain: client.chain, privateKey: client.key});
    await until(() => shim.hs.complete || shim.errors.length > 0, 'handshake');
    expect(shim.errors).to.deep.equal([]);
    expect(shim.hs.group).to.equal(GROUP.secp256r1);
    shim.sendApp(Buffer.from('mtls'));
    await until(() => shim.appData.length > 0 || shim.errors.length > 0, 'reply');
    expect(Buffer.concat(shim.appData).toString()).to.equal('pong:mtls');
    expect(srv.auth).to.deep.equal([true]);
  });

  it('our client rejects an OpenSSL server whose certificate is from another CA', async () => {
    const srv = await openSslServer(ec);
    const shim = await ourClient(srv.port, {});
    await until(() => shim.hs.error !== undefined, 'failure');
    expect(shim.hs.error?.alert).to.equal(48);
  });

  async function ourServer(id: Identity, opts: Partial<TlsHandshakeOptions> = {}): Promise<{port: number; shims: RecordShim[]}> {
    const shims: RecordShim[] = [];
    const server = net.createServer((sock) => {
      sock.on('error', () => {});
      shims.push(
        new RecordShim(sock, {
          role: 'server',
          alpn: ['netceptor'],
          transportParams: Buffer.alloc(0),
          certChain: id.chain,
          privateKey: id.key,
          verifyPeer: false,
          withoutQuic: true,
          ...opts,
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => server.close());
    return {port: (server.address() as net.AddressInfo).port, shims};
  }

  for (const [name, idOf, groups] of [
    ['RSA certificate', (): Identity => rsa, undefined],
    ['ECDSA certificate', (): Identity => ec, undefined],
    ['RSA certificate, P-256 only (HRR)', (): Identity => rsa, [GROUP.secp256r1]],
  ] as const) {
    it(`OpenSSL client ↔ our server, ${name}, one application record each way`, async () => {
      const id = idOf();
      const srv = await ourServer(id, groups ? {groups: [...groups]} : {});
      const sock = tls.connect({port: srv.port, host: '127.0.0.1', servername: 'localhost', ca: [pem(id.ca)], ALPNProtocols: ['netceptor'], minVersion: 'TLSv1.3'});
      cleanup.push(() => sock.destroy());
      const got: Buffer[] = [];
      let err: Error | undefined;
      sock.on('data', (d: Buffer) => got.push(d));
      sock.on('error', (e) => (err = e));
      await new Promise<void>((r, j) => sock.once('secureConnect', r).once('error', j));
      expect(sock.alpnProtocol).to.equal('netceptor');
      expect(sock.authorized).to.equal(true);
      const shim = srv.shims[0] as RecordShim;
      await until(() => shim.hs.complete || shim.errors.length > 0 || err !== undefined, 'server complete');
      expect(shim.errors).to.deep.equal([]);
      expect(shim.hs.serverName).to.equal('localhost');
      if (groups) expect(shim.hs.group).to.equal(GROUP.secp256r1);
      sock.write('hello');
      await until(() => shim.appData.length > 0, 'client data');
      expect(Buffer.concat(shim.appData).toString()).to.equal('hello');
      shim.sendApp(Buffer.from('world'));
      await until(() => got.length > 0 || err !== undefined, 'server data');
      expect(Buffer.concat(got).toString()).to.equal('world');
    });
  }

  it('OpenSSL client with a client certificate ↔ our server requiring one', async () => {
    const srv = await ourServer(rsa, {verifyPeer: true, ca: [client.ca]});
    const sock = tls.connect({
      port: srv.port,
      host: '127.0.0.1',
      servername: 'localhost',
      ca: [pem(rsa.ca)],
      key: keyPem(client),
      cert: pem(client.chain[0] as Buffer),
      ALPNProtocols: ['netceptor'],
      minVersion: 'TLSv1.3',
    });
    cleanup.push(() => sock.destroy());
    sock.on('error', () => {});
    await new Promise<void>((r, j) => sock.once('secureConnect', r).once('error', j));
    const shim = srv.shims[0] as RecordShim;
    await until(() => shim.hs.complete || shim.errors.length > 0, 'server complete');
    expect(shim.errors).to.deep.equal([]);
    expect(shim.hs.peerCertVerified).to.equal(true);
    expect(shim.hs.peerCertChain).to.deep.equal(client.chain);
  });

  it('OpenSSL client offering another ALPN is refused with no_application_protocol', async () => {
    const srv = await ourServer(rsa);
    const sock = tls.connect({port: srv.port, host: '127.0.0.1', servername: 'localhost', ca: [pem(rsa.ca)], ALPNProtocols: ['h2'], minVersion: 'TLSv1.3'});
    cleanup.push(() => sock.destroy());
    sock.on('error', () => {});
    await until(() => srv.shims.length > 0 && (srv.shims[0] as RecordShim).hs.error !== undefined, 'server failure');
    expect((srv.shims[0] as RecordShim).hs.error?.alert).to.equal(120);
  });
});

import {expect} from 'chai';
import {spawn, spawnSync, type ChildProcessWithoutNullStreams} from 'node:child_process';
import {X509Certificate} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {createInsecureStreamCert} from '../../../src/core/pki/x509.js';
import {GROUP, parseClientHello} from '../../../src/core/netceptor/quic/ts/tls/messages.js';
import {TlsHandshake, type Level} from '../../../src/core/netceptor/quic/ts/tls/handshake.js';
import {clientOpts, ecIdentity, rsaIdentity, serverOpts, TP_CLIENT, TP_SERVER, type Identity} from './tls-helpers.js';

// Go's crypto/tls QUIC API (tls.QUICConn, what quic-go v0.40 drives) as the peer, over a line protocol.

const SRC = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../support/goquictls/main.go');
const LEVEL_NUM: Record<Level, number> = {initial: 0, handshake: 2, application: 3};
const NUM_LEVEL: Record<string, Level> = {'0': 'initial', '2': 'handshake', '3': 'application'};

interface GoSecret {
  read: boolean;
  level: Level;
  suite: number;
  secret: Buffer;
}

class GoPeer {
  readonly child: ChildProcessWithoutNullStreams;
  readonly writes: Array<{level: Level; data: Buffer}> = [];
  /** Every write, kept for inspection. */
  readonly sent: Array<{level: Level; data: Buffer}> = [];
  readonly secrets: GoSecret[] = [];
  tp?: Buffer;
  done?: {alpn: string; sni: string};
  error?: {alert: number; message: string};
  exited = false;
  private partial = '';

  constructor(bin: string, args: string[]) {
    this.child = spawn(bin, args, {stdio: ['pipe', 'pipe', 'pipe']});
    this.child.stdout.on('data', (d: Buffer) => this.onData(d.toString()));
    this.child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    this.child.on('exit', () => (this.exited = true));
    this.child.stdin.on('error', () => {});
  }

  private onData(s: string): void {
    const lines = (this.partial + s).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      const f = line.split(' ');
      if (f[0] === 'W') {
        const w = {level: NUM_LEVEL[f[1]], data: Buffer.from(f[2], 'hex')};
        this.writes.push(w);
        this.sent.push(w);
      } else if (f[0] === 'R' || f[0] === 'S') this.secrets.push({read: f[0] === 'R', level: NUM_LEVEL[f[1]], suite: Number(f[2]), secret: Buffer.from(f[3], 'hex')});
      else if (f[0] === 'T') this.tp = Buffer.from(f[1] ?? '', 'hex');
      else if (f[0] === 'D') this.done = {alpn: f[1] ?? '', sni: f[2] ?? ''};
      else if (f[0] === 'E') this.error = {alert: Number(f[1]), message: f.slice(2).join(' ')};
    }
  }

  send(level: Level, data: Buffer): void {
    this.child.stdin.write(`L ${LEVEL_NUM[level]} ${data.toString('hex')}\n`);
  }

  stop(): void {
    if (!this.exited) this.child.kill();
  }
}

/** Runs ours ↔ Go until both are done, either fails, or the deadline passes. */
async function exchange(ours: TlsHandshake, go: GoPeer, ms = 10_000): Promise<ReturnType<TlsHandshake['takeSecrets']>> {
  const secrets: ReturnType<TlsHandshake['takeSecrets']> = [];
  const deadline = Date.now() + ms;
  ours.start();
  for (;;) {
    secrets.push(...ours.takeSecrets());
    for (const o of ours.takeOutput()) go.send(o.level, o.data);
    for (const w of go.writes.splice(0)) ours.receive(w.level, w.data);
    // Go prints its events as lines; under load HandshakeDone and the last secret can arrive in
    // separate pipe reads, so a complete handshake also waits for Go's four secrets.
    const bothDone = ours.complete && go.done !== undefined && go.secrets.length >= 4;
    const finished = bothDone || ours.error !== undefined || go.error !== undefined || go.exited;
    if (finished && go.writes.length === 0) {
      secrets.push(...ours.takeSecrets());
      return secrets;
    }
    if (Date.now() > deadline) throw new Error(`timed out: ours complete=${ours.complete} go done=${go.done !== undefined}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function expectSecretsMatch(ours: ReturnType<TlsHandshake['takeSecrets']>, go: GoPeer): void {
  expect(ours.length).to.equal(4);
  for (const s of ours) {
    const g = go.secrets.find((x) => x.level === s.level && x.read === (s.direction === 'write'));
    expect(g, `${s.level} ${s.direction}`).to.not.equal(undefined);
    expect(g?.suite).to.equal(s.suite);
    expect(g?.secret.toString('hex'), `${s.level} ${s.direction}`).to.equal(s.secret.toString('hex'));
  }
}

describe('quic-ts TLS 1.3 handshake against Go crypto/tls QUICConn', function () {
  this.timeout(120_000);
  let bin = '';
  let dir = '';
  let rsa: Identity;
  let rsaClient: Identity;
  let ec: Identity;
  const peers: GoPeer[] = [];
  const files: Record<string, string> = {};

  before(async function () {
    this.timeout(360_000); // a cold Go build cache compiles crypto/tls
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qtls-go-'));
    bin = path.join(dir, 'goquictls');
    const build = spawnSync('go', ['build', '-o', bin, SRC], {cwd: dir, stdio: 'pipe', timeout: 300_000});
    if (build.error || build.status !== 0) {
      console.log(`Go unavailable, skipping: ${build.error?.message ?? build.stderr.toString()}`);
      this.skip();
    }
    rsa = await rsaIdentity('node-srv');
    rsaClient = await rsaIdentity('node-cli');
    ec = ecIdentity('node-ec');
    const insecure = await createInsecureStreamCert();
    const write = (name: string, id: Identity): void => {
      fs.writeFileSync(path.join(dir, `${name}.crt`), new X509Certificate(id.chain[0] as Buffer).toString());
      fs.writeFileSync(path.join(dir, `${name}.key`), id.key.export({type: 'pkcs8', format: 'pem'}));
      fs.writeFileSync(path.join(dir, `${name}-ca.crt`), new X509Certificate(id.ca).toString());
      files[name] = path.join(dir, name);
    };
    write('rsa', rsa);
    write('rsacli', rsaClient);
    write('ec', ec);
    write('insecure', {chain: [insecure.certDer], key: insecure.key, ca: insecure.certDer});
  });
  afterEach(() => {
    for (const p of peers.splice(0)) p.stop();
  });
  after(() => {
    if (dir) fs.rmSync(dir, {recursive: true, force: true});
  });

  function go(args: string[]): GoPeer {
    const p = new GoPeer(bin, args);
    peers.push(p);
    return p;
  }
  const certArgs = (name: string): string[] => ['-cert', `${files[name]}.crt`, '-key', `${files[name]}.key`];

  it('our client ↔ Go server (plain mode: insecure self-signed cert, SNI = node ID)', async () => {
    const g = go(['-role', 'server', ...certArgs('insecure'), '-tp', TP_SERVER.toString('hex')]);
    const ours = new TlsHandshake(clientOpts({serverName: 'node-a'}));
    const secrets = await exchange(ours, g);
    expect(ours.error).to.equal(undefined);
    expect(g.error).to.equal(undefined);
    expect(ours.complete).to.equal(true);
    expect(g.done).to.deep.equal({alpn: 'netceptor', sni: 'node-a'});
    expect(g.tp).to.deep.equal(TP_CLIENT);
    expect(ours.peerTransportParams).to.deep.equal(TP_SERVER);
    expectSecretsMatch(secrets, g);
  });

  it('Go client (X25519MLKEM768 offered first) ↔ our server', async () => {
    const g = go(['-role', 'client', '-sni', 'node-b', '-tp', TP_CLIENT.toString('hex')]);
    const ours = new TlsHandshake(serverOpts(rsa));
    const secrets = await exchange(ours, g);
    expect(ours.error).to.equal(undefined);
    expect(g.error).to.equal(undefined);
    expect(ours.complete).to.equal(true);
    expect(g.done?.alpn).to.equal('netceptor');
    expect(ours.serverName).to.equal('node-b');
    expect(ours.group).to.equal(GROUP.x25519);
    const ch = parseClientHello((g.sent[0]?.data as Buffer).subarray(4));
    expect(ch.keyShares?.map((k) => k.group)).to.deep.equal([0x11ec, GROUP.x25519]);
    expect(ch.sessionId.length).to.equal(0);
    expect(ours.peerTransportParams).to.deep.equal(TP_CLIENT);
    expect(g.tp).to.deep.equal(TP_SERVER);
    expectSecretsMatch(secrets, g);
  });

  it('HelloRetryRequest both ways: Go server P-256 only; our server P-256 only', async () => {
    const g1 = go(['-role', 'server', ...certArgs('rsa'), '-curves', '23', '-tp', TP_SERVER.toString('hex')]);
    const c = new TlsHandshake(clientOpts());
    expectSecretsMatch(await exchange(c, g1), g1);
    expect(c.group).to.equal(GROUP.secp256r1);
    const g2 = go(['-role', 'client', '-sni', 'node-b', '-tp', TP_CLIENT.toString('hex')]);
    const s = new TlsHandshake(serverOpts(rsa, {groups: [GROUP.secp256r1]}));
    expectSecretsMatch(await exchange(s, g2), g2);
    expect(s.group).to.equal(GROUP.secp256r1);
  });

  for (const [name, server, client] of [
    ['RSA', 'rsa', 'rsacli'],
    ['ECDSA server, RSA client', 'ec', 'rsacli'],
    ['RSA server, ECDSA client', 'rsa', 'ec'],
  ] as const) {
    it(`mutual TLS, verified mode, ${name}: our client ↔ Go server and Go client ↔ our server`, async () => {
      const ids: Record<string, Identity> = {rsa, rsacli: rsaClient, ec};
      const sid = ids[server] as Identity;
      const cid = ids[client] as Identity;
      // Go server verifies our client against the client's CA; we verify Go against the server's CA.
      const g1 = go(['-role', 'server', ...certArgs(server), '-ca', `${files[client]}-ca.crt`, '-verify', '-tp', TP_SERVER.toString('hex')]);
      const c = new TlsHandshake(clientOpts({verifyPeer: true, ca: [sid.ca], certChain: cid.chain, privateKey: cid.key}));
      expectSecretsMatch(await exchange(c, g1), g1);
      expect(g1.done).to.not.equal(undefined);
      expect(c.peerCertVerified).to.equal(true);

      const g2 = go(['-role', 'client', '-sni', 'localhost', ...certArgs(client), '-ca', `${files[server]}-ca.crt`, '-verify', '-tp', TP_CLIENT.toString('hex')]);
      const s = new TlsHandshake(serverOpts(sid, {verifyPeer: true, ca: [cid.ca]}));
      expectSecretsMatch(await exchange(s, g2), g2);
      expect(s.peerCertVerified).to.equal(true);
      expect(s.peerCertChain).to.deep.equal(cid.chain);
    });
  }

  it('Go server requiring a client certificate refuses our client without one', async () => {
    const g = go(['-role', 'server', ...certArgs('rsa'), '-ca', `${files.rsacli}-ca.crt`, '-verify', '-tp', TP_SERVER.toString('hex')]);
    const c = new TlsHandshake(clientOpts());
    await exchange(c, g);
    expect(g.error?.alert).to.equal(116);
  });

  it('ALPN mismatch: Go server says no_application_protocol; our server says it to a Go client', async () => {
    const g1 = go(['-role', 'server', ...certArgs('rsa'), '-alpn', 'other', '-tp', TP_SERVER.toString('hex')]);
    await exchange(new TlsHandshake(clientOpts()), g1);
    expect(g1.error?.alert).to.equal(120);
    const g2 = go(['-role', 'client', '-alpn', 'other', '-tp', TP_CLIENT.toString('hex')]);
    const s = new TlsHandshake(serverOpts(rsa));
    await exchange(s, g2);
    expect(s.error?.alert).to.equal(120);
  });

  it('our server refuses a Go client whose certificate is from another CA; verifyAllowFail lets it through', async () => {
    const args = ['-role', 'client', '-sni', 'x', ...certArgs('ec'), '-tp', TP_CLIENT.toString('hex')];
    const s1 = new TlsHandshake(serverOpts(rsa, {verifyPeer: true, ca: [rsaClient.ca]}));
    await exchange(s1, go(args));
    expect(s1.error?.alert).to.equal(48);
    const s2 = new TlsHandshake(serverOpts(rsa, {verifyPeer: true, ca: [rsaClient.ca], verifyAllowFail: true}));
    const g = go(args);
    expectSecretsMatch(await exchange(s2, g), g);
    expect(s2.peerCertVerified).to.equal(false);
    expect(s2.peerCertChain).to.deep.equal(ec.chain);
  });

  it('Go client verifying against the wrong CA rejects our server', async () => {
    const g = go(['-role', 'client', '-sni', 'localhost', '-ca', `${files.ec}-ca.crt`, '-verify', '-tp', TP_CLIENT.toString('hex')]);
    const s = new TlsHandshake(serverOpts(rsa));
    await exchange(s, g);
    expect(g.error?.alert).to.equal(42);
  });
});

import {expect} from 'chai';
import {createInsecureStreamCert, addYears} from '../../../src/core/pki/x509.js';
import {GROUP, HS} from '../../../src/core/netceptor/quic/ts/tls/messages.js';
import {TlsHandshake} from '../../../src/core/netceptor/quic/ts/tls/handshake.js';
import {clientOpts, ecIdentity, rsaIdentity, runPair, serverOpts, TP_CLIENT, TP_SERVER, type Identity, type Pair} from './tls-helpers.js';

function expectDone(p: Pair, suite = 0x1301): void {
  expect(p.client.error, 'client error').to.equal(undefined);
  expect(p.server.error, 'server error').to.equal(undefined);
  expect(p.client.complete).to.equal(true);
  expect(p.server.complete).to.equal(true);
  expect(p.client.alpn).to.equal('netceptor');
  expect(p.server.alpn).to.equal('netceptor');
  expect(p.client.peerTransportParams).to.deep.equal(TP_SERVER);
  expect(p.server.peerTransportParams).to.deep.equal(TP_CLIENT);
  const find = (side: 'client' | 'server', level: string, dir: string): Buffer | undefined => p.secrets[side].find((s) => s.level === level && s.direction === dir)?.secret;
  for (const level of ['handshake', 'application']) {
    const cw = find('client', level, 'write');
    expect(cw, `client ${level} write`).to.not.equal(undefined);
    expect(find('server', level, 'read')).to.deep.equal(cw);
    const sw = find('server', level, 'write');
    expect(sw).to.not.equal(undefined);
    expect(find('client', level, 'read')).to.deep.equal(sw);
    expect(cw).to.not.deep.equal(sw);
  }
  expect(p.secrets.client.length).to.equal(4);
  expect(p.secrets.server.length).to.equal(4);
  for (const s of [...p.secrets.client, ...p.secrets.server]) expect(s.suite).to.equal(suite);
  expect(p.secrets.client[0]?.secret.length).to.equal(suite === 0x1302 ? 48 : 32);
}

describe('quic-ts TLS 1.3 handshake (in memory)', function () {
  this.timeout(60_000);
  let rsa: Identity;
  let rsa2: Identity;
  let ec: Identity;
  let ec384: Identity;
  let ed: Identity;
  before(async () => {
    ed = ecIdentity('node-ed', 'ed25519');
    rsa = await rsaIdentity('node-b');
    rsa2 = await rsaIdentity('node-a');
    ec = ecIdentity('node-e');
    ec384 = ecIdentity('node-f', 'P-384');
  });

  for (const suite of [0x1301, 0x1302, 0x1303]) {
    it(`completes with suite 0x${suite.toString(16)}`, () => {
      const p = runPair(clientOpts({cipherSuites: [suite]}), serverOpts(rsa));
      expectDone(p, suite);
      expect(p.client.suite).to.equal(suite);
    });
  }

  it('server picks the client preference among common suites', () => {
    const p = runPair(clientOpts({cipherSuites: [0x1303, 0x1301]}), serverOpts(rsa, {cipherSuites: [0x1301, 0x1303]}));
    expectDone(p, 0x1303);
  });

  for (const [name, group] of [
    ['x25519', GROUP.x25519],
    ['secp256r1', GROUP.secp256r1],
  ] as const) {
    it(`completes with group ${name} without HRR`, () => {
      const p = runPair(clientOpts({groups: [group]}), serverOpts(rsa));
      expectDone(p);
      expect(p.client.group).to.equal(group);
      expect(p.flights.filter((f) => f.level === 'initial').length).to.equal(2);
    });
  }

  it('sends a HelloRetryRequest when the share does not match, then completes', () => {
    const p = runPair(clientOpts({groups: [GROUP.x25519, GROUP.secp256r1]}), serverOpts(rsa, {groups: [GROUP.secp256r1]}));
    expectDone(p);
    expect(p.client.group).to.equal(GROUP.secp256r1);
    const initial = p.flights.filter((f) => f.level === 'initial');
    expect(initial.map((f) => f.from)).to.deep.equal(['client', 'server', 'client', 'server']);
    expect(initial[1]?.data.subarray(6, 38).toString('hex')).to.equal('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c');
  });

  it('fails with handshake_failure when no group is common', () => {
    const p = runPair(clientOpts({groups: [GROUP.x25519]}), serverOpts(rsa, {groups: [GROUP.secp256r1]}));
    expect(p.server.error?.alert).to.equal(40);
    expect(p.client.complete).to.equal(false);
  });

  it('ignores an unknown group share offered first (like X25519MLKEM768)', () => {
    // Rewrite the client's supported_groups/key_share by prepending group 0x11ec with a dummy share.
    const c = new TlsHandshake(clientOpts());
    c.start();
    const ch = c.takeOutput()[0]?.data as Buffer;
    const s = new TlsHandshake(serverOpts(rsa));
    const patched = injectUnknownShare(ch);
    s.receive('initial', patched);
    expect(s.error).to.equal(undefined);
    expect(s.takeOutput().length).to.be.greaterThan(1);
    expect(s.group).to.equal(GROUP.x25519);
  });

  it('uses the injected random for the ClientHello and ServerHello', () => {
    const p = runPair(clientOpts({random: () => Buffer.alloc(32, 0xc1)}), serverOpts(rsa, {random: () => Buffer.alloc(32, 0x5e)}));
    expectDone(p);
    const [ch, sh] = p.flights.filter((f) => f.level === 'initial');
    expect(ch?.data.subarray(6, 38)).to.deep.equal(Buffer.alloc(32, 0xc1));
    expect(sh?.data.subarray(6, 38)).to.deep.equal(Buffer.alloc(32, 0x5e));
  });

  it('uses the SNI and exposes it on the server', () => {
    const p = runPair(clientOpts({serverName: 'node-xyz'}), serverOpts(rsa));
    expectDone(p);
    expect(p.server.serverName).to.equal('node-xyz');
    const q = runPair(clientOpts({serverName: undefined}), serverOpts(rsa));
    expectDone(q);
    expect(q.server.serverName).to.equal(undefined);
  });

  it('plain mode: self-signed netceptor-insecure-common-name certificate, no verification', async () => {
    const cert = await createInsecureStreamCert();
    const p = runPair(clientOpts(), {...serverOpts({chain: [cert.certDer], key: cert.key, ca: cert.certDer})});
    expectDone(p);
    expect(p.client.peerCertChain).to.deep.equal([cert.certDer]);
    expect(p.client.peerCertVerified).to.equal(false);
  });

  for (const [name, get] of [
    ['RSA', (): [Identity, Identity] => [rsa2, rsa]],
    ['ECDSA P-256', (): [Identity, Identity] => [ec, rsa]],
    ['ECDSA P-384 client, ECDSA P-256 server', (): [Identity, Identity] => [ec384, ec]],
    ['Ed25519 client, Ed25519 server', (): [Identity, Identity] => [ed, ed]],
  ] as const) {
    it(`mutual TLS with ${name} certificates verifies both chains`, () => {
      const [cid, sid] = get();
      const p = runPair(clientOpts({verifyPeer: true, ca: [sid.ca], certChain: cid.chain, privateKey: cid.key}), serverOpts(sid, {verifyPeer: true, ca: [cid.ca]}));
      expectDone(p);
      expect(p.client.peerCertVerified).to.equal(true);
      expect(p.server.peerCertVerified).to.equal(true);
      expect(p.server.peerCertChain).to.deep.equal(cid.chain);
      expect(p.client.peerCertChain).to.deep.equal(sid.chain);
      expect(p.flights.filter((f) => f.level === 'handshake' && f.from === 'client').map((f) => f.data[0])).to.deep.equal([HS.certificate, HS.certificateVerify, HS.finished]);
    });
  }

  it('verifies a chain through an intermediate CA, and fails without the intermediate', () => {
    const inter = ecIdentity('node-i', 'P-256', true);
    expect(inter.chain.length).to.equal(2);
    const p = runPair(clientOpts({verifyPeer: true, ca: [inter.ca]}), serverOpts(inter));
    expectDone(p);
    expect(p.client.peerCertVerified).to.equal(true);
    expect(p.client.peerCertChain.length).to.equal(2);
    const q = runPair(clientOpts({verifyPeer: true, ca: [inter.ca]}), serverOpts({...inter, chain: inter.chain.slice(0, 1)}));
    expect(q.client.error?.alert).to.equal(48);
  });

  it('server requiring a client certificate fails with certificate_required when none is sent', () => {
    const p = runPair(clientOpts(), serverOpts(rsa, {verifyPeer: true, ca: [rsa2.ca]}));
    expect(p.server.error?.alert).to.equal(116);
    expect(p.server.complete).to.equal(false);
  });

  it('wrong CA: the client fails with unknown_ca; with verifyAllowFail it completes unverified', () => {
    const p = runPair(clientOpts({verifyPeer: true, ca: [rsa2.ca]}), serverOpts(rsa));
    expect(p.client.error?.alert).to.equal(48);
    expect(p.client.complete).to.equal(false);
    const q = runPair(clientOpts({verifyPeer: true, ca: [rsa2.ca], verifyAllowFail: true}), serverOpts(rsa));
    expectDone(q);
    expect(q.client.peerCertVerified).to.equal(false);
    expect(q.client.peerCertError).to.match(/unknown authority/);
    expect(q.client.peerCertChain).to.deep.equal(rsa.chain);
  });

  it('wrong CA on the server side for the client certificate', () => {
    const p = runPair(clientOpts({certChain: rsa2.chain, privateKey: rsa2.key}), serverOpts(rsa, {verifyPeer: true, ca: [ec.ca]}));
    expect(p.server.error?.alert).to.equal(48);
    const q = runPair(clientOpts({certChain: rsa2.chain, privateKey: rsa2.key}), serverOpts(rsa, {verifyPeer: true, ca: [ec.ca], verifyAllowFail: true}));
    expectDone(q);
    expect(q.server.peerCertVerified).to.equal(false);
  });

  it('an expired certificate fails with certificate_expired', async () => {
    const {createCa, createCsr, signCsr} = await import('../../../src/core/pki/x509.js');
    const ca = await createCa({commonName: 'old CA'});
    const csr = await createCsr({commonName: 'old', nodeIds: ['old']});
    const past = addYears(new Date(), -2);
    const leaf = signCsr({csrPem: csr.csrPem, caCertPem: ca.certPem, caKeyPem: ca.key, notBefore: past, notAfter: addYears(past, 1)});
    const p = runPair(clientOpts({verifyPeer: true, ca: [ca.certDer]}), serverOpts({chain: [leaf.certDer], key: csr.key, ca: ca.certDer}));
    expect(p.client.error?.alert).to.equal(45);
  });

  it('ALPN mismatch: no_application_protocol (120)', () => {
    const p = runPair(clientOpts({alpn: ['h3']}), serverOpts(rsa));
    expect(p.server.error?.alert).to.equal(120);
    expect(p.client.complete).to.equal(false);
  });

  it('missing quic_transport_parameters: missing_extension (109) on either side', () => {
    const p = runPair(clientOpts({withoutQuic: true}), serverOpts(rsa));
    expect(p.server.error?.alert).to.equal(109);
    // Server that sends none (its own test mode) while the client requires them.
    const q = runPair(clientOpts(), serverOpts(rsa, {withoutQuic: true}));
    expect(q.client.error?.alert).to.equal(109);
  });

  it('a bad server Finished fails with decrypt_error (51)', () => {
    const p = runPair(clientOpts(), serverOpts(rsa), {
      tamper: (from, level, data) => (from === 'server' && level === 'handshake' && data[0] === HS.finished ? flipLast(data) : data),
    });
    expect(p.client.error?.alert).to.equal(51);
    expect(p.client.complete).to.equal(false);
  });

  it('a bad client Finished fails with decrypt_error (51)', () => {
    const p = runPair(clientOpts(), serverOpts(rsa), {
      tamper: (from, level, data) => (from === 'client' && level === 'handshake' && data[0] === HS.finished ? flipLast(data) : data),
    });
    expect(p.client.complete).to.equal(true);
    expect(p.server.error?.alert).to.equal(51);
    expect(p.server.complete).to.equal(false);
  });

  it('a bad CertificateVerify signature fails with decrypt_error (51)', () => {
    const p = runPair(clientOpts(), serverOpts(rsa), {
      tamper: (from, level, data) => (from === 'server' && data[0] === HS.certificateVerify ? flipLast(data) : data),
    });
    expect(p.client.error?.alert).to.equal(51);
  });

  it('a message at the wrong level is unexpected_message (10)', () => {
    const c = new TlsHandshake(clientOpts());
    c.start();
    const ch = c.takeOutput()[0]?.data as Buffer;
    const s = new TlsHandshake(serverOpts(rsa));
    s.receive('handshake', ch);
    expect(s.error?.alert).to.equal(10);
  });

  it('accepts and ignores a NewSessionTicket after the handshake', () => {
    const p = runPair(clientOpts(), serverOpts(rsa));
    expectDone(p);
    const nst = Buffer.from('04000011' + '00001c20' + '01020304' + '00' + '0004aabbccdd' + '0000', 'hex');
    expect(nst.length).to.equal(4 + 0x11);
    p.client.receive('application', nst);
    expect(p.client.error).to.equal(undefined);
    p.client.receive('application', Buffer.from('1800000100', 'hex'));
    expect(p.client.error?.alert).to.equal(10);
  });

  it('completes with input split at every byte boundary', () => {
    for (const chunk of [1, 2, 3, 7]) {
      const p = runPair(clientOpts({verifyPeer: true, ca: [rsa.ca], certChain: ec.chain, privateKey: ec.key}), serverOpts(rsa, {verifyPeer: true, ca: [ec.ca]}), {chunk});
      expectDone(p);
    }
    // Every single split point of the ClientHello: deliver [0,i) then [i,n).
    const c = new TlsHandshake(clientOpts());
    c.start();
    const ch = c.takeOutput()[0]?.data as Buffer;
    for (let i = 0; i <= ch.length; i++) {
      const s = new TlsHandshake(serverOpts(rsa));
      s.receive('initial', ch.subarray(0, i));
      expect(s.takeOutput().length, `split ${i}`).to.equal(i === ch.length ? 5 : 0);
      s.receive('initial', ch.subarray(i));
      expect(s.error, `split ${i}`).to.equal(undefined);
      expect(s.takeOutput().length, `split ${i}`).to.equal(i === ch.length ? 0 : 5);
    }
  });

  it('server handshake flight (mTLS request) split at every byte boundary reaches the client', () => {
    let n = 0;
    for (let i = 0; ; i++) {
      const c = new TlsHandshake(clientOpts({certChain: ec.chain, privateKey: ec.key}));
      const s = new TlsHandshake(serverOpts(ec, {verifyPeer: true, ca: [ec.ca]}));
      c.start();
      for (const o of c.takeOutput()) s.receive(o.level, o.data);
      const out = s.takeOutput();
      const hs = Buffer.concat(out.filter((o) => o.level === 'handshake').map((o) => o.data));
      n = hs.length;
      if (i > n) break;
      for (const o of out.filter((x) => x.level === 'initial')) c.receive(o.level, o.data);
      c.receive('handshake', hs.subarray(0, i));
      expect(c.complete, `split ${i}`).to.equal(i === n);
      c.receive('handshake', hs.subarray(i));
      expect(c.error, `split ${i}`).to.equal(undefined);
      expect(c.complete, `split ${i}`).to.equal(true);
      for (const o of c.takeOutput()) s.receive(o.level, o.data);
      expect(s.complete, `split ${i}`).to.equal(true);
    }
    expect(n).to.be.greaterThan(300);
  });
});

function flipLast(data: Buffer): Buffer {
  const out = Buffer.from(data);
  out[out.length - 1] ^= 0x01;
  return out;
}

/** Prepends group 0x11ec to supported_groups and a 1216-byte dummy share to key_share. */
function injectUnknownShare(ch: Buffer): Buffer {
  const body = ch.subarray(4);
  let p = 2 + 32;
  p += 1 + (body[p] as number);
  p += 2 + body.readUInt16BE(p);
  p += 1 + (body[p] as number);
  const head = body.subarray(0, p);
  const extEnd = p + 2 + body.readUInt16BE(p);
  const exts: Buffer[] = [];
  let q = p + 2;
  while (q < extEnd) {
    const type = body.readUInt16BE(q);
    const len = body.readUInt16BE(q + 2);
    let data = body.subarray(q + 4, q + 4 + len);
    if (type === 10) data = lenPrefixed(Buffer.concat([Buffer.from([0x11, 0xec]), data.subarray(2)]));
    if (type === 51) data = lenPrefixed(Buffer.concat([Buffer.from([0x11, 0xec, 0x04, 0xc0]), Buffer.alloc(1216, 7), data.subarray(2)]));
    const h = Buffer.alloc(4);
    h.writeUInt16BE(type, 0);
    h.writeUInt16BE(data.length, 2);
    exts.push(h, data);
    q += 4 + len;
  }
  const newBody = Buffer.concat([head, lenPrefixed(Buffer.concat(exts))]);
  const hdr = Buffer.alloc(4);
  hdr[0] = 1;
  hdr.writeUIntBE(newBody.length, 1, 3);
  return Buffer.concat([hdr, newBody]);
}

function lenPrefixed(b: Buffer): Buffer {
  const h = Buffer.alloc(2);
  h.writeUInt16BE(b.length, 0);
  return Buffer.concat([h, b]);
}

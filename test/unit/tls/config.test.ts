/**
 * src/core/tls/config.ts: pins, Go's hostname check, the server client-certificate policy
 * table, the client policy, the two flavours (with real handshakes on 127.0.0.1), key-pair and
 * CA-bundle loading (netceptor-wire.md §2.7, config.md §5.4/§5.5).
 */
import {expect} from 'chai';
import {createHash, generateKeyPairSync, type KeyObject} from 'node:crypto';
import type {AddressInfo} from 'node:net';
import * as tls from 'node:tls';
import {
  buildTlsClientConfig,
  buildTlsServerConfig,
  checkPins,
  DEFAULT_FLAVOUR_CIPHERS,
  DEFAULT_FLAVOUR_CURVES,
  flavourOptions,
  loadCaBundle,
  loadKeyPair,
  matchesPin,
  parseFingerprints,
  PIN_MISMATCH_MESSAGE,
  tlsClientConfigOf,
  tlsServerConfigOf,
  verifyHostname,
  type KeyPairMaterial,
} from '../../../src/core/tls/config.js';
import {pemEncode} from '../../../src/core/go/pem.js';
import {createCa, createCsr, createInsecureStreamCert, fingerprintHex, signCsr, type CreatedCa} from '../../../src/core/pki/x509.js';
import {TEST_TLS} from '../../compliance/tls-fixture.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();
const sha512 = (b: Buffer) => createHash('sha512').update(b).digest();

interface Leaf {
  certPem: string;
  certDer: Buffer;
}

describe('TLS config builders (core/tls/config)', function () {
  this.timeout(30_000);
  let ca: CreatedCa;
  let otherCa: CreatedCa;
  let leafKey: KeyObject;
  let leafKeyPem: string;
  let dnsOnly: Leaf;
  let ipOnly: Leaf;
  let both: Leaf;
  let wildcard: Leaf;
  let v6: Leaf;
  let pair: KeyPairMaterial;

  const issue = async (names: {dnsNames?: string[]; ipAddresses?: string[]; nodeIds?: string[]}, issuer: CreatedCa = ca): Promise<Leaf> => {
    const csr = await createCsr({commonName: 'leaf', key: leafKey, ...names});
    const s = signCsr({csrPem: csr.csrPem, caCertPem: issuer.certPem, caKeyPem: issuer.key});
    return {certPem: s.certPem, certDer: s.certDer};
  };

  before(async () => {
    [ca, otherCa] = await Promise.all([createCa({commonName: 'TLS test CA'}), createCa({commonName: 'other CA'})]);
    const first = await createCsr({commonName: 'leaf', dnsNames: ['localhost']});
    leafKey = first.key;
    leafKeyPem = first.keyPem;
    dnsOnly = await issue({dnsNames: ['localhost'], nodeIds: ['A']});
    ipOnly = await issue({ipAddresses: ['127.0.0.1'], nodeIds: ['A']});
    both = await issue({dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], nodeIds: ['A']});
    wildcard = await issue({dnsNames: ['*.example.com']});
    v6 = await issue({ipAddresses: ['::1']});
    pair = loadKeyPair(both.certPem, leafKeyPem);
  });

  describe('fingerprints', () => {
    it('accepts hex with or without colons, any case, 32 or 64 bytes', () => {
      const d = both.certDer;
      const pins = parseFingerprints([
        sha256(d).toString('hex'),
        sha256(d).toString('hex').toUpperCase(),
        fingerprintHex(sha256(d)), // openssl -fingerprint form
        fingerprintHex(sha512(d)).toLowerCase(),
      ]);
      expect(pins.map((p) => p.length)).to.deep.equal([32, 32, 32, 64]);
      expect(pins[0]!.equals(sha256(d))).to.equal(true);
      expect(pins[3]!.equals(sha512(d))).to.equal(true);
      expect(parseFingerprints([])).to.deep.equal([]);
    });

    it("refuses non-hex and odd lengths with Go's text", () => {
      for (const bad of ['zz'.repeat(32), 'abc', sha256(both.certDer).toString('hex') + 'g', ' ' + 'ab'.repeat(32), 'ab-cd']) {
        expect(() => parseFingerprints([bad]), bad).to.throw('error decoding fingerprints: error decoding fingerprint');
        expect(() => parseFingerprints([bad])).to.not.throw('fingerprints must be');
      }
    });

    it("refuses lengths other than 32 or 64 bytes with Go's text", () => {
      for (const bad of ['', 'ab'.repeat(16), 'ab'.repeat(28), 'ab'.repeat(48), 'ab'.repeat(65)]) {
        expect(() => parseFingerprints([bad]), `${bad.length / 2} bytes`).to.throw('error decoding fingerprints: fingerprints must be 32 or 64 bytes for sha256 or sha512');
      }
    });

    it('matches the SHA-256 or SHA-512 of the DER leaf; any one pin suffices', () => {
      const d = both.certDer;
      expect(matchesPin(d, [sha256(d)])).to.equal(true);
      expect(matchesPin(d, [sha512(d)])).to.equal(true);
      expect(matchesPin(d, [sha256(dnsOnly.certDer), sha512(d)])).to.equal(true);
      expect(matchesPin(d, [sha256(dnsOnly.certDer)])).to.equal(false);
      expect(matchesPin(d, [sha512(d).subarray(0, 32)])).to.equal(false); // a SHA-512 prefix is no SHA-256
      expect(checkPins(d, [])).to.equal(undefined);
      expect(checkPins(d, [sha256(d)])).to.equal(undefined);
      expect(checkPins(d, [sha256(ipOnly.certDer)])?.message).to.equal(PIN_MISMATCH_MESSAGE);
      expect(PIN_MISMATCH_MESSAGE).to.equal('RVF failed: presented certificate does not match any pinned fingerprint');
    });
  });

  describe("hostname check (Go's VerifyHostname: DNS or IP SANs, never the CN)", () => {
    const prefix = 'tls: failed to verify certificate: ';
    it('DNS-only certificate: localhost passes, 127.0.0.1 fails', () => {
      expect(verifyHostname(dnsOnly.certDer, 'localhost')).to.equal(undefined);
      expect(verifyHostname(dnsOnly.certDer, '127.0.0.1')?.message).to.equal(`${prefix}x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs`);
    });
    it('IP-only certificate: 127.0.0.1 passes, localhost fails', () => {
      expect(verifyHostname(ipOnly.certDer, '127.0.0.1')).to.equal(undefined);
      expect(verifyHostname(ipOnly.certDer, 'localhost')?.message).to.equal(`${prefix}x509: certificate is not valid for any names, but wanted to match localhost`);
    });
    it('both names: both pass; other hosts fail listing the valid names', () => {
      expect(verifyHostname(both.certDer, 'localhost')).to.equal(undefined);
      expect(verifyHostname(both.certDer, '127.0.0.1')).to.equal(undefined);
      expect(verifyHostname(both.certDer, 'example.com')?.message).to.equal(`${prefix}x509: certificate is valid for localhost, not example.com`);
      expect(verifyHostname(both.certDer, '10.0.0.1')?.message).to.equal(`${prefix}x509: certificate is valid for 127.0.0.1, not 10.0.0.1`);
      expect(verifyHostname(both.certDer, '10.0.0.1')?.code).to.equal('ERR_TLS_CERT_ALTNAME_INVALID');
    });
    it('names are case-insensitive and a trailing dot is ignored; the node ID is no host name', () => {
      expect(verifyHostname(dnsOnly.certDer, 'LocalHost')).to.equal(undefined);
      expect(verifyHostname(dnsOnly.certDer, 'localhost.')).to.equal(undefined);
      expect(verifyHostname(dnsOnly.certDer, 'A')?.message).to.equal(`${prefix}x509: certificate is valid for localhost, not A`);
    });
    it('a leftmost wildcard matches exactly one label', () => {
      expect(verifyHostname(wildcard.certDer, 'a.example.com')).to.equal(undefined);
      expect(verifyHostname(wildcard.certDer, 'a.b.example.com')?.message).to.equal(`${prefix}x509: certificate is valid for *.example.com, not a.b.example.com`);
      expect(verifyHostname(wildcard.certDer, 'example.com')?.message).to.equal(`${prefix}x509: certificate is valid for *.example.com, not example.com`);
    });
    it('IPv6, also in brackets; IPv4 against an IPv6-only certificate', () => {
      expect(verifyHostname(v6.certDer, '::1')).to.equal(undefined);
      expect(verifyHostname(v6.certDer, '[::1]')).to.equal(undefined);
      expect(verifyHostname(v6.certDer, '0:0:0:0:0:0:0:1')).to.equal(undefined);
      expect(verifyHostname(v6.certDer, '127.0.0.1')?.message).to.equal(`${prefix}x509: certificate is valid for ::1, not 127.0.0.1`);
    });
    it('a certificate without SANs never matches its CN (legacy CN text)', async () => {
      const c = await createInsecureStreamCert();
      expect(verifyHostname(c.certDer, 'netceptor-insecure-common-name')?.message).to.equal(`${prefix}x509: certificate relies on legacy Common Name field, use SANs instead`);
      expect(verifyHostname(c.certDer, 'localhost')?.message).to.equal(`${prefix}x509: certificate is not valid for any names, but wanted to match localhost`);
    });
  });

  describe('tls-server policy table (netceptor-wire.md §2.7)', () => {
    const rows = [
      {what: 'neither', clientCas: undefined, require: false, requestCert: false, ca: false},
      {what: 'clientcas only', clientCas: 'ca', require: false, requestCert: true, ca: true},
      {what: 'requireclientcert only (default roots)', clientCas: undefined, require: true, requestCert: true, ca: false},
      {what: 'both', clientCas: 'ca', require: true, requestCert: true, ca: true},
    ] as const;
    for (const r of rows) {
      it(`${r.what}: requestCert=${r.requestCert}, ca ${r.ca ? 'from clientcas' : 'not set'}, pins ${r.requestCert ? 'applied' : 'ignored'}`, () => {
        const wrongPin = sha256(dnsOnly.certDer);
        const cfg = buildTlsServerConfig({
          name: 's',
          keyPair: pair,
          clientCas: r.clientCas ? [ca.certPem] : undefined,
          requireClientCert: r.require,
          pins: [wrongPin],
        });
        const o = cfg.nodeOptions;
        expect(o.requestCert).to.equal(r.requestCert);
        expect(o.rejectUnauthorized).to.equal(true); // a client without a certificate is refused whenever one is requested
        expect('ca' in o).to.equal(r.ca);
        if (r.ca) expect(o.ca).to.deep.equal([ca.certPem]);
        expect(cfg.requestClientCert).to.equal(r.requestCert);
        expect(cfg.pinsApply).to.equal(r.requestCert);
        const wrong = o.checkClientIdentity(ipOnly.certDer);
        const missing = o.checkClientIdentity(undefined);
        if (r.requestCert) {
          expect(wrong?.message).to.equal(PIN_MISMATCH_MESSAGE);
          expect(missing?.message).to.equal('RVF failed: peer certificate missing');
          expect(o.checkClientIdentity({raw: ipOnly.certDer} as tls.PeerCertificate)?.message).to.equal(PIN_MISMATCH_MESSAGE);
          expect(o.checkClientIdentity({} as tls.PeerCertificate)?.message).to.equal('RVF failed: peer certificate missing');
        } else {
          expect(wrong).to.equal(undefined);
          expect(missing).to.equal(undefined);
        }
      });
    }

    it('a matching pin (SHA-256 or SHA-512) passes; no pins pass any presented certificate', () => {
      const o = buildTlsServerConfig({name: 's', keyPair: pair, clientCas: [ca.certPem], pins: [sha256(dnsOnly.certDer), sha512(ipOnly.certDer)]}).nodeOptions;
      expect(o.checkClientIdentity(dnsOnly.certDer)).to.equal(undefined);
      expect(o.checkClientIdentity(ipOnly.certDer)).to.equal(undefined);
      expect(o.checkClientIdentity(both.certDer)?.message).to.equal(PIN_MISMATCH_MESSAGE);
      const open = buildTlsServerConfig({name: 's', keyPair: pair, clientCas: [ca.certPem]}).nodeOptions;
      expect(open.checkClientIdentity(both.certDer)).to.equal(undefined);
    });

    it('pin failures are logged like Go (RVF failed: …)', () => {
      const lines: string[] = [];
      const logger = {error: (m: unknown) => lines.push(String(m))} as never;
      const o = buildTlsServerConfig({name: 's', keyPair: pair, requireClientCert: true, pins: [sha256(dnsOnly.certDer)], logger}).nodeOptions;
      o.checkClientIdentity(both.certDer);
      expect(lines).to.deep.equal([PIN_MISMATCH_MESSAGE]);
    });

    it('checkClientIdentity on a real server socket: missing certificate, untrusted chain (Go text), pins', async () => {
      const otherLeaf = await issue({dnsNames: ['localhost'], nodeIds: ['B']}, otherCa);
      const cfg = buildTlsServerConfig({name: 's', keyPair: pair, clientCas: [ca.certPem], pins: [sha256(dnsOnly.certDer)]});
      // a backend that wants to log refusals itself runs with rejectUnauthorized: false and calls the hook
      const server = tls.createServer({...cfg.nodeOptions, rejectUnauthorized: false});
      const verdicts: Array<string | undefined> = [];
      server.on('secureConnection', (s: tls.TLSSocket) => {
        verdicts.push(cfg.nodeOptions.checkClientIdentity(s)?.message);
        s.destroy();
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const {port} = server.address() as AddressInfo;
      const dial = (o: tls.ConnectionOptions) =>
        new Promise<void>((resolve) => {
          const c = tls.connect({ca: ca.certPem, ...o, host: '127.0.0.1', port});
          c.on('error', () => resolve());
          c.on('close', () => resolve());
        });
      try {
        await dial({});
        await dial({cert: otherLeaf.certPem, key: leafKeyPem});
        await dial({cert: both.certPem, key: leafKeyPem});
        await dial({cert: dnsOnly.certPem, key: leafKeyPem});
      } finally {
        await new Promise((r) => server.close(r));
      }
      expect(verdicts).to.deep.equal([
        'RVF failed: peer certificate missing',
        'tls: failed to verify certificate: x509: certificate signed by unknown authority',
        PIN_MISMATCH_MESSAGE,
        undefined,
      ]);
    });

    it('keeps the raw material; the config rides along non-enumerably', () => {
      const cfg = buildTlsServerConfig({name: 's', certPath: '/c', keyPath: '/k', keyPair: pair, clientCas: [ca.certPem], clientCasPath: '/ca', pins: [sha256(both.certDer)]});
      expect(cfg).to.deep.include({kind: 'server', name: 's', certPath: '/c', keyPath: '/k', clientCasPath: '/ca', requireClientCert: false, minTls13: false});
      expect(cfg.leafDer.equals(both.certDer)).to.equal(true);
      expect(cfg.chainPem).to.equal(both.certPem);
      expect(cfg.keyPem).to.match(/^-----BEGIN PRIVATE KEY-----/);
      expect(cfg.pins[0]!.equals(sha256(both.certDer))).to.equal(true);
      expect(cfg.nodeOptions.cert).to.equal(cfg.chainPem);
      expect(cfg.nodeOptions.key).to.equal(cfg.keyPem);
      expect(Object.keys(cfg.nodeOptions)).to.not.include('receptor');
      expect({...cfg.nodeOptions}).to.not.have.property('receptor');
      expect(cfg.nodeOptions.receptor).to.equal(cfg);
      expect(tlsServerConfigOf(cfg.nodeOptions)).to.equal(cfg);
      expect(tlsClientConfigOf(cfg.nodeOptions)).to.equal(undefined);
      expect(tlsServerConfigOf({cert: 'x'})).to.equal(undefined);
      expect(() => JSON.stringify(cfg.nodeOptions)).to.not.throw();
    });
  });

  describe('tls-client policy', () => {
    it('verifies: ca from rootcas, rejectUnauthorized, hostname first, then pins', () => {
      const cfg = buildTlsClientConfig({name: 'c', keyPair: pair, rootCas: [ca.certPem], pins: [sha256(dnsOnly.certDer)]});
      const o = cfg.nodeOptions;
      expect(o.ca).to.deep.equal([ca.certPem]);
      expect(o.rejectUnauthorized).to.equal(true);
      const peer = (l: Leaf) => ({raw: l.certDer}) as tls.PeerCertificate;
      expect(o.checkServerIdentity('localhost', peer(dnsOnly))).to.equal(undefined);
      expect(o.checkServerIdentity('127.0.0.1', peer(dnsOnly))?.message).to.equal(
        "tls: failed to verify certificate: x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs",
      );
      expect(o.checkServerIdentity('localhost', peer(both))?.message).to.equal(PIN_MISMATCH_MESSAGE);
      expect(o.checkServerIdentity('10.1.1.1', peer(both))?.message).to.match(/^tls: failed to verify certificate: x509: certificate is valid for 127\.0\.0\.1, not 10\.1\.1\.1$/);
    });

    it('without rootcas the default roots are used (no ca option)', () => {
      const o = buildTlsClientConfig({name: 'c', keyPair: pair}).nodeOptions;
      expect('ca' in o).to.equal(false);
      expect(o.checkServerIdentity('localhost', {raw: dnsOnly.certDer} as tls.PeerCertificate)).to.equal(undefined);
    });

    it('insecureskipverify accepts anything, pins included', () => {
      const cfg = buildTlsClientConfig({name: 'c', keyPair: pair, rootCas: [ca.certPem], insecureSkipVerify: true, pins: [sha256(dnsOnly.certDer)]});
      const o = cfg.nodeOptions;
      expect(o.rejectUnauthorized).to.equal(false);
      expect(o.checkServerIdentity('10.9.9.9', {raw: ipOnly.certDer} as tls.PeerCertificate)).to.equal(undefined);
      expect(cfg.insecureSkipVerify).to.equal(true);
      expect(tlsClientConfigOf(o)).to.equal(cfg);
      expect(Object.keys(o)).to.not.include('receptor');
    });

    it('presents the client certificate and key', () => {
      const o = buildTlsClientConfig({name: 'c', keyPair: pair}).nodeOptions;
      expect(o.cert).to.equal(both.certPem);
      expect(String(o.key)).to.match(/^-----BEGIN PRIVATE KEY-----/);
    });
  });

  describe('flavours', () => {
    it('default: TLS >= 1.2, the four TLS 1.2 suites plus the three TLS 1.3 suites, NIST groups only', () => {
      expect(flavourOptions(false)).to.deep.equal({minVersion: 'TLSv1.2', ciphers: DEFAULT_FLAVOUR_CIPHERS, ecdhCurve: DEFAULT_FLAVOUR_CURVES});
      expect(DEFAULT_FLAVOUR_CURVES).to.equal('P-521:P-384:P-256');
      expect(DEFAULT_FLAVOUR_CIPHERS.split(':')).to.have.members([
        'TLS_AES_128_GCM_SHA256',
        'TLS_AES_256_GCM_SHA384',
        'TLS_CHACHA20_POLY1305_SHA256',
        'ECDHE-RSA-AES256-GCM-SHA384',
        'AES256-GCM-SHA384',
        'ECDHE-RSA-AES128-GCM-SHA256',
        'ECDHE-ECDSA-AES128-GCM-SHA256',
      ]);
    });
    it('mintls13: TLS 1.3 only, library groups', () => {
      expect(flavourOptions(true)).to.deep.equal({minVersion: 'TLSv1.3'});
      const s = buildTlsServerConfig({name: 's', keyPair: pair, minTls13: true}).nodeOptions;
      const c = buildTlsClientConfig({name: 'c', keyPair: pair, minTls13: true}).nodeOptions;
      for (const o of [s, c]) {
        expect(o.minVersion).to.equal('TLSv1.3');
        expect(o).to.not.have.property('ciphers');
        expect(o).to.not.have.property('ecdhCurve');
      }
    });

    /** One handshake against a server built from `serverOpts`; resolves with what was negotiated or the client error. */
    async function handshake(serverOpts: tls.TlsOptions, clientOpts: tls.ConnectionOptions): Promise<{protocol?: string | null; cipher?: string; group?: string; err?: string}> {
      const server = tls.createServer(serverOpts, (s) => s.end());
      server.on('tlsClientError', () => undefined);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const {port} = server.address() as AddressInfo;
      try {
        return await new Promise((resolve) => {
          const c = tls.connect({ca: ca.certPem, ...clientOpts, host: '127.0.0.1', port});
          c.once('secureConnect', () => {
            const out = {protocol: c.getProtocol(), cipher: c.getCipher().name, group: (c.getEphemeralKeyInfo() as tls.EphemeralKeyInfo | null)?.name};
            c.destroy();
            resolve(out);
          });
          c.once('error', (e) => resolve({err: e.message}));
        });
      } finally {
        await new Promise((r) => server.close(r));
      }
    }

    it('default-flavour server: TLS 1.3 on P-521 for its own client; TLS 1.2 picks a listed suite; X25519-only clients fail', async () => {
      const server = buildTlsServerConfig({name: 's', keyPair: pair}).nodeOptions;
      const client = buildTlsClientConfig({name: 'c', keyPair: pair, rootCas: [ca.certPem]}).nodeOptions;
      const r13 = await handshake(server, client);
      expect(r13).to.deep.include({protocol: 'TLSv1.3', group: 'secp521r1'});
      const r12 = await handshake(server, {maxVersion: 'TLSv1.2'});
      expect(r12.protocol).to.equal('TLSv1.2');
      expect(['ECDHE-RSA-AES256-GCM-SHA384', 'AES256-GCM-SHA384', 'ECDHE-RSA-AES128-GCM-SHA256']).to.include(r12.cipher);
      const bad12 = await handshake(server, {maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-SHA:ECDHE-RSA-CHACHA20-POLY1305'});
      expect(bad12.err).to.be.a('string');
      const x25519 = await handshake(server, {ecdhCurve: 'X25519'});
      expect(x25519.err).to.be.a('string');
    });

    it('mintls13 server refuses TLS 1.2 clients; mixed flavours link up over TLS 1.3', async () => {
      const s13 = buildTlsServerConfig({name: 's', keyPair: pair, minTls13: true}).nodeOptions;
      expect((await handshake(s13, {maxVersion: 'TLSv1.2'})).err).to.be.a('string');
      const cDefault = buildTlsClientConfig({name: 'c', keyPair: pair, rootCas: [ca.certPem]}).nodeOptions;
      expect(await handshake(s13, cDefault)).to.deep.include({protocol: 'TLSv1.3'});
      const sDefault = buildTlsServerConfig({name: 's', keyPair: pair}).nodeOptions;
      const c13 = buildTlsClientConfig({name: 'c', keyPair: pair, rootCas: [ca.certPem], minTls13: true}).nodeOptions;
      expect(await handshake(sDefault, c13)).to.deep.include({protocol: 'TLSv1.3'});
    });

    it('the client options are used as-is by tls.connect: a wrong pin and a wrong CA fail the handshake', async () => {
      const server = buildTlsServerConfig({name: 's', keyPair: pair}).nodeOptions;
      const pinned = buildTlsClientConfig({name: 'c', keyPair: pair, rootCas: [ca.certPem], pins: [sha256(dnsOnly.certDer)]}).nodeOptions;
      expect((await handshake(server, {...pinned})).err).to.equal(PIN_MISMATCH_MESSAGE);
      const untrusted = buildTlsClientConfig({name: 'c', keyPair: pair, rootCas: [otherCa.certPem]}).nodeOptions;
      expect((await handshake(server, {...untrusted})).err)
        .to.be.a('string')
        .and.not.equal(PIN_MISMATCH_MESSAGE);
      const insecure = buildTlsClientConfig({name: 'c', keyPair: pair, rootCas: [otherCa.certPem], insecureSkipVerify: true, pins: [sha256(dnsOnly.certDer)]}).nodeOptions;
      expect(await handshake(server, {...insecure})).to.deep.include({protocol: 'TLSv1.3'});
    });
  });

  describe("key pairs (Go's tls.X509KeyPair)", () => {
    it('loads an RSA chain and PKCS#1 key; normalises to CERTIFICATE blocks and PKCS#8', () => {
      const p = loadKeyPair(`junk before\n${both.certPem}${ca.certPem}`, leafKeyPem);
      expect(p.chainDer).to.have.length(2);
      expect(p.leafDer.equals(both.certDer)).to.equal(true);
      expect(p.chainPem).to.equal(both.certPem + ca.certPem);
      expect(p.keyPem).to.match(/^-----BEGIN PRIVATE KEY-----/);
    });
    it('loads an ECDSA (PKCS#8) pair', () => {
      const p = loadKeyPair(TEST_TLS.cert, TEST_TLS.key);
      expect(p.key.asymmetricKeyType).to.equal('ec');
    });
    it('parses SEC 1 EC keys (this one belongs to another certificate)', () => {
      const sec1 = p256Sec1();
      expect(() => loadKeyPair(TEST_TLS.cert, sec1)).to.throw('tls: private key does not match public key');
    });
    it("Go's error texts", () => {
      expect(() => loadKeyPair('not pem', leafKeyPem)).to.throw('tls: failed to find any PEM data in certificate input');
      expect(() => loadKeyPair(leafKeyPem, both.certPem)).to.throw(
        'tls: failed to find certificate PEM data in certificate input, but did find a private key; PEM inputs may have been switched',
      );
      expect(() => loadKeyPair(pemEncode('PUBLIC KEY', Buffer.from([1])) + pemEncode('X', Buffer.from([2])), leafKeyPem)).to.throw(
        'tls: failed to find "CERTIFICATE" PEM block in certificate input after skipping PEM blocks of the following types: [PUBLIC KEY X]',
      );
      expect(() => loadKeyPair(both.certPem, 'nothing')).to.throw('tls: failed to find any PEM data in key input');
      expect(() => loadKeyPair(both.certPem, both.certPem)).to.throw('tls: found a certificate rather than a key in the PEM for the private key');
      expect(() => loadKeyPair(both.certPem, both.certPem + pemEncode('PUBLIC KEY', Buffer.from([1])))).to.throw(
        'tls: failed to find PEM block with type ending in "PRIVATE KEY" in key input after skipping PEM blocks of the following types: [CERTIFICATE PUBLIC KEY]',
      );
      expect(() => loadKeyPair(both.certPem, pemEncode('RSA PRIVATE KEY', Buffer.from([0x30, 0x00])))).to.throw('tls: failed to parse private key');
      expect(() => loadKeyPair(both.certPem, ca.keyPem)).to.throw('tls: private key does not match public key');
      expect(() => loadKeyPair(both.certPem, TEST_TLS.key)).to.throw('tls: private key type does not match public key type');
      expect(() => loadKeyPair(pemEncode('CERTIFICATE', Buffer.from([0x30, 0x00])), leafKeyPem)).to.throw('x509: malformed certificate');
    });
  });

  it('CA bundles: every parsable CERTIFICATE block, nothing else (an empty pool trusts nothing)', () => {
    const bundle = ['text', ca.certPem, pemEncode('RSA PRIVATE KEY', Buffer.from([1])), pemEncode('CERTIFICATE', Buffer.from([0x30, 0])), otherCa.certPem].join('\n');
    expect(loadCaBundle(bundle)).to.deep.equal([ca.certPem, otherCa.certPem]);
    expect(loadCaBundle('garbage')).to.deep.equal([]);
  });
});

function p256Sec1(): string {
  const {privateKey} = generateKeyPairSync('ec', {namedCurve: 'P-256'});
  return privateKey.export({type: 'sec1', format: 'pem'}).toString();
}

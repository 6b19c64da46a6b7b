import {expect} from 'chai';
import {spawnSync} from 'node:child_process';
import {createPrivateKey, X509Certificate} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import {decode} from '../../../src/core/pki/der.js';
import {pemDecodeAll} from '../../../src/core/go/pem.js';
import {certificateNames, OID_SUBJECT_ALT_NAME, verifyReceptorName} from '../../../src/core/pki/names.js';
import {
  addYears,
  assertKeyMatchesCertificate,
  createCa,
  createCsr,
  createInsecureStreamCert,
  decodeCertificate,
  decodeCsr,
  describeCertificate,
  findRsaPrivateKey,
  formatNameGo,
  generateRsaKey,
  INSECURE_COMMON_NAME,
  loadRsaPrivateKey,
  OID,
  parseCsr,
  parseName,
  rsaKeyBits,
  signCsr,
  verifyCertificateSignature,
  type CreatedCa,
  type CreatedCsr,
  type InsecureStreamCert,
  type SignedCertificate,
} from '../../../src/core/pki/x509.js';

const OPENSSL = '/usr/bin/openssl';
/** V9 (netceptor-vectors.md) and the config.md §5.15 SAN. */
const V9 = '301f82096c6f63616c686f7374a01206092b0601040192081301a0050c03666f6f';
const CONFIG_SAN = '302582096c6f63616c686f737487047f000001a01206092b0601040192081301a0050c03666f6f';

function openssl(args: string[], cwd: string): {code: number | null; out: string} {
  const r = spawnSync(OPENSSL, args, {cwd, encoding: 'utf8'});
  return {code: r.status, out: `${r.stdout}${r.stderr}`};
}

describe('X.509 building and signing (checked with openssl)', function () {
  this.timeout(60_000);
  let dir: string;
  let ca: CreatedCa;
  let csr: CreatedCsr;
  let leaf: SignedCertificate;
  let insecure: InsecureStreamCert;
  let t0: number;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'receptor-pki-'));
    t0 = Math.floor(Date.now() / 1000);
    [ca, csr, insecure] = await Promise.all([
      createCa({commonName: 'test CA', bits: 2048}),
      createCsr({commonName: 'foo', bits: 2048, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], nodeIds: ['foo']}),
      createInsecureStreamCert(),
    ]);
    leaf = signCsr({csrPem: csr.csrPem, caCertPem: ca.certPem, caKeyPem: ca.keyPem});
    fs.writeFileSync(path.join(dir, 'ca.crt'), ca.certPem);
    fs.writeFileSync(path.join(dir, 'ca.key'), ca.keyPem);
    fs.writeFileSync(path.join(dir, 'node.csr'), csr.csrPem);
    fs.writeFileSync(path.join(dir, 'node.key'), csr.keyPem);
    fs.writeFileSync(path.join(dir, 'node.crt'), leaf.certPem);
    fs.writeFileSync(path.join(dir, 'insecure.crt'), insecure.certPem);
  });

  after(() => {
    if (dir) fs.rmSync(dir, {recursive: true, force: true});
  });

  it('openssl is available', () => {
    expect(openssl(['version'], dir).out).to.match(/^OpenSSL 3/);
  });

  describe('CA (cert-init)', () => {
    it('has the expected extensions and fields in openssl -text', () => {
      const {code, out} = openssl(['x509', '-noout', '-text', '-in', 'ca.crt'], dir);
      expect(code).to.equal(0);
      expect(out).to.include('Version: 3 (0x2)');
      expect(out).to.include('Signature Algorithm: sha256WithRSAEncryption');
      expect(out).to.include('Issuer: CN = test CA');
      expect(out).to.include('Subject: CN = test CA');
      expect(out).to.include('Public-Key: (2048 bit)');
      expect(out).to.match(/X509v3 Key Usage: critical\s+Digital Signature, Certificate Sign\n/);
      expect(out).to.match(/X509v3 Extended Key Usage: ?\s+TLS Web Client Authentication, TLS Web Server Authentication\n/);
      expect(out).to.match(/X509v3 Basic Constraints: critical\s+CA:TRUE\n/);
      expect(out).to.include('X509v3 Subject Key Identifier');
      expect(out).not.to.include('Authority Key Identifier');
      expect(out).not.to.include('Subject Alternative Name');
    });

    it('has a random positive serial below 2^128 and validity now → +10 years', () => {
      const c = decodeCertificate(ca.certDer);
      expect(c.serial > 0n && c.serial < 1n << 128n).to.equal(true);
      expect(c.serial).to.equal(ca.serial);
      expect(c.notBefore.getTime() / 1000).to.be.within(t0, t0 + 30);
      expect(c.notAfter.toISOString()).to.equal(addYears(c.notBefore, 10).toISOString());
      expect(c.version).to.equal(3);
      expect(c.signatureAlgorithm).to.equal(OID.sha256WithRSAEncryption);
      expect(c.extensions.map((e) => [e.oid, e.critical])).to.deep.equal([
        [OID.keyUsage, true],
        [OID.extKeyUsage, false],
        [OID.basicConstraints, true],
        [OID.subjectKeyIdentifier, false],
      ]);
      expect(formatNameGo(c.subjectAttributes)).to.equal('CN=test CA');
      expect(c.issuer.equals(c.subject)).to.equal(true);
      expect(describeCertificate(ca.certPem).isCa).to.equal(true);
    });

    it('is self-signed (node:crypto agrees) and its key is PKCS#1 PEM that openssl accepts', () => {
      const x = new X509Certificate(ca.certPem);
      expect(x.ca).to.equal(true);
      expect(x.verify(x.publicKey)).to.equal(true);
      expect(verifyCertificateSignature(ca.certPem, ca.certPem)).to.equal(true);
      expect(pemDecodeAll(ca.keyPem).map((b) => b.type)).to.deep.equal(['RSA PRIVATE KEY']);
      expect(openssl(['rsa', '-check', '-noout', '-in', 'ca.key'], dir).out).to.include('RSA key ok');
      expect(() => assertKeyMatchesCertificate(ca.certPem, loadRsaPrivateKey(ca.keyPem))).not.to.throw();
      expect(() => assertKeyMatchesCertificate(ca.certPem, csr.key)).to.throw('tls: private key does not match public key');
    });

    it('defaults bits to 2048, requires a common name, and takes explicit dates (GeneralizedTime after 2049)', async () => {
      await createCa({commonName: ''}).then(
        () => expect.fail('should reject'),
        (err: Error) => expect(err.message).to.equal('must provide CommonName'),
      );
      const nb = new Date('2020-01-01T00:00:00Z');
      const na = new Date('2060-01-01T00:00:00Z');
      const c2 = await createCa({commonName: 'Zeit CA', bits: 0, notBefore: nb, notAfter: na});
      expect(rsaKeyBits(c2.key)).to.equal(2048);
      fs.writeFileSync(path.join(dir, 'ca2.crt'), c2.certPem);
      const {out} = openssl(['x509', '-noout', '-dates', '-in', 'ca2.crt'], dir);
      expect(out).to.include('notBefore=Jan  1 00:00:00 2020 GMT');
      expect(out).to.include('notAfter=Jan  1 00:00:00 2060 GMT');
      const tbs = decode(decodeCertificate(c2.certDer).tbs);
      expect(tbs.raw.includes(Buffer.from('20600101000000Z'))).to.equal(true);
    });
  });

  describe('CSR (cert-makereq)', () => {
    it('verifies with openssl req -verify and carries only the SAN', () => {
      const v = openssl(['req', '-verify', '-noout', '-in', 'node.csr'], dir);
      expect(v.code, v.out).to.equal(0);
      expect(v.out).to.match(/verify OK/);
      const {out} = openssl(['req', '-noout', '-text', '-in', 'node.csr'], dir);
      expect(out).to.include('Subject: CN = foo');
      expect(out).to.include('Requested Extensions:');
      expect(out).to.include('DNS:localhost, IP Address:127.0.0.1, othername: 1.3.6.1.4.1.2312.19.1::foo');
      expect(out).to.include('Signature Algorithm: sha256WithRSAEncryption');
      const d = decodeCsr(csr.csrDer);
      expect(d.extensions.map((e) => [e.oid, e.critical])).to.deep.equal([[OID_SUBJECT_ALT_NAME, false]]);
      expect(d.extensions[0]!.value.toString('hex')).to.equal(CONFIG_SAN);
    });

    it('parseCsr gives what cert-signreq shows', () => {
      const p = parseCsr(csr.csrPem);
      expect(p.subject).to.equal('CN=foo');
      expect(p.commonName).to.equal('foo');
      expect(p.publicKeyAlgorithm).to.equal('RSA');
      expect(p.publicKeyBits).to.equal(2048);
      expect(p.signatureAlgorithm).to.equal('SHA256-RSA');
      expect(p.names).to.deep.equal({dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], nodeIds: ['foo']});
      expect(p.subjectAltName!.toString('hex')).to.equal(CONFIG_SAN);
    });

    it("parseCsr refuses a tampered request and follows Go's LoadRequest rules", () => {
      const der = Buffer.from(csr.csrDer);
      der[der.length - 5]! ^= 0xff;
      expect(() => parseCsr(der)).to.throw('certificate request signature is invalid');
      expect(() => parseCsr(csr.csrPem + csr.csrPem)).to.throw('certificate request file should contain exactly one item');
      expect(() => parseCsr(ca.certPem)).to.throw('certificate request file does not contain certificate request data');
      expect(() => parseCsr('garbage')).to.throw('failed to decode PEM block');
      expect(() => parseCsr(csr.csrPem.replace(/CERTIFICATE REQUEST/g, 'NEW CERTIFICATE REQUEST'))).to.throw('unknown block type NEW CERTIFICATE REQUEST');
    });

    it('reuses an existing key; the SAN of DNS + node ID is exactly V9', async () => {
      const again = await createCsr({commonName: 'foo', key: csr.keyPem, dnsNames: ['localhost'], nodeIds: ['foo']});
      expect(again.keyPem).to.equal(csr.keyPem);
      expect(again.subjectAltName.toString('hex')).to.equal(V9);
      const signed = signCsr({csrPem: again.csrPem, caCertPem: ca.certPem, caKeyPem: ca.keyPem});
      const san = decodeCertificate(signed.certDer).extensions.find((e) => e.oid === OID_SUBJECT_ALT_NAME)!;
      expect(san.value.toString('hex')).to.equal(V9);
      expect(san.critical).to.equal(false);
    });

    it("reports bad input with Go's texts", async () => {
      for (const [opts, msg] of [
        [{commonName: 'x', key: csr.key, ipAddresses: ['bogus']}, 'invalid IP address: bogus'],
        [{commonName: '', key: csr.key}, 'must provide CommonName'],
      ] as const) {
        await createCsr(opts).then(
          () => expect.fail('should reject'),
          (err: Error) => expect(err.message).to.equal(msg),
        );
      }
    });

    it('finds the one RSA key of an inkey file (Go MakeReq rules)', () => {
      expect(rsaKeyBits(findRsaPrivateKey(ca.certPem + ca.keyPem, 'f.pem'))).to.equal(2048);
      expect(() => findRsaPrivateKey(ca.certPem, 'f.pem')).to.throw('no private keys in file f.pem');
      expect(() => findRsaPrivateKey(ca.keyPem + csr.keyPem, 'f.pem')).to.throw('multiple private keys in file f.pem');
      const pkcs8 = createPrivateKey(ca.keyPem).export({type: 'pkcs8', format: 'pem'}).toString();
      expect(rsaKeyBits(loadRsaPrivateKey(pkcs8))).to.equal(2048);
      expect(() => loadRsaPrivateKey(ca.certPem)).to.throw('private key file does not contain private key data');
      expect(() => loadRsaPrivateKey(ca.keyPem + ca.keyPem)).to.throw('private key file should contain exactly one item');
    });
  });

  describe('signed certificate (cert-signreq)', () => {
    it('gives two certificates signed by one CA at the same instant different serials', () => {
      const now = new Date();
      const a = signCsr({csrPem: csr.csrPem, caCertPem: ca.certPem, caKeyPem: ca.keyPem, now});
      const b = signCsr({csrPem: csr.csrPem, caCertPem: ca.certPem, caKeyPem: ca.keyPem, now});
      expect(a.serial).to.not.equal(b.serial);
      expect(decodeCertificate(a.certDer).serial).to.equal(a.serial);
    });

    it('openssl verify -CAfile ca.crt node.crt succeeds', () => {
      const v = openssl(['verify', '-CAfile', 'ca.crt', 'node.crt'], dir);
      expect(v.code, v.out).to.equal(0);
      expect(v.out.trim()).to.equal('node.crt: OK');
    });

    it('shows the expected extensions in openssl -text, including the otherName', () => {
      const {out} = openssl(['x509', '-noout', '-text', '-in', 'node.crt'], dir);
      expect(out).to.include('Issuer: CN = test CA');
      expect(out).to.include('Subject: CN = foo');
      expect(out).to.match(/X509v3 Key Usage: critical\s+Digital Signature\n/);
      expect(out).to.match(/X509v3 Extended Key Usage: ?\s+TLS Web Client Authentication, TLS Web Server Authentication\n/);
      expect(out).to.include('X509v3 Authority Key Identifier');
      expect(out).to.match(/X509v3 Subject Alternative Name: ?\n\s+DNS:localhost, IP Address:127.0.0.1, othername: 1.3.6.1.4.1.2312.19.1::foo\n/);
      expect(out).not.to.include('CA:TRUE');
      expect(out).not.to.include('Basic Constraints');
    });

    it("has a random 128-bit serial, validity now → +1 year, AKI = CA SKI and the CSR's SAN verbatim", () => {
      const c = decodeCertificate(leaf.certDer);
      expect(c.serial > 0n && c.serial < 1n << 128n).to.equal(true);
      expect(c.serial).to.not.equal(decodeCertificate(ca.certDer).serial);
      expect(c.notAfter.toISOString()).to.equal(addYears(c.notBefore, 1).toISOString());
      expect(c.extensions.map((e) => [e.oid, e.critical])).to.deep.equal([
        [OID.keyUsage, true],
        [OID.extKeyUsage, false],
        [OID.authorityKeyIdentifier, false],
        [OID_SUBJECT_ALT_NAME, false],
      ]);
      const ski = decodeCertificate(ca.certDer).extensions.find((e) => e.oid === OID.subjectKeyIdentifier)!;
      const aki = c.extensions.find((e) => e.oid === OID.authorityKeyIdentifier)!;
      expect(aki.value.subarray(4).equals(ski.value.subarray(2))).to.equal(true);
      expect(aki.value.subarray(0, 4).toString('hex')).to.equal('30168014');
      expect(c.extensions.find((e) => e.oid === OID_SUBJECT_ALT_NAME)!.value.toString('hex')).to.equal(CONFIG_SAN);
      expect(c.issuer.equals(decodeCertificate(ca.certDer).subject)).to.equal(true);
      expect(leaf.names).to.deep.equal({dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], nodeIds: ['foo']});
      expect(certificateNames(leaf.certPem).nodeIds).to.deep.equal(['foo']);
      expect(verifyReceptorName(leaf.certDer, 'foo')).to.equal(undefined);
    });

    it('node:crypto X509Certificate agrees', () => {
      const x = new X509Certificate(leaf.certPem);
      const cax = new X509Certificate(ca.certPem);
      expect(x.checkIssued(cax)).to.equal(true);
      expect(x.verify(cax.publicKey)).to.equal(true);
      expect(x.ca).to.equal(false);
      expect(x.checkHost('localhost')).to.equal('localhost');
      expect(x.checkIP('127.0.0.1')).to.equal('127.0.0.1');
      expect(x.fingerprint256).to.equal(describeCertificate(leaf.certPem).fingerprintSha256);
    });

    it('refuses a request without names and a CA key that does not match', async () => {
      const bare = await createCsr({commonName: 'nobody', key: csr.key});
      expect(() => signCsr({csrPem: bare.csrPem, caCertPem: ca.certPem, caKeyPem: ca.keyPem})).to.throw('cannot sign: no names found in certificate');
      expect(() => signCsr({csrPem: csr.csrPem, caCertPem: ca.certPem, caKeyPem: csr.keyPem})).to.throw("x509: provided PrivateKey doesn't match parent's PublicKey");
      expect(() => signCsr({csrPem: csr.csrPem, caCertPem: ca.certPem + ca.certPem, caKeyPem: ca.keyPem})).to.throw('certificate file should contain exactly one item');
      expect(() => signCsr({csrPem: csr.csrPem, caCertPem: ca.keyPem, caKeyPem: ca.keyPem})).to.throw('certificate file does not contain certificate data');
    });

    it('signs requests made by openssl (RSA/SHA-384 and ECDSA) with a SAN otherName', () => {
      const mk = (args: string[]) => {
        const r = openssl(args, dir);
        expect(r.code, r.out).to.equal(0);
      };
      mk([
        'req',
        '-new',
        '-sha384',
        '-key',
        'node.key',
        '-subj',
        '/CN=bar/O=Example, Inc.',
        '-addext',
        'subjectAltName=DNS:bar.example,IP:::1,otherName:1.3.6.1.4.1.2312.19.1;UTF8:bar',
        '-out',
        'bar.csr',
      ]);
      mk([
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        'ec.key',
        '-subj',
        '/CN=ec',
        '-addext',
        'subjectAltName=otherName:1.3.6.1.4.1.2312.19.1;UTF8:ec',
        '-out',
        'ec.csr',
      ]);
      const bar = parseCsr(fs.readFileSync(path.join(dir, 'bar.csr'), 'utf8'));
      expect(bar.subject).to.equal('CN=bar,O=Example\\, Inc.');
      expect(bar.names).to.deep.equal({dnsNames: ['bar.example'], ipAddresses: ['::1'], nodeIds: ['bar']});
      expect(bar.signatureAlgorithm).to.equal('SHA384-RSA');
      const ec = parseCsr(fs.readFileSync(path.join(dir, 'ec.csr'), 'utf8'));
      expect(ec.publicKeyAlgorithm).to.equal('ECDSA');
      expect(ec.publicKeyBits).to.equal(undefined);
      expect(ec.signatureAlgorithm).to.equal('ECDSA-SHA256');
      for (const [name, p] of [
        ['bar', bar],
        ['ec', ec],
      ] as const) {
        const s = signCsr({csrPem: p, caCertPem: ca.certPem, caKeyPem: ca.key});
        fs.writeFileSync(path.join(dir, `${name}.crt`), s.certPem);
        const v = openssl(['verify', '-CAfile', 'ca.crt', `${name}.crt`], dir);
        expect(v.code, v.out).to.equal(0);
        expect(certificateNames(s.certPem).nodeIds).to.deep.equal([name]);
        // like Go, the certificate uses the request's RSA hash (SHA-384 here), else SHA-256
        expect(decodeCertificate(s.certDer).signatureAlgorithm).to.equal(name === 'bar' ? '1.2.840.113549.1.1.12' : OID.sha256WithRSAEncryption);
      }
      const {out} = openssl(['x509', '-noout', '-subject', '-in', 'bar.crt'], dir);
      expect(out).to.include('CN = bar');
    });

    it('takes explicit validity dates', () => {
      const s = signCsr({
        csrPem: csr.csrPem,
        caCertPem: ca.certPem,
        caKeyPem: ca.keyPem,
        notBefore: new Date('2021-05-06T07:08:09.999Z'),
        notAfter: new Date('2022-05-06T07:08:09Z'),
      });
      expect(s.notBefore.toISOString()).to.equal('2021-05-06T07:08:09.000Z');
      const c = decodeCertificate(s.certDer);
      expect(c.notBefore.toISOString()).to.equal('2021-05-06T07:08:09.000Z');
      expect(c.notAfter.toISOString()).to.equal('2022-05-06T07:08:09.000Z');
    });
  });

  describe('insecure stream certificate (netceptor-wire §11.4)', () => {
    it('has exactly the stated properties', () => {
      const c = decodeCertificate(insecure.certDer);
      expect(c.version).to.equal(3);
      expect(c.serial).to.equal(1n);
      expect(formatNameGo(c.subjectAttributes)).to.equal(`CN=${INSECURE_COMMON_NAME}`);
      expect(c.issuer.equals(c.subject)).to.equal(true);
      expect(parseName(decode(c.subject))).to.have.length(1);
      expect(c.extensions).to.deep.equal([]);
      expect(c.signatureAlgorithm).to.equal(OID.sha256WithRSAEncryption);
      expect(c.publicKeyAlgorithm).to.equal(OID.rsaEncryption);
      expect(rsaKeyBits(insecure.key)).to.equal(2048);
      const now = Date.now();
      expect(now - c.notBefore.getTime()).to.be.within(59_000, 90_000);
      expect(c.notAfter.getTime() - now).to.be.within(24 * 3_600_000 - 30_000, 24 * 3_600_000 + 1_000);
      expect(verifyCertificateSignature(insecure.certDer, insecure.certDer)).to.equal(true);
      expect(() => assertKeyMatchesCertificate(insecure.certPem, insecure.key)).not.to.throw();
    });

    it('openssl shows v3, serial 1, the CN and no extensions', () => {
      const {code, out} = openssl(['x509', '-noout', '-text', '-in', 'insecure.crt'], dir);
      expect(code).to.equal(0);
      expect(out).to.include('Version: 3 (0x2)');
      expect(out).to.include('Serial Number: 1 (0x1)');
      expect(out).to.include(`Issuer: CN = ${INSECURE_COMMON_NAME}`);
      expect(out).to.include(`Subject: CN = ${INSECURE_COMMON_NAME}`);
      expect(out).to.include('Public-Key: (2048 bit)');
      expect(out).not.to.include('X509v3');
      expect(out).to.include('Signature Algorithm: sha256WithRSAEncryption');
    });
  });

  describe('TLS', () => {
    it('node:tls completes a mutually authenticated TLS 1.3 handshake with the signed certificate', async () => {
      const server = tls.createServer({
        key: csr.keyPem,
        cert: leaf.certPem,
        ca: ca.certPem,
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: 'TLSv1.3',
      });
      const serverSide = new Promise<{authorized: boolean; peerCN: string}>((resolve) => {
        server.on('secureConnection', (s) => {
          resolve({authorized: s.authorized, peerCN: String(s.getPeerCertificate().subject?.CN)});
          s.end('hello');
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as {port: number}).port;
      try {
        const client = await new Promise<{protocol: string | null; authorized: boolean; raw: Buffer; data: string}>((resolve, reject) => {
          const sock = tls.connect({host: '127.0.0.1', port, ca: ca.certPem, key: csr.keyPem, cert: leaf.certPem, minVersion: 'TLSv1.3'}, () => {
            const info = {protocol: sock.getProtocol(), authorized: sock.authorized, raw: sock.getPeerCertificate().raw};
            let data = '';
            sock.on('data', (d: Buffer) => (data += d.toString()));
            sock.on('end', () => resolve({...info, data}));
          });
          sock.on('error', reject);
        });
        expect(client.protocol).to.equal('TLSv1.3');
        expect(client.authorized).to.equal(true);
        expect(client.data).to.equal('hello');
        expect(verifyReceptorName(client.raw, 'foo')).to.equal(undefined);
        expect(verifyReceptorName(client.raw, 'W')!.message).to.equal('x509: certificate is valid for Receptor node ID foo, not W');
        const srv = await serverSide;
        expect(srv.authorized).to.equal(true);
        expect(srv.peerCN).to.equal('foo');
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it('the insecure certificate serves TLS 1.3 to a client that skips verification', async () => {
      const server = tls.createServer({key: insecure.keyPem, cert: insecure.certPem, minVersion: 'TLSv1.3', ALPNProtocols: ['netceptor']}, (s) => s.end());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as {port: number}).port;
      try {
        const cn = await new Promise<string>((resolve, reject) => {
          const sock = tls.connect({host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['netceptor']}, () => {
            resolve(String(sock.getPeerCertificate().subject?.CN));
            sock.end();
          });
          sock.on('error', reject);
        });
        expect(cn).to.equal(INSECURE_COMMON_NAME);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });

  it('generateRsaKey is asynchronous and checks the size', async () => {
    let ticked = false;
    const p = generateRsaKey(1024);
    setImmediate(() => (ticked = true));
    const key = await p;
    expect(ticked).to.equal(true);
    expect(rsaKeyBits(key)).to.equal(1024);
    await generateRsaKey(512).then(
      () => expect.fail('should reject'),
      (err: Error) => expect(err.message).to.include('invalid RSA key size 512'),
    );
  });
});

/**
 * The certificates `receptor cert` makes, cross-checked against a well-kept library: from the
 * same key, serial, dates and extensions, @peculiar/x509 builds byte-identical DER. The library
 * is a test oracle only (it is asynchronous, parses BER leniently where Go is strict DER, does
 * not model the node-ID otherName, and writes an empty extensions field Go omits), so the
 * builder stays hand-written.
 */
import 'reflect-metadata';
import {AsnConvert} from '@peculiar/asn1-schema';
import {Certificate, GeneralNames} from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';
import {expect} from 'chai';
import {createPublicKey, webcrypto, type KeyObject} from 'node:crypto';
import {OID_RECEPTOR_NAME, OID_SUBJECT_ALT_NAME} from '../../../src/core/pki/names.js';
import {createCa, createCsr, createInsecureStreamCert, signCsr, type CreatedCa, type CreatedCsr} from '../../../src/core/pki/x509.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
type CryptoKey = webcrypto.CryptoKey;
const ALG = {name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256'};
const NOW = new Date('2026-12-07T10:00:00.000Z');

async function cryptoKeys(key: KeyObject): Promise<{privateKey: CryptoKey; publicKey: CryptoKey}> {
  const privateKey = await webcrypto.subtle.importKey('pkcs8', key.export({type: 'pkcs8', format: 'der'}), ALG, true, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', createPublicKey(key).export({type: 'spki', format: 'der'}), ALG, true, ['verify']);
  return {privateKey, publicKey};
}

/** The serial as the library wants it: unsigned big-endian hex, a 00 byte first when the top bit is set (DER INTEGER content). */
function serialHex(n: bigint): string {
  let h = n.toString(16);
  if (h.length % 2) h = `0${h}`;
  return Number.parseInt(h.slice(0, 2), 16) >= 0x80 ? `00${h}` : h;
}

const hex = (b: ArrayBuffer | Buffer) => Buffer.from(b as ArrayBuffer).toString('hex');
const EKU = [x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth];

describe('X.509 output equals @peculiar/x509 built from the same inputs', function () {
  this.timeout(60_000);
  let ca: CreatedCa;
  let csr: CreatedCsr;

  before(async () => {
    ca = await createCa({commonName: 'Receptor Test CA', now: NOW});
    csr = await createCsr({commonName: 'node é 1', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'], nodeIds: ['node1', 'node2']});
  });

  it('cert-init: the self-signed CA', async () => {
    const keys = await cryptoKeys(ca.key);
    const lib = await x509.X509CertificateGenerator.create({
      serialNumber: serialHex(ca.serial),
      issuer: 'CN=Receptor Test CA',
      subject: 'CN=Receptor Test CA',
      notBefore: ca.notBefore,
      notAfter: ca.notAfter,
      signingAlgorithm: ALG,
      publicKey: keys.publicKey,
      signingKey: keys.privateKey,
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
        new x509.ExtendedKeyUsageExtension(EKU),
        new x509.BasicConstraintsExtension(true, undefined, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    expect(hex(ca.certDer)).to.equal(hex(lib.rawData));
  });

  it('cert-makereq: the request (UTF8String CN, SAN as the only requested extension)', async () => {
    const keys = await cryptoKeys(csr.key);
    const lib = await x509.Pkcs10CertificateRequestGenerator.create({
      name: new x509.Name([{'2.5.4.3': [{utf8String: 'node é 1'}]}]),
      keys,
      signingAlgorithm: ALG,
      extensions: [new x509.Extension(OID_SUBJECT_ALT_NAME, false, csr.subjectAltName)],
    });
    expect(hex(csr.csrDer)).to.equal(hex(lib.rawData));
  });

  it('cert-signreq: the node certificate (AKI = CA SKI, SAN copied verbatim)', async () => {
    const signed = signCsr({csrPem: csr.csrPem, caCertPem: ca.certPem, caKeyPem: ca.keyPem, now: NOW});
    const caCert = new x509.X509Certificate(ca.certDer);
    const req = new x509.Pkcs10CertificateRequest(csr.csrDer);
    const lib = await x509.X509CertificateGenerator.create({
      serialNumber: serialHex(signed.serial),
      issuer: caCert.subjectName,
      subject: req.subjectName,
      notBefore: signed.notBefore,
      notAfter: signed.notAfter,
      signingAlgorithm: ALG,
      publicKey: await req.publicKey.export(ALG, ['verify']),
      signingKey: (await cryptoKeys(ca.key)).privateKey,
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension(EKU),
        new x509.AuthorityKeyIdentifierExtension(caCert.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId, false),
        new x509.Extension(OID_SUBJECT_ALT_NAME, false, req.getExtension(OID_SUBJECT_ALT_NAME)!.value),
      ],
    });
    expect(hex(signed.certDer)).to.equal(hex(lib.rawData));

    // The library reads the names back: DNS and IP through its model, the node IDs as
    // otherName 1.3.6.1.4.1.2312.19.1 holding a UTF8String.
    const parsed = new x509.X509Certificate(signed.certDer);
    const san = parsed.getExtension(x509.SubjectAlternativeNameExtension)!;
    expect(san.names.toJSON()).to.deep.include.members([
      {type: 'dns', value: 'localhost'},
      {type: 'ip', value: '127.0.0.1'},
      {type: 'ip', value: '::1'},
    ]);
    const others = AsnConvert.parse(san.value, GeneralNames).flatMap((g) => (g.otherName ? [g.otherName] : []));
    expect(others.map((o) => o.typeId)).to.deep.equal([OID_RECEPTOR_NAME, OID_RECEPTOR_NAME]);
    expect(others.map((o) => hex(o.value))).to.deep.equal([hex(Buffer.from('0c056e6f646531', 'hex')), hex(Buffer.from('0c056e6f646532', 'hex'))]);
  });

  it('the insecure stream certificate (v3, serial 1, no extensions field at all, as Go writes it)', async () => {
    const c = await createInsecureStreamCert(NOW);
    const keys = await cryptoKeys(c.key);
    const lib = await x509.X509CertificateGenerator.create({
      serialNumber: '01',
      issuer: 'CN=netceptor-insecure-common-name',
      subject: 'CN=netceptor-insecure-common-name',
      notBefore: c.notBefore,
      notAfter: c.notAfter,
      signingAlgorithm: ALG,
      publicKey: keys.publicKey,
      signingKey: keys.privateKey,
    });
    // The library writes an empty `[3] SEQUENCE {}` (not allowed by RFC 5280's SIZE (1..MAX));
    // Go and we omit the field. Without it the to-be-signed bytes are the same.
    const libCert = AsnConvert.parse(lib.rawData, Certificate);
    expect(libCert.tbsCertificate.extensions).to.deep.equal([]);
    libCert.tbsCertificate.extensions = undefined;
    const ours = AsnConvert.parse(c.certDer, Certificate);
    expect(ours.tbsCertificate.extensions).to.equal(undefined);
    expect(hex(AsnConvert.serialize(ours.tbsCertificate))).to.equal(hex(AsnConvert.serialize(libCert.tbsCertificate)));
    expect(hex(AsnConvert.serialize(ours))).to.equal(hex(c.certDer));
  });
});

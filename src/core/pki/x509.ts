/**
 * X.509 certificates and certificate requests, built with the DER encoder of `der.ts` and signed
 * with node:crypto: receptor's certificate tools (config.md §5.15) and the per-listener insecure
 * stream certificate (netceptor-wire.md §11.4).
 *
 * Kept whole (over 500 lines): one concern, the certificate and request structures Go builds;
 * the builders and parsers share the field layouts, and a split would scatter them.
 */
import {createHash, createPublicKey, generateKeyPair, KeyObject, randomBytes, sign, verify} from 'node:crypto';
import {
  bitString,
  boolean,
  DerError,
  decode,
  explicit,
  implicit,
  integer,
  isPrintableString,
  isUniversal,
  namedBitString,
  nullValue,
  octetString,
  oid,
  readBitString,
  readInteger,
  readOid,
  readString,
  readTime,
  reader,
  sequence,
  set,
  setOf,
  Tag,
  TagClass,
  tlv,
  utf8String,
  x509Time,
  isStringNode,
  type DerNode,
} from './der.js';
import {pemEncode} from '../go/pem.js';
import {findPrivateKey, loadCertificate, loadPrivateKey, loadRequest} from './pem-file.js';
import {certificateDer, encodeSubjectAltName, OID_SUBJECT_ALT_NAME, parseExtensions, parseSubjectAltName, type CertNames, type CertNamesInput, type Extension} from './names.js';

// ---------------------------------------------------------------------------------------------
// OIDs and algorithm names
// ---------------------------------------------------------------------------------------------

export const OID = {
  rsaEncryption: '1.2.840.113549.1.1.1',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  ecPublicKey: '1.2.840.10045.2.1',
  ed25519: '1.3.101.112',
  dsa: '1.2.840.10040.4.1',
  commonName: '2.5.4.3',
  extensionRequest: '1.2.840.113549.1.9.14',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: OID_SUBJECT_ALT_NAME,
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

interface SigAlg {
  /** Go's `x509.SignatureAlgorithm.String()`. */
  name: string;
  /** Hash for crypto.sign/verify (null for Ed25519). */
  hash: string | null;
  key: 'rsa' | 'ec' | 'ed25519' | 'dsa';
}

const SIGNATURE_ALGORITHMS: Record<string, SigAlg> = {
  '1.2.840.113549.1.1.4': {name: 'MD5-RSA', hash: 'md5', key: 'rsa'},
  '1.2.840.113549.1.1.5': {name: 'SHA1-RSA', hash: 'sha1', key: 'rsa'},
  '1.2.840.113549.1.1.11': {name: 'SHA256-RSA', hash: 'sha256', key: 'rsa'},
  '1.2.840.113549.1.1.12': {name: 'SHA384-RSA', hash: 'sha384', key: 'rsa'},
  '1.2.840.113549.1.1.13': {name: 'SHA512-RSA', hash: 'sha512', key: 'rsa'},
  '1.2.840.10045.4.1': {name: 'ECDSA-SHA1', hash: 'sha1', key: 'ec'},
  '1.2.840.10045.4.3.2': {name: 'ECDSA-SHA256', hash: 'sha256', key: 'ec'},
  '1.2.840.10045.4.3.3': {name: 'ECDSA-SHA384', hash: 'sha384', key: 'ec'},
  '1.2.840.10045.4.3.4': {name: 'ECDSA-SHA512', hash: 'sha512', key: 'ec'},
  '1.3.101.112': {name: 'Ed25519', hash: null, key: 'ed25519'},
  '2.16.840.1.101.3.4.3.2': {name: 'DSA-SHA256', hash: 'sha256', key: 'dsa'},
};

const RSA_SIG_OID_BY_HASH: Record<string, string> = {
  sha256: '1.2.840.113549.1.1.11',
  sha384: '1.2.840.113549.1.1.12',
  sha512: '1.2.840.113549.1.1.13',
};

/** Go's name for a signature algorithm OID (the OID itself when unknown). */
export function signatureAlgorithmName(algOid: string): string {
  return SIGNATURE_ALGORITHMS[algOid]?.name ?? algOid;
}

function rsaSignatureAlgorithm(hash: 'sha256' | 'sha384' | 'sha512'): Buffer {
  return sequence(oid(RSA_SIG_OID_BY_HASH[hash]!), nullValue());
}

// ---------------------------------------------------------------------------------------------
// Names (Distinguished Names)
// ---------------------------------------------------------------------------------------------

/** Go marshals Name strings as PrintableString when possible (it also allows '*'), else UTF8String. */
function directoryString(s: string): Buffer {
  return isPrintableString(s.replace(/\*/g, '')) ? tlv(0x13, Buffer.from(s, 'latin1')) : utf8String(s);
}

/** A Name with only a common name (empty Name when `commonName` is empty), like Go's pkix.Name{CommonName}. */
export function encodeCommonNameName(commonName: string): Buffer {
  if (commonName === '') return sequence();
  return sequence(setOf(sequence(oid(OID.commonName), directoryString(commonName))));
}

export interface NameAttribute {
  oid: string;
  /** The value as text, when it is a character string. */
  value?: string;
  /** The complete DER of the value. */
  valueDer: Buffer;
}

/** Attributes of a Name, flattened in encoding order. */
export function parseName(node: DerNode): NameAttribute[] {
  if (!isUniversal(node, Tag.SEQUENCE) || !node.constructed) throw new DerError('Name: expected SEQUENCE');
  const out: NameAttribute[] = [];
  const r = reader(node);
  while (r.hasMore()) {
    const rdn = r.expect(TagClass.universal, Tag.SET, true, 'RelativeDistinguishedName');
    const rr = reader(rdn);
    while (rr.hasMore()) {
      const atv = rr.expect(TagClass.universal, Tag.SEQUENCE, true, 'AttributeTypeAndValue');
      const ar = reader(atv);
      const type = readOid(ar.expect(TagClass.universal, Tag.OID, false, 'attribute type'));
      const v = ar.next();
      ar.finish('AttributeTypeAndValue');
      out.push({oid: type, value: isStringNode(v) ? readString(v) : undefined, valueDer: v.raw});
    }
  }
  return out;
}

const GO_ATTRIBUTE_NAMES: Record<string, string> = {
  '2.5.4.6': 'C',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.3': 'CN',
  '2.5.4.5': 'SERIALNUMBER',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'STREET',
  '2.5.4.17': 'POSTALCODE',
};
// Go prints the known attributes in the reverse of pkix.Name.ToRDNSequence's order.
const GO_ATTRIBUTE_ORDER = ['2.5.4.5', '2.5.4.3', '2.5.4.11', '2.5.4.10', '2.5.4.17', '2.5.4.9', '2.5.4.7', '2.5.4.8', '2.5.4.6'];

function goEscape(value: string): string {
  const chars = [...value];
  return chars
    .map((c, k) => {
      let esc = false;
      if (',+"\\<>;'.includes(c)) esc = true;
      else if (c === ' ') esc = k === 0 || k === chars.length - 1;
      else if (c === '#') esc = k === 0;
      return esc ? `\\${c}` : c;
    })
    .join('');
}

/** A Name as Go's `pkix.Name.String()` prints it (e.g. `CN=foo`, `CN=node,O=Example`). */
export function formatNameGo(attrs: NameAttribute[]): string {
  const parts: string[] = [];
  // Non-standard attributes come last in Go's output, as OID=#hex.
  for (const a of [...attrs].reverse()) {
    if (GO_ATTRIBUTE_NAMES[a.oid]) continue;
    parts.push(`${a.oid}=#${a.valueDer.toString('hex')}`);
  }
  const known: string[] = [];
  for (const o of GO_ATTRIBUTE_ORDER) {
    for (const a of attrs.filter((x) => x.oid === o)) {
      if (a.value === undefined || a.value === '') continue;
      known.push(`${GO_ATTRIBUTE_NAMES[o]}=${goEscape(a.value)}`);
    }
  }
  return [...known, ...parts].join(',');
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

export const MIN_RSA_BITS = 1024;
export const MAX_RSA_BITS = 16384;

/** Generates an RSA key (public exponent 65537) without blocking the event loop. */
export function generateRsaKey(bits: number): Promise<KeyObject> {
  if (!Number.isInteger(bits) || bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
    return Promise.reject(new Error(`invalid RSA key size ${bits} bits (must be between ${MIN_RSA_BITS} and ${MAX_RSA_BITS})`));
  }
  return new Promise((resolve, reject) => {
    generateKeyPair('rsa', {modulusLength: bits, publicExponent: 0x10001}, (err, _pub, priv) => (err ? reject(err) : resolve(priv)));
  });
}

/** PEM `RSA PRIVATE KEY` (PKCS#1), as Go receptor writes keys. */
export function rsaPrivateKeyToPem(key: KeyObject): string {
  if (key.asymmetricKeyType !== 'rsa') throw new Error('not an RSA private key');
  return key.export({type: 'pkcs1', format: 'pem'}).toString();
}

/** The modulus size in bits of an RSA key (private or public). */
export function rsaKeyBits(key: KeyObject): number {
  const n = key.asymmetricKeyDetails?.modulusLength;
  if (n === undefined) throw new Error('not an RSA key');
  return n;
}

/**
 * Loads the single RSA private key of a PEM file (Go's LoadPrivateKey): `RSA PRIVATE KEY`
 * (PKCS#1) or an RSA `PRIVATE KEY` (PKCS#8).
 */
export const loadRsaPrivateKey: (pem: string | Buffer) => KeyObject = loadPrivateKey;

/**
 * The RSA private key of a PEM file that may also contain other items (Go's MakeReq `inkey`
 * handling): `no private keys in file <path>` / `multiple private keys in file <path>`.
 */
export const findRsaPrivateKey: (pem: string | Buffer, path: string) => KeyObject = findPrivateKey;

/** The single certificate of a PEM file (Go's LoadCertificate). */
export const loadCertificatePem: (pem: string | Buffer) => Buffer = loadCertificate;

/** The single certificate request of a PEM file (Go's LoadRequest). */
export const loadCsrPem: (pem: string | Buffer) => Buffer = loadRequest;

function spkiDer(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({type: 'spki', format: 'der'});
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING contents (Go does the same). */
export function subjectKeyId(spki: Buffer): Buffer {
  const r = reader(decode(spki));
  r.next(); // AlgorithmIdentifier
  const {bytes} = readBitString(r.next());
  return createHash('sha1').update(bytes).digest();
}

/** Throws Go's `tls: private key does not match public key` unless `key` belongs to the certificate. */
export function assertKeyMatchesCertificate(cert: Buffer | string, key: KeyObject): void {
  const parsed = decodeCertificate(certificateDer(cert));
  const certKey = createPublicKey({key: parsed.spki, format: 'der', type: 'spki'});
  if (!certKey.equals(createPublicKey(key))) throw new Error('tls: private key does not match public key');
}

// ---------------------------------------------------------------------------------------------
// Certificate and CSR decoding
// ---------------------------------------------------------------------------------------------

export interface DecodedCertificate {
  der: Buffer;
  tbs: Buffer;
  /** 1, 2 or 3. */
  version: number;
  serial: bigint;
  signatureAlgorithm: string;
  issuer: Buffer;
  subject: Buffer;
  issuerAttributes: NameAttribute[];
  subjectAttributes: NameAttribute[];
  notBefore: Date;
  notAfter: Date;
  /** SubjectPublicKeyInfo DER. */
  spki: Buffer;
  publicKeyAlgorithm: string;
  extensions: Extension[];
  signature: Buffer;
}

function readAlgorithmOid(node: DerNode, what: string): string {
  if (!isUniversal(node, Tag.SEQUENCE) || !node.constructed) throw new DerError(`${what}: expected SEQUENCE`);
  const r = reader(node);
  return readOid(r.expect(TagClass.universal, Tag.OID, false, what));
}

function spkiAlgorithm(spki: DerNode): string {
  const r = reader(spki);
  return readAlgorithmOid(r.next(), 'SubjectPublicKeyInfo algorithm');
}

/** Decodes a DER certificate (structure only; no signature check). Throws DerError when malformed. */
export function decodeCertificate(der: Buffer): DecodedCertificate {
  const top = decode(der);
  if (!isUniversal(top, Tag.SEQUENCE) || !top.constructed) throw new DerError('certificate: expected SEQUENCE');
  const r = reader(top);
  const tbs = r.expect(TagClass.universal, Tag.SEQUENCE, true, 'TBSCertificate');
  const sigAlg = readAlgorithmOid(r.next(), 'signatureAlgorithm');
  const sig = readBitString(r.expect(TagClass.universal, Tag.BIT_STRING, false, 'signature'));
  r.finish('certificate');
  const t = reader(tbs);
  let version = 1;
  const v = t.optionalContext(0);
  if (v) {
    const vr = reader(v);
    version = Number(readInteger(vr.next())) + 1;
    vr.finish('version');
  }
  const serial = readInteger(t.expect(TagClass.universal, Tag.INTEGER, false, 'serialNumber'));
  readAlgorithmOid(t.next(), 'signature');
  const issuer = t.expect(TagClass.universal, Tag.SEQUENCE, true, 'issuer');
  const validity = t.expect(TagClass.universal, Tag.SEQUENCE, true, 'validity');
  const subject = t.expect(TagClass.universal, Tag.SEQUENCE, true, 'subject');
  const spki = t.expect(TagClass.universal, Tag.SEQUENCE, true, 'subjectPublicKeyInfo');
  let extensions: Extension[] = [];
  while (t.hasMore()) {
    const n = t.next();
    if (n.tagClass === TagClass.context && n.tagNumber === 3) {
      const er = reader(n);
      extensions = parseExtensions(er.next());
      er.finish('extensions');
    } else if (!(n.tagClass === TagClass.context && (n.tagNumber === 1 || n.tagNumber === 2))) {
      throw new DerError('TBSCertificate: unexpected element');
    }
  }
  const vr = reader(validity);
  const notBefore = readTime(vr.next());
  const notAfter = readTime(vr.next());
  vr.finish('validity');
  return {
    der: top.raw,
    tbs: tbs.raw,
    version,
    serial,
    signatureAlgorithm: sigAlg,
    issuer: issuer.raw,
    subject: subject.raw,
    issuerAttributes: parseName(issuer),
    subjectAttributes: parseName(subject),
    notBefore,
    notAfter,
    spki: spki.raw,
    publicKeyAlgorithm: spkiAlgorithm(spki),
    extensions,
    signature: sig.bytes,
  };
}

export interface DecodedCsr {
  der: Buffer;
  info: Buffer;
  subject: Buffer;
  subjectAttributes: NameAttribute[];
  spki: Buffer;
  publicKeyAlgorithm: string;
  /** Extensions of the extensionRequest attribute. */
  extensions: Extension[];
  signatureAlgorithm: string;
  signature: Buffer;
}

/** Decodes a DER PKCS#10 certificate request (structure only). */
export function decodeCsr(der: Buffer): DecodedCsr {
  const top = decode(der);
  if (!isUniversal(top, Tag.SEQUENCE) || !top.constructed) throw new DerError('certificate request: expected SEQUENCE');
  const r = reader(top);
  const info = r.expect(TagClass.universal, Tag.SEQUENCE, true, 'CertificationRequestInfo');
  const sigAlg = readAlgorithmOid(r.next(), 'signatureAlgorithm');
  const sig = readBitString(r.expect(TagClass.universal, Tag.BIT_STRING, false, 'signature'));
  r.finish('certificate request');
  const ir = reader(info);
  const version = readInteger(ir.expect(TagClass.universal, Tag.INTEGER, false, 'version'));
  if (version !== 0n) throw new DerError(`unsupported certificate request version ${version}`);
  const subject = ir.expect(TagClass.universal, Tag.SEQUENCE, true, 'subject');
  const spki = ir.expect(TagClass.universal, Tag.SEQUENCE, true, 'subjectPKInfo');
  let extensions: Extension[] = [];
  const attrs = ir.optionalContext(0);
  ir.finish('CertificationRequestInfo');
  if (attrs) {
    const ar = reader(attrs);
    while (ar.hasMore()) {
      const attr = reader(ar.expect(TagClass.universal, Tag.SEQUENCE, true, 'Attribute'));
      const type = readOid(attr.expect(TagClass.universal, Tag.OID, false, 'attribute type'));
      const values = attr.expect(TagClass.universal, Tag.SET, true, 'attribute values');
      attr.finish('Attribute');
      if (type !== OID.extensionRequest) continue;
      const vr = reader(values);
      while (vr.hasMore()) extensions = [...extensions, ...parseExtensions(vr.next())];
    }
  }
  return {
    der: top.raw,
    info: info.raw,
    subject: subject.raw,
    subjectAttributes: parseName(subject),
    spki: spki.raw,
    publicKeyAlgorithm: spkiAlgorithm(spki),
    extensions,
    signatureAlgorithm: sigAlg,
    signature: sig.bytes,
  };
}

function publicKeyAlgorithmName(algOid: string): string {
  switch (algOid) {
    case OID.rsaEncryption:
      return 'RSA';
    case OID.ecPublicKey:
      return 'ECDSA';
    case OID.ed25519:
      return 'Ed25519';
    case OID.dsa:
      return 'DSA';
    default:
      return algOid;
  }
}

/** Verifies `signature` over `data` with the key of `spki` and a signature algorithm OID. */
function verifySignature(algOid: string, data: Buffer, spki: Buffer, signature: Buffer): boolean {
  const alg = SIGNATURE_ALGORITHMS[algOid];
  if (!alg) return false;
  try {
    const key = createPublicKey({key: spki, format: 'der', type: 'spki'});
    return verify(alg.hash, data, key, signature);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Certificate requests
// ---------------------------------------------------------------------------------------------

export interface ParsedCsr {
  der: Buffer;
  /** Go's `pkix.Name.String()` of the subject, e.g. `CN=foo`. */
  subject: string;
  commonName: string;
  subjectDer: Buffer;
  /** Go's `PublicKeyAlgorithm.String()`: `RSA`, `ECDSA`, `Ed25519`, `DSA` (or the OID). */
  publicKeyAlgorithm: string;
  /** RSA: the modulus size rounded up to whole bytes (Go prints `Size()*8`). */
  publicKeyBits?: number;
  /** Go's `SignatureAlgorithm.String()`, e.g. `SHA256-RSA`. */
  signatureAlgorithm: string;
  signatureAlgorithmOid: string;
  spki: Buffer;
  /** The subjectAltName extension value exactly as in the request. */
  subjectAltName?: Buffer;
  names: CertNames;
  extensions: Extension[];
}

/**
 * Parses a certificate request (PEM — exactly one `CERTIFICATE REQUEST` item, Go's LoadRequest
 * rules — or DER) and verifies its self-signature (`certificate request signature is invalid`).
 */
export function parseCsr(csr: string | Buffer): ParsedCsr {
  const der = Buffer.isBuffer(csr) && csr[0] === 0x30 ? csr : loadCsrPem(csr);
  const d = decodeCsr(der);
  if (!verifySignature(d.signatureAlgorithm, d.info, d.spki, d.signature)) {
    throw new Error('certificate request signature is invalid');
  }
  const san = d.extensions.find((e) => e.oid === OID_SUBJECT_ALT_NAME);
  let publicKeyBits: number | undefined;
  if (d.publicKeyAlgorithm === OID.rsaEncryption) {
    const bits = rsaKeyBits(createPublicKey({key: d.spki, format: 'der', type: 'spki'}));
    publicKeyBits = Math.ceil(bits / 8) * 8;
  }
  return {
    der: d.der,
    subject: formatNameGo(d.subjectAttributes),
    commonName: d.subjectAttributes.find((a) => a.oid === OID.commonName)?.value ?? '',
    subjectDer: d.subject,
    publicKeyAlgorithm: publicKeyAlgorithmName(d.publicKeyAlgorithm),
    publicKeyBits,
    signatureAlgorithm: signatureAlgorithmName(d.signatureAlgorithm),
    signatureAlgorithmOid: d.signatureAlgorithm,
    spki: d.spki,
    subjectAltName: san?.value,
    names: san ? parseSubjectAltName(san.value) : {dnsNames: [], ipAddresses: [], nodeIds: []},
    extensions: d.extensions,
  };
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? sequence(oid(id), boolean(true), octetString(value)) : sequence(oid(id), octetString(value));
}

export interface CsrOptions extends CertNamesInput {
  commonName: string;
  /** An existing RSA private key (KeyObject or PEM); otherwise a new key of `bits` is generated. */
  key?: KeyObject | string;
  /** Size of a newly generated key; 0 or absent means 2048. */
  bits?: number;
}

export interface CreatedCsr {
  csrPem: string;
  csrDer: Buffer;
  key: KeyObject;
  /** PKCS#1 PEM of the key. */
  keyPem: string;
  /** The subjectAltName extension value in the request. */
  subjectAltName: Buffer;
}

/**
 * Creates a PKCS#10 request like receptor's `cert-makereq`: subject CN, the SAN (DNS names, IPs,
 * node IDs) as the only requested extension (non-critical), SHA256-RSA. Errors:
 * `must provide CommonName`, `invalid IP address: <x>`.
 */
export async function createCsr(opts: CsrOptions): Promise<CreatedCsr> {
  if (opts.commonName === '') throw new Error('must provide CommonName');
  const san = encodeSubjectAltName(opts);
  const key = opts.key === undefined ? await generateRsaKey(opts.bits ? opts.bits : 2048) : typeof opts.key === 'string' ? loadRsaPrivateKey(opts.key) : opts.key;
  if (key.asymmetricKeyType !== 'rsa' || key.type !== 'private') throw new Error('the request key must be an RSA private key');
  // attributes: [0] IMPLICIT SET OF Attribute, holding one extensionRequest with the SAN only
  const attributes = implicit(0, sequence(oid(OID.extensionRequest), set(sequence(extension(OID.subjectAltName, false, san)))), true);
  const info = sequence(integer(0), encodeCommonNameName(opts.commonName), spkiDer(key), attributes);
  const sig = sign('sha256', info, key);
  const der = sequence(info, rsaSignatureAlgorithm('sha256'), bitString(sig));
  return {csrPem: pemEncode('CERTIFICATE REQUEST', der), csrDer: der, key, keyPem: rsaPrivateKeyToPem(key), subjectAltName: san};
}

// ---------------------------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------------------------

interface TbsParams {
  serial: bigint;
  sigHash: 'sha256' | 'sha384' | 'sha512';
  issuer: Buffer;
  subject: Buffer;
  notBefore: Date;
  notAfter: Date;
  spki: Buffer;
  extensions: Buffer[];
}

function buildCertificate(p: TbsParams, signer: KeyObject): Buffer {
  const fields = [
    explicit(0, integer(2)), // v3
    integer(p.serial),
    rsaSignatureAlgorithm(p.sigHash),
    p.issuer,
    sequence(x509Time(truncateToSeconds(p.notBefore)), x509Time(truncateToSeconds(p.notAfter))),
    p.subject,
    p.spki,
  ];
  if (p.extensions.length > 0) fields.push(explicit(3, sequence(...p.extensions)));
  const tbs = sequence(...fields);
  const sig = sign(p.sigHash, tbs, signer);
  return sequence(tbs, rsaSignatureAlgorithm(p.sigHash), bitString(sig));
}

function truncateToSeconds(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

/**
 * A certificate serial number: a random positive integer below 2^128 (never zero), so two
 * certificates one CA signs in the same second differ. Go receptor 1.4.9 uses the Unix time in
 * seconds, which repeats within a second.
 */
export function randomSerial(): bigint {
  for (;;) {
    const v = BigInt('0x' + randomBytes(16).toString('hex'));
    if (v !== 0n) return v;
  }
}

/** `d` plus whole calendar years (UTC), like Go's `AddDate(years, 0, 0)`. */
export function addYears(d: Date, years: number): Date {
  const r = new Date(d.getTime());
  r.setUTCFullYear(r.getUTCFullYear() + years);
  return r;
}

function checkValidity(notBefore: Date, notAfter: Date): void {
  for (const d of [notBefore, notAfter]) if (Number.isNaN(d.getTime())) throw new Error('invalid certificate validity date');
}

/** Key usage bits. */
const KU_DIGITAL_SIGNATURE = 0;
const KU_CERT_SIGN = 5;

function keyUsageExt(bits: number[]): Buffer {
  return extension(OID.keyUsage, true, namedBitString(bits));
}

function extKeyUsageExt(): Buffer {
  return extension(OID.extKeyUsage, false, sequence(oid(OID.clientAuth), oid(OID.serverAuth)));
}

export interface CaOptions {
  commonName: string;
  /** RSA key size; 0 or absent means 2048. */
  bits?: number;
  /** Default: now. */
  notBefore?: Date;
  /** Default: now + 10 years. */
  notAfter?: Date;
  /** The clock (for tests). */
  now?: Date;
}

export interface IssuedCertificate {
  certPem: string;
  certDer: Buffer;
  serial: bigint;
  notBefore: Date;
  notAfter: Date;
}

export interface CreatedCa extends IssuedCertificate {
  key: KeyObject;
  /** PKCS#1 PEM. */
  keyPem: string;
}

/**
 * A self-signed CA like receptor's `cert-init` (with a random 128-bit serial), subject = issuer =
 * `CN=<commonName>`, validity now → +10 years, KeyUsage (critical) DigitalSignature + CertSign,
 * EKU clientAuth + serverAuth, BasicConstraints (critical) CA:TRUE, a Subject Key Identifier,
 * SHA256-RSA. Errors: `must provide CommonName`.
 */
export async function createCa(opts: CaOptions): Promise<CreatedCa> {
  if (opts.commonName === '') throw new Error('must provide CommonName');
  const now = opts.now ?? new Date();
  const notBefore = opts.notBefore ?? now;
  const notAfter = opts.notAfter ?? addYears(now, 10);
  checkValidity(notBefore, notAfter);
  const key = await generateRsaKey(opts.bits ? opts.bits : 2048);
  const spki = spkiDer(key);
  const name = encodeCommonNameName(opts.commonName);
  const serial = randomSerial();
  const der = buildCertificate(
    {
      serial,
      sigHash: 'sha256',
      issuer: name,
      subject: name,
      notBefore,
      notAfter,
      spki,
      extensions: [
        keyUsageExt([KU_DIGITAL_SIGNATURE, KU_CERT_SIGN]),
        extKeyUsageExt(),
        extension(OID.basicConstraints, true, sequence(boolean(true))),
        extension(OID.subjectKeyIdentifier, false, octetString(subjectKeyId(spki))),
      ],
    },
    key,
  );
  return {
    certPem: pemEncode('CERTIFICATE', der),
    certDer: der,
    serial,
    notBefore: truncateToSeconds(notBefore),
    notAfter: truncateToSeconds(notAfter),
    key,
    keyPem: rsaPrivateKeyToPem(key),
  };
}

export interface SignOptions {
  /** The request (PEM, or a ParsedCsr already checked). */
  csrPem: string | ParsedCsr;
  caCertPem: string | Buffer;
  /** The CA key (PEM or KeyObject). */
  caKeyPem: string | KeyObject;
  /** Default: now. */
  notBefore?: Date;
  /** Default: now + 1 year. */
  notAfter?: Date;
  now?: Date;
}

export interface SignedCertificate extends IssuedCertificate {
  subject: string;
  names: CertNames;
}

/**
 * Signs a request like receptor's `cert-signreq`: a random 128-bit serial, issuer = the CA's subject,
 * subject and public key from the request, validity now → +1 year, KeyUsage (critical)
 * DigitalSignature, EKU clientAuth + serverAuth, an Authority Key Identifier (when the CA has a
 * Subject Key Identifier), and the request's subjectAltName copied verbatim (non-critical).
 * The signature hash follows the request's RSA hash (SHA-256/384/512), SHA-256 otherwise.
 * Errors: `cannot sign: no names found in certificate`,
 * `x509: provided PrivateKey doesn't match parent's PublicKey`, and the load errors of
 * {@link loadCertificatePem} / {@link loadRsaPrivateKey} / {@link parseCsr}.
 */
export function signCsr(opts: SignOptions): SignedCertificate {
  const caDer = Buffer.isBuffer(opts.caCertPem) && opts.caCertPem[0] === 0x30 ? opts.caCertPem : loadCertificatePem(opts.caCertPem);
  const caKey = typeof opts.caKeyPem === 'string' ? loadRsaPrivateKey(opts.caKeyPem) : opts.caKeyPem;
  const csr = typeof opts.csrPem === 'string' ? parseCsr(opts.csrPem) : opts.csrPem;
  const {names} = csr;
  if (names.dnsNames.length === 0 && names.ipAddresses.length === 0 && names.nodeIds.length === 0) {
    throw new Error('cannot sign: no names found in certificate');
  }
  const ca = decodeCertificate(caDer);
  const caPub = createPublicKey({key: ca.spki, format: 'der', type: 'spki'});
  if (caKey.asymmetricKeyType !== 'rsa' || !caPub.equals(createPublicKey(caKey))) {
    throw new Error("x509: provided PrivateKey doesn't match parent's PublicKey");
  }
  const now = opts.now ?? new Date();
  const notBefore = opts.notBefore ?? now;
  const notAfter = opts.notAfter ?? addYears(now, 1);
  checkValidity(notBefore, notAfter);
  const serial = randomSerial();
  const reqHash = SIGNATURE_ALGORITHMS[csr.signatureAlgorithmOid];
  const sigHash = reqHash?.key === 'rsa' && (reqHash.hash === 'sha384' || reqHash.hash === 'sha512') ? reqHash.hash : 'sha256';
  const extensions = [keyUsageExt([KU_DIGITAL_SIGNATURE]), extKeyUsageExt()];
  const caSki = ca.extensions.find((e) => e.oid === OID.subjectKeyIdentifier);
  if (caSki) {
    const keyId = decode(caSki.value);
    if (!isUniversal(keyId, Tag.OCTET_STRING)) throw new DerError('CA subjectKeyIdentifier: expected OCTET STRING');
    extensions.push(extension(OID.authorityKeyIdentifier, false, sequence(implicit(0, keyId.content))));
  }
  if (csr.subjectAltName) extensions.push(extension(OID.subjectAltName, false, csr.subjectAltName));
  const der = buildCertificate({serial, sigHash, issuer: ca.subject, subject: csr.subjectDer, notBefore, notAfter, spki: csr.spki, extensions}, caKey);
  return {
    certPem: pemEncode('CERTIFICATE', der),
    certDer: der,
    serial,
    notBefore: truncateToSeconds(notBefore),
    notAfter: truncateToSeconds(notAfter),
    subject: csr.subject,
    names,
  };
}

/** Subject and issuer CN of the per-listener certificate of insecure stream services. */
export const INSECURE_COMMON_NAME = 'netceptor-insecure-common-name';

export interface InsecureStreamCert extends IssuedCertificate {
  key: KeyObject;
  keyPem: string;
}

/**
 * The self-signed certificate an insecure (ConnType 1) stream listener presents
 * (netceptor-wire.md §11.4): RSA-2048, serial 1, subject = issuer = CN
 * `netceptor-insecure-common-name`, X.509 v3 without extensions, SHA256-RSA, valid from one
 * minute ago until 24 h from now.
 */
export async function createInsecureStreamCert(now: Date = new Date()): Promise<InsecureStreamCert> {
  const key = await generateRsaKey(2048);
  const name = encodeCommonNameName(INSECURE_COMMON_NAME);
  const notBefore = new Date(now.getTime() - 60_000);
  const notAfter = new Date(now.getTime() + 24 * 3_600_000);
  const der = buildCertificate({serial: 1n, sigHash: 'sha256', issuer: name, subject: name, notBefore, notAfter, spki: spkiDer(key), extensions: []}, key);
  return {
    certPem: pemEncode('CERTIFICATE', der),
    certDer: der,
    serial: 1n,
    notBefore: truncateToSeconds(notBefore),
    notAfter: truncateToSeconds(notAfter),
    key,
    keyPem: rsaPrivateKeyToPem(key),
  };
}

// ---------------------------------------------------------------------------------------------
// Summaries
// ---------------------------------------------------------------------------------------------

export interface CertificateSummary {
  subject: string;
  issuer: string;
  /** Decimal. */
  serial: string;
  notBefore: string;
  notAfter: string;
  isCa: boolean;
  names: CertNames;
  /** SHA-256 of the DER, upper-case hex with colons (usable as a receptor pin). */
  fingerprintSha256: string;
}

/** Colon-separated upper-case hex (the form `openssl x509 -fingerprint` prints). */
export function fingerprintHex(digest: Buffer): string {
  return [...digest].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
}

/** Key facts of a certificate (DER or PEM). */
export function describeCertificate(cert: Buffer | string): CertificateSummary {
  const der = certificateDer(cert);
  const c = decodeCertificate(der);
  const san = c.extensions.find((e) => e.oid === OID_SUBJECT_ALT_NAME);
  const bc = c.extensions.find((e) => e.oid === OID.basicConstraints);
  let isCa = false;
  if (bc) {
    const first = reader(decode(bc.value)).peek();
    isCa = first !== undefined && isUniversal(first, Tag.BOOLEAN) && first.content[0] === 0xff;
  }
  return {
    subject: formatNameGo(c.subjectAttributes),
    issuer: formatNameGo(c.issuerAttributes),
    serial: c.serial.toString(),
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    isCa,
    names: san ? parseSubjectAltName(san.value) : {dnsNames: [], ipAddresses: [], nodeIds: []},
    fingerprintSha256: fingerprintHex(createHash('sha256').update(der).digest()),
  };
}

/** Whether `cert`'s signature verifies with `issuer`'s public key (both DER or PEM). */
export function verifyCertificateSignature(cert: Buffer | string, issuer: Buffer | string): boolean {
  const c = decodeCertificate(certificateDer(cert));
  const i = decodeCertificate(certificateDer(issuer));
  return verifySignature(c.signatureAlgorithm, c.tbs, i.spki, c.signature);
}

/**
 * Go receptor's PEM file loader (pkg/certificates: LoadFromPEMFile, LoadPrivateKey,
 * LoadPublicKey, LoadCertificate, LoadRequest), shared by the certificate tools and work
 * signing. The input is the file's content; the texts are Go's, since they reach users and peers:
 * the file must be PEM blocks only (anything after the last block, even a blank line, is
 * `failed to decode PEM block`), every block of a known type and parseable.
 */
import {createPrivateKey, createPublicKey, type KeyObject, X509Certificate} from 'node:crypto';
import {pemDecode} from '../go/pem.js';

/** One decoded item of a PEM file (what Go's `[]interface{}` holds, as far as receptor looks). */
export type PemItem =
  {kind: 'rsa-private'; key: KeyObject} | {kind: 'rsa-public'; key: KeyObject} | {kind: 'certificate'; der: Buffer} | {kind: 'request'; der: Buffer} | {kind: 'other'};

/** OIDs Go prints for PKCS#8 keys of algorithms crypto/x509 does not know. */
const UNKNOWN_PKCS8_OID: Record<string, string> = {
  'rsa-pss': '1.2.840.113549.1.1.10',
  dsa: '1.2.840.10040.4.1',
  dh: '1.2.840.113549.1.3.1',
  ed448: '1.3.101.113',
  x448: '1.3.101.111',
};

/** Curves crypto/x509 accepts for EC keys (Node's names). */
const GO_CURVES = new Set(['secp224r1', 'prime256v1', 'P-256', 'secp384r1', 'P-384', 'secp521r1', 'P-521', 'P-224']);

function tryPrivate(der: Buffer, type: 'pkcs1' | 'pkcs8' | 'sec1'): KeyObject | undefined {
  try {
    return createPrivateKey({key: der, format: 'der', type});
  } catch {
    return undefined;
  }
}

function tryPublic(der: Buffer, type: 'pkcs1' | 'spki'): KeyObject | undefined {
  try {
    return createPublicKey({key: der, format: 'der', type});
  } catch {
    return undefined;
  }
}

/** `x509.ParsePKCS1PrivateKey`. */
function parsePkcs1PrivateKey(der: Buffer): PemItem {
  const key = tryPrivate(der, 'pkcs1');
  if (key) return {kind: 'rsa-private', key};
  if (tryPrivate(der, 'sec1')) throw new Error('x509: failed to parse private key (use ParseECPrivateKey instead for this key format)');
  if (tryPrivate(der, 'pkcs8')) throw new Error('x509: failed to parse private key (use ParsePKCS8PrivateKey instead for this key format)');
  throw new Error('x509: failed to parse PKCS#1 private key'); // Go returns the raw ASN.1 error here
}

/** `x509.ParsePKCS8PrivateKey` (RSA, EC on Go's curves, Ed25519 and X25519 parse). */
function parsePkcs8PrivateKey(der: Buffer): PemItem {
  const key = tryPrivate(der, 'pkcs8');
  if (!key) {
    if (tryPrivate(der, 'sec1')) throw new Error('x509: failed to parse private key (use ParseECPrivateKey instead for this key format)');
    if (tryPrivate(der, 'pkcs1')) throw new Error('x509: failed to parse private key (use ParsePKCS1PrivateKey instead for this key format)');
    throw new Error('x509: failed to parse PKCS#8 private key'); // Go returns the raw ASN.1 error here
  }
  const type = key.asymmetricKeyType ?? '';
  if (type === 'rsa') return {kind: 'rsa-private', key};
  const oid = UNKNOWN_PKCS8_OID[type];
  if (oid) throw new Error(`x509: PKCS#8 wrapping contained private key with unknown algorithm: ${oid}`);
  if (type === 'ec' && !GO_CURVES.has(key.asymmetricKeyDetails?.namedCurve ?? '')) {
    throw new Error('x509: failed to parse EC private key embedded in PKCS#8: x509: unknown elliptic curve');
  }
  return {kind: 'other'};
}

/** `x509.ParsePKIXPublicKey` (RSA, ECDSA on Go's curves, Ed25519, X25519 and DSA parse). */
function parsePkixPublicKey(der: Buffer): PemItem {
  const key = tryPublic(der, 'spki');
  if (!key) {
    if (tryPublic(der, 'pkcs1')) throw new Error('x509: failed to parse public key (use ParsePKCS1PublicKey instead for this key format)');
    throw new Error('x509: failed to parse public key'); // Go returns the raw ASN.1 error here
  }
  const type = key.asymmetricKeyType ?? '';
  if (type === 'rsa') return {kind: 'rsa-public', key};
  if (type in UNKNOWN_PKCS8_OID) throw new Error('x509: unknown public key algorithm');
  if (type === 'ec' && !GO_CURVES.has(key.asymmetricKeyDetails?.namedCurve ?? '')) throw new Error('x509: unsupported elliptic curve');
  return {kind: 'other'};
}

/** `LoadFromPEMFile` (after reading the file): every block decoded and parsed in order; the first problem wins. */
export function loadFromPem(input: string | Buffer): PemItem[] {
  let content = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  const items: PemItem[] = [];
  while (content.length > 0) {
    const {block, rest} = pemDecode(content);
    if (!block) throw new Error('failed to decode PEM block');
    content = rest;
    switch (block.type) {
      case 'CERTIFICATE':
        try {
          new X509Certificate(block.der);
        } catch {
          throw new Error('x509: malformed certificate');
        }
        items.push({kind: 'certificate', der: block.der});
        break;
      case 'CERTIFICATE REQUEST':
        items.push({kind: 'request', der: block.der}); // parsed (and its signature checked) by parseCsr
        break;
      case 'RSA PRIVATE KEY':
        items.push(parsePkcs1PrivateKey(block.der));
        break;
      case 'PRIVATE KEY':
        items.push(parsePkcs8PrivateKey(block.der));
        break;
      case 'PUBLIC KEY':
        items.push(parsePkixPublicKey(block.der));
        break;
      default:
        throw new Error(`unknown block type ${block.type}`);
    }
  }
  return items;
}

function single(input: string | Buffer, what: string): PemItem {
  const items = loadFromPem(input);
  if (items.length !== 1) throw new Error(`${what} file should contain exactly one item`);
  return items[0]!;
}

/** `LoadPrivateKey`: the single RSA private key (`RSA PRIVATE KEY` or an RSA `PRIVATE KEY`). */
export function loadPrivateKey(input: string | Buffer): KeyObject {
  const item = single(input, 'private key');
  if (item.kind !== 'rsa-private') throw new Error('private key file does not contain private key data');
  return item.key;
}

/** `LoadPublicKey`: the single RSA public key (`PUBLIC KEY`, PKIX). */
export function loadPublicKey(input: string | Buffer): KeyObject {
  const item = single(input, 'public key');
  if (item.kind !== 'rsa-public') throw new Error('public key file does not contain public key data');
  return item.key;
}

/** `LoadCertificate`: the DER of the single certificate. */
export function loadCertificate(input: string | Buffer): Buffer {
  const item = single(input, 'certificate');
  if (item.kind !== 'certificate') throw new Error('certificate file does not contain certificate data');
  return item.der;
}

/** `LoadRequest`: the DER of the single certificate request. */
export function loadRequest(input: string | Buffer): Buffer {
  const item = single(input, 'certificate request');
  if (item.kind !== 'request') throw new Error('certificate request file does not contain certificate request data');
  return item.der;
}

/**
 * MakeReq's `inkey` handling: the one RSA private key among the file's items
 * (`no private keys in file <path>` / `multiple private keys in file <path>`).
 */
export function findPrivateKey(input: string | Buffer, path: string): KeyObject {
  let found: KeyObject | undefined;
  for (const item of loadFromPem(input)) {
    if (item.kind !== 'rsa-private') continue;
    if (found) throw new Error(`multiple private keys in file ${path}`);
    found = item.key;
  }
  if (!found) throw new Error(`no private keys in file ${path}`);
  return found;
}

import {constants, createECDH, createPublicKey, diffieHellman, generateKeyPairSync, sign, verify, X509Certificate, type KeyObject} from 'node:crypto';
import {Alert, GROUP, TlsAlert} from './messages.js';

export const SIG = {
  rsaPkcs1Sha256: 0x0401,
  rsaPkcs1Sha384: 0x0501,
  rsaPkcs1Sha512: 0x0601,
  ecdsaP256Sha256: 0x0403,
  ecdsaP384Sha384: 0x0503,
  rsaPssSha256: 0x0804,
  rsaPssSha384: 0x0805,
  rsaPssSha512: 0x0806,
  ed25519: 0x0807,
} as const;

/** Schemes usable in CertificateVerify, in our preference order. */
export const SIGNATURE_SCHEMES = [SIG.ecdsaP256Sha256, SIG.ecdsaP384Sha384, SIG.ed25519, SIG.rsaPssSha256, SIG.rsaPssSha384, SIG.rsaPssSha512];
/** signature_algorithms_cert: chains may also carry PKCS#1 signatures. */
export const SIGNATURE_SCHEMES_CERT = [...SIGNATURE_SCHEMES, SIG.rsaPkcs1Sha256, SIG.rsaPkcs1Sha384, SIG.rsaPkcs1Sha512];

interface SchemeInfo {
  hash: string | null;
  key: 'rsa' | 'ec' | 'ed25519';
  curve?: string;
}

const SCHEMES: Record<number, SchemeInfo> = {
  [SIG.ecdsaP256Sha256]: {hash: 'sha256', key: 'ec', curve: 'prime256v1'},
  [SIG.ecdsaP384Sha384]: {hash: 'sha384', key: 'ec', curve: 'secp384r1'},
  [SIG.ed25519]: {hash: null, key: 'ed25519'},
  [SIG.rsaPssSha256]: {hash: 'sha256', key: 'rsa'},
  [SIG.rsaPssSha384]: {hash: 'sha384', key: 'rsa'},
  [SIG.rsaPssSha512]: {hash: 'sha512', key: 'rsa'},
};

function schemeFits(info: SchemeInfo, key: KeyObject): boolean {
  if (info.key !== key.asymmetricKeyType) return false;
  if (info.curve !== undefined) return key.asymmetricKeyDetails?.namedCurve === info.curve;
  return true;
}

/** The first scheme of ours, offered by the peer, that fits our key (RFC 8446 §4.4.3). */
export function chooseScheme(key: KeyObject, peerSchemes: number[]): number | undefined {
  return SIGNATURE_SCHEMES.find((s) => {
    const info = SCHEMES[s];
    return info !== undefined && peerSchemes.includes(s) && schemeFits(info, key);
  });
}

function options(info: SchemeInfo, key: KeyObject): KeyObject | {key: KeyObject; padding: number; saltLength: number} {
  if (info.key !== 'rsa') return key;
  // RSASSA-PSS with salt length = hash length (RFC 8446 §4.2.3).
  const saltLength = info.hash === 'sha512' ? 64 : info.hash === 'sha384' ? 48 : 32;
  return {key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength};
}

/** The signed content of a CertificateVerify (RFC 8446 §4.4.3). */
export function certificateVerifyContent(server: boolean, transcriptHash: Buffer): Buffer {
  const label = server ? 'TLS 1.3, server CertificateVerify' : 'TLS 1.3, client CertificateVerify';
  return Buffer.concat([Buffer.alloc(64, 0x20), Buffer.from(label, 'latin1'), Buffer.from([0]), transcriptHash]);
}

export function signContent(scheme: number, key: KeyObject, content: Buffer): Buffer {
  const info = SCHEMES[scheme];
  if (!info) throw new TlsAlert(Alert.internalError, `no signature scheme ${scheme}`);
  return sign(info.hash, content, options(info, key) as KeyObject);
}

/** Checks a peer's CertificateVerify; a scheme we did not offer or that misfits the key → illegal_parameter. */
export function verifyContent(scheme: number, offered: number[], key: KeyObject, content: Buffer, signature: Buffer): void {
  const info = SCHEMES[scheme];
  if (!info || !offered.includes(scheme) || !schemeFits(info, key)) {
    throw new TlsAlert(Alert.illegalParameter, `CertificateVerify: scheme 0x${scheme.toString(16)} not acceptable`);
  }
  let ok = false;
  try {
    ok = verify(info.hash, content, options(info, key) as KeyObject, signature);
  } catch {
    ok = false;
  }
  if (!ok) throw new TlsAlert(Alert.decryptError, 'CertificateVerify: bad signature');
}

/** An ephemeral key share (RFC 8446 §4.2.8.2). */
export class KeyShare {
  readonly publicKey: Buffer;
  private readonly compute: (peer: Buffer) => Buffer;

  constructor(readonly group: number) {
    if (group === GROUP.x25519) {
      const {publicKey, privateKey} = generateKeyPairSync('x25519');
      this.publicKey = publicKey.export({format: 'der', type: 'spki'}).subarray(-32);
      this.compute = (peer) => {
        if (peer.length !== 32) throw new TlsAlert(Alert.illegalParameter, 'key_share: bad x25519 key');
        const pub = createPublicKey({key: {kty: 'OKP', crv: 'X25519', x: peer.toString('base64url')}, format: 'jwk'});
        const secret = diffieHellman({privateKey, publicKey: pub});
        if (secret.every((b) => b === 0)) throw new TlsAlert(Alert.illegalParameter, 'key_share: x25519 all-zero secret');
        return secret;
      };
    } else if (group === GROUP.secp256r1) {
      const ecdh = createECDH('prime256v1');
      this.publicKey = ecdh.generateKeys();
      this.compute = (peer) => {
        if (peer.length !== 65 || peer[0] !== 4) throw new TlsAlert(Alert.illegalParameter, 'key_share: bad P-256 point');
        return ecdh.computeSecret(peer);
      };
    } else {
      throw new Error(`unsupported group ${group}`);
    }
  }

  sharedSecret(peer: Buffer): Buffer {
    try {
      return this.compute(peer);
    } catch (err) {
      if (err instanceof TlsAlert) throw err;
      throw new TlsAlert(Alert.illegalParameter, 'key_share: invalid public key');
    }
  }
}

export interface ChainResult {
  ok: boolean;
  alert?: number;
  message?: string;
}

function parseCert(der: Buffer): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch {
    throw new TlsAlert(Alert.badCertificate, 'certificate: cannot parse');
  }
}

export function leafPublicKey(der: Buffer): KeyObject {
  const cert = parseCert(der);
  try {
    return cert.publicKey;
  } catch {
    throw new TlsAlert(Alert.unsupportedCertificate, 'certificate: unusable public key');
  }
}

/** Verifies leaf-first `chain` up to an anchor in `ca`: signatures, issuer names, validity dates. */
export function verifyChain(chain: Buffer[], ca: Buffer[], now = new Date()): ChainResult {
  try {
    return walkChain(chain, ca, now);
  } catch (err) {
    // A certificate node:crypto parses but cannot use (bad key, bad dates) is a bad certificate.
    return {ok: false, alert: Alert.badCertificate, message: err instanceof Error ? err.message : String(err)};
  }
}

function walkChain(chain: Buffer[], ca: Buffer[], now: Date): ChainResult {
  const certs = chain.map(parseCert);
  const anchors = ca.map(parseCert);
  const inDate = (c: X509Certificate): boolean => new Date(c.validFrom) <= now && now <= new Date(c.validTo);
  let cur: X509Certificate | undefined = certs[0];
  if (!cur) return {ok: false, alert: Alert.badCertificate, message: 'empty chain'};
  const pool = certs.slice(1);
  for (let depth = 0; depth < 10; depth++) {
    if (!cur) break;
    if (!inDate(cur)) return {ok: false, alert: Alert.certificateExpired, message: `certificate ${cur.subject} expired or not yet valid`};
    const c: X509Certificate = cur;
    if (anchors.some((a) => a.raw.equals(c.raw))) return {ok: true};
    const anchor = anchors.find((a) => c.checkIssued(a) && c.verify(a.publicKey));
    if (anchor) {
      if (!inDate(anchor)) return {ok: false, alert: Alert.certificateExpired, message: 'CA certificate expired'};
      return {ok: true};
    }
    const next: X509Certificate | undefined = pool.find((p) => c.checkIssued(p) && p.ca && c.verify(p.publicKey));
    if (!next) return {ok: false, alert: Alert.unknownCa, message: 'certificate signed by unknown authority'};
    cur = next;
  }
  return {ok: false, alert: Alert.badCertificate, message: 'chain too long'};
}

/**
 * Named TLS configurations (config.md §5.4 `tls-server`, §5.5 `tls-client`;
 * netceptor-wire.md §2.7 "below the mesh" and §11.5 "above the mesh").
 *
 * Builders that turn the loaded material of a tls-server / tls-client item into
 *  - a {@link TlsServerConfig} / {@link TlsClientConfig}: the raw material (PEM, pins, flags),
 *    from which the QUIC stream layer builds its own verification later, and
 *  - Node options (`nodeOptions`) that the TCP and WebSocket backends hand straight to
 *    `tls.createServer` / `https.createServer` (server) or spread into `tls.connect` /
 *    `new WebSocket(url, …)` (client). The nodeOptions object is what the items register; it
 *    carries its config as the non-enumerable property `receptor` (spreading drops it, so
 *    Node never sees it).
 *
 * Go policies reproduced here:
 *  - flavours: default = TLS ≥ 1.2, TLS 1.2 suites {ECDHE-RSA-AES256-GCM-SHA384,
 *    AES256-GCM-SHA384, ECDHE-RSA-AES128-GCM-SHA256, ECDHE-ECDSA-AES128-GCM-SHA256}, all
 *    three TLS 1.3 suites, groups P-521/P-384/P-256 only; `mintls13` = TLS 1.3 only with the
 *    library's default groups;
 *  - server client-certificate policy: `clientcas` and/or `requireclientcert` request a
 *    certificate and refuse a client without one; without `clientcas` the chain is checked
 *    against the default (public) roots; pins apply only when certificates are requested;
 *  - client: chain against `rootcas` (default roots otherwise), then Go's
 *    `VerifyHostname` (DNS SANs for names, IP SANs for addresses, never the CN), then the
 *    pins; `insecureskipverify` switches all of it off, pins included; no node-ID check on
 *    backend links.
 *
 * This module pulls in the PKI code; the tls items load it lazily (`await import`).
 *
 * One file on purpose: every section (flavours, pins, hostname check, key pair and CA loading,
 * the builders, the item-side prepare) is one step of the same Go policy, and they share
 * TlsVerifyError and Go's error texts; a reader checking one Go rule needs them together.
 *
 * Kept whole (over 500 lines): the Go TLS policies below apply to server and client builders
 * alike, and reading them side by side is the point.
 */
import {PEER_CERT_MISSING_MESSAGE, VERIFY_FAILED_PREFIX, goVerifyErrorText} from './go-tls-errors.js';
import {createHash, createPrivateKey, createPublicKey, type KeyObject} from 'node:crypto';
import {createSecureContext, type ConnectionOptions, type PeerCertificate, type TLSSocket, type TlsOptions} from 'node:tls';
import type {Logger} from 'pino';
import {pemDecodeAll, pemEncode} from '../go/pem.js';
import {ReceptorError} from '../errors.js';
import {certificateNames, checkNodeIdInCert, OID_SUBJECT_ALT_NAME, parseIpAddress, parseSubjectAltName, tlsConfigErrorPrefix, type CertNames} from '../pki/names.js';
import {decodeCertificate, type DecodedCertificate} from '../pki/x509.js';

// ---------------------------------------------------------------------------------------------
// Flavours
// ---------------------------------------------------------------------------------------------

/** Go's TLS 1.2 suite list of the default flavour, in OpenSSL names (order has no effect in Go). */
export const TLS12_CIPHERS = ['ECDHE-RSA-AES256-GCM-SHA384', 'AES256-GCM-SHA384', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES128-GCM-SHA256'] as const;
/**
 * The TLS 1.3 suites Go accepts. They must be in Node's `ciphers` string too: a list without
 * TLS 1.3 suites makes Node cap the connection at TLS 1.2.
 */
export const TLS13_CIPHERSUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'] as const;
/** Node `ciphers` value of the default flavour. */
export const DEFAULT_FLAVOUR_CIPHERS = [...TLS13_CIPHERSUITES, ...TLS12_CIPHERS].join(':');
/** Node `ecdhCurve` value of the default flavour: no X25519, P-521 first (Go's key share). */
export const DEFAULT_FLAVOUR_CURVES = 'P-521:P-384:P-256';

/** The version / cipher / group settings of one flavour. */
export interface TlsFlavourOptions {
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  ciphers?: string;
  ecdhCurve?: string;
}

export function flavourOptions(minTls13: boolean): TlsFlavourOptions {
  if (minTls13) return {minVersion: 'TLSv1.3'};
  return {minVersion: 'TLSv1.2', ciphers: DEFAULT_FLAVOUR_CIPHERS, ecdhCurve: DEFAULT_FLAVOUR_CURVES};
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

export const PIN_MISMATCH_MESSAGE = 'RVF failed: presented certificate does not match any pinned fingerprint';
export {PEER_CERT_MISSING_MESSAGE, VERIFY_FAILED_PREFIX, goVerifyErrorText} from './go-tls-errors.js';

/** A peer certificate was refused; `code` is what Node records as `authorizationError`. */
export class TlsVerifyError extends Error {
  constructor(
    message: string,
    readonly code: 'ERR_TLS_CERT_ALTNAME_INVALID' | 'ERR_RECEPTOR_PIN_MISMATCH' | 'ERR_RECEPTOR_PEER_CERT_MISSING' | 'ERR_RECEPTOR_BAD_CERT',
  ) {
    super(message);
    this.name = 'TlsVerifyError';
  }
}

// ---------------------------------------------------------------------------------------------
// Fingerprints (pins)
// ---------------------------------------------------------------------------------------------

/**
 * Go's `decodeFingerprints`: colons removed, hex (any case), 32 bytes (SHA-256) or 64 bytes
 * (SHA-512) of the DER leaf. Errors (Go's texts):
 * `error decoding fingerprints: error decoding fingerprint` (not hex, odd length),
 * `error decoding fingerprints: fingerprints must be 32 or 64 bytes for sha256 or sha512`.
 */
export function parseFingerprints(list: readonly string[]): Buffer[] {
  const out: Buffer[] = [];
  for (const text of list) {
    const hex = text.replaceAll(':', '');
    if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new ReceptorError('E_TLS_CONFIG', 'error decoding fingerprints: error decoding fingerprint');
    const bytes = Buffer.from(hex, 'hex');
    if (bytes.length !== 32 && bytes.length !== 64) {
      throw new ReceptorError('E_TLS_CONFIG', 'error decoding fingerprints: fingerprints must be 32 or 64 bytes for sha256 or sha512');
    }
    out.push(bytes);
  }
  return out;
}

/** Whether the DER leaf certificate matches one of `pins` (SHA-256 or SHA-512 by pin length). */
export function matchesPin(leafDer: Buffer, pins: readonly Buffer[]): boolean {
  const sums = new Map<number, Buffer>();
  for (const pin of pins) {
    let sum = sums.get(pin.length);
    if (!sum) {
      const alg = pin.length === 32 ? 'sha256' : pin.length === 64 ? 'sha512' : undefined;
      if (!alg) continue;
      sum = createHash(alg).update(leafDer).digest();
      sums.set(pin.length, sum);
    }
    if (sum.equals(pin)) return true;
  }
  return false;
}

/** Undefined when there are no pins or one matches; otherwise Go's RVF pin error. */
export function checkPins(leafDer: Buffer, pins: readonly Buffer[]): TlsVerifyError | undefined {
  if (pins.length === 0 || matchesPin(leafDer, pins)) return undefined;
  return new TlsVerifyError(PIN_MISMATCH_MESSAGE, 'ERR_RECEPTOR_PIN_MISMATCH');
}

// ---------------------------------------------------------------------------------------------
// Hostname verification (Go's x509.Certificate.VerifyHostname and HostnameError)
// ---------------------------------------------------------------------------------------------

function lowerAscii(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

function validHostname(host: string, isPattern: boolean): boolean {
  if (!isPattern && host.endsWith('.')) host = host.slice(0, -1);
  if (host.length === 0 || host === '*') return false;
  const parts = host.split('.');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === '') return false;
    if (isPattern && i === 0 && part === '*') continue;
    for (let j = 0; j < part.length; j++) {
      const c = part[j]!;
      if (/[a-zA-Z0-9_]/.test(c) || (c === '-' && j !== 0)) continue;
      return false;
    }
  }
  return true;
}

function matchHostnames(pattern: string, host: string): boolean {
  pattern = lowerAscii(pattern);
  host = lowerAscii(host.endsWith('.') ? host.slice(0, -1) : host);
  if (pattern.length === 0 || host.length === 0) return false;
  const pp = pattern.split('.');
  const hp = host.split('.');
  if (pp.length !== hp.length) return false;
  return pp.every((p, i) => (i === 0 && p === '*') || p === hp[i]);
}

function matchExactly(a: string, b: string): boolean {
  if (a === '' || a === '.' || b === '' || b === '.') return false;
  return lowerAscii(a) === lowerAscii(b);
}

interface HostCheckCert {
  names: CertNames;
  hasSan: boolean;
  commonName: string | undefined;
}

function hostCheckFacts(cert: DecodedCertificate): HostCheckCert {
  const san = cert.extensions.find((e) => e.oid === OID_SUBJECT_ALT_NAME);
  const cn = cert.subjectAttributes.filter((a) => a.oid === '2.5.4.3').pop()?.value;
  return {
    names: san ? parseSubjectAltName(san.value) : {dnsNames: [], ipAddresses: [], nodeIds: []},
    hasSan: san !== undefined,
    commonName: cn,
  };
}

/** Go's `HostnameError.Error()`. */
function hostnameErrorText(c: HostCheckCert, host: string): string {
  if (!c.hasSan && c.commonName !== undefined && validHostname(c.commonName, true) && matchHostnames(c.commonName, host)) {
    return 'x509: certificate relies on legacy Common Name field, use SANs instead';
  }
  let valid: string;
  if (parseIpAddress(host)) {
    if (c.names.ipAddresses.length === 0) return `x509: cannot validate certificate for ${host} because it doesn't contain any IP SANs`;
    valid = c.names.ipAddresses.join(', ');
  } else {
    valid = c.names.dnsNames.join(', ');
  }
  if (valid.length === 0) return `x509: certificate is not valid for any names, but wanted to match ${host}`;
  return `x509: certificate is valid for ${valid}, not ${host}`;
}

/**
 * Go's `VerifyHostname` of a DER certificate against the dialled host: an IP address (also
 * `[v6]`) matches IP SANs only, a name matches DNS SANs (leftmost `*` wildcard, case-insensitive,
 * trailing dot ignored); the subject CN is never used. Returns undefined on a match, otherwise
 * an error with Go's text behind `tls: failed to verify certificate: `, e.g.
 * `tls: failed to verify certificate: x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs`.
 */
export function verifyHostname(certDer: Buffer, host: string): TlsVerifyError | undefined {
  let facts: HostCheckCert;
  try {
    facts = hostCheckFacts(decodeCertificate(certDer));
  } catch (err) {
    return new TlsVerifyError(`${VERIFY_FAILED_PREFIX}x509: ${(err as Error).message}`, 'ERR_RECEPTOR_BAD_CERT');
  }
  const candidateIp = host.length >= 3 && host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const ip = parseIpAddress(candidateIp);
  if (ip) {
    for (const san of facts.names.ipAddresses) {
      const sanIp = parseIpAddress(san);
      if (sanIp && sanIp.equals(ip)) return undefined;
    }
    return new TlsVerifyError(VERIFY_FAILED_PREFIX + hostnameErrorText(facts, candidateIp), 'ERR_TLS_CERT_ALTNAME_INVALID');
  }
  const name = lowerAscii(host);
  const validInput = validHostname(name, false);
  for (const pattern of facts.names.dnsNames) {
    if (validInput && validHostname(pattern, true) ? matchHostnames(pattern, name) : matchExactly(pattern, name)) return undefined;
  }
  return new TlsVerifyError(VERIFY_FAILED_PREFIX + hostnameErrorText(facts, host), 'ERR_TLS_CERT_ALTNAME_INVALID');
}

// ---------------------------------------------------------------------------------------------
// PEM material (Go's tls.X509KeyPair and CertPool.AppendCertsFromPEM)
// ---------------------------------------------------------------------------------------------

/** A certificate chain and its private key, checked like Go's `tls.X509KeyPair`. */
export interface KeyPairMaterial {
  /** DER of every CERTIFICATE block, leaf first. */
  chainDer: Buffer[];
  leafDer: Buffer;
  /** The chain re-encoded (CERTIFICATE blocks only), as handed to Node. */
  chainPem: string;
  key: KeyObject;
  /** The private key as PKCS#8 PEM, as handed to Node. */
  keyPem: string;
}

/** A {@link loadKeyPair} failure; `input` says which input was at fault ('pair': they do not match). */
export class KeyPairError extends ReceptorError {
  constructor(
    message: string,
    readonly input: 'cert' | 'key' | 'pair',
  ) {
    super('E_TLS_KEYPAIR', message);
    this.name = 'KeyPairError';
  }
}

function parsePrivateKeyDer(der: Buffer): KeyObject {
  for (const type of ['pkcs1', 'pkcs8', 'sec1'] as const) {
    let key: KeyObject;
    try {
      key = createPrivateKey({key: der, format: 'der', type});
    } catch {
      continue;
    }
    if (type === 'pkcs8' && !['rsa', 'ec', 'ed25519'].includes(key.asymmetricKeyType ?? '')) {
      throw new KeyPairError('tls: found unknown private key type in PKCS#8 wrapping', 'key');
    }
    return key;
  }
  throw new KeyPairError('tls: failed to parse private key', 'key');
}

/**
 * Go's `tls.X509KeyPair(certPEM, keyPEM)` with its error texts: every CERTIFICATE block of the
 * first input is the chain (other blocks are skipped), the first `… PRIVATE KEY` block of the
 * second is the key (PKCS#1, PKCS#8 or SEC 1; RSA, ECDSA or Ed25519), and it must belong to the
 * leaf (`tls: private key does not match public key`). No date checks.
 */
export function loadKeyPair(certPem: string | Buffer, keyPem: string | Buffer): KeyPairMaterial {
  const chainDer: Buffer[] = [];
  let skipped: string[] = [];
  for (const b of pemDecodeAll(certPem)) {
    if (b.type === 'CERTIFICATE') chainDer.push(b.der);
    else skipped.push(b.type);
  }
  if (chainDer.length === 0) {
    if (skipped.length === 0) throw new KeyPairError('tls: failed to find any PEM data in certificate input', 'cert');
    if (skipped.length === 1 && skipped[0]!.endsWith('PRIVATE KEY')) {
      throw new KeyPairError('tls: failed to find certificate PEM data in certificate input, but did find a private key; PEM inputs may have been switched', 'cert');
    }
    throw new KeyPairError(`tls: failed to find "CERTIFICATE" PEM block in certificate input after skipping PEM blocks of the following types: [${skipped.join(' ')}]`, 'cert');
  }
  skipped = [];
  let keyDer: Buffer | undefined;
  for (const b of pemDecodeAll(keyPem)) {
    if (b.type === 'PRIVATE KEY' || b.type.endsWith(' PRIVATE KEY')) {
      keyDer = b.der;
      break;
    }
    skipped.push(b.type);
  }
  if (!keyDer) {
    if (skipped.length === 0) throw new KeyPairError('tls: failed to find any PEM data in key input', 'key');
    if (skipped.length === 1 && skipped[0] === 'CERTIFICATE') throw new KeyPairError('tls: found a certificate rather than a key in the PEM for the private key', 'key');
    throw new KeyPairError(
      `tls: failed to find PEM block with type ending in "PRIVATE KEY" in key input after skipping PEM blocks of the following types: [${skipped.join(' ')}]`,
      'key',
    );
  }
  const leafDer = chainDer[0]!;
  let leaf: DecodedCertificate;
  try {
    leaf = decodeCertificate(leafDer);
  } catch {
    throw new KeyPairError('x509: malformed certificate', 'cert');
  }
  const key = parsePrivateKeyDer(keyDer);
  let certKey: KeyObject;
  try {
    certKey = createPublicKey({key: leaf.spki, format: 'der', type: 'spki'});
  } catch {
    throw new KeyPairError('tls: unknown public key algorithm', 'cert');
  }
  const family = (t: string | undefined) => (t === 'rsa-pss' ? 'rsa' : t);
  if (!['rsa', 'ec', 'ed25519'].includes(family(certKey.asymmetricKeyType) ?? '')) throw new KeyPairError('tls: unknown public key algorithm', 'cert');
  if (family(certKey.asymmetricKeyType) !== family(key.asymmetricKeyType)) throw new KeyPairError('tls: private key type does not match public key type', 'pair');
  if (!certKey.equals(createPublicKey(key))) throw new KeyPairError('tls: private key does not match public key', 'pair');
  return {
    chainDer,
    leafDer,
    chainPem: chainDer.map((d) => pemEncode('CERTIFICATE', d)).join(''),
    key,
    keyPem: key.export({type: 'pkcs8', format: 'pem'}).toString(),
  };
}

/**
 * Go's `CertPool.AppendCertsFromPEM`: the CERTIFICATE blocks (without PEM headers) that parse,
 * as PEM strings; anything else is skipped silently. An empty list is an empty pool: nothing
 * verifies against it.
 */
export function loadCaBundle(pem: string | Buffer): string[] {
  const out: string[] = [];
  for (const b of pemDecodeAll(pem)) {
    if (b.type !== 'CERTIFICATE' || Object.keys(b.headers).length > 0) continue;
    try {
      decodeCertificate(b.der);
    } catch {
      continue;
    }
    out.push(pemEncode('CERTIFICATE', b.der));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Configs
// ---------------------------------------------------------------------------------------------

/** Something that logs like Go's `logger.Error` (a pino logger fits). */
export type ErrorLogger = Pick<Logger, 'error'>;

/** Common raw material of both config kinds. */
interface TlsConfigBase {
  /** The item's `name`. */
  readonly name: string;
  /** `cert` / `key` paths as configured (informational). */
  readonly certPath: string;
  readonly keyPath: string;
  /** Own certificate chain (leaf first) and key. */
  readonly chainPem: string;
  readonly chainDer: readonly Buffer[];
  readonly leafDer: Buffer;
  readonly keyPem: string;
  /** Decoded pins (32-byte SHA-256 or 64-byte SHA-512 of the peer's DER leaf). */
  readonly pins: readonly Buffer[];
  readonly minTls13: boolean;
  readonly skipReceptorNamesCheck: boolean;
  /** Ours: backends refuse a mesh peer whose claimed node ID is not in its certificate. */
  readonly verifyPeerNodeId: boolean;
  /** Node-ID SANs of a DER certificate: here so that the backends need not load the PKI code. */
  readonly certNodeIds: (der: Buffer) => string[];
}

export interface TlsServerConfig extends TlsConfigBase {
  readonly kind: 'server';
  /**
   * PEM CA certificates from `clientcas`; undefined when not configured (client certificates
   * then chain to the default roots). An empty array is a configured but empty pool.
   */
  readonly clientCas: readonly string[] | undefined;
  readonly clientCasPath: string;
  readonly requireClientCert: boolean;
  /** Client certificates are requested and mandatory: `clientcas` and/or `requireclientcert`. */
  readonly requestClientCert: boolean;
  /**
   * Whether `pins` are enforced on backends (only when client certificates are requested).
   * Above the mesh (§11.5) Go applies them only with `clientcas` and without
   * `requireclientcert`; the stream layer decides that itself.
   */
  readonly pinsApply: boolean;
  /** The options registered for the backends. */
  readonly nodeOptions: TlsServerNodeOptions;
}

export interface TlsClientConfig extends TlsConfigBase {
  readonly kind: 'client';
  /** PEM CA certificates from `rootcas`; undefined = default roots. */
  readonly rootCas: readonly string[] | undefined;
  readonly rootCasPath: string;
  readonly insecureSkipVerify: boolean;
  /** The options registered for the backends. */
  readonly nodeOptions: TlsClientNodeOptions;
}

/**
 * What a tls-server item registers: Node server options (`tls.createServer(opts)` /
 * `https.createServer({...opts, …})`) plus the hook below and, non-enumerable, the config.
 */
export interface TlsServerNodeOptions extends TlsOptions {
  /**
   * The part of Go's client-certificate check that Node cannot do by itself, for backends to call
   * on 'secureConnection' with the TLS socket (or its peer certificate / DER leaf): undefined
   * when acceptable, else the error to log and close the connection with. When client
   * certificates are requested it refuses a missing certificate
   * (`RVF failed: peer certificate missing`), a socket Node did not authorize (only reachable
   * when a backend overrides `rejectUnauthorized: false` to log such failures itself; Go's x509
   * text) and a certificate matching none of the pins. Without this call `pinnedclientcert` is
   * not enforced.
   */
  checkClientIdentity(peer: TLSSocket | PeerCertificate | Buffer | undefined | null): Error | undefined;
  /** The config this was built from (non-enumerable). */
  readonly receptor: TlsServerConfig;
}

/**
 * What a tls-client item registers: Node client options for `tls.connect({...opts, host, port})`
 * or `new WebSocket(url, {...opts, …})`; `checkServerIdentity` does Go's hostname check and
 * the pins. The config is the non-enumerable property `receptor`.
 */
export interface TlsClientNodeOptions extends ConnectionOptions {
  checkServerIdentity: (hostname: string, cert: PeerCertificate) => Error | undefined;
  readonly receptor: TlsClientConfig;
}

type PeerInput = TLSSocket | PeerCertificate | Buffer | undefined | null;

function isTlsSocket(x: PeerInput): x is TLSSocket {
  return typeof (x as Partial<TLSSocket> | null | undefined)?.getPeerCertificate === 'function';
}

function leafOf(cert: PeerCertificate | Buffer | undefined | null): Buffer | undefined {
  if (!cert) return undefined;
  if (Buffer.isBuffer(cert)) return cert.length > 0 ? cert : undefined;
  const raw = (cert as Partial<PeerCertificate>).raw;
  return raw && raw.length > 0 ? raw : undefined;
}

function attachConfig<O extends object, C>(options: O, config: C): void {
  Object.defineProperty(options, 'receptor', {value: config, enumerable: false, writable: false, configurable: false});
}

interface MaterialInput {
  name: string;
  certPath?: string;
  keyPath?: string;
  keyPair: KeyPairMaterial;
  pins?: readonly Buffer[];
  minTls13?: boolean;
  skipReceptorNamesCheck?: boolean;
  verifyPeerNodeId?: boolean;
  /** Pin failures are logged here like Go's `RVF failed: …` error line. */
  logger?: ErrorLogger;
}

export interface TlsServerInput extends MaterialInput {
  /** `clientcas` as loaded by {@link loadCaBundle}; undefined when not configured. */
  clientCas?: readonly string[];
  clientCasPath?: string;
  requireClientCert?: boolean;
}

export interface TlsClientInput extends MaterialInput {
  /** `rootcas` as loaded by {@link loadCaBundle}; undefined = default roots. */
  rootCas?: readonly string[];
  rootCasPath?: string;
  insecureSkipVerify?: boolean;
}

function base(input: MaterialInput): TlsConfigBase {
  return {
    name: input.name,
    certPath: input.certPath ?? '',
    keyPath: input.keyPath ?? '',
    chainPem: input.keyPair.chainPem,
    chainDer: input.keyPair.chainDer,
    leafDer: input.keyPair.leafDer,
    keyPem: input.keyPair.keyPem,
    pins: [...(input.pins ?? [])],
    minTls13: input.minTls13 ?? false,
    skipReceptorNamesCheck: input.skipReceptorNamesCheck ?? false,
    verifyPeerNodeId: input.verifyPeerNodeId ?? false,
    certNodeIds: (der) => certificateNames(der).nodeIds,
  };
}

/**
 * Server policy (netceptor-wire.md §2.7 table): `requestCert` and `rejectUnauthorized` are
 * true when `clientcas` or `requireclientcert` is set (so a client without a certificate is
 * refused in both cases, as in Go), `ca` is the `clientcas` pool (Node's default roots when
 * absent).
 */
export function buildTlsServerConfig(input: TlsServerInput): TlsServerConfig {
  const requireClientCert = input.requireClientCert ?? false;
  const clientCas = input.clientCas ? [...input.clientCas] : undefined;
  const requestClientCert = requireClientCert || clientCas !== undefined;
  const common = base(input);
  const {pins} = common;
  const logger = input.logger;
  const nodeOptions = {
    cert: common.chainPem,
    key: common.keyPem,
    ...flavourOptions(common.minTls13),
    ...(clientCas !== undefined ? {ca: clientCas} : {}),
    requestCert: requestClientCert,
    rejectUnauthorized: true,
    checkClientIdentity(peer: PeerInput): Error | undefined {
      if (!requestClientCert) return undefined;
      const socket = isTlsSocket(peer) ? peer : undefined;
      const leaf = leafOf(socket ? socket.getPeerCertificate(true) : (peer as PeerCertificate | Buffer | undefined | null));
      if (!leaf) {
        logger?.error(PEER_CERT_MISSING_MESSAGE);
        return new TlsVerifyError(PEER_CERT_MISSING_MESSAGE, 'ERR_RECEPTOR_PEER_CERT_MISSING');
      }
      if (socket && !socket.authorized) {
        const text = goVerifyErrorText(String(socket.authorizationError ?? 'UNABLE_TO_GET_ISSUER_CERT'));
        logger?.error(`RVF failed verify: ${text}`);
        return new TlsVerifyError(text, 'ERR_RECEPTOR_BAD_CERT');
      }
      const err = checkPins(leaf, pins);
      if (err) logger?.error(err.message);
      return err;
    },
  } as TlsServerNodeOptions;
  const config: TlsServerConfig = {
    ...common,
    kind: 'server',
    clientCas,
    clientCasPath: input.clientCasPath ?? '',
    requireClientCert,
    requestClientCert,
    pinsApply: requestClientCert && pins.length > 0,
    nodeOptions,
  };
  attachConfig(nodeOptions, config);
  return config;
}

/**
 * Client policy: `ca` = `rootcas` (Node's default roots when absent), `rejectUnauthorized`
 * unless `insecureskipverify`, and a `checkServerIdentity` doing Go's hostname check, then the
 * pins (Node calls it only after the chain verified). With `insecureskipverify` it accepts
 * everything, so pins are off too.
 */
export function buildTlsClientConfig(input: TlsClientInput): TlsClientConfig {
  const insecureSkipVerify = input.insecureSkipVerify ?? false;
  const rootCas = input.rootCas ? [...input.rootCas] : undefined;
  const common = base(input);
  const {pins} = common;
  const logger = input.logger;
  const nodeOptions = {
    cert: common.chainPem,
    key: common.keyPem,
    ...flavourOptions(common.minTls13),
    ...(rootCas !== undefined ? {ca: rootCas} : {}),
    rejectUnauthorized: !insecureSkipVerify,
    checkServerIdentity(hostname: string, cert: PeerCertificate): Error | undefined {
      if (insecureSkipVerify) return undefined;
      const leaf = leafOf(cert);
      if (!leaf) return new TlsVerifyError(PEER_CERT_MISSING_MESSAGE, 'ERR_RECEPTOR_PEER_CERT_MISSING');
      const hostErr = verifyHostname(leaf, hostname);
      if (hostErr) return hostErr;
      const pinErr = checkPins(leaf, pins);
      if (pinErr) logger?.error(pinErr.message);
      return pinErr;
    },
  } as TlsClientNodeOptions;
  const config: TlsClientConfig = {
    ...common,
    kind: 'client',
    rootCas,
    rootCasPath: input.rootCasPath ?? '',
    insecureSkipVerify,
    nodeOptions,
  };
  attachConfig(nodeOptions, config);
  return config;
}

/** The config behind a registered tls-server value (undefined for anything else). */
export function tlsServerConfigOf(value: unknown): TlsServerConfig | undefined {
  const c = (value as {receptor?: {kind?: string}} | null | undefined)?.receptor;
  return c?.kind === 'server' ? (c as TlsServerConfig) : undefined;
}

/** The config behind a registered tls-client value (undefined for anything else). */
export function tlsClientConfigOf(value: unknown): TlsClientConfig | undefined {
  const c = (value as {receptor?: {kind?: string}} | null | undefined)?.receptor;
  return c?.kind === 'client' ? (c as TlsClientConfig) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Prepare (what the items run): files → checks → config, with Go's error texts
// ---------------------------------------------------------------------------------------------

/** Reads a whole file; rejects with a Node errno error. */
export type ReadFileFn = (path: string) => Promise<Buffer>;

/** Go's `os.ReadFile` error texts (`open <path>: no such file or directory`, …). */
export function fileErrorText(path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
      return `open ${path}: no such file or directory`;
    case 'EACCES':
    case 'EPERM':
      return `open ${path}: permission denied`;
    case 'EISDIR':
      return `read ${path}: is a directory`;
    case 'ENOTDIR':
      return `open ${path}: not a directory`;
    default:
      return `open ${path}: ${(err as Error)?.message ?? String(err)}`;
  }
}

async function readOrThrow(read: ReadFileFn, path: string, wrap?: string): Promise<Buffer> {
  try {
    return await read(path);
  } catch (err) {
    const text = fileErrorText(path, err);
    throw new ReceptorError('E_TLS_KEYPAIR', wrap ? `${wrap}: ${text}` : text);
  }
}

/** Names the file in a PEM / key parse error so the operator knows which file is meant. */
function keyPairWithPaths(certBytes: Buffer, keyBytes: Buffer, certPath: string, keyPath: string): KeyPairMaterial {
  try {
    return loadKeyPair(certBytes, keyBytes);
  } catch (err) {
    if (err instanceof KeyPairError && err.input !== 'pair') {
      throw new ReceptorError('E_TLS_KEYPAIR', `${err.message} (${err.input} file ${err.input === 'cert' ? certPath : keyPath})`);
    }
    throw err; // key/cert mismatch: Go's exact text
  }
}

/** Node must accept the material too (e.g. every certificate of a chain); fail at start-up, not at Run. */
function assertNodeAccepts(options: TlsOptions | ConnectionOptions): void {
  try {
    // an explicit (possibly empty) `ca` keeps Node from loading its root store just for this check
    createSecureContext({...options, ca: options.ca ?? []});
  } catch (err) {
    throw new ReceptorError('E_TLS_CONFIG', `tls: ${(err as Error).message}`);
  }
}

export interface TlsServerValues {
  name: string;
  cert: string;
  key: string;
  requireclientcert: boolean;
  clientcas: string;
  pinnedclientcert: string[];
  skipreceptornamescheck: boolean;
  mintls13: boolean;
  /** Ours, optional so Go-shaped values still type-check. */
  verifypeernodeid?: boolean;
}

export interface TlsClientValues {
  name: string;
  cert: string;
  key: string;
  rootcas: string;
  insecureskipverify: boolean;
  pinnedservercert: string[];
  skipreceptornamescheck: boolean;
  mintls13: boolean;
  /** Ours, optional so Go-shaped values still type-check. */
  verifypeernodeid?: boolean;
}

export interface PrepareContext {
  /** Called only when the node-ID check runs (not with `skipreceptornamescheck`). */
  nodeId(): string;
  readFile: ReadFileFn;
  logger?: ErrorLogger;
}

function prefixed(kind: 'server' | 'client', err: unknown): Error {
  const e = new Error(tlsConfigErrorPrefix(kind) + ((err as Error)?.message ?? String(err)));
  (e as Error & {cause?: unknown}).cause = err;
  return e;
}

/**
 * Go's `PrepareTLSServerConfig` order: read cert, read key, key pair, node-ID check (unless
 * skipped), read `clientcas`, decode pins. Every error is prefixed
 * `error preparing tls server config: `.
 */
export async function prepareTlsServerConfig(v: TlsServerValues, ctx: PrepareContext): Promise<TlsServerConfig> {
  try {
    const certBytes = await readOrThrow(ctx.readFile, v.cert);
    const keyBytes = await readOrThrow(ctx.readFile, v.key);
    const keyPair = keyPairWithPaths(certBytes, keyBytes, v.cert, v.key);
    if (!v.skipreceptornamescheck) checkNodeIdInCert(certBytes, ctx.nodeId(), {section: v.name, certPath: v.cert, kind: 'server'});
    let clientCas: string[] | undefined;
    if (v.clientcas !== '') clientCas = loadCaBundle(await readOrThrow(ctx.readFile, v.clientcas, 'error reading client CAs file'));
    const pins = parseFingerprints(v.pinnedclientcert);
    const config = buildTlsServerConfig({
      name: v.name,
      certPath: v.cert,
      keyPath: v.key,
      keyPair,
      pins,
      minTls13: v.mintls13,
      skipReceptorNamesCheck: v.skipreceptornamescheck,
      verifyPeerNodeId: v.verifypeernodeid ?? false,
      clientCas,
      clientCasPath: v.clientcas,
      requireClientCert: v.requireclientcert,
      logger: ctx.logger,
    });
    assertNodeAccepts(config.nodeOptions);
    return config;
  } catch (err) {
    throw prefixed('server', err);
  }
}

/**
 * Go's `PrepareTLSClientConfig` order: read cert, read key, key pair, node-ID check (unless
 * skipped; the text says `server cert=` here too), read `rootcas`, decode pins. Every error is
 * prefixed `error preparing tls client config: `.
 */
export async function prepareTlsClientConfig(v: TlsClientValues, ctx: PrepareContext): Promise<TlsClientConfig> {
  try {
    const certBytes = await readOrThrow(ctx.readFile, v.cert);
    const keyBytes = await readOrThrow(ctx.readFile, v.key);
    const keyPair = keyPairWithPaths(certBytes, keyBytes, v.cert, v.key);
    if (!v.skipreceptornamescheck) checkNodeIdInCert(certBytes, ctx.nodeId(), {section: v.name, certPath: v.cert, kind: 'client'});
    let rootCas: string[] | undefined;
    if (v.rootcas !== '') rootCas = loadCaBundle(await readOrThrow(ctx.readFile, v.rootcas, 'error reading root CAs file'));
    const pins = parseFingerprints(v.pinnedservercert);
    const config = buildTlsClientConfig({
      name: v.name,
      certPath: v.cert,
      keyPath: v.key,
      keyPair,
      pins,
      minTls13: v.mintls13,
      skipReceptorNamesCheck: v.skipreceptornamescheck,
      verifyPeerNodeId: v.verifypeernodeid ?? false,
      rootCas,
      rootCasPath: v.rootcas,
      insecureSkipVerify: v.insecureskipverify,
      logger: ctx.logger,
    });
    assertNodeAccepts(config.nodeOptions);
    return config;
  } catch (err) {
    throw prefixed('client', err);
  }
}

/** TLS 1.3 handshake message codecs (RFC 8446 §4), bounded: every length is checked. */

export const Alert = {
  unexpectedMessage: 10,
  handshakeFailure: 40,
  badCertificate: 42,
  unsupportedCertificate: 43,
  certificateExpired: 45,
  illegalParameter: 47,
  unknownCa: 48,
  decodeError: 50,
  decryptError: 51,
  protocolVersion: 70,
  internalError: 80,
  missingExtension: 109,
  unsupportedExtension: 110,
  certificateRequired: 116,
  noApplicationProtocol: 120,
} as const;

export class TlsAlert extends Error {
  constructor(
    readonly alert: number,
    message: string,
  ) {
    super(message);
  }
}

export const HS = {
  clientHello: 1,
  serverHello: 2,
  newSessionTicket: 4,
  encryptedExtensions: 8,
  certificate: 11,
  certificateRequest: 13,
  certificateVerify: 15,
  finished: 20,
  keyUpdate: 24,
  messageHash: 254,
} as const;

export const EXT = {
  serverName: 0,
  supportedGroups: 10,
  signatureAlgorithms: 13,
  alpn: 16,
  preSharedKey: 41,
  earlyData: 42,
  supportedVersions: 43,
  cookie: 44,
  pskModes: 45,
  signatureAlgorithmsCert: 50,
  keyShare: 51,
  quicTransportParameters: 0x39,
} as const;

export const GROUP = {x25519: 0x001d, secp256r1: 0x0017} as const;
export const TLS13 = 0x0304;

/** SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3). */
export const HRR_RANDOM = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');

/** A bounded reader: any overrun is a decode_error. */
export class Reader {
  private pos = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly what = 'message',
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): void {
    if (n > this.remaining) throw new TlsAlert(Alert.decodeError, `${this.what}: truncated`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u24(): number {
    this.need(3);
    const v = this.buf.readUIntBE(this.pos, 3);
    this.pos += 3;
    return v;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A vector with a 1-, 2- or 3-byte length prefix and bounds on its length. */
  vec(lenBytes: 1 | 2 | 3, min = 0, max = Infinity): Buffer {
    const n = lenBytes === 1 ? this.u8() : lenBytes === 2 ? this.u16() : this.u24();
    if (n < min || n > max) throw new TlsAlert(Alert.decodeError, `${this.what}: bad vector length ${n}`);
    return this.bytes(n);
  }

  end(): void {
    if (this.remaining !== 0) throw new TlsAlert(Alert.decodeError, `${this.what}: trailing bytes`);
  }
}

export function u16(v: number): Buffer {
  return Buffer.from([(v >> 8) & 0xff, v & 0xff]);
}

export function vec(lenBytes: 1 | 2 | 3, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const len = Buffer.alloc(lenBytes);
  len.writeUIntBE(body.length, 0, lenBytes);
  return Buffer.concat([len, body]);
}

export function u16list(values: number[]): Buffer {
  return Buffer.concat(values.map(u16));
}

export function handshakeMessage(type: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type]), vec(3, body)]);
}

export function encodeExtensions(exts: Array<[number, Buffer]>): Buffer {
  return vec(2, ...exts.map(([t, d]) => Buffer.concat([u16(t), vec(2, d)])));
}

/** Extensions block → map; duplicates are illegal_parameter (RFC 8446 §4.2). */
export function parseExtensions(r: Reader, what: string): Map<number, Buffer> {
  const block = new Reader(r.vec(2), what);
  const out = new Map<number, Buffer>();
  while (block.remaining > 0) {
    const type = block.u16();
    const data = block.vec(2);
    if (out.has(type)) throw new TlsAlert(Alert.illegalParameter, `${what}: duplicate extension ${type}`);
    out.set(type, data);
  }
  return out;
}

export interface KeyShareEntry {
  group: number;
  key: Buffer;
}

export interface ClientHello {
  random: Buffer;
  sessionId: Buffer;
  cipherSuites: number[];
  extensions: Map<number, Buffer>;
  serverName?: string;
  supportedVersions: number[];
  supportedGroups: number[];
  signatureAlgorithms: number[];
  keyShares?: KeyShareEntry[];
  alpn?: string[];
  transportParams?: Buffer;
  cookie?: Buffer;
}

function parseU16List(data: Buffer, lenBytes: 1 | 2, what: string, min = 2): number[] {
  const r = new Reader(data, what);
  const list = new Reader(r.vec(lenBytes, min), what);
  r.end();
  if (list.remaining % 2 !== 0) throw new TlsAlert(Alert.decodeError, `${what}: odd length`);
  const out: number[] = [];
  while (list.remaining > 0) out.push(list.u16());
  return out;
}

export function parseAlpnList(data: Buffer): string[] {
  const r = new Reader(data, 'alpn');
  const list = new Reader(r.vec(2, 2), 'alpn');
  r.end();
  const out: string[] = [];
  while (list.remaining > 0) out.push(list.vec(1, 1).toString('latin1'));
  return out;
}

export function encodeAlpnList(protocols: string[]): Buffer {
  return vec(2, ...protocols.map((p) => vec(1, Buffer.from(p, 'latin1'))));
}

export function parseClientHello(body: Buffer): ClientHello {
  const r = new Reader(body, 'ClientHello');
  r.u16(); // legacy_version
  const random = r.bytes(32);
  const sessionId = r.vec(1, 0, 32);
  const suites = new Reader(r.vec(2, 2, 0xfffe), 'ClientHello');
  const cipherSuites: number[] = [];
  while (suites.remaining > 0) cipherSuites.push(suites.u16());
  const compression = r.vec(1, 1);
  if (compression.length !== 1 || compression[0] !== 0) throw new TlsAlert(Alert.illegalParameter, 'ClientHello: compression');
  const extensions = parseExtensions(r, 'ClientHello');
  r.end();
  const ch: ClientHello = {random, sessionId, cipherSuites, extensions, supportedVersions: [], supportedGroups: [], signatureAlgorithms: []};
  const sv = extensions.get(EXT.supportedVersions);
  if (sv) ch.supportedVersions = parseU16List(sv, 1, 'supported_versions');
  const sg = extensions.get(EXT.supportedGroups);
  if (sg) ch.supportedGroups = parseU16List(sg, 2, 'supported_groups');
  const sa = extensions.get(EXT.signatureAlgorithms);
  if (sa) ch.signatureAlgorithms = parseU16List(sa, 2, 'signature_algorithms');
  const ks = extensions.get(EXT.keyShare);
  if (ks) {
    const kr = new Reader(ks, 'key_share');
    const list = new Reader(kr.vec(2), 'key_share');
    kr.end();
    ch.keyShares = [];
    while (list.remaining > 0) {
      const group = list.u16();
      if (ch.keyShares.some((k) => k.group === group)) throw new TlsAlert(Alert.illegalParameter, 'key_share: duplicate group');
      ch.keyShares.push({group, key: list.vec(2, 1)});
    }
  }
  const sni = extensions.get(EXT.serverName);
  if (sni) {
    const sr = new Reader(sni, 'server_name');
    const list = new Reader(sr.vec(2, 1), 'server_name');
    sr.end();
    while (list.remaining > 0) {
      const type = list.u8();
      const name = list.vec(2, 1);
      if (type === 0 && ch.serverName === undefined) ch.serverName = name.toString('latin1');
    }
  }
  const alpn = extensions.get(EXT.alpn);
  if (alpn) ch.alpn = parseAlpnList(alpn);
  ch.transportParams = extensions.get(EXT.quicTransportParameters);
  const cookie = extensions.get(EXT.cookie);
  if (cookie) {
    const cr = new Reader(cookie, 'cookie');
    ch.cookie = cr.vec(2, 1);
    cr.end();
  }
  return ch;
}

export interface ClientHelloInput {
  random: Buffer;
  sessionId: Buffer;
  cipherSuites: number[];
  serverName?: string;
  groups: number[];
  keyShares: KeyShareEntry[];
  signatureAlgorithms: number[];
  signatureAlgorithmsCert: number[];
  alpn: string[];
  transportParams?: Buffer;
  cookie?: Buffer;
}

export function encodeClientHello(ch: ClientHelloInput): Buffer {
  const exts: Array<[number, Buffer]> = [];
  if (ch.serverName !== undefined) {
    exts.push([EXT.serverName, vec(2, Buffer.from([0]), vec(2, Buffer.from(ch.serverName, 'latin1')))]);
  }
  exts.push([EXT.supportedGroups, vec(2, u16list(ch.groups))]);
  exts.push([EXT.signatureAlgorithms, vec(2, u16list(ch.signatureAlgorithms))]);
  exts.push([EXT.signatureAlgorithmsCert, vec(2, u16list(ch.signatureAlgorithmsCert))]);
  if (ch.alpn.length > 0) exts.push([EXT.alpn, encodeAlpnList(ch.alpn)]);
  exts.push([EXT.supportedVersions, vec(1, u16(TLS13))]);
  exts.push([EXT.pskModes, vec(1, Buffer.from([1]))]);
  exts.push([EXT.keyShare, vec(2, ...ch.keyShares.map((k) => Buffer.concat([u16(k.group), vec(2, k.key)])))]);
  if (ch.cookie) exts.push([EXT.cookie, vec(2, ch.cookie)]);
  if (ch.transportParams) exts.push([EXT.quicTransportParameters, ch.transportParams]);
  const body = Buffer.concat([u16(0x0303), ch.random, vec(1, ch.sessionId), vec(2, u16list(ch.cipherSuites)), Buffer.from([1, 0]), encodeExtensions(exts)]);
  return handshakeMessage(HS.clientHello, body);
}

export interface ServerHello {
  random: Buffer;
  sessionId: Buffer;
  cipherSuite: number;
  extensions: Map<number, Buffer>;
  isHrr: boolean;
  version?: number;
  /** ServerHello: the share; HRR: only the selected group (key empty). */
  keyShare?: KeyShareEntry;
  cookie?: Buffer;
}

export function parseServerHello(body: Buffer): ServerHello {
  const r = new Reader(body, 'ServerHello');
  r.u16();
  const random = r.bytes(32);
  const sessionId = r.vec(1, 0, 32);
  const cipherSuite = r.u16();
  if (r.u8() !== 0) throw new TlsAlert(Alert.illegalParameter, 'ServerHello: compression');
  const extensions = parseExtensions(r, 'ServerHello');
  r.end();
  const isHrr = random.equals(HRR_RANDOM);
  const sh: ServerHello = {random, sessionId, cipherSuite, extensions, isHrr};
  const sv = extensions.get(EXT.supportedVersions);
  if (sv) {
    const vr = new Reader(sv, 'supported_versions');
    sh.version = vr.u16();
    vr.end();
  }
  const ks = extensions.get(EXT.keyShare);
  if (ks) {
    const kr = new Reader(ks, 'key_share');
    const group = kr.u16();
    sh.keyShare = {group, key: isHrr ? Buffer.alloc(0) : kr.vec(2, 1)};
    kr.end();
  }
  const cookie = extensions.get(EXT.cookie);
  if (cookie) {
    const cr = new Reader(cookie, 'cookie');
    sh.cookie = cr.vec(2, 1);
    cr.end();
  }
  return sh;
}

export function encodeServerHello(random: Buffer, sessionId: Buffer, suite: number, exts: Array<[number, Buffer]>): Buffer {
  const body = Buffer.concat([u16(0x0303), random, vec(1, sessionId), u16(suite), Buffer.from([0]), encodeExtensions(exts)]);
  return handshakeMessage(HS.serverHello, body);
}

export interface EncryptedExtensions {
  alpn?: string;
  transportParams?: Buffer;
  extensions: Map<number, Buffer>;
}

export function parseEncryptedExtensions(body: Buffer): EncryptedExtensions {
  const r = new Reader(body, 'EncryptedExtensions');
  const extensions = parseExtensions(r, 'EncryptedExtensions');
  r.end();
  const ee: EncryptedExtensions = {extensions};
  const alpn = extensions.get(EXT.alpn);
  if (alpn) {
    const list = parseAlpnList(alpn);
    if (list.length !== 1) throw new TlsAlert(Alert.illegalParameter, 'EncryptedExtensions: ALPN must name one protocol');
    ee.alpn = list[0];
  }
  ee.transportParams = extensions.get(EXT.quicTransportParameters);
  return ee;
}

export interface CertificateMsg {
  context: Buffer;
  chain: Buffer[];
}

export function parseCertificate(body: Buffer): CertificateMsg {
  const r = new Reader(body, 'Certificate');
  const context = r.vec(1);
  const list = new Reader(r.vec(3), 'Certificate');
  r.end();
  const chain: Buffer[] = [];
  while (list.remaining > 0) {
    chain.push(list.vec(3, 1));
    list.vec(2); // per-entry extensions (OCSP, SCT): ignored
  }
  return {context, chain};
}

export function encodeCertificate(context: Buffer, chain: Buffer[]): Buffer {
  return handshakeMessage(HS.certificate, Buffer.concat([vec(1, context), vec(3, ...chain.map((c) => Buffer.concat([vec(3, c), vec(2)])))]));
}

export interface CertificateRequestMsg {
  context: Buffer;
  signatureAlgorithms: number[];
}

export function parseCertificateRequest(body: Buffer): CertificateRequestMsg {
  const r = new Reader(body, 'CertificateRequest');
  const context = r.vec(1);
  const exts = parseExtensions(r, 'CertificateRequest');
  r.end();
  const sa = exts.get(EXT.signatureAlgorithms);
  if (!sa) throw new TlsAlert(Alert.missingExtension, 'CertificateRequest: no signature_algorithms');
  return {context, signatureAlgorithms: parseU16List(sa, 2, 'signature_algorithms')};
}

export function encodeCertificateRequest(sigAlgs: number[], sigAlgsCert: number[]): Buffer {
  const exts = encodeExtensions([
    [EXT.signatureAlgorithms, vec(2, u16list(sigAlgs))],
    [EXT.signatureAlgorithmsCert, vec(2, u16list(sigAlgsCert))],
  ]);
  return handshakeMessage(HS.certificateRequest, Buffer.concat([vec(1), exts]));
}

export function parseCertificateVerify(body: Buffer): {scheme: number; signature: Buffer} {
  const r = new Reader(body, 'CertificateVerify');
  const scheme = r.u16();
  const signature = r.vec(2, 1);
  r.end();
  return {scheme, signature};
}

export function encodeCertificateVerify(scheme: number, signature: Buffer): Buffer {
  return handshakeMessage(HS.certificateVerify, Buffer.concat([u16(scheme), vec(2, signature)]));
}

/** NewSessionTicket (RFC 8446 §4.6.1): checked for shape, then ignored. */
export function parseNewSessionTicket(body: Buffer): void {
  const r = new Reader(body, 'NewSessionTicket');
  r.bytes(8);
  r.vec(1);
  r.vec(2, 1);
  parseExtensions(r, 'NewSessionTicket');
  r.end();
}

import {randomBytes, timingSafeEqual, type KeyObject} from 'node:crypto';
import {CIPHER_SUITES, hashOf, KeySchedule} from './keyschedule.js';
import type {HashName} from '../keys.js';
import {
  Alert,
  encodeAlpnList,
  encodeCertificate,
  encodeCertificateRequest,
  encodeCertificateVerify,
  encodeClientHello,
  encodeServerHello,
  handshakeMessage,
  HRR_RANDOM,
  HS,
  EXT,
  GROUP,
  parseCertificate,
  parseCertificateRequest,
  parseCertificateVerify,
  parseClientHello,
  parseEncryptedExtensions,
  parseNewSessionTicket,
  parseServerHello,
  TLS13,
  TlsAlert,
  u16,
  vec,
  type ClientHello,
  encodeExtensions,
} from './messages.js';
import {certificateVerifyContent, chooseScheme, KeyShare, leafPublicKey, signContent, SIGNATURE_SCHEMES, SIGNATURE_SCHEMES_CERT, verifyChain, verifyContent} from './crypto.js';

export type Level = 'initial' | 'handshake' | 'application';

export interface TlsHandshakeOptions {
  role: 'client' | 'server';
  alpn: string[];
  serverName?: string;
  transportParams: Buffer;
  certChain?: Buffer[];
  privateKey?: KeyObject;
  ca?: Buffer[];
  verifyPeer: boolean;
  verifyAllowFail?: boolean;
  random?: () => Buffer;
  /** Cipher suites in preference order (default 0x1301, 0x1302, 0x1303). */
  cipherSuites?: number[];
  /** Groups in preference order (default x25519, secp256r1); a client sends a share for the first only. */
  groups?: number[];
  /** Test mode for TLS over TCP: ext 0x39 is neither sent nor required. */
  withoutQuic?: boolean;
}

export interface TlsSecret {
  level: 'handshake' | 'application';
  direction: 'read' | 'write';
  suite: number;
  secret: Buffer;
}

type State =
  | 'start'
  | 'waitSh'
  | 'waitEe'
  | 'waitCertCr'
  | 'waitCert'
  | 'waitCv'
  | 'waitFinished'
  | 'waitCh'
  | 'waitCh2'
  | 'waitClientCert'
  | 'waitClientCv'
  | 'waitClientFinished'
  | 'connected'
  | 'failed';

const LEVELS: Level[] = ['initial', 'handshake', 'application'];

/** A sans-IO TLS 1.3 handshake as QUIC uses it (RFC 9001 §4): messages in, messages and secrets out. */
export class TlsHandshake {
  private readonly st: {
    complete: boolean;
    error?: {alert: number; message: string};
    alpn?: string;
    peerTransportParams?: Buffer;
    peerCertChain: Buffer[];
    peerCertVerified: boolean;
    peerCertError?: string;
    serverName?: string;
    suite?: number;
    group?: number;
  } = {complete: false, peerCertChain: [], peerCertVerified: false};

  get complete(): boolean {
    return this.st.complete;
  }
  /** Set once the handshake failed; QUIC closes with CRYPTO_ERROR 0x100 + alert. */
  get error(): {alert: number; message: string} | undefined {
    return this.st.error;
  }
  get alpn(): string | undefined {
    return this.st.alpn;
  }
  get peerTransportParams(): Buffer | undefined {
    return this.st.peerTransportParams;
  }
  /** The peer's chain (DER, leaf first) as received; node-ID SAN checks are the caller's. */
  get peerCertChain(): Buffer[] {
    return this.st.peerCertChain;
  }
  /** Whether the peer's chain verified against `ca` (false when not checked or failed). */
  get peerCertVerified(): boolean {
    return this.st.peerCertVerified;
  }
  get peerCertError(): string | undefined {
    return this.st.peerCertError;
  }
  /** Server: the SNI the client sent. */
  get serverName(): string | undefined {
    return this.st.serverName;
  }
  get suite(): number | undefined {
    return this.st.suite;
  }
  get group(): number | undefined {
    return this.st.group;
  }

  private state: State;
  private readonly opts: TlsHandshakeOptions;
  private readonly suites: number[];
  private readonly groups: number[];
  private readonly inbuf: Record<Level, Buffer> = {initial: Buffer.alloc(0), handshake: Buffer.alloc(0), application: Buffer.alloc(0)};
  private output: Array<{level: Level; data: Buffer}> = [];
  private secrets: TlsSecret[] = [];
  private transcript: Buffer[] = [];
  private ks?: KeySchedule;
  private clientHs?: Buffer;
  private serverHs?: Buffer;
  private clientAp?: Buffer;
  private shares: KeyShare[] = [];
  private clientRandom?: Buffer;
  private sessionId: Buffer = Buffer.alloc(0);
  private retried = false;
  private certRequested = false;
  private certRequestContext: Buffer = Buffer.alloc(0);
  private peerKey?: KeyObject;
  private hrrGroup?: number;
  private ch1Suites?: number[];

  constructor(opts: TlsHandshakeOptions) {
    this.opts = opts;
    this.suites = opts.cipherSuites ?? [0x1301, 0x1302, 0x1303];
    this.groups = opts.groups ?? [GROUP.x25519, GROUP.secp256r1];
    this.state = opts.role === 'client' ? 'start' : 'waitCh';
  }

  private random(): Buffer {
    const r = this.opts.random ? this.opts.random() : randomBytes(32);
    if (r.length !== 32) throw new Error('random must be 32 bytes');
    return r;
  }

  start(): void {
    if (this.opts.role !== 'client' || this.state !== 'start') return;
    this.guard(() => {
      this.clientRandom = this.random();
      const first = this.groups[0];
      if (first === undefined) throw new TlsAlert(Alert.internalError, 'no groups configured');
      this.shares = [new KeyShare(first)];
      this.sendClientHello();
      this.state = 'waitSh';
    });
  }

  receive(level: Level, data: Buffer): void {
    if (this.error) return;
    this.guard(() => {
      this.inbuf[level] = Buffer.concat([this.inbuf[level], data]);
      for (;;) {
        const buf = this.inbuf[level];
        if (buf.length < 4) break;
        const len = buf.readUIntBE(1, 3);
        if (len > 0x10000 + 4096) throw new TlsAlert(Alert.decodeError, 'handshake message too long');
        if (buf.length < 4 + len) break;
        const msg = buf.subarray(0, 4 + len);
        this.inbuf[level] = buf.subarray(4 + len);
        this.handle(level, buf[0] as number, msg.subarray(4), msg);
        if (this.error) return;
      }
    });
  }

  takeOutput(): Array<{level: Level; data: Buffer}> {
    const out = this.output;
    this.output = [];
    return out;
  }

  takeSecrets(): TlsSecret[] {
    const out = this.secrets;
    this.secrets = [];
    return out;
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.state = 'failed';
      if (err instanceof TlsAlert) this.st.error = {alert: err.alert, message: err.message};
      else this.st.error = {alert: Alert.internalError, message: err instanceof Error ? err.message : String(err)};
    }
  }

  private expectedLevel(): Level | undefined {
    switch (this.state) {
      case 'waitSh':
      case 'waitCh':
      case 'waitCh2':
        return 'initial';
      case 'connected':
        return 'application';
      case 'start':
      case 'failed':
        return undefined;
      default:
        return 'handshake';
    }
  }

  private handle(level: Level, type: number, body: Buffer, raw: Buffer): void {
    if (level !== this.expectedLevel()) throw new TlsAlert(Alert.unexpectedMessage, `handshake message ${type} at ${level} level in state ${this.state}`);
    // Data left over at an older level when keys change is a protocol error (RFC 9001 §4.1.3).
    const idx = LEVELS.indexOf(level);
    for (let i = 0; i < idx; i++) {
      const l = LEVELS[i] as Level;
      if (this.inbuf[l].length > 0) throw new TlsAlert(Alert.unexpectedMessage, `unprocessed data at ${l} level`);
    }
    const want = (t: number): void => {
      if (type !== t) throw new TlsAlert(Alert.unexpectedMessage, `unexpected handshake message ${type} in state ${this.state}`);
    };
    switch (this.state) {
      case 'waitSh':
        want(HS.serverHello);
        return this.onServerHello(body, raw);
      case 'waitEe':
        want(HS.encryptedExtensions);
        return this.onEncryptedExtensions(body, raw);
      case 'waitCertCr':
        if (type === HS.certificateRequest) return this.onCertificateRequest(body, raw);
        want(HS.certificate);
        return this.onServerCertificate(body, raw);
      case 'waitCert':
        want(HS.certificate);
        return this.onServerCertificate(body, raw);
      case 'waitCv':
        want(HS.certificateVerify);
        return this.onCertificateVerify(body, raw, 'waitFinished');
      case 'waitFinished':
        want(HS.finished);
        return this.onServerFinished(body, raw);
      case 'waitCh':
      case 'waitCh2':
        want(HS.clientHello);
        return this.onClientHello(body, raw);
      case 'waitClientCert':
        want(HS.certificate);
        return this.onClientCertificate(body, raw);
      case 'waitClientCv':
        want(HS.certificateVerify);
        return this.onCertificateVerify(body, raw, 'waitClientFinished');
      case 'waitClientFinished':
        want(HS.finished);
        return this.onClientFinished(body, raw);
      case 'connected':
        // Post-handshake: tickets are accepted and ignored; QUIC forbids KeyUpdate (RFC 9001 §6).
        if (this.opts.role === 'client' && type === HS.newSessionTicket) return parseNewSessionTicket(body);
        throw new TlsAlert(Alert.unexpectedMessage, `unexpected post-handshake message ${type}`);
      default:
        throw new TlsAlert(Alert.unexpectedMessage, `message in state ${this.state}`);
    }
  }

  private th(): Buffer {
    if (!this.ks) throw new TlsAlert(Alert.internalError, 'no key schedule');
    return hashOf(this.ks.hash, this.transcript);
  }

  private send(level: Level, msg: Buffer): void {
    this.transcript.push(msg);
    this.output.push({level, data: msg});
  }

  private secret(level: 'handshake' | 'application', direction: 'read' | 'write', secret: Buffer): void {
    this.secrets.push({level, direction, suite: this.suite as number, secret});
  }

  private get withTp(): boolean {
    return this.opts.withoutQuic !== true;
  }

  // ----------------------------------------------------------------------------------------
  // Client
  // ----------------------------------------------------------------------------------------

  private sendClientHello(cookie?: Buffer): void {
    const msg = encodeClientHello({
      random: this.clientRandom as Buffer,
      sessionId: this.sessionId,
      cipherSuites: this.suites,
      serverName: this.opts.serverName,
      groups: this.groups,
      keyShares: this.shares.map((s) => ({group: s.group, key: s.publicKey})),
      signatureAlgorithms: SIGNATURE_SCHEMES,
      signatureAlgorithmsCert: SIGNATURE_SCHEMES_CERT,
      alpn: this.opts.alpn,
      transportParams: this.withTp ? this.opts.transportParams : undefined,
      cookie,
    });
    this.transcript.push(msg);
    this.output.push({level: 'initial', data: msg});
  }

  private onServerHello(body: Buffer, raw: Buffer): void {
    const sh = parseServerHello(body);
    if (sh.version !== TLS13) throw new TlsAlert(Alert.protocolVersion, 'ServerHello: not TLS 1.3');
    if (!sh.sessionId.equals(this.sessionId)) throw new TlsAlert(Alert.illegalParameter, 'ServerHello: session id mismatch');
    if (!this.suites.includes(sh.cipherSuite)) throw new TlsAlert(Alert.illegalParameter, 'ServerHello: cipher suite not offered');
    if (this.suite !== undefined && sh.cipherSuite !== this.suite) throw new TlsAlert(Alert.illegalParameter, 'ServerHello: suite differs from HRR');
    const info = CIPHER_SUITES[sh.cipherSuite];
    if (!info) throw new TlsAlert(Alert.illegalParameter, 'ServerHello: unknown suite');
    this.st.suite = sh.cipherSuite;
    if (!this.ks) this.ks = new KeySchedule(info.hash);
    for (const t of sh.extensions.keys()) {
      // We offer no PSK, so pre_shared_key is as unsolicited as any other extension here.
      if (t !== EXT.supportedVersions && t !== EXT.keyShare && t !== EXT.cookie) {
        throw new TlsAlert(Alert.unsupportedExtension, `ServerHello: extension ${t}`);
      }
    }
    if (sh.isHrr) {
      if (this.retried) throw new TlsAlert(Alert.unexpectedMessage, 'second HelloRetryRequest');
      this.retried = true;
      const group = sh.keyShare?.group;
      if (group === undefined && !sh.cookie) throw new TlsAlert(Alert.illegalParameter, 'HelloRetryRequest changes nothing');
      // Transcript: message_hash(CH1) replaces CH1 (RFC 8446 §4.4.1).
      const ch1 = hashOf(info.hash, this.transcript);
      this.transcript = [handshakeMessage(HS.messageHash, ch1), raw];
      if (group !== undefined) {
        if (!this.groups.includes(group) || this.shares.some((s) => s.group === group)) {
          throw new TlsAlert(Alert.illegalParameter, 'HelloRetryRequest: bad group');
        }
        this.shares = [new KeyShare(group)];
      }
      this.sendClientHello(sh.cookie);
      return;
    }
    const ks = sh.keyShare;
    const share = ks && this.shares.find((s) => s.group === ks.group);
    if (!ks || !share) throw new TlsAlert(ks ? Alert.illegalParameter : Alert.missingExtension, 'ServerHello: key_share');
    this.st.group = ks.group;
    const shared = share.sharedSecret(ks.key);
    this.transcript.push(raw);
    const [c, s] = this.ks.handshake(shared, this.th());
    this.clientHs = c;
    this.serverHs = s;
    this.secret('handshake', 'read', s);
    this.secret('handshake', 'write', c);
    this.state = 'waitEe';
  }

  private onEncryptedExtensions(body: Buffer, raw: Buffer): void {
    const ee = parseEncryptedExtensions(body);
    this.transcript.push(raw);
    if (ee.alpn === undefined) throw new TlsAlert(Alert.noApplicationProtocol, 'server did not select an ALPN protocol');
    if (!this.opts.alpn.includes(ee.alpn)) throw new TlsAlert(Alert.illegalParameter, `server selected ALPN ${ee.alpn} we did not offer`);
    this.st.alpn = ee.alpn;
    if (this.withTp) {
      if (!ee.transportParams) throw new TlsAlert(Alert.missingExtension, 'no quic_transport_parameters');
      this.st.peerTransportParams = ee.transportParams;
    }
    this.state = 'waitCertCr';
  }

  private onCertificateRequest(body: Buffer, raw: Buffer): void {
    const cr = parseCertificateRequest(body);
    this.transcript.push(raw);
    if (cr.context.length !== 0) throw new TlsAlert(Alert.illegalParameter, 'CertificateRequest: context in handshake');
    this.certRequested = true;
    this.certRequestContext = cr.context;
    this.peerSigAlgs = cr.signatureAlgorithms;
    this.state = 'waitCert';
  }

  private peerSigAlgs: number[] = [];

  private checkPeerChain(chain: Buffer[]): void {
    this.st.peerCertChain = chain;
    this.peerKey = leafPublicKey(chain[0] as Buffer);
    if (!this.opts.verifyPeer) return;
    const res = verifyChain(chain, this.opts.ca ?? []);
    this.st.peerCertVerified = res.ok;
    if (!res.ok) {
      this.st.peerCertError = res.message;
      if (!this.opts.verifyAllowFail) throw new TlsAlert(res.alert ?? Alert.badCertificate, `certificate verification failed: ${res.message}`);
    }
  }

  private onServerCertificate(body: Buffer, raw: Buffer): void {
    const cert = parseCertificate(body);
    this.transcript.push(raw);
    if (cert.context.length !== 0) throw new TlsAlert(Alert.illegalParameter, 'Certificate: context');
    if (cert.chain.length === 0) throw new TlsAlert(Alert.decodeError, 'server sent no certificate');
    this.checkPeerChain(cert.chain);
    this.state = 'waitCv';
  }

  private onCertificateVerify(body: Buffer, raw: Buffer, next: State): void {
    const cv = parseCertificateVerify(body);
    const server = this.opts.role === 'client';
    verifyContent(cv.scheme, SIGNATURE_SCHEMES, this.peerKey as KeyObject, certificateVerifyContent(server, this.th()), cv.signature);
    this.transcript.push(raw);
    this.state = next;
  }

  private checkFinished(body: Buffer, base: Buffer): void {
    const ks = this.ks as KeySchedule;
    const expected = ks.finished(base, this.th());
    if (body.length !== expected.length || !timingSafeEqual(body, expected)) throw new TlsAlert(Alert.decryptError, 'Finished: bad verify_data');
  }

  private onServerFinished(body: Buffer, raw: Buffer): void {
    this.checkFinished(body, this.serverHs as Buffer);
    this.transcript.push(raw);
    const ks = this.ks as KeySchedule;
    const [c, s] = ks.application(this.th());
    this.clientAp = c;
    if (this.certRequested) {
      const chain = this.opts.certChain ?? [];
      const key = this.opts.privateKey;
      const scheme = key && chain.length > 0 ? chooseScheme(key, this.peerSigAlgs) : undefined;
      // Without a usable key and scheme we answer with an empty Certificate (the server decides).
      if (key && scheme !== undefined) {
        this.send('handshake', encodeCertificate(this.certRequestContext, chain));
        this.send('handshake', encodeCertificateVerify(scheme, signContent(scheme, key, certificateVerifyContent(false, this.th()))));
      } else {
        this.send('handshake', encodeCertificate(this.certRequestContext, []));
      }
    }
    this.send('handshake', handshakeMessage(HS.finished, ks.finished(this.clientHs as Buffer, this.th())));
    this.secret('application', 'read', s);
    this.secret('application', 'write', c);
    this.state = 'connected';
    this.st.complete = true;
  }

  // ----------------------------------------------------------------------------------------
  // Server
  // ----------------------------------------------------------------------------------------

  private onClientHello(body: Buffer, raw: Buffer): void {
    const ch = parseClientHello(body);
    if (!ch.supportedVersions.includes(TLS13)) throw new TlsAlert(Alert.protocolVersion, 'ClientHello: no TLS 1.3');
    // RFC 9001 §4.2: QUIC clients must not offer older versions (Go refuses them too).
    if (this.withTp && ch.supportedVersions.some((v) => v < TLS13)) throw new TlsAlert(Alert.protocolVersion, 'ClientHello: offers TLS older than 1.3');
    if (this.state === 'waitCh2') return this.onClientHello2(ch, raw);
    const suite = ch.cipherSuites.find((s) => this.suites.includes(s));
    if (suite === undefined) throw new TlsAlert(Alert.handshakeFailure, 'no common cipher suite');
    if (ch.signatureAlgorithms.length === 0) throw new TlsAlert(Alert.missingExtension, 'ClientHello: no signature_algorithms');
    if (!ch.keyShares || ch.supportedGroups.length === 0) throw new TlsAlert(Alert.missingExtension, 'ClientHello: no key_share / supported_groups');
    this.checkClientExtensions(ch);
    this.st.suite = suite;
    this.ks = new KeySchedule((CIPHER_SUITES[suite] as {hash: HashName}).hash);
    this.clientRandom = ch.random;
    this.sessionId = ch.sessionId;
    this.st.serverName = ch.serverName;
    this.ch1Suites = ch.cipherSuites;
    // Prefer a share the client already sent; else ask for our best common group (HRR).
    const share = ch.keyShares.find((k) => this.groups.includes(k.group) && ch.supportedGroups.includes(k.group));
    if (share) {
      this.transcript.push(raw);
      return this.sendServerFlight(ch, share.group, share.key);
    }
    const group = ch.supportedGroups.find((g) => this.groups.includes(g));
    if (group === undefined) throw new TlsAlert(Alert.handshakeFailure, 'no common group');
    this.hrrGroup = group;
    const ks = this.ks;
    this.transcript = [handshakeMessage(HS.messageHash, hashOf(ks.hash, raw))];
    const hrr = encodeServerHello(HRR_RANDOM, this.sessionId, suite, [
      [EXT.supportedVersions, u16(TLS13)],
      [EXT.keyShare, u16(group)],
    ]);
    this.send('initial', hrr);
    this.state = 'waitCh2';
  }

  private checkClientExtensions(ch: ClientHello): void {
    if (!ch.alpn) throw new TlsAlert(Alert.noApplicationProtocol, 'client offered no ALPN');
    const alpn = this.opts.alpn.find((p) => ch.alpn?.includes(p));
    if (alpn === undefined) throw new TlsAlert(Alert.noApplicationProtocol, `no common ALPN protocol in ${ch.alpn.join(',')}`);
    this.st.alpn = alpn;
    if (this.withTp) {
      if (!ch.transportParams) throw new TlsAlert(Alert.missingExtension, 'no quic_transport_parameters');
      this.st.peerTransportParams = ch.transportParams;
    }
  }

  private onClientHello2(ch: ClientHello, raw: Buffer): void {
    if (!ch.random.equals(this.clientRandom as Buffer) || !ch.sessionId.equals(this.sessionId)) {
      throw new TlsAlert(Alert.illegalParameter, 'second ClientHello: random or session id changed');
    }
    if (!ch.cipherSuites.includes(this.suite as number) || ch.cipherSuites.join() !== (this.ch1Suites ?? []).join()) {
      throw new TlsAlert(Alert.illegalParameter, 'second ClientHello: cipher suites changed');
    }
    const share = ch.keyShares?.length === 1 ? ch.keyShares[0] : undefined;
    if (!share || share.group !== this.hrrGroup) throw new TlsAlert(Alert.illegalParameter, 'second ClientHello: key_share not the requested group');
    this.checkClientExtensions(ch);
    if (ch.signatureAlgorithms.length === 0) throw new TlsAlert(Alert.missingExtension, 'ClientHello: no signature_algorithms');
    this.transcript.push(raw);
    this.sendServerFlight(ch, share.group, share.key);
  }

  private sendServerFlight(ch: ClientHello, group: number, peerKey: Buffer): void {
    const ks = this.ks as KeySchedule;
    const chain = this.opts.certChain ?? [];
    const key = this.opts.privateKey;
    if (!key || chain.length === 0) throw new TlsAlert(Alert.internalError, 'server has no certificate');
    const scheme = chooseScheme(key, ch.signatureAlgorithms);
    if (scheme === undefined) throw new TlsAlert(Alert.handshakeFailure, 'no common signature scheme');
    const mine = new KeyShare(group);
    const shared = mine.sharedSecret(peerKey);
    this.st.group = group;
    const sh = encodeServerHello(this.random(), this.sessionId, this.suite as number, [
      [EXT.supportedVersions, u16(TLS13)],
      [EXT.keyShare, Buffer.concat([u16(group), vec(2, mine.publicKey)])],
    ]);
    this.send('initial', sh);
    const [c, s] = ks.handshake(shared, this.th());
    this.clientHs = c;
    this.serverHs = s;
    this.secret('handshake', 'write', s);
    this.secret('handshake', 'read', c);
    const ee: Array<[number, Buffer]> = [[EXT.alpn, encodeAlpnList([this.alpn as string])]];
    if (this.withTp && ch.transportParams) ee.push([EXT.quicTransportParameters, this.opts.transportParams]);
    this.send('handshake', handshakeMessage(HS.encryptedExtensions, encodeExtensions(ee)));
    if (this.opts.verifyPeer) this.send('handshake', encodeCertificateRequest(SIGNATURE_SCHEMES, SIGNATURE_SCHEMES_CERT));
    this.send('handshake', encodeCertificate(Buffer.alloc(0), chain));
    this.send('handshake', encodeCertificateVerify(scheme, signContent(scheme, key, certificateVerifyContent(true, this.th()))));
    this.send('handshake', handshakeMessage(HS.finished, ks.finished(s, this.th())));
    const [ca, sa] = ks.application(this.th());
    this.clientAp = ca;
    this.secret('application', 'write', sa);
    this.state = this.opts.verifyPeer ? 'waitClientCert' : 'waitClientFinished';
  }

  private onClientCertificate(body: Buffer, raw: Buffer): void {
    const cert = parseCertificate(body);
    this.transcript.push(raw);
    if (cert.context.length !== 0) throw new TlsAlert(Alert.illegalParameter, 'Certificate: context');
    if (cert.chain.length === 0) throw new TlsAlert(Alert.certificateRequired, 'client sent no certificate');
    this.checkPeerChain(cert.chain);
    this.state = 'waitClientCv';
  }

  private onClientFinished(body: Buffer, raw: Buffer): void {
    this.checkFinished(body, this.clientHs as Buffer);
    this.transcript.push(raw);
    this.secret('application', 'read', this.clientAp as Buffer);
    this.state = 'connected';
    this.st.complete = true;
  }
}

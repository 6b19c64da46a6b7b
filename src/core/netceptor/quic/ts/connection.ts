/**
 * One QUIC v1 connection of the TypeScript engine (RFC 9000, 9001, 9002), sans-IO: datagrams
 * in (recv), datagrams out (send), timers as numbers. It drives the TLS handshake
 * (./tls/handshake.ts), packet protection (./protection.ts), ACKs (./ack.ts), loss recovery
 * (./recovery.ts) and streams (./streams.ts), and mirrors what the driver (../connection.ts,
 * ../endpoint.ts) relies on from quiche. Nothing thrown inside escapes recv/send/onTimeout: it
 * becomes a close with INTERNAL_ERROR.
 */
import {randomBytes, type KeyObject} from 'node:crypto';
import type {QuicEngineConnection, QuicErrorInfo, QuicTransportParams, ShutdownDirection} from '../engine.js';
import {AckTracker} from './ack.js';
import {CryptoRecvStream, CryptoSendStream} from './crypto-stream.js';
import {TransportError, type WireError} from './errors.js';
import {checkFramesAllowed, decodeAckDelay, decodeFrames, frameSize, isAckEliciting, maxCryptoDataFor, writeFrame, type Frame, type PacketSpaceType} from './frames.js';
import {cipherSuiteById, derivePacketKeys, initialKeys, type PacketKeys} from './keys.js';
import {isStatelessReset, longHeaderReservedBits, packetNumberLength, parseHeader, shortHeaderBits, type PacketHeader} from './packet.js';
import {decodePacketNumber} from './packet-number.js';
import {AEAD_TAG_LENGTH, KeyPhaseState, openPayload, PacketProtector, unprotectHeader} from './protection.js';
import {LossRecovery, type SentPacket, type SpaceId} from './recovery.js';
import {PeerCids} from './peer-cids.js';
import {StreamManager} from './streams.js';
import {TlsHandshake, type Level} from './tls/handshake.js';
import {decodeTransportParameters, encodeTransportParameters, transportParametersFromEngine, type TransportParameters} from './transport-params.js';
import {ByteWriter, writeVarint} from './varint.js';

/** Everything a connection needs from its configuration (parsed once per config). */
export interface TsConnectionConfig {
  role: 'client' | 'server';
  alpn: string[];
  params: QuicTransportParams;
  certChain: Buffer[];
  privateKey?: KeyObject;
  ca: Buffer[];
  verifyPeer: boolean;
  verifyAllowFail: boolean;
}

export interface TsConnectionOptions {
  config: TsConnectionConfig;
  scid: Buffer;
  serverName: string | null;
  now: () => number;
  random: (n: number) => Buffer;
  /** Initiate a key update after this many packets sealed with one key (default: near the AEAD limit). */
  keyUpdatePackets?: number;
}

/** Smallest datagram carrying an Initial (RFC 9000 §14.1) and our size until the handshake completes. */
const MIN_INITIAL = 1200;
/** Our ack_delay_exponent and max_ack_delay (the RFC defaults, not sent). */
const ACK_DELAY_EXPONENT = 3;
const MAX_ACK_DELAY_MS = 25;
/** Our active_connection_id_limit (default 2): peer CIDs kept. */
const ACTIVE_CID_LIMIT = 2;
/** Caps on queued control frames against a hostile peer. */
const MAX_QUEUED_CONTROL = 64;
/** Start our own key update this many packets before the AEAD confidentiality limit. */
const KEY_UPDATE_MARGIN = 1024;
const LONG_TYPE_BITS: Record<SpaceId, number> = {0: 0, 1: 2, 2: 0};
const SPACE_TYPES: PacketSpaceType[] = ['initial', 'handshake', '1rtt'];

type SentItem = {k: 'crypto'; offset: number; len: number} | {k: 'ack'; largest: number} | {k: 'frame'; f: Frame} | {k: 'hsdone'} | {k: 'retire'; seq: number} | {k: 'ping'};

interface SentRecord {
  items: SentItem[];
  /** Key generation the packet was sealed with (application space). */
  keyGen: number;
}

interface Space {
  id: SpaceId;
  ack: AckTracker;
  nextPn: number;
  read: PacketProtector | null;
  write: PacketProtector | null;
  cryptoOut: CryptoSendStream;
  cryptoIn: CryptoRecvStream;
  discarded: boolean;
  /** PTO probes still to send in this space. */
  probes: number;
}

interface Piece {
  space: SpaceId;
  pn: number;
  pnLen: 1 | 2 | 3 | 4;
  start: number;
  end: number;
  headerLen: number;
  ackEliciting: boolean;
  record: SentRecord;
  ackLargest: number;
}

const LEVEL_SPACE: Record<Level, SpaceId> = {initial: 0, handshake: 1, application: 2};
const SPACE_LEVEL: Level[] = ['initial', 'handshake', 'application'];

export class TsConnection implements QuicEngineConnection {
  readonly role: 'client' | 'server';
  private readonly cfg: TsConnectionConfig;
  private readonly now: () => number;
  private readonly random: (n: number) => Buffer;
  private readonly keyUpdatePackets: number;
  private readonly scid: Buffer;
  /** The client's first Destination Connection ID (Initial keys, original_destination_connection_id). */
  private odcid: Buffer | null;
  private readonly sni: string | null;
  private tls: TlsHandshake | null = null;
  private readonly spaces: [Space, Space, Space];
  private app: KeyPhaseState | null = null;
  private appReadSecret: PacketKeys | null = null;
  private appWriteSecret: PacketKeys | null = null;
  private readonly recovery: LossRecovery<SentRecord>;
  readonly streams: StreamManager;
  private readonly scratch = new ByteWriter(MIN_INITIAL * 2);
  /** Header bytes put back when a packet fails to open (other keys may still be tried). */
  private readonly savedPn = Buffer.alloc(4);

  // handshake state
  private peerParams: TransportParameters | null = null;
  private serverScidSeen: Buffer | null = null;
  private handshakeComplete = false;
  private handshakeConfirmed = false;
  private hsDonePending = false;
  private receivedAny = false;
  private addressValidated: boolean;
  private bytesReceived = 0;
  private bytesSentUnvalidated = 0;
  private sentHandshakePacket = false;

  // peer limits
  private peerAckDelayExponent = 3;
  private peerMaxUdpPayload = 65527;
  private idleTimeoutMs: number;

  // CIDs of the peer
  private readonly cids = new PeerCids(ACTIVE_CID_LIMIT, MAX_QUEUED_CONTROL);
  private pathResponses: Buffer[] = [];

  // key update
  private forceKeyUpdate = false;
  private currentPhaseAcked = false;
  private sentInPhase = false;
  private firstRecvPnInPhase = Infinity;
  private keyDiscardAt: number | null = null;
  private keyUpdates = 0;

  // close state
  private state: 'open' | 'closing' | 'draining' | 'closed' = 'open';
  private local: QuicErrorInfo | null = null;
  private peer: QuicErrorInfo | null = null;
  private closeFramePending = false;
  private closeEndAt = 0;
  private closeRecvCount = 0;
  private closeNextResend = 1;
  private timedOut = false;

  // timers
  private idleStart: number;
  private ackElicitingSinceRecv = false;
  private pingPending = false;

  // stats
  private st = {sent: 0, recv: 0, lost: 0, sentBytes: 0, recvBytes: 0, dropped: 0, duplicates: 0};

  constructor(opts: TsConnectionOptions) {
    const cfg = opts.config;
    this.cfg = cfg;
    this.role = cfg.role;
    this.now = opts.now;
    this.random = opts.random;
    this.keyUpdatePackets = opts.keyUpdatePackets ?? Infinity;
    this.scid = Buffer.from(opts.scid);
    this.sni = opts.serverName;
    const mk = (id: SpaceId): Space => ({
      id,
      ack: new AckTracker({maxAckDelayMs: MAX_ACK_DELAY_MS, ackDelayExponent: ACK_DELAY_EXPONENT, immediate: id !== 2}),
      nextPn: 0,
      read: null,
      write: null,
      cryptoOut: new CryptoSendStream(),
      cryptoIn: new CryptoRecvStream(),
      discarded: false,
      probes: 0,
    });
    this.spaces = [mk(0), mk(1), mk(2)];
    const maxDatagram = Math.max(MIN_INITIAL, Math.min(cfg.params.maxSendUdpPayloadSize, 65527));
    this.recovery = new LossRecovery<SentRecord>({maxDatagramSize: Math.min(maxDatagram, 1452)});
    this.recovery.peerCompletedAddressValidation = this.role === 'server';
    this.streams = new StreamManager({role: this.role, local: cfg.params});
    this.idleTimeoutMs = cfg.params.maxIdleTimeoutMs;
    this.idleStart = this.now();
    this.addressValidated = this.role === 'client';
    if (this.role === 'client') {
      this.odcid = this.random(8);
      this.cids.setInitial(this.odcid);
      this.installInitialKeys(this.odcid);
      this.tls = this.makeTls(null);
      this.tls.start();
      this.pumpTls();
    } else {
      this.odcid = null;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Setup
  // -------------------------------------------------------------------------------------------

  private makeTls(odcid: Buffer | null): TlsHandshake {
    const params = transportParametersFromEngine(
      this.cfg.params,
      {initialSourceConnectionId: this.scid, ...(odcid !== null ? {originalDestinationConnectionId: odcid} : {})},
      {ackDelayExponent: ACK_DELAY_EXPONENT, maxAckDelayMs: MAX_ACK_DELAY_MS, activeConnectionIdLimit: ACTIVE_CID_LIMIT},
    );
    return new TlsHandshake({
      role: this.role,
      alpn: this.cfg.alpn,
      ...(this.role === 'client' && this.sni !== null ? {serverName: this.sni} : {}),
      transportParams: encodeTransportParameters(params),
      certChain: this.cfg.certChain,
      ...(this.cfg.privateKey !== undefined ? {privateKey: this.cfg.privateKey} : {}),
      ca: this.cfg.ca,
      verifyPeer: this.cfg.verifyPeer,
      verifyAllowFail: this.cfg.verifyAllowFail,
      random: () => this.random(32),
    });
  }

  private installInitialKeys(dcid: Buffer): void {
    const k = initialKeys(dcid);
    const s = this.spaces[0];
    s.read = new PacketProtector(this.role === 'client' ? k.server : k.client);
    s.write = new PacketProtector(this.role === 'client' ? k.client : k.server);
  }

  // -------------------------------------------------------------------------------------------
  // Public API (QuicEngineConnection)
  // -------------------------------------------------------------------------------------------

  recv(datagram: Buffer): void {
    if (this.state === 'closed') return;
    try {
      this.recvDatagram(datagram);
    } catch (err) {
      this.internalError(err);
    }
  }

  send(out: Buffer): number | null {
    if (this.state === 'closed' || this.state === 'draining') return null;
    try {
      return this.sendDatagram(out);
    } catch (err) {
      this.internalError(err);
      return null;
    }
  }

  timeout(): number | null {
    if (this.state === 'closed') return null;
    const at = this.nextTimer();
    if (at === null) return null;
    return Math.max(0, at - this.now());
  }

  onTimeout(): void {
    if (this.state === 'closed') return;
    try {
      this.handleTimeout();
    } catch (err) {
      this.internalError(err);
    }
  }

  close(app: boolean, code: number, reason: Buffer): boolean {
    if (this.state !== 'open') return false;
    this.local = {isApp: app, code, reason: Buffer.from(reason)};
    if (!this.receivedAny) {
      // quiche: nothing heard from the peer yet, so nothing to tell it.
      this.state = 'closed';
      return true;
    }
    this.enterClosing();
    return true;
  }

  isEstablished(): boolean {
    return this.handshakeComplete;
  }
  isDraining(): boolean {
    return this.state === 'closing' || this.state === 'draining';
  }
  isClosed(): boolean {
    return this.state === 'closed';
  }
  isTimedOut(): boolean {
    return this.timedOut;
  }
  peerCertChain(): Buffer[] | null {
    const c = this.tls?.peerCertChain;
    return c !== undefined && c.length > 0 ? c : null;
  }
  serverName(): string | null {
    if (this.role === 'client') return this.sni;
    return this.tls?.serverName ?? null;
  }
  applicationProto(): string {
    return this.tls?.alpn ?? '';
  }
  peerError(): QuicErrorInfo | null {
    return this.peer;
  }
  localError(): QuicErrorInfo | null {
    return this.local;
  }
  sendAckEliciting(): void {
    if (this.state === 'open') this.pingPending = true;
  }

  /** Test hook: start a key update at the next opportunity (RFC 9001 §6); false when not allowed now. */
  initiateKeyUpdate(): boolean {
    this.forceKeyUpdate = true;
    return this.keyUpdateAllowed();
  }

  streamSend(id: number, data: Buffer, fin: boolean): number | null {
    return this.streams.streamSend(id, data, fin);
  }
  streamRecv(id: number, buf: Buffer): [number, boolean] | null {
    return this.streams.streamRecv(id, buf);
  }
  streamShutdown(id: number, direction: ShutdownDirection, code: number): void {
    this.streams.streamShutdown(id, direction, code);
  }
  streamCapacity(id: number): number {
    return this.streams.streamCapacity(id);
  }
  readableStreams(): Iterable<number> {
    return this.streams.readable();
  }
  writableStreams(): Iterable<number> {
    return this.streams.writable();
  }

  stats(): Record<string, unknown> {
    const rtt = this.recovery.rtt;
    return {
      sent: this.st.sent,
      recv: this.st.recv,
      lost: this.st.lost,
      sentBytes: this.st.sentBytes,
      recvBytes: this.st.recvBytes,
      dropped: this.st.dropped,
      duplicates: this.st.duplicates,
      rtt: rtt.smoothedRtt,
      minRtt: rtt.minRtt,
      cwnd: this.recovery.cc.congestionWindow,
      bytesInFlight: this.recovery.cc.bytesInFlight,
      keyUpdates: this.keyUpdates,
      keyPhase: this.app?.generation ?? 0,
      streams: this.streams.stats(),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Receiving
  // -------------------------------------------------------------------------------------------

  private recvDatagram(datagram: Buffer): void {
    if (this.state === 'draining') return;
    this.st.recvBytes += datagram.length;
    this.bytesReceived += datagram.length;
    let off = 0;
    let first: PacketHeader | null = null;
    let anyOk = false;
    while (off < datagram.length && (this.state as string) !== 'closed') {
      const res = parseHeader(datagram, off, this.scid.length);
      if (!res.ok) break;
      const h = res.header;
      if (first !== null && !first.dcid.equals(h.dcid)) break;
      first ??= h;
      const end = off + h.packetLength;
      const pkt = datagram.subarray(off, end);
      off = end;
      if (h.form === 'short') {
        if (this.recvPacket(2, h.pnOffset, pkt, h)) anyOk = true;
        else if (!anyOk && this.cids.resetTokens.length > 0 && isStatelessReset(datagram, this.cids.resetTokens)) {
          this.onStatelessReset(datagram);
          return;
        }
      } else if (h.type === 'initial' || h.type === 'handshake') {
        if (this.recvPacket(h.type === 'initial' ? 0 : 1, h.pnOffset, pkt, h)) anyOk = true;
      }
      // 0-RTT, Retry, Version Negotiation, other versions: not used by receptor; dropped.
    }
    if (anyOk && this.state === 'closing') this.maybeResendClose();
  }

  /** Processes one packet; false when it was dropped (undecryptable, duplicate, wrong CID). */
  private recvPacket(sid: SpaceId, pnOffset: number, pkt: Buffer, h: PacketHeader): boolean {
    if (h.form === 'long' && h.type !== 'initial' && h.type !== 'handshake') return false;
    if (this.role === 'server' && this.tls === null) {
      // First packet of a server connection: the client's Initial decides the Initial keys.
      if (h.form !== 'long' || h.type !== 'initial') return this.drop();
      if (h.dcid.length < 8) return this.drop();
      this.odcid = Buffer.from(h.dcid);
      this.cids.setInitial(Buffer.from(h.scid));
      this.installInitialKeys(this.odcid);
      this.tls = this.makeTls(this.odcid);
    }
    if (!h.dcid.equals(this.scid) && !(h.form === 'long' && this.role === 'server' && this.odcid !== null && h.dcid.equals(this.odcid))) return this.drop();
    const space = this.spaces[sid];
    if (space.discarded) return this.drop();
    let opened: {pn: number; payload: Buffer; firstByte: number} | null;
    if (sid === 2) opened = this.open1Rtt(pkt, pnOffset);
    else {
      if (space.read === null) return this.drop();
      opened = this.openWith(space.read, pkt, pnOffset, space.ack.largestReceived);
    }
    if (opened === null) return this.drop();
    const {pn, payload, firstByte} = opened;
    if (this.state === 'open') {
      const reserved = h.form === 'short' ? shortHeaderBits(firstByte).reserved : longHeaderReservedBits(firstByte);
      if (reserved !== 0) {
        this.closeWithError({code: TransportError.PROTOCOL_VIOLATION, reason: 'reserved bits set'});
        return true;
      }
    }
    if (space.ack.isDuplicate(pn)) {
      this.st.duplicates++;
      return false;
    }
    this.st.recv++;
    const now = this.now();
    this.receivedAny = true;
    this.idleStart = now;
    this.ackElicitingSinceRecv = false;
    if (sid === 0 && this.role === 'client' && this.serverScidSeen === null && h.form === 'long') {
      // RFC 9000 §7.2: the client switches to the server's chosen CID.
      this.serverScidSeen = Buffer.from(h.scid);
      this.cids.setInitial(this.serverScidSeen);
    }
    if (sid === 1) {
      if (this.role === 'server' && !this.addressValidated) {
        this.addressValidated = true;
      }
      if (this.role === 'server') this.discardSpace(0);
      else this.recovery.peerCompletedAddressValidation = true;
    }
    const dec = decodeFrames(payload);
    if (!dec.ok) {
      this.closeWithError(dec);
      return true;
    }
    const bad = checkFramesAllowed(dec.frames, SPACE_TYPES[sid] as PacketSpaceType);
    if (bad !== null) {
      this.closeWithError(bad);
      return true;
    }
    let eliciting = false;
    for (const f of dec.frames) {
      if (isAckEliciting(f)) eliciting = true;
      if (this.state === 'open' || f.type === 'connection_close') {
        const err = this.onFrame(space, f, now);
        if (err !== null) {
          this.closeWithError(err);
          return true;
        }
      }
      if ((this.state as string) === 'closed' || (this.state as string) === 'draining') return true;
    }
    if (!space.discarded) space.ack.onPacketReceived(pn, eliciting, now);
    return true;
  }

  private drop(): false {
    this.st.dropped++;
    return false;
  }

  private openWith(p: PacketProtector, pkt: Buffer, pnOffset: number, largest: number): {pn: number; payload: Buffer; firstByte: number} | null {
    const opened = p.open(pkt, pnOffset, largest, true);
    if (opened === null) this.checkIntegrityLimit(p);
    return opened;
  }

  /** 1-RTT: header protection is the same for every key generation; the Key Phase bit picks the keys. */
  private open1Rtt(pkt: Buffer, pnOffset: number): {pn: number; payload: Buffer; firstByte: number} | null {
    const ks = this.app;
    if (ks === null) return null;
    const saved0 = pkt[0] as number;
    const savedPn = this.savedPn;
    pkt.copy(savedPn, 0, pnOffset, pnOffset + 4);
    const restore = (): null => {
      pkt[0] = saved0;
      savedPn.copy(pkt, pnOffset);
      return null;
    };
    const hp = unprotectHeader(ks.read.keys, pkt, pnOffset);
    if (hp === null) return null;
    const space = this.spaces[2];
    const pn = decodePacketNumber(space.ack.largestReceived, hp.truncatedPn, hp.pnLength * 8);
    const hend = pnOffset + hp.pnLength;
    const header = pkt.subarray(0, hend);
    const sealed = pkt.subarray(hend);
    const phase = shortHeaderBits(pkt[0] as number).keyPhase;
    if (phase === ks.phase) {
      const payload = openPayload(ks.read.keys, pn, header, sealed);
      if (payload === null) {
        ks.read.usage.openFailures++;
        this.checkIntegrityLimit(ks.read);
        return restore();
      }
      if (this.firstRecvPnInPhase === Infinity || pn < this.firstRecvPnInPhase) {
        if (this.firstRecvPnInPhase === Infinity && ks.generation > 0) this.scheduleKeyDiscard();
        this.firstRecvPnInPhase = Math.min(this.firstRecvPnInPhase, pn);
      }
      return {pn, payload, firstByte: pkt[0] as number};
    }
    // Flipped bit: an old packet of the previous phase, or the peer's key update.
    if (ks.previousRead !== null && pn < this.firstRecvPnInPhase) {
      const payload = openPayload(ks.previousRead.keys, pn, header, sealed);
      if (payload === null) return restore();
      return {pn, payload, firstByte: pkt[0] as number};
    }
    const payload = openPayload(ks.nextRead.keys, pn, header, sealed);
    if (payload === null) {
      ks.nextRead.usage.openFailures++;
      this.checkIntegrityLimit(ks.nextRead);
      return restore();
    }
    if (!this.handshakeConfirmed) return restore(); // no key update before confirmation (RFC 9001 §6.1)
    // RFC 9001 §6.2 (as quic-go): a second update before we sent anything with the current keys.
    if (ks.generation > 0 && !this.sentInPhase) {
      this.closeWithError({code: TransportError.KEY_UPDATE_ERROR, reason: 'keys updated too quickly'});
      return null;
    }
    this.rollKeys();
    this.firstRecvPnInPhase = pn;
    this.scheduleKeyDiscard();
    return {pn, payload, firstByte: pkt[0] as number};
  }

  /** RFC 9001 §6.6: too many forgeries on one key end the connection. */
  private checkIntegrityLimit(p: PacketProtector): void {
    if (p.usage.integrityExceeded) this.closeWithError({code: TransportError.AEAD_LIMIT_REACHED, reason: 'AEAD integrity limit reached'});
  }

  private rollKeys(): void {
    const ks = this.app as KeyPhaseState;
    ks.update();
    this.keyUpdates++;
    this.currentPhaseAcked = false;
    this.sentInPhase = false;
    this.firstRecvPnInPhase = Infinity;
    this.forceKeyUpdate = false;
  }

  private scheduleKeyDiscard(): void {
    this.keyDiscardAt = this.now() + 3 * this.ptoMs();
  }

  private onFrame(space: Space, f: Frame, now: number): WireError | null {
    switch (f.type) {
      case 'padding':
      case 'ping':
        return null;
      case 'ack':
        return this.onAck(space, f, now);
      case 'crypto':
        return this.onCrypto(space, f.offset, f.data);
      case 'stream':
      case 'reset_stream':
      case 'stop_sending':
      case 'max_data':
      case 'max_stream_data':
      case 'max_streams':
      case 'data_blocked':
      case 'stream_data_blocked':
      case 'streams_blocked':
        return this.streams.onFrame(f);
      case 'new_token':
        if (this.role === 'server') return {ok: false, code: TransportError.PROTOCOL_VIOLATION, reason: 'client sent NEW_TOKEN', frameType: 0x07};
        return null;
      case 'new_connection_id':
        return this.cids.onNewConnectionId(f.sequence, f.retirePriorTo, f.connectionId, f.statelessResetToken);
      case 'retire_connection_id':
        // We issue no CIDs beyond sequence 0 (the one in use).
        if (f.sequence > 0) return {ok: false, code: TransportError.PROTOCOL_VIOLATION, reason: 'retired a connection ID never issued', frameType: 0x19};
        return null;
      case 'path_challenge':
        if (this.pathResponses.length < MAX_QUEUED_CONTROL) this.pathResponses.push(f.data);
        return null;
      case 'path_response':
        return null;
      case 'handshake_done':
        if (this.role === 'server') return {ok: false, code: TransportError.PROTOCOL_VIOLATION, reason: 'client sent HANDSHAKE_DONE', frameType: 0x1e};
        this.confirmHandshake();
        return null;
      case 'connection_close':
        this.peer = {isApp: f.application, code: f.errorCode, reason: Buffer.from(f.reason)};
        this.enterDraining();
        return null;
    }
  }

  private onAck(space: Space, f: Extract<Frame, {type: 'ack'}>, now: number): WireError | null {
    const delayMs = space.id === 2 ? decodeAckDelay(f.ackDelay, this.peerAckDelayExponent) / 1000 : 0;
    const res = this.recovery.onAckReceived(space.id, f.ranges, delayMs, now);
    if (res === null) return {ok: false, code: TransportError.PROTOCOL_VIOLATION, reason: 'ACK for a packet never sent', frameType: 0x02};
    for (const p of res.acked) this.onPacketAcked(p);
    this.onPacketsLost(res.lost);
    return null;
  }

  private onPacketAcked(p: SentPacket<SentRecord>): void {
    const space = this.spaces[p.space];
    if (p.space === 2 && this.app !== null && p.frames.keyGen === this.app.generation) this.currentPhaseAcked = true;
    for (const it of p.frames.items) {
      switch (it.k) {
        case 'crypto':
          space.cryptoOut.onAcked(it.offset, it.len);
          break;
        case 'ack':
          space.ack.onAckAcked(it.largest);
          break;
        case 'frame':
          this.streams.onAcked(it.f);
          break;
        default:
          break;
      }
    }
  }

  private onPacketsLost(lost: ReadonlyArray<SentPacket<SentRecord>>): void {
    for (const p of lost) {
      this.st.lost++;
      const space = this.spaces[p.space];
      for (const it of p.frames.items) {
        switch (it.k) {
          case 'crypto':
            if (!space.discarded) space.cryptoOut.onLost(it.offset, it.len);
            break;
          case 'frame':
            this.streams.onLost(it.f);
            break;
          case 'hsdone':
            this.hsDonePending = true;
            break;
          case 'retire':
            this.cids.queueRetire(it.seq);
            break;
          default:
            break;
        }
      }
    }
  }

  private onCrypto(space: Space, offset: number, data: Buffer): WireError | null {
    const r = space.cryptoIn.receive(offset, data);
    if (!Array.isArray(r)) return r;
    const tls = this.tls;
    if (tls === null) return null;
    for (const chunk of r) if (chunk.length > 0) tls.receive(SPACE_LEVEL[space.id] as Level, chunk);
    return this.pumpTls();
  }

  /** Moves TLS output and secrets into the spaces; checks transport parameters; completion. */
  private pumpTls(): WireError | null {
    const tls = this.tls;
    if (tls === null) return null;
    for (const o of tls.takeOutput()) {
      const s = this.spaces[LEVEL_SPACE[o.level]];
      if (!s.discarded) s.cryptoOut.push(o.data);
    }
    for (const sec of tls.takeSecrets()) {
      const suite = cipherSuiteById(sec.suite);
      if (suite === undefined) return {ok: false, code: TransportError.INTERNAL_ERROR, reason: 'unknown cipher suite'};
      const keys = derivePacketKeys(suite, sec.secret);
      if (sec.level === 'handshake') {
        const s = this.spaces[1];
        if (sec.direction === 'read') s.read = new PacketProtector(keys);
        else s.write = new PacketProtector(keys);
      } else if (sec.direction === 'read') this.appReadSecret = keys;
      else this.appWriteSecret = keys;
    }
    if (this.app === null && this.appReadSecret !== null && this.appWriteSecret !== null) {
      this.app = new KeyPhaseState(this.appReadSecret, this.appWriteSecret);
    }
    const err = tls.error;
    if (err !== undefined) {
      // CRYPTO_ERROR 0x100 + alert; the reason stays local (Go and quiche send none).
      return {ok: false, code: 0x100 + (err.alert & 0xff), reason: ''};
    }
    if (this.peerParams === null && tls.peerTransportParams !== undefined) {
      const e = this.onPeerParams(tls.peerTransportParams);
      if (e !== null) return e;
    }
    if (tls.complete && !this.handshakeComplete) {
      if (this.app === null || this.peerParams === null) return null;
      this.handshakeComplete = true;
      if (this.role === 'server') {
        this.hsDonePending = true;
        this.confirmHandshake();
      }
    }
    return null;
  }

  private onPeerParams(raw: Buffer): WireError | null {
    const dec = decodeTransportParameters(raw, this.role === 'client' ? 'server' : 'client');
    if (!dec.ok) return dec;
    const p = dec.params;
    const tpErr = (reason: string): WireError => ({ok: false, code: TransportError.TRANSPORT_PARAMETER_ERROR, reason});
    // RFC 9000 §7.3: authenticate the connection IDs of the handshake.
    if (this.role === 'client') {
      if (p.originalDestinationConnectionId === undefined || this.odcid === null || !p.originalDestinationConnectionId.equals(this.odcid)) {
        return tpErr('original_destination_connection_id mismatch');
      }
      if (p.initialSourceConnectionId === undefined || this.serverScidSeen === null || !p.initialSourceConnectionId.equals(this.serverScidSeen)) {
        return tpErr('initial_source_connection_id mismatch');
      }
      if (p.retrySourceConnectionId !== undefined) return tpErr('retry_source_connection_id without Retry');
      if (p.statelessResetToken !== undefined) {
        this.cids.addResetToken(p.statelessResetToken);
      }
    } else if (p.initialSourceConnectionId === undefined || !p.initialSourceConnectionId.equals(this.cids.current)) {
      return tpErr('initial_source_connection_id mismatch');
    }
    this.peerParams = p;
    this.peerAckDelayExponent = p.ackDelayExponent;
    this.recovery.peerMaxAckDelay = p.maxAckDelayMs;
    this.peerMaxUdpPayload = p.maxUdpPayloadSize;
    const ours = this.cfg.params.maxIdleTimeoutMs;
    const theirs = p.maxIdleTimeoutMs;
    this.idleTimeoutMs = ours === 0 ? theirs : theirs === 0 ? ours : Math.min(ours, theirs);
    this.streams.setPeerParams(p);
    return null;
  }

  private confirmHandshake(): void {
    if (this.handshakeConfirmed) return;
    this.handshakeConfirmed = true;
    this.recovery.handshakeConfirmed = true;
    this.recovery.peerCompletedAddressValidation = true;
    this.discardSpace(0);
    this.discardSpace(1);
  }

  private discardSpace(id: SpaceId): void {
    const s = this.spaces[id];
    if (s.discarded) return;
    s.discarded = true;
    s.read = null;
    s.write = null;
    s.probes = 0;
    s.cryptoOut.clear();
    this.recovery.discardSpace(id);
  }

  private onStatelessReset(datagram: Buffer): void {
    const token = datagram.subarray(datagram.length - 16).toString('hex');
    this.local = {isApp: false, code: TransportError.NO_ERROR, reason: Buffer.from(`received a stateless reset with token ${token}`)};
    this.state = 'closed';
  }

  // -------------------------------------------------------------------------------------------
  // Closing
  // -------------------------------------------------------------------------------------------

  private closeWithError(e: {code: number; reason: string; frameType?: number}): void {
    if (this.state !== 'open') return;
    this.local = {isApp: false, code: e.code, reason: Buffer.from(e.reason)};
    this.closeFrameType = e.frameType ?? 0;
    this.enterClosing();
  }

  private closeFrameType = 0;

  private internalError(err: unknown): void {
    if (this.state !== 'open') {
      if (this.state === 'closing') this.state = 'closed';
      return;
    }
    const msg = err instanceof Error ? err.message : String(err);
    this.closeWithError({code: TransportError.INTERNAL_ERROR, reason: `internal error: ${msg}`.slice(0, 200)});
  }

  private enterClosing(): void {
    this.state = 'closing';
    this.closeFramePending = true;
    this.closeEndAt = this.now() + 3 * this.ptoMs();
  }

  private enterDraining(): void {
    if (this.state === 'closed') return;
    this.state = 'draining';
    this.closeEndAt = this.now() + 3 * this.ptoMs();
  }

  private maybeResendClose(): void {
    // Rate-limited: after 1, 2, 4, 8, ... packets received in the closing state.
    this.closeRecvCount++;
    if (this.closeRecvCount >= this.closeNextResend) {
      this.closeNextResend *= 2;
      this.closeFramePending = true;
    }
  }

  private ptoMs(): number {
    return this.recovery.rtt.pto(this.recovery.peerMaxAckDelay, true);
  }

  // -------------------------------------------------------------------------------------------
  // Timers
  // -------------------------------------------------------------------------------------------

  private idleDeadline(): number | null {
    if (this.idleTimeoutMs <= 0) return null;
    return this.idleStart + Math.max(this.idleTimeoutMs, 3 * this.ptoMs());
  }

  private nextTimer(): number | null {
    if (this.state === 'closing' || this.state === 'draining') return this.closeEndAt;
    let at: number | null = null;
    const take = (t: number | null): void => {
      if (t !== null && (at === null || t < at)) at = t;
    };
    take(this.recovery.lossDetectionTimer());
    take(this.spaces[2].ack.ackDeadline());
    take(this.idleDeadline());
    take(this.keyDiscardAt);
    return at;
  }

  private handleTimeout(): void {
    const now = this.now();
    if (this.state === 'closing' || this.state === 'draining') {
      if (now >= this.closeEndAt) this.state = 'closed';
      return;
    }
    const idle = this.idleDeadline();
    if (idle !== null && now >= idle) {
      this.timedOut = true;
      this.state = 'closed';
      return;
    }
    if (this.keyDiscardAt !== null && now >= this.keyDiscardAt) {
      this.keyDiscardAt = null;
      this.app?.dropPrevious();
    }
    const ldt = this.recovery.lossDetectionTimer();
    if (ldt !== null && now >= ldt) {
      const r = this.recovery.onLossDetectionTimeout(now);
      this.onPacketsLost(r.lost);
      if (r.probe !== null) this.armProbe(r.probe.space, r.probe.count);
    }
  }

  private armProbe(sid: SpaceId, count: number): void {
    let space = this.spaces[sid];
    // A space without keys (client anti-deadlock, RFC 9002 §6.2.2.1): probe the best one we have.
    if (space.write === null && !(sid === 2 && this.app !== null)) {
      const alt = [this.spaces[1], this.spaces[0]].find((s) => s.write !== null);
      if (alt === undefined) return;
      space = alt;
    }
    space.probes = Math.max(space.probes, count);
    if (space.id !== 2) space.cryptoOut.requeueUnacked();
  }

  // -------------------------------------------------------------------------------------------
  // Sending
  // -------------------------------------------------------------------------------------------

  private maxDatagram(outLen: number): number {
    let max = Math.min(outLen, this.cfg.params.maxSendUdpPayloadSize);
    if (!this.handshakeComplete) max = Math.min(max, MIN_INITIAL);
    else max = Math.min(max, this.peerMaxUdpPayload);
    if (!this.addressValidated) max = Math.min(max, 3 * this.bytesReceived - this.bytesSentUnvalidated);
    return max;
  }

  private sendDatagram(out: Buffer): number | null {
    if (this.role === 'server' && this.tls === null) return null;
    const max = this.maxDatagram(out.length);
    if (max < 64) return null;
    if (this.state === 'closing') return this.sendClose(out, max);
    if (this.state !== 'open') return null;
    const now = this.now();
    this.maybeInitiateKeyUpdate();
    const w = this.scratch;
    w.length = 0;
    const pieces: Piece[] = [];
    let used = 0;
    let cc = this.recovery.sendAllowance();
    let needPad = false;
    for (const sid of [0, 1, 2] as SpaceId[]) {
      const space = this.spaces[sid];
      if (space.discarded) continue;
      if (sid !== 2 && space.write === null) continue;
      if (sid === 2 && (this.app === null || !this.handshakeComplete)) continue;
      // quiche drops what follows a packet it cannot open: no 1-RTT after a Handshake packet
      // the server may no longer read (it discards those keys on completion).
      if (sid === 2 && pieces.some((p) => p.space === 1) && this.spaces[1].cryptoOut.sent > 0 && !this.spaces[1].cryptoOut.hasPending()) {
        if (pieces.every((p) => !p.record.items.some((it) => it.k === 'crypto'))) break;
      }
      const pn = space.nextPn;
      const pnLen = packetNumberLength(pn, this.recovery.largestAcked(sid));
      const headerLen = this.headerLength(sid, pnLen);
      const room = max - used - headerLen - AEAD_TAG_LENGTH;
      if (room < 8) break;
      const probing = space.probes > 0;
      // Ack-eliciting data may go while bytes in flight are below the window (one packet may overshoot).
      const elicitRoom = probing || cc > 0 ? room : 0;
      const piece = this.fillPacket(space, pn, pnLen, headerLen, room, elicitRoom, now);
      if (piece === null) continue;
      pieces.push(piece);
      const size = headerLen + (piece.end - piece.start) + AEAD_TAG_LENGTH;
      used += size;
      if (piece.ackEliciting) cc -= size;
      if (sid === 0 && (this.role === 'client' || piece.ackEliciting)) needPad = true;
    }
    if (pieces.length === 0) return null;
    const last = pieces[pieces.length - 1] as Piece;
    if (needPad && used < MIN_INITIAL && max >= MIN_INITIAL) {
      const pad = MIN_INITIAL - used;
      w.zeros(pad);
      last.end += pad;
      used += pad;
    }
    return this.writePieces(out, pieces, now);
  }

  private headerLength(sid: SpaceId, pnLen: number): number {
    if (sid === 2) return 1 + this.cids.current.length + pnLen;
    // Long header: type, version, CIDs, token length (Initial: 0), 2-byte Length, packet number.
    return 1 + 4 + 1 + this.cids.current.length + 1 + this.scid.length + (sid === 0 ? 1 : 0) + 2 + pnLen;
  }

  /** Writes one packet's frames into the scratch writer; null when nothing is worth sending. */
  private fillPacket(space: Space, pn: number, pnLen: 1 | 2 | 3 | 4, headerLen: number, room: number, elicitRoom: number, now: number): Piece | null {
    const w = this.scratch;
    const start = w.length;
    const record: SentRecord = {items: [], keyGen: space.id === 2 ? (this.app?.generation ?? 0) : 0};
    let ackLargest = -1;
    let eliciting = false;
    const limit = start + room;
    const elimit = start + Math.max(0, elicitRoom);
    const ackDue = space.ack.ackDue(now);
    if (space.ack.hasUnacked() && (ackDue || this.hasElicitingWork(space))) {
      const ack = space.ack.buildAck(now);
      if (ack !== null && frameSize(ack) <= room) {
        writeFrame(w, ack);
        ackLargest = (ack.ranges[0] as {largest: number}).largest;
        record.items.push({k: 'ack', largest: ackLargest});
      }
    }
    const fits = (n: number): boolean => w.length + n <= elimit && w.length + n <= limit;
    if (space.id === 2) {
      while (this.pathResponses.length > 0 && fits(9)) {
        writeFrame(w, {type: 'path_response', data: this.pathResponses.shift() as Buffer});
        eliciting = true;
      }
      if (this.hsDonePending && fits(1)) {
        this.hsDonePending = false;
        writeFrame(w, {type: 'handshake_done'});
        record.items.push({k: 'hsdone'});
        eliciting = true;
      }
      while (this.cids.retireQueue.length > 0 && fits(9)) {
        const seq = this.cids.retireQueue.shift() as number;
        writeFrame(w, {type: 'retire_connection_id', sequence: seq});
        record.items.push({k: 'retire', seq});
        eliciting = true;
      }
    }
    // CRYPTO: retransmissions first, then new data.
    for (;;) {
      const budget = Math.min(elimit, limit) - w.length;
      if (budget < 8 || !space.cryptoOut.hasPending()) break;
      const max = maxCryptoDataFor(budget, space.cryptoOut.sent + 0xffff);
      const c = space.cryptoOut.next(max);
      if (c === null) break;
      writeFrame(w, {type: 'crypto', offset: c.offset, data: c.data});
      record.items.push({k: 'crypto', offset: c.offset, len: c.data.length});
      eliciting = true;
    }
    if (space.id === 2 && this.handshakeComplete) {
      const budget = Math.min(elimit, limit) - w.length;
      if (budget > 0) {
        for (const f of this.streams.popControlFrames(budget, now, this.recovery.rtt.smoothedRtt)) {
          writeFrame(w, f);
          record.items.push({k: 'frame', f});
          eliciting = true;
        }
      }
      for (;;) {
        const b = Math.min(elimit, limit) - w.length;
        if (b < 16) break;
        const f = this.streams.popStreamFrame(b);
        if (f === null) break;
        writeFrame(w, f);
        record.items.push({k: 'frame', f});
        eliciting = true;
      }
    }
    const wantPing = space.probes > 0 || (this.pingPending && (space.id === 2 || (this.app === null && space.write !== null)));
    if (!eliciting && wantPing && w.length + 1 <= limit) {
      writeFrame(w, {type: 'ping'});
      record.items.push({k: 'ping'});
      eliciting = true;
    }
    if (eliciting) {
      if (space.probes > 0) space.probes--;
      if (space.id === 2 || this.app === null) this.pingPending = false;
    }
    if (!eliciting && !(ackDue && ackLargest >= 0)) {
      // Nothing but a not-yet-due ACK: keep it for later.
      w.length = start;
      return null;
    }
    if (ackLargest >= 0) space.ack.onAckSent();
    // The header protection sample needs 4 bytes after the packet number start (RFC 9001 §5.4.2).
    const minPayload = Math.max(0, 4 - pnLen);
    if (w.length - start < minPayload) w.zeros(minPayload - (w.length - start));
    return {space: space.id, pn, pnLen, start, end: w.length, headerLen, ackEliciting: eliciting, record, ackLargest};
  }

  /** Whether the space has ack-eliciting frames to send (an ACK may then ride along). */
  private hasElicitingWork(space: Space): boolean {
    if (space.probes > 0 || space.cryptoOut.hasPending() || this.pingPending) return true;
    if (space.id !== 2) return false;
    return this.pathResponses.length > 0 || this.hsDonePending || this.cids.retireQueue.length > 0 || (this.handshakeComplete && this.streams.hasPending());
  }

  private writePieces(out: Buffer, pieces: Piece[], now: number): number {
    let off = 0;
    const payloads = this.scratch.view();
    for (const p of pieces) {
      const space = this.spaces[p.space];
      const payload = payloads.subarray(p.start, p.end);
      const hlen = this.writeHeader(out, off, p.space, p.pn, p.pnLen, payload.length);
      const pnOffset = hlen - p.pnLen;
      const protector = p.space === 2 ? (this.app as KeyPhaseState).write : (space.write as PacketProtector);
      const end = protector.sealInto(out, off, out.subarray(off, off + hlen), pnOffset, p.pnLen, p.pn, payload);
      const size = end - off;
      off = end;
      space.nextPn = p.pn + 1;
      if (p.space === 2) this.sentInPhase = true;
      this.recovery.onPacketSent({pn: p.pn, space: p.space, timeSent: now, size, ackEliciting: p.ackEliciting, inFlight: p.ackEliciting, frames: p.record});
      this.st.sent++;
      if (p.ackEliciting && !this.ackElicitingSinceRecv) {
        // Idle timer restarts on the first ack-eliciting packet after a receipt (RFC 9000 §10.1).
        this.ackElicitingSinceRecv = true;
        this.idleStart = now;
      }
      if (p.space === 1 && this.role === 'client' && !this.sentHandshakePacket) {
        this.sentHandshakePacket = true;
        this.discardSpace(0); // RFC 9001 §4.9.1
      }
    }
    this.st.sentBytes += off;
    if (!this.addressValidated) this.bytesSentUnvalidated += off;
    return off;
  }

  /** Writes an unprotected header into out at off; returns its length (packet number included). */
  private writeHeader(out: Buffer, off: number, sid: SpaceId, pn: number, pnLen: number, payloadLen: number): number {
    let o = off;
    if (sid === 2) {
      const phase = (this.app as KeyPhaseState).phase;
      out[o++] = 0x40 | (phase ? 0x04 : 0) | (pnLen - 1);
      o += this.cids.current.copy(out, o);
    } else {
      out[o++] = 0xc0 | ((LONG_TYPE_BITS[sid] as number) << 4) | (pnLen - 1);
      out.writeUInt32BE(1, o);
      o += 4;
      out[o++] = this.cids.current.length;
      o += this.cids.current.copy(out, o);
      out[o++] = this.scid.length;
      o += this.scid.copy(out, o);
      if (sid === 0) out[o++] = 0; // no token
      o = writeVarint(out, o, pnLen + payloadLen + AEAD_TAG_LENGTH, 2);
    }
    for (let i = pnLen - 1; i >= 0; i--) out[o++] = Math.floor(pn / 2 ** (8 * i)) & 0xff;
    return o - off;
  }

  private keyUpdateAllowed(): boolean {
    const ks = this.app;
    if (ks === null || !this.handshakeConfirmed) return false;
    return ks.generation === 0 ? true : this.currentPhaseAcked && this.firstRecvPnInPhase !== Infinity;
  }

  private maybeInitiateKeyUpdate(): void {
    const ks = this.app;
    if (ks === null) return;
    const limit = Math.min(ks.write.usage.limits.confidentiality - KEY_UPDATE_MARGIN, this.keyUpdatePackets);
    if (!this.forceKeyUpdate && ks.write.usage.sealed < limit) return;
    if (!this.keyUpdateAllowed()) return;
    this.rollKeys();
    this.scheduleKeyDiscard();
  }

  /**
   * Closing state: CONNECTION_CLOSE in every space we have keys for, one packet per datagram
   * and 1-RTT first (quiche drops the rest of a datagram after a packet it cannot open, e.g. a
   * Handshake packet once it discarded those keys).
   */
  private sendClose(out: Buffer, max: number): number | null {
    if (this.closeFramePending) {
      this.closeFramePending = false;
      this.closeQueue = ([2, 1, 0] as SpaceId[]).filter((sid) => {
        const space = this.spaces[sid];
        if (space.discarded) return false;
        return sid === 2 ? this.app !== null && this.handshakeComplete : space.write !== null;
      });
    }
    const sid = this.closeQueue.shift();
    if (sid === undefined) return null;
    const e = this.local as QuicErrorInfo;
    const space = this.spaces[sid];
    const pn = space.nextPn;
    const pnLen = packetNumberLength(pn, this.recovery.largestAcked(sid));
    const headerLen = this.headerLength(sid, pnLen);
    let f: Frame;
    if (e.isApp && sid !== 2) {
      // RFC 9000 §10.2.3: no application close before 1-RTT; APPLICATION_ERROR instead.
      f = {type: 'connection_close', application: false, errorCode: TransportError.APPLICATION_ERROR, frameType: 0, reason: Buffer.alloc(0)};
    } else if (e.isApp) {
      f = {type: 'connection_close', application: true, errorCode: e.code, reason: e.reason};
    } else {
      f = {type: 'connection_close', application: false, errorCode: e.code, frameType: this.closeFrameType, reason: e.reason};
    }
    if (headerLen + frameSize(f) + AEAD_TAG_LENGTH + 4 > max) f = {...f, reason: Buffer.alloc(0)} as Frame;
    if (headerLen + frameSize(f) + AEAD_TAG_LENGTH + 4 > max) return null;
    const w = this.scratch;
    w.length = 0;
    writeFrame(w, f);
    const minPayload = Math.max(0, 4 - pnLen);
    if (w.length < minPayload) w.zeros(minPayload - w.length);
    if (sid === 0 && this.role === 'client' && max >= MIN_INITIAL) {
      const size = headerLen + w.length + AEAD_TAG_LENGTH;
      if (size < MIN_INITIAL) w.zeros(MIN_INITIAL - size);
    }
    // Close packets are not tracked by loss recovery.
    const payload = w.view();
    const hlen = this.writeHeader(out, 0, sid, pn, pnLen, payload.length);
    const protector = sid === 2 ? (this.app as KeyPhaseState).write : (space.write as PacketProtector);
    const end = protector.sealInto(out, 0, out.subarray(0, hlen), hlen - pnLen, pnLen, pn, payload);
    space.nextPn = pn + 1;
    this.st.sent++;
    this.st.sentBytes += end;
    return end;
  }

  private closeQueue: SpaceId[] = [];
}

/** Random bytes from node:crypto (the engine's default). */
export function defaultRandom(n: number): Buffer {
  return randomBytes(n);
}

/**
 * QUIC over mesh datagrams (netceptor-wire.md §11, quic-engine.md).
 *
 * Two layers live here:
 *  - {@link QuicEngine} / {@link QuicEngineConnection}: a small sans-IO interface over a QUIC
 *    implementation (packets in, packets out, timers as numbers). The quiche binding
 *    (./quiche.ts) implements it; another engine can be swapped in by implementing it too.
 *  - {@link QuicEndpoint}: the driver, independent of the engine. One endpoint stands for one
 *    local datagram socket (a mesh service). It routes received packets to connections by
 *    destination connection ID, accepts new server connections from Initial packets, flushes
 *    outgoing packets once per event-loop tick, re-arms one timer per connection and adds what
 *    the engine does not do by itself: the 15 s handshake timeout and the dialer's 15 s
 *    keep-alive.
 *
 * Mesh peers are opaque strings (e.g. `node:service`). The engine wants IP socket addresses,
 * so every peer gets a made-up, stable (while in use) IPv4 literal + port.
 */
import {randomBytes} from 'node:crypto';
import {EventEmitter} from 'node:events';
import {systemClock, type Clock, type TimerHandle} from '../../clock.js';
import {tlsAlertText} from '../../tls/go-tls-errors.js';

// ---------------------------------------------------------------------------------------------
// Constants (netceptor-wire.md §11, §13)
// ---------------------------------------------------------------------------------------------

export const QUIC_ALPN = 'netceptor';
/** quic-go reads datagrams into 1452-byte buffers and advertises max_udp_payload_size 1452. */
export const MAX_GO_QUIC_PACKET = 1452;
/**
 * The largest QUIC packet we send: a whole mesh message (16384-byte "MTU" minus the 36-byte
 * data header). quiche never sends more than the peer's advertised max_udp_payload_size, so
 * Go peers (1452) still get ≤ 1452-byte packets, and Initials stay at 1200; between our
 * nodes (65527 advertised) 16 KiB packets cut the per-packet cost (≈2.4× throughput).
 */
export const MAX_MESH_QUIC_PACKET = 16384 - 36;
/** Client Initial datagrams must be at least this long (RFC 9000 §14.1). */
export const MIN_INITIAL_PACKET = 1200;
export const DEFAULT_MAX_PACKET = MAX_MESH_QUIC_PACKET;
export const HANDSHAKE_TIMEOUT_MS = 15_000;
export const MAX_IDLE_TIMEOUT_MS = 30_000;
export const KEEPALIVE_MS = 15_000;
/** Length of the connection IDs this side chooses (quic-go uses 4 too). */
export const LOCAL_CID_LEN = 4;
/** CRYPTO_ERROR base (RFC 9001 §4.8): 0x100 + TLS alert. */
export const CRYPTO_ERROR_BASE = 0x100;
/** CRYPTO_ERROR for TLS alert 42 (bad_certificate): what Go reports for refused certificates. */
export const CRYPTO_ERROR_BAD_CERTIFICATE = 0x12a;

/** Transport parameters verified to interoperate with receptor's quic-go (quic-engine.md). */
export interface QuicTransportParams {
  maxIdleTimeoutMs: number;
  maxRecvUdpPayloadSize: number;
  maxSendUdpPayloadSize: number;
  initialMaxData: number;
  initialMaxStreamDataBidiLocal: number;
  initialMaxStreamDataBidiRemote: number;
  initialMaxStreamDataUni: number;
  initialMaxStreamsBidi: number;
  initialMaxStreamsUni: number;
  maxStreamWindow: number;
  maxConnectionWindow: number;
  disableActiveMigration: boolean;
}

export const DEFAULT_TRANSPORT_PARAMS: Readonly<QuicTransportParams> = Object.freeze({
  maxIdleTimeoutMs: MAX_IDLE_TIMEOUT_MS,
  maxRecvUdpPayloadSize: 65527,
  maxSendUdpPayloadSize: DEFAULT_MAX_PACKET,
  initialMaxData: 3 * 1024 * 1024,
  initialMaxStreamDataBidiLocal: 1024 * 1024,
  initialMaxStreamDataBidiRemote: 1024 * 1024,
  initialMaxStreamDataUni: 1024 * 1024,
  initialMaxStreamsBidi: 100,
  initialMaxStreamsUni: 100,
  maxStreamWindow: 6 * 1024 * 1024,
  maxConnectionWindow: 15 * 1024 * 1024,
  disableActiveMigration: true,
});

// ---------------------------------------------------------------------------------------------
// Sans-IO engine interface
// ---------------------------------------------------------------------------------------------

export interface HostPort {
  host: string;
  port: number;
}

/** TLS material and policy of one configuration (PEM text or bytes). */
export interface QuicTlsConfig {
  /** Own certificate chain (leaf first). Required for servers. */
  certPem?: string | Buffer;
  keyPem?: string | Buffer;
  /** Trust anchors for verifying the peer. */
  caPem?: string | Buffer;
  /**
   * Ask for (server) / require (client) the peer's certificate and run chain verification.
   * A server with verifyPeer refuses clients that present no certificate.
   */
  verifyPeer: boolean;
  /**
   * With verifyPeer: let the handshake succeed even when chain verification fails, so that the
   * caller can check `peerCertChain()` itself afterwards (and close with CRYPTO_ERROR 0x12a).
   */
  verifyAllowFail?: boolean;
}

export interface QuicConfigOptions {
  role: 'client' | 'server';
  alpn: readonly string[];
  tls: QuicTlsConfig;
  params: QuicTransportParams;
}

/** An engine-specific configuration object (opaque to the driver). */
export interface QuicEngineConfig {
  readonly engineConfig: unknown;
}

export type QuicPacketType = 'initial' | 'retry' | 'handshake' | '0rtt' | 'version-negotiation' | 'short';

export interface QuicPacketHeader {
  type: QuicPacketType;
  version: number;
  dcid: Buffer;
  scid: Buffer;
}

export interface QuicErrorInfo {
  isApp: boolean;
  code: number;
  reason: Buffer;
}

export const SHUTDOWN_READ = 0;
export const SHUTDOWN_WRITE = 1;
export type ShutdownDirection = typeof SHUTDOWN_READ | typeof SHUTDOWN_WRITE;

/**
 * One QUIC connection of a sans-IO engine. Methods throw Errors for engine failures; "nothing to
 * do" is `null`.
 */
export interface QuicEngineConnection {
  /** Processes one received datagram (may contain coalesced packets); may decrypt `packet` in place. */
  recv(packet: Buffer, from: HostPort, to: HostPort): void;
  /** Writes the next outgoing datagram into `out`; returns its length, or null when done. */
  send(out: Buffer): number | null;
  /** Milliseconds until onTimeout() is due, or null for no timer. */
  timeout(): number | null;
  onTimeout(): void;
  /** Queues stream data; returns the bytes accepted (0 when only a FIN was queued) or null when blocked. */
  streamSend(id: number, data: Buffer, fin: boolean): number | null;
  /** Reads stream data into `buf`; null when nothing is available. Throws e.g. `StreamReset(<code>)`. */
  streamRecv(id: number, buf: Buffer): [number, boolean] | null;
  streamShutdown(id: number, direction: ShutdownDirection, code: number): void;
  /** Send capacity; throws when the stream is closed and fully acknowledged (collected). */
  streamCapacity(id: number): number;
  readableStreams(): Iterable<number>;
  writableStreams(): Iterable<number>;
  /** Starts closing; returns false when it was already closing. */
  close(app: boolean, code: number, reason: Buffer): boolean;
  isEstablished(): boolean;
  isDraining(): boolean;
  isClosed(): boolean;
  isTimedOut(): boolean;
  /** Peer certificate chain as DER, leaf first (null before the handshake / when none). */
  peerCertChain(): Buffer[] | null;
  /** The SNI the client sent (servers), or null. */
  serverName(): string | null;
  applicationProto(): string;
  peerError(): QuicErrorInfo | null;
  localError(): QuicErrorInfo | null;
  /** Makes the next flush contain an ack-eliciting packet (PING). */
  sendAckEliciting(): void;
  stats(): Record<string, unknown>;
}

export interface QuicEngine {
  readonly name: string;
  createConfig(opts: QuicConfigOptions): QuicEngineConfig;
  connect(config: QuicEngineConfig, serverName: string | null, scid: Buffer, local: HostPort, remote: HostPort): QuicEngineConnection;
  accept(config: QuicEngineConfig, scid: Buffer, odcid: Buffer | null, local: HostPort, remote: HostPort): QuicEngineConnection;
  /** Parses a packet header; null when it is not a QUIC packet. */
  parseHeader(packet: Buffer, dcidLen: number): QuicPacketHeader | null;
  isVersionSupported(version: number): boolean;
}

// ---------------------------------------------------------------------------------------------
// Errors (texts follow quic-go v0.40.1 so that messages match Go receptor's)
// ---------------------------------------------------------------------------------------------

const TRANSPORT_ERROR_NAMES = [
  'NO_ERROR',
  'INTERNAL_ERROR',
  'CONNECTION_REFUSED',
  'FLOW_CONTROL_ERROR',
  'STREAM_LIMIT_ERROR',
  'STREAM_STATE_ERROR',
  'FINAL_SIZE_ERROR',
  'FRAME_ENCODING_ERROR',
  'TRANSPORT_PARAMETER_ERROR',
  'CONNECTION_ID_LIMIT_ERROR',
  'PROTOCOL_VIOLATION',
  'INVALID_TOKEN',
  'APPLICATION_ERROR',
  'CRYPTO_BUFFER_EXCEEDED',
  'KEY_UPDATE_ERROR',
  'AEAD_LIMIT_REACHED',
  'NO_VIABLE_PATH',
];

export function isCryptoErrorCode(code: number): boolean {
  return code >= 0x100 && code <= 0x1ff;
}

/** quic-go's TransportErrorCode.String(). */
export function transportErrorName(code: number): string {
  if (isCryptoErrorCode(code)) return `CRYPTO_ERROR 0x${code.toString(16)}`;
  return TRANSPORT_ERROR_NAMES[code] ?? `unknown error code: 0x${code.toString(16)}`;
}

export type QuicErrorKind = 'transport' | 'application' | 'idle-timeout' | 'handshake-timeout';

/**
 * A connection-level failure. `message` is quic-go's text, e.g.
 * `CRYPTO_ERROR 0x12a (local): insecure connection to secure service`,
 * `Application error 0x1f4 (remote): Read Data Error`, `timeout: no recent network activity`.
 */
export class QuicError extends Error {
  constructor(
    readonly kind: QuicErrorKind,
    readonly code: number,
    readonly remote: boolean,
    readonly reason: string,
  ) {
    super(formatQuicErrorText(kind, code, remote, reason));
    this.name = 'QuicError';
  }

  get isCryptoError(): boolean {
    return this.kind === 'transport' && isCryptoErrorCode(this.code);
  }

  /** An application close with code 0 (`normal close`). */
  get isNormalClose(): boolean {
    return this.kind === 'application' && this.code === 0;
  }

  static fromInfo(info: QuicErrorInfo, remote: boolean): QuicError {
    return new QuicError(info.isApp ? 'application' : 'transport', info.code, remote, info.reason.toString('utf8'));
  }
}

export function formatQuicErrorText(kind: QuicErrorKind, code: number, remote: boolean, reason: string): string {
  const role = remote ? 'remote' : 'local';
  switch (kind) {
    case 'idle-timeout':
      return 'timeout: no recent network activity';
    case 'handshake-timeout':
      return 'timeout: handshake did not complete in time';
    case 'application':
      return reason === '' ? `Application error 0x${code.toString(16)} (${role})` : `Application error 0x${code.toString(16)} (${role}): ${reason}`;
    default: {
      const msg = reason !== '' ? reason : isCryptoErrorCode(code) ? tlsAlertText(code - CRYPTO_ERROR_BASE) : '';
      const head = `${transportErrorName(code)} (${role})`;
      return msg === '' ? head : `${head}: ${msg}`;
    }
  }
}

/** quic-go's StreamError text. */
export function streamCanceledText(streamId: number, remote: boolean, code: number): string {
  return `stream ${streamId} canceled by ${remote ? 'remote' : 'local'} with error code ${code}`;
}

/** Engine errors are thrown as Errors (or strings) named like `StreamReset(77)`. */
export function engineErrorText(err: unknown): string {
  if (typeof err === 'string') return err;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Parses `Name(123)` engine error texts. */
export function parseEngineError(err: unknown): {name: string; code?: number} {
  const text = engineErrorText(err);
  const m = /^(\w+)(?:\((\d+)\))?$/.exec(text.trim());
  if (!m) return {name: text};
  return m[2] === undefined ? {name: m[1]} : {name: m[1], code: Number(m[2])};
}

// ---------------------------------------------------------------------------------------------
// Peer address map
// ---------------------------------------------------------------------------------------------

const ADDR_SPACE = 1 << 24;

/** Gives each mesh peer a made-up IPv4 literal (10.x.y.z) + port, stable while referenced. */
export class PeerAddressMap {
  private byPeer = new Map<string, {addr: HostPort; refs: number; n: number}>();
  private used = new Set<number>();
  private next = 1;

  acquire(peer: string): HostPort {
    const e = this.byPeer.get(peer);
    if (e) {
      e.refs++;
      return e.addr;
    }
    if (this.used.size >= ADDR_SPACE - 2) throw new Error('too many QUIC peers');
    let n = this.next;
    while (this.used.has(n) || n === 0) n = (n + 1) % ADDR_SPACE;
    this.next = (n + 1) % ADDR_SPACE;
    this.used.add(n);
    const addr = {host: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, port: 4242};
    this.byPeer.set(peer, {addr, refs: 1, n});
    return addr;
  }

  release(peer: string): void {
    const e = this.byPeer.get(peer);
    if (!e) return;
    if (--e.refs <= 0) {
      this.byPeer.delete(peer);
      this.used.delete(e.n);
    }
  }

  get size(): number {
    return this.byPeer.size;
  }
}

// ---------------------------------------------------------------------------------------------
// Endpoint (driver)
// ---------------------------------------------------------------------------------------------

export interface QuicTimeouts {
  /** Close a connection whose handshake did not complete in this time (Go: 15 s). */
  handshakeMs: number;
  /** Dialer keep-alive: an ack-eliciting packet after this much silence (Go: 15 s; 0 = off). */
  keepAliveMs: number;
}

export interface QuicEndpointOptions {
  engine: QuicEngine;
  /** Ships one packet to a peer. May throw (e.g. no route): the connection then fails with INTERNAL_ERROR. */
  send(peer: string, packet: Buffer): void;
  /** Largest packet handed to `send` (1200–1452; default 1350). */
  maxPacketSize?: number;
  clock?: Clock;
  timeouts?: Partial<QuicTimeouts>;
  /** Transport parameter overrides. */
  params?: Partial<QuicTransportParams>;
  alpn?: readonly string[];
}

export interface QuicConnectOptions {
  /** TLS SNI; null/undefined sends none. */
  serverName?: string | null;
  tls: QuicTlsConfig;
}

export interface QuicListenOptions {
  tls: QuicTlsConfig;
  /** Called for every new server connection (before its handshake completes). */
  onConnection(conn: EngineConnection): void;
}

export interface QuicEndpointStats {
  connections: number;
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Packets dropped because no connection matched and no connection could be accepted. */
  dropped: number;
}

/** Something that reacts to one stream's events (see stream.ts). */
export interface StreamSink {
  onReadable(): void;
  onWritable(): void;
}

const SLAB_SIZE = 64 * 1024;

export class QuicEndpoint {
  readonly engine: QuicEngine;
  readonly maxPacketSize: number;
  readonly clock: Clock;
  readonly timeouts: QuicTimeouts;
  readonly params: QuicTransportParams;
  readonly alpn: readonly string[];
  readonly localAddr: HostPort = {host: '10.255.255.254', port: 4242};
  readonly stats: QuicEndpointStats = {connections: 0, packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0, dropped: 0};

  private readonly sendFn: (peer: string, packet: Buffer) => void;
  private readonly routes = new Map<string, EngineConnection>();
  private readonly conns = new Set<EngineConnection>();
  private readonly addrs = new PeerAddressMap();
  private readonly dirty = new Set<EngineConnection>();
  private flushScheduled = false;
  private flushing = false;
  private listener: {config: QuicEngineConfig; onConnection: (c: EngineConnection) => void} | undefined;
  private readonly clientConfigs = new WeakMap<QuicTlsConfig, QuicEngineConfig>();
  private slab = Buffer.allocUnsafe(SLAB_SIZE);
  private slabOff = 0;
  private closedFlag = false;

  constructor(opts: QuicEndpointOptions) {
    this.engine = opts.engine;
    this.sendFn = opts.send;
    const max = opts.maxPacketSize ?? DEFAULT_MAX_PACKET;
    if (!Number.isInteger(max) || max < MIN_INITIAL_PACKET || max > MAX_MESH_QUIC_PACKET) {
      throw new RangeError(`QUIC max packet size must be an integer between ${MIN_INITIAL_PACKET} and ${MAX_MESH_QUIC_PACKET}, got ${max}`);
    }
    this.maxPacketSize = max;
    this.clock = opts.clock ?? systemClock;
    this.timeouts = {handshakeMs: opts.timeouts?.handshakeMs ?? HANDSHAKE_TIMEOUT_MS, keepAliveMs: opts.timeouts?.keepAliveMs ?? KEEPALIVE_MS};
    this.params = {...DEFAULT_TRANSPORT_PARAMS, ...opts.params, maxSendUdpPayloadSize: Math.min(opts.params?.maxSendUdpPayloadSize ?? max, max)};
    this.alpn = opts.alpn ?? [QUIC_ALPN];
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  get listening(): boolean {
    return this.listener !== undefined;
  }

  /** Live connections (handshaking, established or closing). */
  connections(): EngineConnection[] {
    return [...this.conns];
  }

  /** Accepts new connections from Initial packets. */
  listen(opts: QuicListenOptions): void {
    if (this.closedFlag) throw new Error('QUIC endpoint closed');
    if (this.listener) throw new Error('QUIC endpoint is already listening');
    const config = this.engine.createConfig({role: 'server', alpn: this.alpn, tls: opts.tls, params: this.params});
    this.listener = {config, onConnection: opts.onConnection};
  }

  /** Stops accepting new connections (existing ones continue). */
  stopListening(): void {
    this.listener = undefined;
  }

  /** Starts a client connection to `peer`. */
  connect(peer: string, opts: QuicConnectOptions): EngineConnection {
    if (this.closedFlag) throw new Error('QUIC endpoint closed');
    let config = this.clientConfigs.get(opts.tls);
    if (!config) {
      config = this.engine.createConfig({role: 'client', alpn: this.alpn, tls: opts.tls, params: this.params});
      this.clientConfigs.set(opts.tls, config);
    }
    const scid = this.newCid();
    const remote = this.addrs.acquire(peer);
    let core: QuicEngineConnection;
    try {
      core = this.engine.connect(config, opts.serverName ?? null, scid, this.localAddr, remote);
    } catch (err) {
      this.addrs.release(peer);
      throw err;
    }
    const conn = new EngineConnection(this, core, 'client', peer, remote, scid);
    this.register(conn, [scid]);
    this.markDirty(conn);
    return conn;
  }

  /**
   * Feeds one datagram received from `peer`. The engine decrypts in place: `packet` is
   * overwritten, so hand over a buffer nobody else reads afterwards.
   */
  receive(peer: string, data: Uint8Array): void {
    const packet = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (this.closedFlag || packet.length < 1 + LOCAL_CID_LEN) {
      this.stats.dropped++;
      return;
    }
    this.stats.packetsIn++;
    this.stats.bytesIn += packet.length;
    const b0 = packet[0];
    let key: string;
    if (b0 & 0x80) {
      if (packet.length < 7) return void this.stats.dropped++;
      const dlen = packet[5];
      if (dlen > 20 || packet.length < 6 + dlen) return void this.stats.dropped++;
      key = packet.toString('latin1', 6, 6 + dlen);
    } else {
      key = packet.toString('latin1', 1, 1 + LOCAL_CID_LEN);
    }
    let conn = this.routes.get(key);
    if (!conn) {
      conn = b0 & 0x80 ? this.acceptInitial(peer, packet, key) : undefined;
      if (!conn) return void this.stats.dropped++;
    }
    if (conn.peer !== peer) return void this.stats.dropped++;
    conn.receivePacket(packet);
  }

  /** Closes every connection (application code 0 `normal close`) and stops listening. */
  close(): void {
    if (this.closedFlag) return;
    this.listener = undefined;
    for (const c of [...this.conns]) c.close(true, 0, 'normal close');
    this.flushNow();
    this.closedFlag = true;
    for (const c of [...this.conns]) c.finalize();
  }

  // -- internals used by EngineConnection ------------------------------------------------------

  /** @internal */
  markDirty(conn: EngineConnection): void {
    this.dirty.add(conn);
    if (!this.flushScheduled && !this.flushing) {
      this.flushScheduled = true;
      setImmediate(this.flushNow);
    }
  }

  /** @internal Runs the pending flush now. */
  readonly flushNow = (): void => {
    this.flushScheduled = false;
    if (this.flushing) return;
    this.flushing = true;
    try {
      for (let round = 0; this.dirty.size > 0 && round < 64; round++) {
        const batch = [...this.dirty];
        this.dirty.clear();
        for (const c of batch) c.service();
      }
    } finally {
      this.flushing = false;
    }
    if (this.dirty.size > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushNow);
    }
  };

  /** @internal Sends the connection's pending packets; returns an error if the send hook threw. */
  drain(conn: EngineConnection, core: QuicEngineConnection): Error | undefined {
    const max = this.maxPacketSize;
    for (;;) {
      if (SLAB_SIZE - this.slabOff < max) {
        this.slab = Buffer.allocUnsafe(SLAB_SIZE);
        this.slabOff = 0;
      }
      const off = this.slabOff;
      let n: number | null;
      try {
        n = core.send(this.slab.subarray(off, off + max));
      } catch {
        return undefined; // engine-side failure: the connection records it as its local error
      }
      if (n === null || n === 0) return undefined;
      this.slabOff += n;
      this.stats.packetsOut++;
      this.stats.bytesOut += n;
      try {
        this.sendFn(conn.peer, this.slab.subarray(off, off + n));
      } catch (err) {
        return err instanceof Error ? err : new Error(String(err));
      }
    }
  }

  /** @internal */
  unregister(conn: EngineConnection, keys: readonly string[]): void {
    for (const k of keys) if (this.routes.get(k) === conn) this.routes.delete(k);
    if (this.conns.delete(conn)) {
      this.stats.connections = this.conns.size;
      this.addrs.release(conn.peer);
    }
    this.dirty.delete(conn);
  }

  private register(conn: EngineConnection, cids: Buffer[]): void {
    for (const cid of cids) conn.routeKeys.push(cid.toString('latin1'));
    for (const k of conn.routeKeys) this.routes.set(k, conn);
    this.conns.add(conn);
    this.stats.connections = this.conns.size;
  }

  private newCid(): Buffer {
    for (;;) {
      const cid = randomBytes(LOCAL_CID_LEN);
      if (!this.routes.has(cid.toString('latin1'))) return cid;
    }
  }

  private acceptInitial(peer: string, packet: Buffer, dcidKey: string): EngineConnection | undefined {
    const listener = this.listener;
    if (!listener || packet.length < MIN_INITIAL_PACKET) return undefined;
    const hdr = this.engine.parseHeader(packet, LOCAL_CID_LEN);
    if (!hdr || hdr.type !== 'initial' || !this.engine.isVersionSupported(hdr.version)) return undefined;
    if (hdr.dcid.length < 8) return undefined; // RFC 9000 §7.2: a client's first DCID has ≥ 8 bytes
    const scid = this.newCid();
    const remote = this.addrs.acquire(peer);
    let core: QuicEngineConnection;
    try {
      core = this.engine.accept(listener.config, scid, null, this.localAddr, remote);
    } catch {
      this.addrs.release(peer);
      return undefined;
    }
    const conn = new EngineConnection(this, core, 'server', peer, remote, scid);
    this.register(conn, [scid]);
    conn.routeKeys.push(dcidKey);
    this.routes.set(dcidKey, conn);
    try {
      listener.onConnection(conn);
    } catch {
      // the listener's problem; the connection proceeds and times out if nobody uses it
    }
    return conn;
  }
}

// ---------------------------------------------------------------------------------------------
// One connection, driven by the endpoint
// ---------------------------------------------------------------------------------------------

export type EngineConnectionState = 'handshake' | 'established' | 'closing' | 'closed';

/**
 * Events:
 *  - `established` (): the handshake completed;
 *  - `stream` (id): the peer opened a stream (first data/FIN seen);
 *  - `closing` (err: QuicError | undefined): the connection is going away; `undefined` for an
 *    application close with code 0 (either side);
 *  - `closed` (): all state is gone.
 */
export class EngineConnection extends EventEmitter {
  state: EngineConnectionState = 'handshake';
  /** Why the connection closed; undefined while open and after a normal (code 0) close. */
  closeError: QuicError | undefined;
  /** How the connection closed, including a normal close (application code 0); undefined while open. */
  closeReason: QuicError | undefined;
  /** @internal */
  readonly routeKeys: string[] = [];

  private readonly sinks = new Map<number, StreamSink>();
  private readonly announced = new Set<number>();
  private nextLocalStream: number;
  private timer: TimerHandle | undefined;
  private timerAt = 0;
  private handshakeTimer: TimerHandle | undefined;
  private keepAliveTimer: TimerHandle | undefined;
  private lastRecvAt: number;
  private readonly recvInfoFrom: HostPort;
  private readonly recvInfoTo: HostPort;
  private engineFailed = false;
  private closeWhenComplete: number | undefined;
  private pendingLocalError: QuicError | undefined;

  constructor(
    readonly endpoint: QuicEndpoint,
    private readonly core: QuicEngineConnection,
    readonly role: 'client' | 'server',
    readonly peer: string,
    readonly remoteAddr: HostPort,
    readonly scid: Buffer,
  ) {
    super();
    this.recvInfoFrom = remoteAddr;
    this.recvInfoTo = endpoint.localAddr;
    this.nextLocalStream = role === 'client' ? 0 : 1;
    this.lastRecvAt = endpoint.clock.now();
    const hs = endpoint.timeouts.handshakeMs;
    if (hs > 0) {
      this.handshakeTimer = endpoint.clock.setTimeout(() => {
        this.handshakeTimer = undefined;
        if (this.state === 'handshake') {
          this.closeWith(true, 500, 'timeout: handshake did not complete in time', new QuicError('handshake-timeout', 0, false, ''));
        }
      }, hs);
    }
  }

  get isEstablished(): boolean {
    return this.state === 'established';
  }

  get isClosing(): boolean {
    return this.state === 'closing' || this.state === 'closed';
  }

  /** Resolves when the handshake completed; rejects with the close error otherwise. */
  waitEstablished(): Promise<void> {
    if (this.state === 'established') return Promise.resolve();
    if (this.isClosing) return Promise.reject(this.closeReason ?? new Error('QUIC connection closed'));
    return new Promise((resolve, reject) => {
      const onEst = (): void => {
        this.off('closing', onClose);
        resolve();
      };
      const onClose = (err: QuicError | undefined): void => {
        this.off('established', onEst);
        reject(err ?? this.closeReason ?? new Error('QUIC connection closed'));
      };
      this.once('established', onEst);
      this.once('closing', onClose);
    });
  }

  /** Resolves once all state is gone. */
  waitClosed(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    return new Promise((resolve) => this.once('closed', resolve));
  }

  /** Allocates the next locally-initiated bidirectional stream ID. */
  openStream(): number {
    const id = this.nextLocalStream;
    this.nextLocalStream += 4;
    return id;
  }

  /** Routes readable/writable notifications of stream `id` to `sink`. */
  attachStream(id: number, sink: StreamSink): void {
    this.sinks.set(id, sink);
    this.announced.add(id);
  }

  detachStream(id: number, sink?: StreamSink): void {
    if (!sink || this.sinks.get(id) === sink) this.sinks.delete(id);
  }

  streamSend(id: number, data: Buffer, fin: boolean): number | null {
    if (this.state === 'closed') return null;
    const n = this.core.streamSend(id, data, fin);
    if (n !== null) this.endpoint.markDirty(this);
    return n;
  }

  streamRecv(id: number, buf: Buffer): [number, boolean] | null {
    if (this.state === 'closed') return null;
    const r = this.core.streamRecv(id, buf);
    if (r !== null) this.endpoint.markDirty(this);
    return r;
  }

  streamShutdown(id: number, direction: ShutdownDirection, code: number): void {
    if (this.state === 'closed') return;
    try {
      this.core.streamShutdown(id, direction, code);
    } catch {
      // already shut down / collected
    }
    this.endpoint.markDirty(this);
  }

  streamCapacity(id: number): number {
    return this.core.streamCapacity(id);
  }

  /** Closes the connection with application code 0 `normal close` once stream `id` is complete (all data read and acknowledged). */
  closeWhenStreamComplete(id: number): void {
    if (this.isClosing) return;
    this.closeWhenComplete = id;
    this.endpoint.markDirty(this);
  }

  peerCertChain(): Buffer[] {
    return this.core.peerCertChain() ?? [];
  }

  serverName(): string | null {
    return this.core.serverName();
  }

  engineStats(): Record<string, unknown> {
    return this.core.stats();
  }

  /**
   * Closes the connection (CONNECTION_CLOSE). `error` is what local users see; by default it is
   * derived from the code and reason. `wireReason` overrides the reason phrase sent to the peer.
   */
  close(app: boolean, code: number, reason: string, opts: {error?: QuicError; wireReason?: string} = {}): void {
    const err = opts.error ?? new QuicError(app ? 'application' : 'transport', code, false, reason);
    this.closeWith(app, code, opts.wireReason ?? reason, err);
  }

  /** Drops the connection without telling the peer (e.g. the mesh said the peer is unreachable). */
  destroy(error: Error | QuicError): void {
    if (this.state === 'closed') return;
    const qe = error instanceof QuicError ? error : new QuicError('transport', 1, false, error.message);
    try {
      this.core.close(false, 1, Buffer.alloc(0));
    } catch {
      // ignore
    }
    this.enterClosing(qe);
    this.finalize();
  }

  // -- driven by the endpoint ----------------------------------------------------------------

  /** @internal */
  receivePacket(packet: Buffer): void {
    if (this.state === 'closed') return;
    this.lastRecvAt = this.endpoint.clock.now();
    try {
      this.core.recv(packet, this.recvInfoFrom, this.recvInfoTo);
    } catch {
      this.engineFailed = true; // may just be an undecryptable/duplicate packet; checked in service()
    }
    this.endpoint.markDirty(this);
  }

  /** @internal Processes events, sends pending packets, re-arms the timer. */
  service(): void {
    if (this.state === 'closed') return;
    const core = this.core;
    if (this.state === 'handshake' && core.isEstablished()) {
      this.state = 'established';
      this.clearHandshakeTimer();
      if (this.role === 'client') this.armKeepAlive();
      this.emit('established');
    }
    if (this.state === 'established') {
      for (const id of core.readableStreams()) {
        const sink = this.sinks.get(id);
        if (sink) sink.onReadable();
        else if (!this.announced.has(id) && this.isPeerStream(id)) {
          this.announced.add(id);
          this.emit('stream', id);
        }
        if (this.state !== 'established') break;
      }
      if (this.sinks.size > 0 && this.state === 'established') {
        for (const id of core.writableStreams()) {
          this.sinks.get(id)?.onWritable();
          if (this.state !== 'established') break;
        }
      }
      if (this.closeWhenComplete !== undefined && this.state === 'established' && this.streamComplete(this.closeWhenComplete)) {
        this.closeWhenComplete = undefined;
        this.close(true, 0, 'normal close');
      }
    }
    if ((this.state as EngineConnectionState) === 'closed') return;
    const sendErr = this.endpoint.drain(this, core);
    if (sendErr) {
      // quic-go: a failed datagram write destroys the connection with INTERNAL_ERROR
      this.destroy(new QuicError('transport', 1, false, sendErr.message));
      return;
    }
    if (core.isClosed()) {
      this.enterClosing(this.deriveError());
      this.finalize();
      return;
    }
    if (this.state !== 'closing' && (core.isDraining() || this.engineFailed)) {
      this.engineFailed = false;
      if (core.isDraining() || core.localError() !== null || core.peerError() !== null) this.enterClosing(this.deriveError());
    }
    this.armTimer();
  }

  /** @internal Final cleanup. */
  finalize(): void {
    if (this.state === 'closed') return;
    if (this.state !== 'closing') this.enterClosing(this.deriveError());
    this.state = 'closed';
    this.clearTimer();
    this.clearHandshakeTimer();
    this.clearKeepAlive();
    this.endpoint.unregister(this, this.routeKeys);
    this.sinks.clear();
    this.emit('closed');
  }

  // -- helpers ---------------------------------------------------------------------------------

  private isPeerStream(id: number): boolean {
    return (id & 1) === (this.role === 'client' ? 1 : 0);
  }

  private streamComplete(id: number): boolean {
    try {
      this.core.streamCapacity(id);
      return false;
    } catch {
      return true;
    }
  }

  private closeWith(app: boolean, code: number, wireReason: string, error: QuicError): void {
    if (this.isClosing) return;
    this.pendingLocalError = error;
    try {
      this.core.close(app, code, Buffer.from(wireReason, 'utf8'));
    } catch {
      // already closing inside the engine
    }
    this.enterClosing(error);
    this.endpoint.markDirty(this);
  }

  private enterClosing(reason: QuicError): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.state = 'closing';
    this.closeReason = reason;
    this.closeError = reason.isNormalClose ? undefined : reason;
    this.clearHandshakeTimer();
    this.clearKeepAlive();
    this.emit('closing', this.closeError);
  }

  private deriveError(): QuicError {
    if (this.closeReason) return this.closeReason;
    if (this.pendingLocalError) return this.pendingLocalError;
    const peerErr = this.core.peerError();
    if (peerErr) return QuicError.fromInfo(peerErr, true);
    if (this.core.isTimedOut()) return this.state === 'handshake' ? new QuicError('handshake-timeout', 0, false, '') : new QuicError('idle-timeout', 0, false, '');
    const localErr = this.core.localError();
    if (localErr) return QuicError.fromInfo(localErr, false);
    return new QuicError('transport', 1, false, 'connection closed');
  }

  private armTimer(): void {
    const t = this.core.timeout();
    if (t === null) {
      this.clearTimer();
      return;
    }
    const clock = this.endpoint.clock;
    const ms = Math.max(1, Math.ceil(t));
    const at = clock.now() + ms;
    // A timer that fires no later than needed is kept: firing early is harmless (the engine
    // ignores a premature onTimeout) and saves re-arming on every packet.
    if (this.timer !== undefined && this.timerAt <= at) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = clock.setTimeout(this.onTimer, ms);
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    if (this.state === 'closed') return;
    try {
      this.core.onTimeout();
    } catch {
      // ignore
    }
    this.engineFailed = true;
    this.endpoint.markDirty(this);
  };

  private clearTimer(): void {
    if (this.timer !== undefined) {
      this.endpoint.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer !== undefined) {
      this.endpoint.clock.clearTimeout(this.handshakeTimer);
      this.handshakeTimer = undefined;
    }
  }

  private armKeepAlive(): void {
    const period = this.endpoint.timeouts.keepAliveMs;
    if (period <= 0) return;
    const clock = this.endpoint.clock;
    const due = Math.max(1, this.lastRecvAt + period - clock.now());
    this.keepAliveTimer = clock.setTimeout(() => {
      this.keepAliveTimer = undefined;
      if (this.state !== 'established') return;
      if (clock.now() - this.lastRecvAt >= period - 1) {
        this.core.sendAckEliciting();
        this.lastRecvAt = clock.now(); // next ping one period later unless the peer answers
        this.endpoint.markDirty(this);
      }
      this.armKeepAlive();
    }, due);
    (this.keepAliveTimer as {unref?: () => unknown}).unref?.();
  }

  private clearKeepAlive(): void {
    if (this.keepAliveTimer !== undefined) {
      this.endpoint.clock.clearTimeout(this.keepAliveTimer);
      this.keepAliveTimer = undefined;
    }
  }
}

/**
 * The sans-IO QUIC engine interface (netceptor-wire.md §11, quic-engine.md): packets in,
 * packets out, timers as numbers. The quiche binding (./quiche.ts) implements it; another
 * engine can be swapped in by implementing it too. Also the constants and the quic-go error
 * texts that the engine, the endpoint driver (./endpoint.ts) and the streams (./stream.ts) share.
 */
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
  const name = m[1]!; // the pattern's first group is not optional
  return m[2] === undefined ? {name} : {name, code: Number(m[2])};
}

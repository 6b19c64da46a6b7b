/**
 * The {@link QuicEngine} implementation over Cloudflare quiche, through the prebuilt N-API
 * binding of `@matrixai/quic` (platform package `@matrixai/quic-<platform>-<arch>`). Only the
 * native binding is loaded; the package's own high-level API binds UDP sockets and is not used.
 *
 * Binding facts (bundled quiche 0.18, probed on linux-x64):
 *  - engine errors are thrown as Error objects (older builds: strings) whose message is the quiche
 *    error name, e.g. `StreamReset(77)`, `StreamStopped(499)`, `InvalidStreamState(4)`, `TlsFail`;
 *    "nothing to do" (quiche's Done) is returned as `null`;
 *  - `send()` returns `[len, {from, to, at}]`; `at` (pacing time) is an opaque External;
 *  - `Header` fields are getters (the object prints as `Header {}`);
 *  - `readable()` / `writable()` return iterables (`for..of`), not iterators;
 *  - `streamSend(id, empty, true)` returns 0 when the FIN was queued, even with no capacity;
 *  - `streamCapacity()` throws `InvalidStreamState` once a stream is complete and collected;
 *  - `close()` returns undefined, and null when the connection was already closing; a close
 *    before any packet was received from the peer closes at once without sending anything;
 *  - a server with peer verification reports a client without certificate as local error
 *    0x174 (CRYPTO_ERROR, alert 116 certificate_required).
 */
import {createRequire} from 'node:module';
import {ReceptorError} from '../../errors.js';
import type {
  HostPort,
  QuicConfigOptions,
  QuicEngine,
  QuicEngineConfig,
  QuicEngineConnection,
  QuicErrorInfo,
  QuicPacketHeader,
  QuicPacketType,
  ShutdownDirection,
} from './engine.js';

// ---------------------------------------------------------------------------------------------
// Binding types (the subset used here)
// ---------------------------------------------------------------------------------------------

export interface QuicheConfig {
  setApplicationProtos(protos: string[]): void;
  setMaxIdleTimeout(ms: number): void;
  setMaxRecvUdpPayloadSize(n: number): void;
  setMaxSendUdpPayloadSize(n: number): void;
  setInitialMaxData(n: number): void;
  setInitialMaxStreamDataBidiLocal(n: number): void;
  setInitialMaxStreamDataBidiRemote(n: number): void;
  setInitialMaxStreamDataUni(n: number): void;
  setInitialMaxStreamsBidi(n: number): void;
  setInitialMaxStreamsUni(n: number): void;
  setMaxStreamWindow(n: number): void;
  setMaxConnectionWindow(n: number): void;
  setDisableActiveMigration(v: boolean): void;
  verifyPeer(v: boolean): void;
  enablePacing(v: boolean): void;
  setCcAlgorithm(algo: number): void;
  setTicketKey(key: Uint8Array): void;
}

export interface QuicheConnectionError {
  isApp: boolean;
  errorCode: number;
  reason: Uint8Array;
}

export interface QuicheConnection {
  recv(data: Uint8Array, info: {from: HostPort; to: HostPort}): number;
  send(data: Uint8Array): [number, {from: HostPort; to: HostPort; at: unknown}] | null;
  timeout(): number | null;
  onTimeout(): void;
  streamSend(id: number, data: Uint8Array, fin: boolean): number | null;
  streamRecv(id: number, data: Uint8Array): [number, boolean] | null;
  streamShutdown(id: number, direction: number, err: number): void | null;
  streamCapacity(id: number): number;
  readable(): Iterable<number>;
  writable(): Iterable<number>;
  close(app: boolean, err: number, reason: Uint8Array): void | null;
  isEstablished(): boolean;
  isDraining(): boolean;
  isClosed(): boolean;
  isTimedOut(): boolean;
  peerCertChain(): Uint8Array[] | null;
  serverName(): string | null;
  applicationProto(): Uint8Array;
  peerError(): QuicheConnectionError | null;
  localError(): QuicheConnectionError | null;
  sendAckEliciting(): void;
  stats(): Record<string, unknown>;
}

export interface QuicheHeader {
  readonly ty: number;
  readonly version: number;
  readonly dcid: Uint8Array;
  readonly scid: Uint8Array;
}

export interface QuicheBinding {
  Config: {
    new (): QuicheConfig;
    withBoringSslCtx(
      verifyPeer: boolean,
      verifyAllowFail: boolean,
      ca?: Uint8Array | null,
      keys?: Uint8Array[] | null,
      certs?: Uint8Array[] | null,
      sigalgs?: string | null,
    ): QuicheConfig;
  };
  Connection: {
    connect(serverName: string | null, scid: Uint8Array, local: HostPort, remote: HostPort, config: QuicheConfig): QuicheConnection;
    accept(scid: Uint8Array, odcid: Uint8Array | null, local: HostPort, remote: HostPort, config: QuicheConfig): QuicheConnection;
  };
  Header: {fromSlice(data: Uint8Array, dcidLen: number): QuicheHeader};
  versionIsSupported(version: number): boolean;
  PROTOCOL_VERSION: number;
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

let cached: {binding?: QuicheBinding; error?: ReceptorError} | undefined;

/** The platform package holding the native binding for this process. */
export function quichePackageName(platform: string = process.platform, arch: string = process.arch): string {
  return `@matrixai/quic-${platform}-${arch}`;
}

/**
 * Loads the native quiche binding (once). Throws a ReceptorError naming the platform when it is
 * not installed or cannot be loaded (e.g. glibc older than 2.34).
 */
export function loadQuiche(): QuicheBinding {
  if (!cached) cached = tryLoad(quichePackageName());
  if (cached.error) throw cached.error;
  return cached.binding!;
}

/** Loads the binding from the named platform package (no caching); throws like {@link loadQuiche}. */
export function loadQuicheFrom(pkg: string): QuicheBinding {
  const r = tryLoad(pkg);
  if (r.error) throw r.error;
  return r.binding!;
}

/** Whether the binding can be loaded (never throws). */
export function quicheAvailable(): boolean {
  try {
    loadQuiche();
    return true;
  } catch {
    return false;
  }
}

function tryLoad(pkg: string): {binding?: QuicheBinding; error?: ReceptorError} {
  const platform = `${process.platform}-${process.arch}`;
  try {
    const require = createRequire(import.meta.url);
    const b = require(`${pkg}/node.napi.node`) as Partial<QuicheBinding>;
    if (typeof b?.Connection?.connect !== 'function' || typeof b.Config?.withBoringSslCtx !== 'function' || typeof b.Header?.fromSlice !== 'function') {
      throw new Error('unexpected binding exports');
    }
    return {binding: b as QuicheBinding};
  } catch (err) {
    const detail = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return {
      error: new ReceptorError(
        'E_QUIC_UNAVAILABLE',
        `QUIC streams are not available on this platform (${platform}): the native QUIC engine ${pkg} could not be loaded (${detail})`,
        {cause: err},
      ),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Engine
// ---------------------------------------------------------------------------------------------

const PACKET_TYPES: QuicPacketType[] = ['initial', 'retry', 'handshake', '0rtt', 'version-negotiation', 'short'];

function bytes(v: string | Buffer): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

function toBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

function errorInfo(e: QuicheConnectionError | null): QuicErrorInfo | null {
  if (!e) return null;
  return {isApp: e.isApp, code: Number(e.errorCode), reason: toBuffer(e.reason)};
}

class QuicheEngineConfig implements QuicEngineConfig {
  constructor(readonly engineConfig: QuicheConfig) {}
}

class QuicheConn implements QuicEngineConnection {
  private info: {from: HostPort; to: HostPort} | undefined;

  constructor(private readonly c: QuicheConnection) {}

  recv(packet: Buffer, from: HostPort, to: HostPort): void {
    let info = this.info;
    if (!info || info.from !== from || info.to !== to) info = this.info = {from, to};
    this.c.recv(packet, info);
  }
  send(out: Buffer): number | null {
    const r = this.c.send(out);
    return r === null ? null : r[0];
  }
  timeout(): number | null {
    return this.c.timeout();
  }
  onTimeout(): void {
    this.c.onTimeout();
  }
  streamSend(id: number, data: Buffer, fin: boolean): number | null {
    return this.c.streamSend(id, data, fin);
  }
  streamRecv(id: number, buf: Buffer): [number, boolean] | null {
    return this.c.streamRecv(id, buf);
  }
  streamShutdown(id: number, direction: ShutdownDirection, code: number): void {
    this.c.streamShutdown(id, direction, code);
  }
  streamCapacity(id: number): number {
    return this.c.streamCapacity(id);
  }
  readableStreams(): Iterable<number> {
    return this.c.readable();
  }
  writableStreams(): Iterable<number> {
    return this.c.writable();
  }
  close(app: boolean, code: number, reason: Buffer): boolean {
    return this.c.close(app, code, reason) !== null;
  }
  isEstablished(): boolean {
    return this.c.isEstablished();
  }
  isDraining(): boolean {
    return this.c.isDraining();
  }
  isClosed(): boolean {
    return this.c.isClosed();
  }
  isTimedOut(): boolean {
    return this.c.isTimedOut();
  }
  peerCertChain(): Buffer[] | null {
    const chain = this.c.peerCertChain();
    return chain ? chain.map(toBuffer) : null;
  }
  serverName(): string | null {
    return this.c.serverName();
  }
  applicationProto(): string {
    return toBuffer(this.c.applicationProto()).toString('latin1');
  }
  peerError(): QuicErrorInfo | null {
    return errorInfo(this.c.peerError());
  }
  localError(): QuicErrorInfo | null {
    return errorInfo(this.c.localError());
  }
  sendAckEliciting(): void {
    this.c.sendAckEliciting();
  }
  stats(): Record<string, unknown> {
    return this.c.stats();
  }
}

export class QuicheEngine implements QuicEngine {
  readonly name = 'quiche';

  constructor(private readonly b: QuicheBinding = loadQuiche()) {}

  createConfig(opts: QuicConfigOptions): QuicEngineConfig {
    const {tls, params} = opts;
    if (opts.role === 'server' && (!tls.certPem || !tls.keyPem)) throw new Error('a QUIC server needs a certificate and a key');
    if ((tls.certPem === undefined) !== (tls.keyPem === undefined)) throw new Error('a QUIC TLS certificate needs its key (and vice versa)');
    const c = this.b.Config.withBoringSslCtx(
      tls.verifyPeer,
      tls.verifyAllowFail ?? false,
      tls.caPem !== undefined ? bytes(tls.caPem) : null,
      tls.keyPem !== undefined ? [bytes(tls.keyPem)] : null,
      tls.certPem !== undefined ? [bytes(tls.certPem)] : null,
      null,
    );
    c.setApplicationProtos([...opts.alpn]);
    c.setMaxIdleTimeout(params.maxIdleTimeoutMs);
    c.setMaxRecvUdpPayloadSize(params.maxRecvUdpPayloadSize);
    c.setMaxSendUdpPayloadSize(params.maxSendUdpPayloadSize);
    c.setInitialMaxData(params.initialMaxData);
    c.setInitialMaxStreamDataBidiLocal(params.initialMaxStreamDataBidiLocal);
    c.setInitialMaxStreamDataBidiRemote(params.initialMaxStreamDataBidiRemote);
    c.setInitialMaxStreamDataUni(params.initialMaxStreamDataUni);
    c.setInitialMaxStreamsBidi(params.initialMaxStreamsBidi);
    c.setInitialMaxStreamsUni(params.initialMaxStreamsUni);
    c.setMaxStreamWindow(params.maxStreamWindow);
    c.setMaxConnectionWindow(params.maxConnectionWindow);
    c.setDisableActiveMigration(params.disableActiveMigration);
    return new QuicheEngineConfig(c);
  }

  connect(config: QuicEngineConfig, serverName: string | null, scid: Buffer, local: HostPort, remote: HostPort): QuicEngineConnection {
    return new QuicheConn(this.b.Connection.connect(serverName, scid, local, remote, (config as QuicheEngineConfig).engineConfig));
  }

  accept(config: QuicEngineConfig, scid: Buffer, odcid: Buffer | null, local: HostPort, remote: HostPort): QuicEngineConnection {
    return new QuicheConn(this.b.Connection.accept(scid, odcid, local, remote, (config as QuicheEngineConfig).engineConfig));
  }

  parseHeader(packet: Buffer, dcidLen: number): QuicPacketHeader | null {
    try {
      const h = this.b.Header.fromSlice(packet, dcidLen);
      return {type: PACKET_TYPES[h.ty] ?? 'short', version: h.version, dcid: toBuffer(h.dcid), scid: toBuffer(h.scid)};
    } catch {
      return null;
    }
  }

  isVersionSupported(version: number): boolean {
    return this.b.versionIsSupported(version);
  }
}

let defaultEngine: QuicheEngine | undefined;

/** The shared quiche engine; throws the loadQuiche() error when the binding is unavailable. */
export function quicheEngine(): QuicheEngine {
  if (!defaultEngine) defaultEngine = new QuicheEngine(loadQuiche());
  return defaultEngine;
}

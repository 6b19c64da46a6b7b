/**
 * Byte streams over QUIC (netceptor-wire.md §11.3–§11.6):
 *  - {@link QuicStream}: a Node Duplex over one bidirectional QUIC stream, with independent
 *    half-close (`end()` sends FIN; a received FIN ends the readable side) and flow control in
 *    both directions;
 *  - {@link dialQuic} / {@link listenQuic}: receptor's connection protocol on top — the dialer
 *    opens stream 0 after the handshake and writes one byte 0x00; the listener waits up to 60 s
 *    for the peer's stream, requires that byte, then hands out the stream; one stream per
 *    connection; a normal close is CONNECTION_CLOSE with application code 0 `normal close`;
 *  - TLS inside QUIC: insecure mode (per-listener self-signed certificate with CN
 *    `netceptor-insecure-common-name`; the dialer verifies nothing but that CN) and verified mode
 *    with a post-handshake hook (refusals close with CRYPTO_ERROR 0x12a, like Go's
 *    VerifyPeerCertificate failures).
 */
import {EventEmitter} from 'node:events';
import {isIP} from 'node:net';
import {Duplex} from 'node:stream';
import type {Clock, TimerHandle} from '../../clock.js';
import {createInsecureStreamCert, decodeCertificate, INSECURE_COMMON_NAME, OID} from '../../pki/x509.js';
import {EngineConnection, type StreamSink} from './connection.js';
import {QuicEndpoint} from './endpoint.js';
import {CRYPTO_ERROR_BAD_CERTIFICATE, parseEngineError, QuicError, SHUTDOWN_READ, SHUTDOWN_WRITE, streamCanceledText, type QuicTlsConfig} from './engine.js';

export const STREAM_ACCEPT_TIMEOUT_MS = 60_000;
/** Application error code of receptor's own connection closes. */
export const APP_ERROR_CODE = 500;
/** STOP_SENDING / RESET_STREAM code of a cancelled stream direction (Go's CancelRead(499)). */
export const STREAM_CANCEL_CODE = 499;
export const NORMAL_CLOSE_REASON = 'normal close';
export const INSECURE_TO_SECURE_MESSAGE = 'insecure connection to secure service';

const EMPTY = Buffer.alloc(0);
const INIT_BYTE = Buffer.from([0]);
const READ_CHUNK = 64 * 1024;
const READ_SLAB = 512 * 1024;
/** Reads shorter than this are copied out, so that small retained chunks do not pin a slab. */
const COPY_BELOW = 4096;
const DEFAULT_HWM = 256 * 1024;

// One read slab shared by all streams (like Buffer's pool): large reads are pushed as
// zero-copy slices of it, small ones are copied.
let readSlab: Buffer | undefined;
let readSlabOff = 0;

function readTarget(): Buffer {
  if (!readSlab || READ_SLAB - readSlabOff < READ_CHUNK) {
    readSlab = Buffer.allocUnsafe(READ_SLAB);
    readSlabOff = 0;
  }
  return readSlab.subarray(readSlabOff, readSlabOff + READ_CHUNK);
}

function takeRead(n: number): Buffer {
  const slab = readSlab!;
  if (n < COPY_BELOW) return Buffer.from(slab.subarray(readSlabOff, readSlabOff + n));
  const out = slab.subarray(readSlabOff, readSlabOff + n);
  readSlabOff += n;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Duplex over one QUIC stream
// ---------------------------------------------------------------------------------------------

export interface QuicStreamOptions {
  /** Readable and writable high-water marks (bytes). */
  highWaterMark?: number;
  /** The readable side has already seen FIN (e.g. the 0x00 init byte came with it). */
  readEnded?: boolean;
  /** Called once both directions are finished (our FIN queued, the peer's FIN read). */
  onFinished?(stream: QuicStream): void;
  /** Called from _destroy (before the callback). `bothFinished` as for onFinished. */
  onDestroy?(stream: QuicStream, err: Error | null, bothFinished: boolean): void;
}

type Callback = (err?: Error | null) => void;

/**
 * A Duplex over one bidirectional QUIC stream. Writes are queued to the engine as far as flow
 * and congestion control allow; the rest waits until the stream is writable again (the write
 * callback is held back, so Duplex backpressure applies). Reads pull from the engine only while
 * the readable buffer has room, so the peer is flow-controlled by our consumer.
 */
export class QuicStream extends Duplex implements StreamSink {
  private pendingChunk: Buffer | undefined;
  private pendingCb: Callback | undefined;
  private finCb: Callback | undefined;
  private finQueued = false;
  private readEnded = false;
  private wantRead = false;
  private finishedNotified = false;
  private connGone = false;
  private readonly opts: QuicStreamOptions;

  constructor(
    readonly conn: EngineConnection,
    readonly id: number,
    opts: QuicStreamOptions = {},
  ) {
    const hwm = opts.highWaterMark ?? DEFAULT_HWM;
    super({allowHalfOpen: true, readableHighWaterMark: hwm, writableHighWaterMark: hwm, decodeStrings: true});
    this.opts = opts;
    conn.attachStream(id, this);
    conn.on('closing', this.onConnClosing);
    if (opts.readEnded) {
      this.readEnded = true;
      this.push(null);
    }
    if (conn.isClosing) queueMicrotask(() => this.onConnClosing(conn.closeError));
  }

  /** Our FIN has been queued. */
  get finSent(): boolean {
    return this.finQueued;
  }

  /** The peer's FIN has been read from the engine. */
  get finReceived(): boolean {
    return this.readEnded;
  }

  // -- writable side ---------------------------------------------------------------------------

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: Callback): void {
    if (this.connGone) return cb(this.goneError());
    if (chunk.length === 0) return cb();
    this.pendingChunk = chunk;
    this.pendingCb = cb;
    this.pumpWrite();
  }

  override _writev(chunks: Array<{chunk: Buffer; encoding: BufferEncoding}>, cb: Callback): void {
    this._write(chunks.length === 1 ? chunks[0].chunk : Buffer.concat(chunks.map((c) => c.chunk)), 'binary', cb);
  }

  override _final(cb: Callback): void {
    if (this.connGone) return cb(this.goneError());
    this.finCb = cb;
    this.pumpWrite();
  }

  private pumpWrite(): void {
    while (this.pendingChunk) {
      let n: number | null;
      try {
        n = this.conn.streamSend(this.id, this.pendingChunk, false);
      } catch (err) {
        return this.failWrite(err);
      }
      if (n === null || n === 0) return; // blocked: wait for onWritable
      if (n >= this.pendingChunk.length) {
        const cb = this.pendingCb!;
        this.pendingChunk = undefined;
        this.pendingCb = undefined;
        cb();
        return;
      }
      this.pendingChunk = this.pendingChunk.subarray(n);
    }
    if (this.finCb) {
      let r: number | null;
      try {
        r = this.conn.streamSend(this.id, EMPTY, true);
      } catch (err) {
        return this.failWrite(err);
      }
      if (r === null) return;
      const cb = this.finCb;
      this.finCb = undefined;
      this.finQueued = true;
      cb();
      this.checkFinished();
    }
  }

  private failWrite(err: unknown): void {
    const e = this.engineStreamError(err);
    const cb = this.pendingCb ?? this.finCb;
    this.pendingChunk = undefined;
    this.pendingCb = undefined;
    this.finCb = undefined;
    if (cb) cb(e);
    else this.destroy(e);
  }

  // -- readable side ---------------------------------------------------------------------------

  override _read(): void {
    this.wantRead = true;
    this.pumpRead(false);
  }

  private pumpRead(ignoreBackpressure: boolean): void {
    while ((this.wantRead || ignoreBackpressure) && !this.readEnded && !this.destroyed) {
      let r: [number, boolean] | null;
      try {
        r = this.conn.streamRecv(this.id, readTarget());
      } catch (err) {
        this.destroy(this.engineStreamError(err));
        return;
      }
      if (r === null) return;
      const [n, fin] = r;
      if (n > 0) this.wantRead = this.push(takeRead(n));
      if (fin) {
        this.readEnded = true;
        this.push(null);
        this.checkFinished();
        return;
      }
      if (n === 0) return;
    }
  }

  // -- StreamSink ------------------------------------------------------------------------------

  onReadable(): void {
    if (this.wantRead) this.pumpRead(false);
  }

  onWritable(): void {
    if (this.pendingChunk || this.finCb) this.pumpWrite();
  }

  // -- closing ---------------------------------------------------------------------------------

  private checkFinished(): void {
    if (this.finishedNotified || !this.readEnded || !this.finQueued) return;
    this.finishedNotified = true;
    this.opts.onFinished?.(this);
  }

  private readonly onConnClosing = (err: QuicError | undefined): void => {
    if (this.connGone) return;
    this.connGone = true;
    this.conn.off('closing', this.onConnClosing);
    if (this.destroyed) return;
    if (this.readEnded && this.finQueued && !this.pendingChunk && !this.finCb) {
      // both directions were complete; nothing is lost
      if (this.readableEnded) this.destroy();
      else this.once('end', () => this.destroy());
      return;
    }
    if (err) {
      this.destroy(err);
      return;
    }
    // Normal close by either side: keep what already arrived, then end the readable side.
    this.pumpRead(true);
    if (!this.readEnded) {
      this.readEnded = true;
      this.push(null);
    }
    if (this.pendingChunk || this.finCb) this.failWrite(this.goneError());
    if (this.readableEnded) this.destroy();
    else this.once('end', () => this.destroy());
  };

  override _destroy(err: Error | null, cb: Callback): void {
    this.conn.off('closing', this.onConnClosing);
    const bothFinished = this.readEnded && this.finQueued;
    if (!this.connGone && !bothFinished) {
      if (!this.readEnded) this.conn.streamShutdown(this.id, SHUTDOWN_READ, STREAM_CANCEL_CODE);
      if (!this.finQueued) this.conn.streamShutdown(this.id, SHUTDOWN_WRITE, STREAM_CANCEL_CODE);
    }
    this.conn.detachStream(this.id, this);
    const pending = this.pendingCb ?? this.finCb;
    this.pendingChunk = undefined;
    this.pendingCb = undefined;
    this.finCb = undefined;
    try {
      this.opts.onDestroy?.(this, err, bothFinished);
    } finally {
      if (pending) pending(err ?? new Error('stream destroyed'));
      cb(err);
    }
  }

  private goneError(): Error {
    return this.conn.closeReason ?? new Error('QUIC connection closed');
  }

  private engineStreamError(err: unknown): Error {
    const {name, code} = parseEngineError(err);
    if (name === 'StreamReset' && code !== undefined) return new Error(streamCanceledText(this.id, true, code));
    if (name === 'StreamStopped' && code !== undefined) return new Error(streamCanceledText(this.id, true, code));
    if (this.conn.isClosing) return this.goneError();
    return new Error(`QUIC stream ${this.id}: ${name}`);
  }
}

// ---------------------------------------------------------------------------------------------
// TLS modes
// ---------------------------------------------------------------------------------------------

/**
 * Post-handshake check of the peer's certificate chain (DER, leaf first; empty when the peer
 * sent none). Return (or resolve to) an Error to refuse the connection: it is then closed with
 * CRYPTO_ERROR 0x12a, and a dial fails with `CRYPTO_ERROR 0x12a (local): <message>`.
 */
export type PeerCheck = (chain: Buffer[], conn: EngineConnection) => Error | undefined | Promise<Error | undefined>;

/** Verified-mode dialer TLS (receptor tls-client config). Without this the dial is insecure. */
export interface QuicClientTlsOptions {
  /** Client certificate chain + key (PEM). */
  certPem?: string | Buffer;
  keyPem?: string | Buffer;
  /** Root CAs (PEM); handed to the TLS stack. */
  caPem?: string | Buffer;
  /**
   * The caller's check of the server chain (CA chain, pins, Receptor node ID). With a check the
   * TLS stack lets chain failures through (verifyAllowFail) and the check decides; without one
   * the TLS stack verifies the chain against `caPem` itself.
   */
  verifyPeer?: PeerCheck;
  /** Verify nothing (Go's insecureskipverify). */
  insecureSkipVerify?: boolean;
  /** SNI. Default: none (receptor's tls-client sends none). */
  serverName?: string | null;
}

/** Verified-mode listener TLS (receptor tls-server config). Without this the listener is insecure. */
export interface QuicServerTlsOptions {
  certPem: string | Buffer;
  keyPem: string | Buffer;
  /** Client CAs (PEM). */
  caPem?: string | Buffer;
  /** Ask for a client certificate and refuse clients without one. */
  requireClientCert?: boolean;
  /** The caller's check of the client chain (runs when requireClientCert is set). */
  verifyPeer?: PeerCheck;
}

/** The insecure-mode dialer check (Go: some certificate in the chain has CN `netceptor-insecure-common-name`). */
export function insecurePeerCheck(chain: Buffer[]): Error | undefined {
  for (const der of chain) {
    try {
      const attrs = decodeCertificate(der).subjectAttributes.filter((a) => a.oid === OID.commonName);
      const cn = attrs.length > 0 ? attrs[attrs.length - 1].value : undefined;
      if (cn === INSECURE_COMMON_NAME) return undefined;
    } catch {
      // unparsable certificate: keep looking
    }
  }
  return new Error(INSECURE_TO_SECURE_MESSAGE);
}

const INSECURE_CLIENT_TLS: QuicTlsConfig = Object.freeze({verifyPeer: false});
const clientTlsCache = new WeakMap<QuicClientTlsOptions, QuicTlsConfig>();

function clientEngineTls(tls: QuicClientTlsOptions | undefined): QuicTlsConfig {
  if (!tls) return INSECURE_CLIENT_TLS;
  let c = clientTlsCache.get(tls);
  if (!c) {
    const verify = !tls.insecureSkipVerify;
    c = {certPem: tls.certPem, keyPem: tls.keyPem, caPem: tls.caPem, verifyPeer: verify, verifyAllowFail: verify && tls.verifyPeer !== undefined};
    clientTlsCache.set(tls, c);
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// Receptor connections
// ---------------------------------------------------------------------------------------------

export interface QuicConnectionOptions {
  highWaterMark?: number;
}

/**
 * One receptor stream connection: a QUIC connection carrying exactly one stream. `stream` is the
 * application byte stream. Ending both directions closes the connection normally (application
 * code 0 `normal close`) once everything sent was acknowledged; destroying the stream or
 * calling close() closes at once.
 */
export class QuicConnection {
  readonly stream: QuicStream;

  constructor(
    readonly engine: EngineConnection,
    readonly role: 'dialer' | 'listener',
    streamId: number,
    opts: QuicConnectionOptions & {readEnded?: boolean} = {},
  ) {
    this.stream = new QuicStream(engine, streamId, {
      highWaterMark: opts.highWaterMark,
      readEnded: opts.readEnded,
      onFinished: () => engine.closeWhenStreamComplete(streamId),
      onDestroy: (_s, err, bothFinished) => {
        if (engine.isClosing) return;
        if (bothFinished) engine.closeWhenStreamComplete(streamId);
        else if (err) engine.close(true, APP_ERROR_CODE, err.message);
        else engine.close(true, 0, NORMAL_CLOSE_REASON);
      },
    });
  }

  /** The remote peer key (`node:service`). */
  get peer(): string {
    return this.engine.peer;
  }

  /** The peer's certificate chain (DER, leaf first). */
  get peerCertificates(): Buffer[] {
    return this.engine.peerCertChain();
  }

  /** SNI sent by the dialer (listener side). */
  get serverName(): string | null {
    return this.engine.serverName();
  }

  /** Go's CloseConnection: CONNECTION_CLOSE, application code 0 `normal close`. */
  close(): void {
    this.engine.close(true, 0, NORMAL_CLOSE_REASON);
  }

  /** CONNECTION_CLOSE with an application error code (receptor uses 500) and reason. */
  closeWithError(code: number, reason: string): void {
    this.engine.close(true, code, reason);
  }

  /** Drops the connection without a CONNECTION_CLOSE (e.g. an unreachable notice for the peer). */
  abort(err: Error): void {
    this.engine.destroy(err);
  }

  /** Resolves once the connection's state is gone. */
  waitClosed(): Promise<void> {
    return this.engine.waitClosed();
  }
}

export interface QuicDialOptions extends QuicConnectionOptions {
  /** This node's ID: the TLS SNI of an insecure dial (Go quirk), skipped for IP literals. */
  localNodeId?: string;
  /** Verified mode; absent means insecure (ConnType 1 services). */
  tls?: QuicClientTlsOptions;
  signal?: AbortSignal;
}

/**
 * Dials `peer` on `endpoint`: QUIC handshake (15 s limit), TLS check, then stream 0 with the
 * 0x00 init byte. Rejects with a QuicError (e.g. `CRYPTO_ERROR 0x12a (local): insecure
 * connection to secure service`, `timeout: handshake did not complete in time`).
 */
export async function dialQuic(endpoint: QuicEndpoint, peer: string, opts: QuicDialOptions = {}): Promise<QuicConnection> {
  opts.signal?.throwIfAborted();
  let serverName: string | null;
  if (opts.tls) serverName = opts.tls.serverName ?? null;
  else serverName = opts.localNodeId && isIP(opts.localNodeId) === 0 ? opts.localNodeId : null;
  const conn = endpoint.connect(peer, {serverName, tls: clientEngineTls(opts.tls)});
  const onAbort = (): void => conn.destroy(opts.signal!.reason instanceof Error ? opts.signal!.reason : new Error('aborted'));
  opts.signal?.addEventListener('abort', onAbort, {once: true});
  try {
    await conn.waitEstablished();
    let refusal: Error | undefined;
    if (!opts.tls) refusal = insecurePeerCheck(conn.peerCertChain());
    else if (opts.tls.verifyPeer && !opts.tls.insecureSkipVerify) {
      try {
        refusal = await opts.tls.verifyPeer(conn.peerCertChain(), conn);
      } catch (err) {
        refusal = err instanceof Error ? err : new Error(String(err));
      }
    }
    opts.signal?.throwIfAborted();
    if (refusal) {
      conn.close(false, CRYPTO_ERROR_BAD_CERTIFICATE, refusal.message);
      throw conn.closeError ?? new QuicError('transport', CRYPTO_ERROR_BAD_CERTIFICATE, false, refusal.message);
    }
    if (conn.isClosing) throw conn.closeReason ?? new Error('QUIC connection closed');
    const id = conn.openStream();
    const n = conn.streamSend(id, INIT_BYTE, false);
    if (n !== 1) {
      const reason = 'could not open stream';
      conn.close(true, APP_ERROR_CODE, reason);
      throw new Error(reason);
    }
    return new QuicConnection(conn, 'dialer', id, opts);
  } catch (err) {
    if (!conn.isClosing) conn.close(true, APP_ERROR_CODE, err instanceof Error ? err.message : String(err));
    if (opts.signal?.aborted) throw opts.signal.reason;
    throw err;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

export interface QuicListenerOptions extends QuicConnectionOptions {
  /** Verified mode; absent means insecure (a fresh self-signed certificate per listener). */
  tls?: QuicServerTlsOptions;
  /** Insecure mode: use this certificate instead of generating one (tests; must have the insecure CN for Go dialers). */
  insecureCert?: {certPem: string | Buffer; keyPem: string | Buffer};
  /** How long a new connection may take to open its stream (Go: 60 s). */
  acceptTimeoutMs?: number;
  clock?: Clock;
}

/**
 * A stream listener on an endpoint. Events: `connection` (QuicConnection) for each accepted
 * connection; `refused` (peer: string, err: Error) for connections that failed before they were
 * handed out (handshake, certificate check, init byte, accept timeout).
 */
export class QuicListener extends EventEmitter {
  private readonly pending = new Set<EngineConnection>();
  private closedFlag = false;
  private readonly acceptTimeoutMs: number;
  private readonly clock: Clock;

  constructor(
    readonly endpoint: QuicEndpoint,
    private readonly opts: QuicListenerOptions,
    engineTls: QuicTlsConfig,
  ) {
    super();
    this.acceptTimeoutMs = opts.acceptTimeoutMs ?? STREAM_ACCEPT_TIMEOUT_MS;
    this.clock = opts.clock ?? endpoint.clock;
    endpoint.listen({tls: engineTls, onConnection: (c) => this.handle(c)});
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Stops accepting; connections not yet handed out are closed with 500 `Listener Closed`. */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.endpoint.stopListening();
    for (const c of [...this.pending]) c.close(true, APP_ERROR_CODE, 'Listener Closed');
    this.pending.clear();
  }

  private handle(conn: EngineConnection): void {
    if (this.closedFlag) {
      conn.close(true, APP_ERROR_CODE, 'Listener Closed');
      return;
    }
    this.pending.add(conn);
    let streamId: number | undefined;
    let ready = false;
    let done = false;
    let timer: TimerHandle | undefined;
    const initBuf = Buffer.alloc(1);

    const finish = (): void => {
      done = true;
      this.pending.delete(conn);
      conn.off('stream', onStream);
      conn.off('closing', onClosing);
      if (timer !== undefined) this.clock.clearTimeout(timer);
      timer = undefined;
    };
    const refuse = (err: Error): void => {
      if (done) return;
      finish();
      this.emit('refused', conn.peer, err);
    };
    const fail = (code: number, reason: string, opts: {error?: QuicError; wireReason?: string} = {}): void => {
      if (done) return;
      conn.close(code === CRYPTO_ERROR_BAD_CERTIFICATE ? false : true, code, reason, opts);
      refuse(conn.closeReason ?? new Error(reason));
    };
    const onClosing = (err: QuicError | undefined): void => refuse(err ?? conn.closeReason ?? new Error('QUIC connection closed'));
    const sink: StreamSink = {onReadable: () => tryReadInit(), onWritable: () => undefined};
    const onStream = (id: number): void => {
      if (streamId !== undefined) return; // Go accepts one stream only
      streamId = id;
      conn.attachStream(id, sink);
      if (ready) tryReadInit();
    };
    const tryReadInit = (): void => {
      if (done || !ready || streamId === undefined) return;
      let r: [number, boolean] | null;
      try {
        r = conn.streamRecv(streamId, initBuf);
      } catch (err) {
        const {name, code} = parseEngineError(err);
        const text = name === 'StreamReset' && code !== undefined ? streamCanceledText(streamId, true, code) : name;
        return fail(APP_ERROR_CODE, `Read Error: ${text}`);
      }
      if (r === null) return;
      const [n, fin] = r;
      if (n === 0 && fin) return fail(APP_ERROR_CODE, 'Read Error: EOF');
      if (n !== 1 || initBuf[0] !== 0) return fail(APP_ERROR_CODE, 'Read Data Error');
      const id = streamId;
      finish();
      conn.detachStream(id, sink);
      const qc = new QuicConnection(conn, 'listener', id, {highWaterMark: this.opts.highWaterMark, readEnded: fin});
      this.emit('connection', qc);
    };

    conn.on('stream', onStream);
    conn.on('closing', onClosing);
    conn
      .waitEstablished()
      .then(async () => {
        if (done) return;
        const tls = this.opts.tls;
        if (tls?.requireClientCert && tls.verifyPeer) {
          let refusal: Error | undefined;
          try {
            refusal = await tls.verifyPeer(conn.peerCertChain(), conn);
          } catch (err) {
            refusal = err instanceof Error ? err : new Error(String(err));
          }
          if (done) return;
          if (refusal) {
            // Go's peer sees `CRYPTO_ERROR 0x12a (remote): tls: bad certificate`: no reason on the wire.
            return fail(CRYPTO_ERROR_BAD_CERTIFICATE, refusal.message, {wireReason: ''});
          }
        }
        ready = true;
        timer = this.clock.setTimeout(() => {
          timer = undefined;
          fail(APP_ERROR_CODE, 'Accept Timeout');
        }, this.acceptTimeoutMs);
        tryReadInit();
      })
      .catch((err: unknown) => refuse(err instanceof Error ? err : new Error(String(err))));
  }
}

/**
 * Starts a stream listener on `endpoint`. Without `tls` it is insecure: a fresh self-signed
 * certificate (RSA-2048, CN `netceptor-insecure-common-name`) is made for it.
 */
export async function listenQuic(endpoint: QuicEndpoint, opts: QuicListenerOptions = {}): Promise<QuicListener> {
  let engineTls: QuicTlsConfig;
  if (opts.tls) {
    const t = opts.tls;
    const verify = t.requireClientCert === true;
    engineTls = {certPem: t.certPem, keyPem: t.keyPem, caPem: t.caPem, verifyPeer: verify, verifyAllowFail: verify && t.verifyPeer !== undefined};
  } else {
    const cert = opts.insecureCert ?? (await createInsecureStreamCert());
    engineTls = {certPem: cert.certPem, keyPem: cert.keyPem, verifyPeer: false};
  }
  return new QuicListener(endpoint, opts, engineTls);
}

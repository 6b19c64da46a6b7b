/**
 * Receptor connections over QUIC (netceptor-wire.md §11.4–§11.6), built on the stream
 * Duplex of ./duplex.ts:
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
import type {Clock, TimerHandle} from '../../clock.js';
import {createInsecureStreamCert, decodeCertificate, INSECURE_COMMON_NAME, OID} from '../../pki/x509.js';
import {EngineConnection, type StreamSink} from './connection.js';
import {QuicStream} from './duplex.js';
import {QuicEndpoint} from './endpoint.js';
import {CRYPTO_ERROR_BAD_CERTIFICATE, parseEngineError, QuicError, streamCanceledText, type QuicTlsConfig} from './engine.js';

export const STREAM_ACCEPT_TIMEOUT_MS = 60_000;
/** Application error code of receptor's own connection closes. */
export const APP_ERROR_CODE = 500;
export const NORMAL_CLOSE_REASON = 'normal close';
export const INSECURE_TO_SECURE_MESSAGE = 'insecure connection to secure service';

export {QuicStream, STREAM_CANCEL_CODE, type QuicStreamOptions} from './duplex.js';

const INIT_BYTE = Buffer.from([0]);

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
      const cn = attrs.at(-1)?.value;
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

/**
 * TCP mesh backend (netceptor-wire.md §2.2): one netceptor message per frame of a u16
 * little-endian length followed by the message. TCP_NODELAY, one socket write per frame.
 * Optional TLS (§2.7): the listener is always the TLS server, the dialer the TLS client.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import type {Logger} from 'pino';
import type {Clock} from '../../core/clock.js';
import type {BackendRunning, MeshBackend, SessionSink} from '../../core/netceptor/backend.js';
import type {BackoffOptions} from '../../core/netceptor/redial.js';
import {encodeTcpFrame, MAX_TCP_MESSAGE, TcpFrameError, TcpFramer} from '../../core/netceptor/tcp-framer.js';
import {goTlsError} from '../../core/tls/go-tls-errors.js';
import {clientCertRefused, logTlsHandshakeFailure, peerCertNodeIdsFor, startDialer, watchDialAbort, type TlsClientOptions, type TlsServerOptions} from '../backend-common/items.js';
import {ListenerSessions, listenerStop, listenTcp} from '../backend-common/listener.js';
import {RepeatFilter} from '../../core/repeat-log.js';
import {joinHostPort, netSocketHandle, SOCKET_CLOSE_GRACE_MS, splitHostPort, StreamSocketSession} from '../../core/netceptor/session-base.js';

/** Largest message a u16 length prefix can describe. */
export const TCP_MAX_MESSAGE = MAX_TCP_MESSAGE;
/** Go's TLS dialer: connect + handshake must finish within 15 s. */
export const TLS_DIAL_TIMEOUT_MS = 15_000;
/** A local close waits this long for queued frames to drain before destroying the socket. */
export const TCP_CLOSE_GRACE_MS = SOCKET_CLOSE_GRACE_MS;

function remoteOf(socket: net.Socket): string {
  return socket.remoteAddress ? joinHostPort(socket.remoteAddress, socket.remotePort ?? 0) : 'unknown';
}

/** Messages at least this long are written without copying them into a frame buffer. */
const LARGE_FRAME = 2048;

/** One TCP (or TLS-over-TCP) connection carrying length-prefixed frames. */
export class TcpSession extends StreamSocketSession {
  readonly kind: string = 'tcp';
  private readonly framer = new TcpFramer();
  /** See BackendSession; set by the backend that made the TLS socket. */
  peerCertNodeIds?: readonly string[];

  constructor(
    private readonly socket: net.Socket,
    outbound: boolean,
    logger?: Logger,
    remote?: string,
  ) {
    super({remote: remote ?? remoteOf(socket), outbound, maxMessageSize: TCP_MAX_MESSAGE, logger, graceMs: TCP_CLOSE_GRACE_MS}, netSocketHandle(socket));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  private onData(chunk: Buffer): void {
    if (!this.isOpen) return;
    let msgs: Buffer[];
    try {
      msgs = this.framer.push(chunk);
    } catch (err) {
      // whole messages before the bad frame still count
      if (err instanceof TcpFrameError) for (const m of err.messages) this.receive(m);
      this.logger?.warn({remote: this.remote, err: (err as Error).message}, 'malformed TCP frame; closing the session');
      this.transportEnded(err as Error);
      return;
    }
    for (const m of msgs) this.receive(m);
  }

  private corked = false;
  private readonly uncork = () => {
    this.corked = false;
    if (!this.socket.destroyed) this.socket.uncork();
  };

  /**
   * Frames written in the same tick go out in one writev (cork until the next tick); large
   * messages are written with a separate 2-byte header instead of being copied.
   */
  protected override backlogBytes(): number {
    return this.socket.writableLength;
  }

  protected transmit(msg: Uint8Array): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    if (msg.length < LARGE_FRAME) {
      this.socket.write(encodeTcpFrame(msg));
      return;
    }
    const header = Buffer.allocUnsafe(2);
    header.writeUInt16LE(msg.length, 0);
    this.socket.write(header);
    this.socket.write(msg);
  }
}

export interface TcpListenerOptions {
  port: number;
  /** Default `0.0.0.0`; empty = all interfaces. */
  bindAddr?: string;
  /** TLS SEAM: server options from a tls-server config; absent = plain TCP. */
  tls?: TlsServerOptions;
}

/** `tcp-listener`: accepts TCP (or TLS) connections; each one is a session. */
export class TcpListenerBackend implements MeshBackend {
  readonly kind = 'tcp-listener';
  readonly description: string;
  constructor(readonly options: TcpListenerOptions) {
    const bind = options.bindAddr ?? '0.0.0.0';
    this.description = `${options.tls ? 'TLS ' : ''}TCP listener on ${joinHostPort(bind, options.port)}`;
  }

  async start(sink: SessionSink, logger: Logger): Promise<BackendRunning> {
    const {tls: tlsOpts} = this.options;
    const server: net.Server = tlsOpts ? tls.createServer(tlsOpts) : net.createServer();
    const sessions = new ListenerSessions<TcpSession>(sink);
    const sockets = new Set<net.Socket>();

    server.on('connection', (raw: net.Socket) => {
      if (sessions.stopping) {
        raw.destroy();
        return;
      }
      sockets.add(raw);
      raw.once('close', () => sockets.delete(raw));
    });
    const accept = (socket: net.Socket) => {
      if (sessions.stopping) {
        socket.destroy();
        return;
      }
      if (tlsOpts && clientCertRefused(tlsOpts, socket as tls.TLSSocket, logger)) return;
      const s = new TcpSession(socket, false, logger);
      if (tlsOpts) s.peerCertNodeIds = peerCertNodeIdsFor(tlsOpts, socket as tls.TLSSocket);
      logger.debug({remote: s.remote}, 'accepted TCP backend connection');
      sessions.accept(s);
    };
    if (tlsOpts) {
      const tlsRepeats = new RepeatFilter();
      server.on('secureConnection', accept);
      server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
        logTlsHandshakeFailure(logger, tlsRepeats, tlsOpts, err, socket);
      });
    } else {
      server.on('connection', accept);
    }

    const localAddress = await listenTcp(server, this.options.bindAddr, this.options.port, logger, 'TCP listener');
    return {
      localAddress,
      stop: listenerStop({
        stopAccepting: () => sessions.stopAccepting(server),
        sessions: () => sessions,
        release: () => {
          for (const raw of sockets) raw.destroy();
        },
      }),
    };
  }
}

export interface TcpDialerOptions {
  /** `host:port`. */
  address: string;
  /** Default true. */
  redial?: boolean;
  /** TLS SEAM: client options from a tls-client config; absent = plain TCP. */
  tls?: TlsClientOptions;
  clock?: Clock;
  /** Overrides the 5 s ×1.5 ≤ 20 s back-off (tests). */
  backoff?: BackoffOptions;
}

/** `tcp-peer`: dials `address`, redialling with back-off. */
export class TcpDialerBackend implements MeshBackend {
  readonly kind = 'tcp-peer';
  readonly description: string;
  private readonly host: string;
  private readonly port: number;
  constructor(readonly options: TcpDialerOptions) {
    ({host: this.host, port: this.port} = splitHostPort(options.address));
    this.description = `${options.tls ? 'TLS ' : ''}TCP peer ${options.address}`;
  }

  async start(sink: SessionSink, logger: Logger): Promise<BackendRunning> {
    return startDialer(this.options, (signal) => this.dial(signal, logger), sink, logger);
  }

  /** One transport dial: resolves with a session once TCP (and TLS) are up. */
  dial(signal: AbortSignal, logger?: Logger): Promise<TcpSession> {
    return new Promise<TcpSession>((resolve, reject) => {
      const tlsOpts = this.options.tls;
      const socket: net.Socket = tlsOpts
        ? tls.connect({...tlsOpts, host: this.host, port: this.port, servername: net.isIP(this.host) ? undefined : this.host})
        : net.connect({host: this.host, port: this.port});
      let timer: NodeJS.Timeout | undefined;
      const cleanup = () => {
        if (timer) clearTimeout(timer);
        socket.off('error', fail);
        unwatch();
      };
      const fail = (err: Error) => {
        cleanup();
        socket.destroy();
        reject(tlsOpts ? goTlsError(err) : err);
      };
      const unwatch = watchDialAbort(signal, fail);
      socket.once('error', fail);
      if (tlsOpts) {
        timer = setTimeout(() => fail(new Error(`TLS dial to ${this.options.address} timed out`)), TLS_DIAL_TIMEOUT_MS);
        timer.unref();
      }
      socket.once(tlsOpts ? 'secureConnect' : 'connect', () => {
        cleanup();
        const s = new TcpSession(socket, true, logger, this.options.address);
        if (tlsOpts) s.peerCertNodeIds = peerCertNodeIdsFor(tlsOpts, socket as tls.TLSSocket);
        resolve(s);
      });
    });
  }
}

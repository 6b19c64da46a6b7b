/**
 * WebSocket mesh backend (netceptor-wire.md §2.4) on the `ws` package: one netceptor
 * message per binary message, no subprotocol, no permessage-deflate, pings answered (ws
 * default), abrupt closes tolerated. Text messages are accepted like Go's backend does
 * (UTF-8 is not checked), but only binary messages are sent.
 *
 * Listener: an HTTP(S) server serving one path with Go ServeMux matching (404 otherwise),
 * gorilla's upgrade checks (400/405) and same-origin check (403), 5 s header timeout.
 * Dialer: sends `Origin: http(s)://<host[:port]>` and the optional extra header.
 * HTTP(S)_PROXY / NO_PROXY are not supported (yet).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type {TLSSocket} from 'node:tls';
import type {Duplex} from 'node:stream';
import type {Logger} from 'pino';
import WebSocket, {WebSocketServer} from 'ws';
import type {Clock} from '../../core/clock.js';
import type {BackendRunning, MeshBackend, SessionSink} from '../../core/netceptor/backend.js';
import type {BackoffOptions} from '../../core/netceptor/redial.js';
import {goTlsError} from '../../core/tls/go-tls-errors.js';
import {clientCertRefused, logTlsHandshakeFailure, peerCertNodeIdsFor, startDialer, watchDialAbort, type TlsClientOptions, type TlsServerOptions} from '../backend-common/items.js';
import {ListenerSessions, listenerStop, listenTcp} from '../backend-common/listener.js';
import {RepeatFilter} from '../../core/repeat-log.js';
import {joinHostPort, SOCKET_CLOSE_GRACE_MS, StreamSocketSession, type SocketHandle} from '../../core/netceptor/session-base.js';
import {parseWsUrl, dialerOrigin, headerHasToken, matchServeMuxPath, parseExtraHeader, sameOrigin, validWebSocketKey} from './http-rules.js';

/**
 * Largest WebSocket message accepted (Go has no limit). Netceptor messages are far
 * smaller (MTU 16384, QUIC datagrams ≤ 1452 + 36); 16 MiB only bounds memory per peer.
 */
export const WS_MAX_RECEIVE = 16 * 1024 * 1024;
/** Header read timeout of the listener (Go: ReadHeaderTimeout 5 s). */
export const WS_HEADER_TIMEOUT_MS = 5_000;
/** Dialer handshake timeout (gorilla's DefaultDialer value; receptor sets none). */
export const WS_HANDSHAKE_TIMEOUT_MS = 45_000;
/** A local close waits this long for the close handshake before dropping the socket. */
export const WS_CLOSE_GRACE_MS = SOCKET_CLOSE_GRACE_MS;

function toBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** A WebSocket as a stream socket: a graceful close is the close handshake, dropping it is terminate(). */
function wsHandle(ws: WebSocket): SocketHandle {
  return {
    events: ws,
    end: () => ws.close(),
    destroy: () => ws.terminate(),
    state: () => (ws.readyState === WebSocket.CLOSED ? 'closed' : 'open'),
  };
}

/** One WebSocket connection. */
export class WsSession extends StreamSocketSession {
  readonly kind: string = 'ws';
  /** See BackendSession; set by the backend that made the TLS socket. */
  peerCertNodeIds?: readonly string[];

  constructor(
    private readonly ws: WebSocket,
    remote: string,
    outbound: boolean,
    logger?: Logger,
  ) {
    super({remote, outbound, maxMessageSize: Infinity, logger, graceMs: WS_CLOSE_GRACE_MS}, wsHandle(ws));
    ws.on('message', (data) => this.receive(toBuffer(data)));
    ws.on('error', (err) => this.logger?.debug({remote: this.remote, err: err.message}, 'WebSocket error'));
  }

  protected override backlogBytes(): number {
    return this.ws.bufferedAmount;
  }

  protected transmit(msg: Uint8Array): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(msg, {binary: true, compress: false});
  }
}

/** Writes a Go-style plain-text error response on a raw socket and closes it. */
function refuseUpgrade(socket: Duplex, status: number, headers: Record<string, string> = {}, body?: string): void {
  const text = http.STATUS_CODES[status] ?? 'Error';
  const payload = body ?? `${text}\n`;
  const lines = [
    `HTTP/1.1 ${status} ${text}`,
    'Content-Type: text/plain; charset=utf-8',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    'X-Content-Type-Options: nosniff',
    `Content-Length: ${Buffer.byteLength(payload)}`,
    'Connection: close',
    '',
    '',
  ];
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(lines.join('\r\n') + payload, () => socket.destroy());
}

export interface WsListenerOptions {
  port: number;
  /** Default `0.0.0.0`. */
  bindAddr?: string;
  /** URL path served (default `/`), Go ServeMux semantics. */
  path?: string;
  /** TLS SEAM: server options from a tls-server config; serves HTTPS when given. */
  tls?: TlsServerOptions;
}

/** `ws-listener`: an HTTP(S) server accepting WebSocket upgrades on one path. */
export class WsListenerBackend implements MeshBackend {
  readonly kind = 'ws-listener';
  readonly description: string;
  readonly path: string;
  constructor(readonly options: WsListenerOptions) {
    this.path = options.path || '/';
    const scheme = options.tls ? 'wss' : 'ws';
    this.description = `WebSocket listener ${scheme}://${joinHostPort(options.bindAddr ?? '0.0.0.0', options.port)}${this.path}`;
  }

  async start(sink: SessionSink, logger: Logger): Promise<BackendRunning> {
    const serverOpts: http.ServerOptions = {headersTimeout: WS_HEADER_TIMEOUT_MS, connectionsCheckingInterval: 1_000};
    const server: http.Server = this.options.tls ? https.createServer({...this.options.tls, ...serverOpts}) : http.createServer(serverOpts);
    const wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      clientTracking: false,
      maxPayload: WS_MAX_RECEIVE,
      skipUTF8Validation: true,
      handleProtocols: () => false,
    });
    const sessions = new ListenerSessions<WsSession>(sink);
    const upgrading = new Set<Duplex>();

    const pathCheck = (target: string, reply: (status: number, headers?: Record<string, string>, body?: string) => void): boolean => {
      const m = matchServeMuxPath(this.path, target);
      if (m.kind === 'match') return true;
      if (m.kind === 'redirect') reply(301, {Location: m.location}, '');
      else reply(404, {}, '404 page not found\n');
      return false;
    };

    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const reply = (status: number, headers: Record<string, string> = {}, body?: string) => {
        const text = http.STATUS_CODES[status] ?? 'Error';
        const payload = body ?? `${text}\n`;
        res.writeHead(status, {'Content-Type': 'text/plain; charset=utf-8', ...headers, 'X-Content-Type-Options': 'nosniff'});
        res.end(payload);
      };
      if (!pathCheck(req.url ?? '/', reply)) return;
      // The path is ours, but this is not a WebSocket upgrade (gorilla: 400).
      reply(400, {'Sec-Websocket-Version': '13'});
    });

    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      if (sessions.stopping) {
        socket.destroy();
        return;
      }
      const reply = (status: number, headers: Record<string, string> = {}, body?: string) => {
        logger.debug({remote: req.socket.remoteAddress, status, url: req.url}, 'refused WebSocket upgrade');
        refuseUpgrade(socket, status, headers, body);
      };
      if (!pathCheck(req.url ?? '/', reply)) return;
      const wsErr = {'Sec-Websocket-Version': '13'};
      if (!headerHasToken(req.headers.connection, 'upgrade') || !headerHasToken(req.headers.upgrade, 'websocket')) return reply(400, wsErr);
      if (req.method !== 'GET') return reply(405, wsErr);
      if (!headerHasToken(req.headers['sec-websocket-version'], '13')) return reply(400, wsErr);
      if (!sameOrigin(req.headers.origin, req.headers.host)) return reply(403, wsErr);
      if (!validWebSocketKey(req.headers['sec-websocket-key'])) return reply(400, wsErr);
      if (this.options.tls && clientCertRefused(this.options.tls, req.socket as TLSSocket, logger)) return;
      upgrading.add(socket);
      socket.once('close', () => upgrading.delete(socket));
      wss.handleUpgrade(req, socket, head, (ws) => {
        upgrading.delete(socket);
        const remote = joinHostPort(req.socket.remoteAddress ?? 'unknown', req.socket.remotePort ?? 0);
        const s = new WsSession(ws, remote, false, logger);
        if (this.options.tls) s.peerCertNodeIds = peerCertNodeIdsFor(this.options.tls, req.socket as TLSSocket);
        if (!sessions.stopping) logger.debug({remote}, 'accepted WebSocket backend connection');
        sessions.accept(s);
      });
    });
    const tlsRepeats = new RepeatFilter();
    server.on('tlsClientError', (err: Error, socket: TLSSocket) => logTlsHandshakeFailure(logger, tlsRepeats, this.options.tls, err, socket));

    const localAddress = await listenTcp(server, this.options.bindAddr, this.options.port, logger, 'WebSocket listener');
    return {
      localAddress,
      stop: listenerStop({
        stopAccepting: () => sessions.stopAccepting(server),
        sessions: () => sessions,
        release: () => {
          server.closeAllConnections();
          for (const sock of upgrading) sock.destroy();
        },
      }),
    };
  }
}

export interface WsDialerOptions {
  /** `ws://…` or `wss://…` URL (path and query included). */
  address: string;
  /** Default true. */
  redial?: boolean;
  /** `Name:Value`, split at the first `:`. */
  extraHeader?: string;
  /** TLS SEAM: client options from a tls-client config (for `wss://`). */
  tls?: TlsClientOptions;
  clock?: Clock;
  backoff?: BackoffOptions;
}

/** `ws-peer`: dials a WebSocket URL, redialling with back-off. */
export class WsDialerBackend implements MeshBackend {
  readonly kind = 'ws-peer';
  readonly description: string;
  private readonly url: URL;
  private readonly headers: Record<string, string>;
  constructor(readonly options: WsDialerOptions) {
    this.url = parseWsUrl(options.address);
    this.headers = {Origin: dialerOrigin(this.url)};
    if (options.extraHeader) {
      const {name, value} = parseExtraHeader(options.extraHeader);
      this.headers[name] = value;
    }
    this.description = `WebSocket peer ${options.address}`;
  }

  async start(sink: SessionSink, logger: Logger): Promise<BackendRunning> {
    return startDialer(this.options, (signal) => this.dial(signal, logger), sink, logger);
  }

  /** One dial: resolves once the upgrade succeeded. */
  dial(signal: AbortSignal, logger?: Logger): Promise<WsSession> {
    return new Promise<WsSession>((resolve, reject) => {
      const ws = new WebSocket(this.url, {
        ...(this.options.tls as WebSocket.ClientOptions | undefined),
        perMessageDeflate: false,
        followRedirects: false,
        handshakeTimeout: WS_HANDSHAKE_TIMEOUT_MS,
        maxPayload: WS_MAX_RECEIVE,
        skipUTF8Validation: true,
        headers: {...this.headers},
      });
      const cleanup = () => {
        ws.off('error', fail);
        ws.off('open', onOpen);
        unwatch();
      };
      const fail = (err: Error) => {
        cleanup();
        ws.on('error', () => undefined); // late errors after terminate
        ws.terminate();
        reject(this.options.tls ? goTlsError(err) : err);
      };
      let tlsSocket: TLSSocket | undefined;
      ws.once('upgrade', (res: http.IncomingMessage) => (tlsSocket = res.socket as TLSSocket));
      const onOpen = () => {
        cleanup();
        const s = new WsSession(ws, this.options.address, true, logger);
        if (this.options.tls) s.peerCertNodeIds = peerCertNodeIdsFor(this.options.tls, tlsSocket);
        resolve(s);
      };
      const unwatch = watchDialAbort(signal, fail);
      ws.once('error', fail);
      ws.once('open', onOpen);
    });
  }
}

/**
 * TCP service proxies (config.md §5.7) and the pieces the unix-socket proxies share:
 *
 *  - `tcp-server`: a TCP (optionally TLS) listener; every accepted connection is bridged to a
 *    new mesh stream to `remotenode:remoteservice`;
 *  - `tcp-client`: an advertised mesh stream service (tags `type: TCP Proxy`, `address`);
 *    every stream is bridged to a new TCP (optionally TLS, host-name verified) connection.
 *
 * Bridging keeps both directions independent: EOF on one side half-closes the other
 * (TCP FIN / QUIC FIN), the pair is finished once both directions are. A failure on either
 * side (reset, mesh route lost, QUIC error) destroys the other side too — a plain TCP socket
 * is reset (RST) so that its peer sees an error rather than a clean, truncated end of stream.
 * Unlike Go receptor, a connection whose mesh dial (or local connect) fails is closed, not
 * leaked.
 */
import net from 'node:net';
import type {Duplex} from 'node:stream';
import tls from 'node:tls';
import type {Logger} from 'pino';
import type {Runtime} from '../config/types.js';
import type {Netceptor} from '../netceptor/node.js';
import {dialStream, listenStream, type MeshStream, type StreamListener} from '../netceptor/streams.js';
import {splitHostPort} from '../netceptor/session-base.js';
import {tlsClientConfigOf, tlsServerConfigOf, type TlsClientConfig, type TlsServerConfig} from '../tls/config.js';
import type {TcpClientValues, TcpServerValues} from '../../plugins/services/index.js';
import {ReceptorError} from '../errors.js';

/** Go's net package default: TCP keep-alive probes after 15 s idle. */
const KEEPALIVE_MS = 15_000;
/** Socket buffer high-water mark, matching the mesh stream's (fewer, larger chunks). */
export const SOCKET_HWM = 256 * 1024;

/** `net.connect` options plus the stream options Node passes through (not in its typings). */
export type ConnectOptions = net.NetConnectOpts & {allowHalfOpen: boolean; highWaterMark: number};

/** `net.connect` with the options above (Node hands them to the socket's Duplex). */
export function connectLocal(opts: ConnectOptions): net.Socket {
  return net.connect(opts);
}

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/** The mesh node of the runtime (services need the mesh layer). */
export function meshNodeOf(rt: Runtime, key: string): Netceptor {
  const node = rt.node as Partial<Netceptor>;
  if (typeof node.listenPacket !== 'function' || typeof node.listenPacketAndAdvertise !== 'function') {
    throw new ReceptorError('E_NO_MESH', `${key} needs a mesh node, but this node has no mesh layer`);
  }
  return node as Netceptor;
}

/** A named tls-server config (`unknown TLS config <name>` when absent); undefined for ''. */
export function tlsServerFor(rt: Runtime, name: string): TlsServerConfig | undefined {
  if (name === '') return undefined;
  const cfg = tlsServerConfigOf(rt.registry('tls-server').get(name));
  if (!cfg) throw new ReceptorError('E_TLS_CONFIG_UNKNOWN', `unknown TLS config ${name}`);
  return cfg;
}

/** A named tls-client config (`unknown TLS config <name>` when absent); undefined for ''. */
export function tlsClientFor(rt: Runtime, name: string): TlsClientConfig | undefined {
  if (name === '') return undefined;
  const cfg = tlsClientConfigOf(rt.registry('tls-client').get(name));
  if (!cfg) throw new ReceptorError('E_TLS_CONFIG_UNKNOWN', `unknown TLS config ${name}`);
  return cfg;
}

/** Ends a local socket abortively: RST for plain TCP, a plain destroy otherwise. */
export function abortSocket(s: net.Socket): void {
  if (s.destroyed) return;
  if (!(s instanceof tls.TLSSocket)) {
    try {
      s.resetAndDestroy(); // throws for non-TCP handles (unix sockets)
      return;
    } catch {
      // fall through
    }
  }
  s.destroy();
}

function tuneTcp(s: net.Socket): void {
  // no-ops on unix sockets
  s.setNoDelay(true);
  s.setKeepAlive(true, KEEPALIVE_MS);
}

/** Both directions done: EOF read and our own end flushed. */
function finished(s: Duplex): boolean {
  return s.readableEnded && s.writableFinished;
}

/**
 * Bridges a local socket and a mesh stream in both directions with half-close. Returns a
 * function that tears the pair down (used at shutdown); `onDone` runs once both are closed.
 */
export function bridge(local: net.Socket, mesh: Duplex, opts: {logger: Logger; what: string; onDone?: () => void}): (err?: Error) => void {
  const {logger, what} = opts;
  let failed = false;
  let closed = 0;
  const fail = (err: Error, quiet = false): void => {
    if (failed) return;
    failed = true;
    if (quiet) logger.debug({err: err.message}, `${what}: connection closed`);
    else logger.warn({err: err.message}, `${what}: connection error: ${err.message}`);
    if (!mesh.destroyed) mesh.destroy(err);
    abortSocket(local);
  };
  const done = (): void => {
    if (++closed === 2) opts.onDone?.();
  };
  local.on('error', (err) => fail(err));
  mesh.on('error', (err) => fail(err));
  local.once('close', () => {
    // A local socket only closes unfinished without an error when destroyed on purpose.
    if (!failed && !finished(local)) fail(new Error('local connection closed'), true);
    done();
  });
  mesh.once('close', () => {
    if (!failed && !finished(mesh)) {
      if (!mesh.readableEnded) {
        fail(new Error('mesh connection closed'), true);
      } else if (!local.destroyed) {
        // The peer closed the mesh connection after its last byte (Go closes the whole
        // connection once one direction is done): deliver what arrived, then close.
        local.unpipe(mesh);
        local.end();
        if (local.writableFinished) local.destroy();
        else local.once('finish', () => local.destroy());
      }
    }
    done();
  });
  local.pipe(mesh);
  mesh.pipe(local);
  return (err) => fail(err ?? new Error('proxy shutting down'), true);
}

/** What one proxy item keeps alive: bridges and connections still being set up. */
export class ProxyConnections {
  private readonly live = new Set<(err?: Error) => void>();

  constructor(
    private readonly logger: Logger,
    private readonly what: string,
  ) {}

  get size(): number {
    return this.live.size;
  }

  /** Tracks a connection in set-up; returns the function that untracks it. */
  pending(cancel: () => void): () => void {
    const fn = () => cancel();
    this.live.add(fn);
    return () => this.live.delete(fn);
  }

  bridge(local: net.Socket, mesh: Duplex): void {
    const kill = bridge(local, mesh, {logger: this.logger, what: this.what, onDone: () => this.live.delete(kill)});
    this.live.add(kill);
  }

  closeAll(): void {
    for (const kill of [...this.live]) kill(new Error('proxy shutting down'));
    this.live.clear();
  }
}

/**
 * Local → mesh: returns the handler for accepted local sockets (TCP, TLS or unix). Each is
 * bridged to a new stream to `remoteNode:remoteService`; a failed dial closes the socket.
 */
export function localToMesh(
  node: Netceptor,
  target: {remoteNode: string; remoteService: string; tls: TlsClientConfig | undefined},
  conns: ProxyConnections,
  logger: Logger,
): (sock: net.Socket) => void {
  return (sock) => {
    sock.on('error', () => {}); // until bridged, an error just closes it (and aborts the dial)
    tuneTcp(sock);
    const ac = new AbortController();
    const onEarlyClose = () => ac.abort(new Error('local connection closed before the mesh connection was up'));
    sock.once('close', onEarlyClose);
    const untrack = conns.pending(() => {
      ac.abort(new Error('proxy shutting down'));
      sock.destroy();
    });
    // (shutdown cancels dials in progress through `conns`)
    dialStream(node, target.remoteNode, target.remoteService, {tls: target.tls, signal: ac.signal}).then(
      (ms: MeshStream) => {
        untrack();
        sock.off('close', onEarlyClose);
        if (sock.destroyed) {
          ms.conn.stream.on('error', () => {});
          ms.conn.stream.destroy();
          sock.destroy();
          return;
        }
        logger.debug({remote: `${ms.remoteNode}:${ms.remoteService}`}, 'mesh connection established');
        conns.bridge(sock, ms.conn.stream);
      },
      (err: Error) => {
        untrack();
        sock.off('close', onEarlyClose);
        if (sock.destroyed) return;
        logger.error({err: err.message}, `Error connecting on Receptor network: ${err.message}`);
        abortSocket(sock);
      },
    );
  };
}

/**
 * Mesh → local: bridges each stream accepted by `listener` to a new local connection made by
 * `connect` (ready on `readyEvent`). A failed connect destroys the mesh stream.
 */
export function meshToLocal(
  listener: StreamListener,
  connect: () => net.Socket,
  readyEvent: 'connect' | 'secureConnect',
  conns: ProxyConnections,
  logger: Logger,
  what: string,
): void {
  listener.on('refused', (peer: string, err: Error) => logger.warn({peer, err: err.message}, `mesh connection from ${peer} refused: ${err.message}`));
  listener.on('stream', (ms: MeshStream) => {
    const stream = ms.conn.stream;
    stream.on('error', () => {}); // until bridged, an error just closes it (and the connect)
    let sock: net.Socket;
    try {
      sock = connect();
    } catch (err) {
      logger.error({err: (err as Error).message}, `Error connecting via ${what}: ${(err as Error).message}`);
      stream.destroy(err as Error);
      return;
    }
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      untrack();
      stream.off('close', onStreamClose);
      return true;
    };
    const onStreamClose = () => {
      if (settle()) sock.destroy();
    };
    const untrack = conns.pending(() => {
      if (!settle()) return;
      sock.destroy();
      stream.destroy();
    });
    stream.once('close', onStreamClose);
    sock.once('error', (err) => {
      if (!settle()) return;
      logger.error({err: err.message, remote: `${ms.remoteNode}:${ms.remoteService}`}, `Error connecting via ${what}: ${err.message}`);
      stream.destroy(err);
    });
    sock.once('close', () => {
      if (settle()) stream.destroy(new Error(`${what} connection closed`));
    });
    sock.once(readyEvent, () => {
      if (!settle()) return;
      tuneTcp(sock);
      logger.debug({remote: `${ms.remoteNode}:${ms.remoteService}`}, `${what} connection established`);
      conns.bridge(sock, stream);
    });
  });
}

function listenOn(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({port, host: host === '' ? undefined : host}, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function addressText(a: net.AddressInfo | string | null): string {
  if (a === null) return '';
  if (typeof a === 'string') return a;
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

// ---------------------------------------------------------------------------------------------
// tcp-server
// ---------------------------------------------------------------------------------------------

export async function startTcpServer(rt: Runtime, v: TcpServerValues): Promise<void> {
  const node = meshNodeOf(rt, 'tcp-server');
  const tlsClient = tlsClientFor(rt, v.tlsclient);
  const tlsServer = tlsServerFor(rt, v.tlsserver);
  const logger = rt.logger.child({proxy: 'tcp-server', remote: `${v.remotenode}:${v.remoteservice}`});
  const conns = new ProxyConnections(logger, 'tcp-server');
  const accept = localToMesh(node, {remoteNode: v.remotenode, remoteService: v.remoteservice, tls: tlsClient}, conns, logger);

  const raw = new Set<net.Socket>();
  let server: net.Server;
  if (tlsServer) {
    const opts = tlsServer.nodeOptions;
    server = tls.createServer({...opts, allowHalfOpen: true, highWaterMark: SOCKET_HWM});
    server.on('secureConnection', (s: tls.TLSSocket) => {
      const err = opts.checkClientIdentity(s);
      if (err) {
        logger.warn({err: err.message}, `TLS client refused: ${err.message}`);
        s.destroy();
        return;
      }
      accept(s);
    });
    server.on('tlsClientError', (err: Error) => logger.warn({err: err.message}, `TLS handshake error: ${err.message}`));
  } else {
    server = net.createServer({allowHalfOpen: true, highWaterMark: SOCKET_HWM});
    server.on('connection', accept);
  }
  server.on('connection', (s: net.Socket) => {
    raw.add(s);
    s.once('close', () => raw.delete(s));
  });
  try {
    await listenOn(server, v.port, v.bindaddr);
  } catch (err) {
    throw new ReceptorError('E_LISTEN', `error listening on TCP: ${(err as Error).message}`);
  }
  server.on('error', (err) => logger.error({err: err.message}, `Error accepting TCP connection: ${err.message}`));
  const address = addressText(server.address());
  rt.onShutdown(() => {
    server.close();
    conns.closeAll();
    for (const s of raw) s.destroy();
  });
  logger.info({address}, `tcp-server listening on ${address}, forwarding to ${v.remotenode}:${v.remoteservice}`);
}

// ---------------------------------------------------------------------------------------------
// tcp-client
// ---------------------------------------------------------------------------------------------

export async function startTcpClient(rt: Runtime, v: TcpClientValues): Promise<void> {
  const node = meshNodeOf(rt, 'tcp-client');
  const tlsServer = tlsServerFor(rt, v.tlsserver);
  const tlsClient = tlsClientFor(rt, v.tlsclient);
  const {host, port} = splitHostPort(v.address);
  const logger = rt.logger.child({proxy: 'tcp-client', service: v.service});
  const conns = new ProxyConnections(logger, 'tcp-client');
  let listener: StreamListener;
  try {
    listener = await listenStream(node, v.service, {tls: tlsServer, tags: {type: 'TCP Proxy', address: v.address}});
  } catch (err) {
    throw new ReceptorError('E_LISTEN', `error listening on Receptor network: ${(err as Error).message}`);
  }
  const connect = tlsClient
    ? () => {
        // Node's tls.connect honours allowHalfOpen and highWaterMark (its typings omit them).
        const o: tls.ConnectionOptions & {allowHalfOpen: boolean; highWaterMark: number} = {
          ...tlsClient.nodeOptions,
          host,
          port,
          servername: net.isIP(host) === 0 && host !== '' ? host : undefined,
          allowHalfOpen: true,
          highWaterMark: SOCKET_HWM,
        };
        return tls.connect(o);
      }
    : () => connectLocal({host, port, allowHalfOpen: true, highWaterMark: SOCKET_HWM});
  meshToLocal(listener, connect, tlsClient ? 'secureConnect' : 'connect', conns, logger, 'TCP');
  rt.onShutdown(() => {
    conns.closeAll();
    listener.close();
  });
  logger.info({address: v.address}, `tcp-client on service ${v.service} forwarding to ${v.address}`);
}

/**
 * TCP service proxies (config.md §5.7):
 *
 *  - `tcp-server`: a TCP (optionally TLS) listener; every accepted connection is bridged to a
 *    new mesh stream to `remotenode:remoteservice`;
 *  - `tcp-client`: an advertised mesh stream service (tags `type: TCP Proxy`, `address`);
 *    every stream is bridged to a new TCP (optionally TLS, host-name verified) connection.
 *
 * The bridging itself (half-close, error propagation) is in stream-proxy.ts.
 */
import net from 'node:net';
import tls from 'node:tls';
import type {Runtime} from '../config/types.js';
import {listenStream, type StreamListener} from '../netceptor/streams.js';
import {splitHostPort} from '../netceptor/session-base.js';
import {meshNodeOf, tlsClientFor, tlsServerFor} from './common.js';
import {connectLocal, localToMesh, meshToLocal, ProxyConnections, SOCKET_HWM} from './stream-proxy.js';
import {ReceptorError} from '../errors.js';

/** The `tcp-server` item's fields, as this module reads them. */
export interface TcpServerOptions {
  port: number;
  /** Listen address; '' for all. */
  bindaddr: string;
  remotenode: string;
  remoteservice: string;
  /** tls-server config for the TCP listener; '' for plain TCP. */
  tlsserver: string;
  /** tls-client config for the mesh connection; '' for none. */
  tlsclient: string;
}

/** The `tcp-client` item's fields, as this module reads them. */
export interface TcpClientOptions {
  service: string;
  /** host:port to connect to. */
  address: string;
  /** tls-server config for the mesh service; '' for none. */
  tlsserver: string;
  /** tls-client config for the TCP connection; '' for plain TCP. */
  tlsclient: string;
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

export async function startTcpServer(rt: Runtime, v: TcpServerOptions): Promise<void> {
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

export async function startTcpClient(rt: Runtime, v: TcpClientOptions): Promise<void> {
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

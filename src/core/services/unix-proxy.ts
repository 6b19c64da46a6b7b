/**
 * Unix-socket service proxies (config.md §5.7; not on Windows):
 *
 *  - `unix-socket-server`: a unix socket created with the control service's lock / replace /
 *    chmod procedure (§5.8); every connection is bridged to a new mesh stream to
 *    `remotenode:remoteservice` (`tls` = tls-client config, node-ID verified);
 *  - `unix-socket-client`: an advertised mesh stream service (tags `type: Unix Proxy`,
 *    `filename`; `tls` = tls-server config); every stream is bridged to a new connection to
 *    the unix socket `filename`.
 *
 * Bridging (half-close, error propagation) is shared with the TCP proxies (stream-proxy.ts).
 */
import {existsSync} from 'node:fs';
import type {Runtime} from '../config/types.js';
import {listenUnix} from '../control/listeners.js';
import {listenStream, type StreamListener} from '../netceptor/streams.js';
import {meshNodeOf, tlsClientFor, tlsServerFor} from './common.js';
import {connectLocal, localToMesh, meshToLocal, ProxyConnections, SOCKET_HWM} from './stream-proxy.js';
import {ReceptorError} from '../errors.js';

/** The `unix-socket-server` item's fields, as this module reads them. */
export interface UnixServerOptions {
  filename: string;
  permissions: number;
  remotenode: string;
  remoteservice: string;
  /** tls-client config for the mesh connection; '' for none. */
  tls: string;
}

/** The `unix-socket-client` item's fields, as this module reads them. */
export interface UnixClientOptions {
  service: string;
  filename: string;
  /** tls-server config for the mesh service; '' for none. */
  tls: string;
}

export async function startUnixServer(rt: Runtime, v: UnixServerOptions): Promise<void> {
  const node = meshNodeOf(rt, 'unix-socket-server');
  const tls = tlsClientFor(rt, v.tls);
  const logger = rt.logger.child({proxy: 'unix-socket-server', remote: `${v.remotenode}:${v.remoteservice}`});
  const conns = new ProxyConnections(logger, 'unix-socket-server');
  const accept = localToMesh(node, {remoteNode: v.remotenode, remoteService: v.remoteservice, tls}, conns, logger);
  const listening = await listenUnix(v.filename, v.permissions, accept);
  rt.onShutdown(async () => {
    conns.closeAll();
    await listening.close();
  });
  logger.info({filename: v.filename}, `unix-socket-server listening on ${v.filename}, forwarding to ${v.remotenode}:${v.remoteservice}`);
}

export async function startUnixClient(rt: Runtime, v: UnixClientOptions): Promise<void> {
  const node = meshNodeOf(rt, 'unix-socket-client');
  const tls = tlsServerFor(rt, v.tls);
  const logger = rt.logger.child({proxy: 'unix-socket-client', service: v.service});
  // Go does not check this at start-up either; the socket may appear later.
  if (!existsSync(v.filename)) logger.warn({filename: v.filename}, `unix-socket-client: socket file ${v.filename} does not exist (yet)`);
  const conns = new ProxyConnections(logger, 'unix-socket-client');
  let listener: StreamListener;
  try {
    listener = await listenStream(node, v.service, {tls, tags: {type: 'Unix Proxy', filename: v.filename}});
  } catch (err) {
    throw new ReceptorError('E_LISTEN', `error listening on Receptor network: ${(err as Error).message}`);
  }
  meshToLocal(listener, () => connectLocal({path: v.filename, allowHalfOpen: true, highWaterMark: SOCKET_HWM}), 'connect', conns, logger, 'Unix socket');
  rt.onShutdown(() => {
    conns.closeAll();
    listener.close();
  });
  logger.info({filename: v.filename}, `unix-socket-client on service ${v.service} forwarding to ${v.filename}`);
}

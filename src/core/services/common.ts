/** What every service proxy needs from the runtime: the mesh node and named TLS configs. */
import type {Runtime} from '../config/types.js';
import type {Netceptor} from '../netceptor/node.js';
import {ReceptorError} from '../errors.js';
import {tlsClientConfigOf, tlsServerConfigOf, type TlsClientConfig, type TlsServerConfig} from '../tls/config.js';

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

/** `tcp-listener` and `tcp-peer` items (config.md §5.6) on the TCP backend. */
import type {ActionTypeDef} from '../../core/config/types.js';
import {
  addressField,
  bindAddrField,
  listenerItem,
  lookupTls,
  peerItem,
  portField,
  redialField,
  tlsClientField,
  tlsServerField,
  validateCosts,
  validatePort,
  validateHostPort,
  type CommonBackendValues,
} from '../backend-common/items.js';

export interface TcpListenerValues extends CommonBackendValues {
  port: number;
  bindaddr: string;
  tls: string;
  nodecost: Record<string, number>;
}

export interface TcpPeerValues extends CommonBackendValues {
  address: string;
  redial: boolean;
  tls: string;
}

function validateListener(v: TcpListenerValues): void {
  validatePort(v.port);
  validateCosts(v);
}

function validatePeer(v: TcpPeerValues): void {
  validateCosts(v);
  validateHostPort(v.address);
}

export const tcpListenerType: ActionTypeDef<TcpListenerValues> = listenerItem<TcpListenerValues>({
  key: 'tcp-listener',
  description: 'Run a backend listener on a TCP port',
  fields: [bindAddrField, portField('TCP'), tlsServerField],
  validate: validateListener,
  async backend(v, rt) {
    const tls = lookupTls(rt, 'tls-server', v.tls);
    return new (await import('./backend.js')).TcpListenerBackend({port: v.port, bindAddr: v.bindaddr, tls});
  },
});

export const tcpPeerType: ActionTypeDef<TcpPeerValues> = peerItem<TcpPeerValues>({
  key: 'tcp-peer',
  description: 'Make an outbound backend connection to a TCP peer',
  fields: [addressField('Remote address (Host:Port) to connect to'), redialField, tlsClientField],
  validate: validatePeer,
  async backend(v, rt) {
    const tls = lookupTls(rt, 'tls-client', v.tls);
    return new (await import('./backend.js')).TcpDialerBackend({address: v.address, redial: v.redial, tls});
  },
});

export const tcpBackendTypes: ActionTypeDef[] = [tcpListenerType, tcpPeerType] as ActionTypeDef[];

/** `udp-listener` and `udp-peer` items (config.md §5.6) on the UDP backend. No TLS. */
import type {ActionTypeDef} from '../../core/config/types.js';
import {
  addressField,
  bindAddrField,
  listenerItem,
  peerItem,
  portField,
  redialField,
  validateCosts,
  validatePort,
  validateHostPort,
  type CommonBackendValues,
} from '../backend-common/items.js';

export interface UdpListenerValues extends CommonBackendValues {
  port: number;
  bindaddr: string;
  nodecost: Record<string, number>;
}

export interface UdpPeerValues extends CommonBackendValues {
  address: string;
  redial: boolean;
}

function validateListener(v: UdpListenerValues): void {
  validatePort(v.port, 'udp');
  validateCosts(v);
}

function validatePeer(v: UdpPeerValues): void {
  validateCosts(v);
  validateHostPort(v.address);
}

export const udpListenerType: ActionTypeDef<UdpListenerValues> = listenerItem<UdpListenerValues>({
  key: 'udp-listener',
  description: 'Run a backend listener on a UDP port',
  fields: [bindAddrField, portField('UDP')],
  validate: validateListener,
  backend: async (v) => new (await import('./backend.js')).UdpListenerBackend({port: v.port, bindAddr: v.bindaddr}),
});

export const udpPeerType: ActionTypeDef<UdpPeerValues> = peerItem<UdpPeerValues>({
  key: 'udp-peer',
  description: 'Make an outbound backend connection to a UDP peer',
  fields: [addressField('Host:Port to connect to'), redialField],
  validate: validatePeer,
  backend: async (v) => new (await import('./backend.js')).UdpDialerBackend({address: v.address, redial: v.redial}),
});

export const udpBackendTypes: ActionTypeDef[] = [udpListenerType, udpPeerType] as ActionTypeDef[];

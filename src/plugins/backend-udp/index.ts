/** `udp-listener` and `udp-peer` items (config.md §5.6) on the UDP backend. No TLS. */
import type {ActionTypeDef, Runtime} from '../../core/config/types.js';
import {
  allowedPeersField,
  bindAddrField,
  costField,
  nodeCostField,
  portField,
  redialField,
  startBackend,
  validateCosts,
  validatePort,
  type CommonBackendValues,
} from '../backend-common/items.js';
import {splitHostPort} from '../../core/netceptor/session-base.js';

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
  splitHostPort(v.address);
}

export const udpListenerType: ActionTypeDef<UdpListenerValues> = {
  key: 'udp-listener',
  description: 'Run a backend listener on a UDP port',
  reloadable: true,
  fields: [bindAddrField, portField('UDP'), costField, nodeCostField, allowedPeersField],
  validate: validateListener,
  create(v) {
    const start = async (rt: Runtime) => {
      await startBackend(rt, 'udp-listener', new (await import('./backend.js')).UdpListenerBackend({port: v.port, bindAddr: v.bindaddr}), v);
    };
    return {run: start, preReload: () => validateListener(v), reload: start};
  },
};

export const udpPeerType: ActionTypeDef<UdpPeerValues> = {
  key: 'udp-peer',
  description: 'Make an outbound backend connection to a UDP peer',
  reloadable: true,
  fields: [
    {name: 'address', type: 'string', bare: true, required: true, description: 'Host:Port to connect to'},
    redialField,
    costField,
    allowedPeersField,
  ],
  validate: validatePeer,
  create(v) {
    const start = async (rt: Runtime) => {
      await startBackend(rt, 'udp-peer', new (await import('./backend.js')).UdpDialerBackend({address: v.address, redial: v.redial}), v);
    };
    return {run: start, preReload: () => validatePeer(v), reload: start};
  },
};

export const udpBackendTypes: ActionTypeDef[] = [udpListenerType, udpPeerType] as ActionTypeDef[];

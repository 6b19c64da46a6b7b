/** `tcp-listener` and `tcp-peer` items (config.md §5.6) on the TCP backend. */
import type {ActionTypeDef, Runtime} from '../../core/config/types.js';
import {
  allowedPeersField,
  bindAddrField,
  costField,
  lookupTls,
  nodeCostField,
  portField,
  redialField,
  startBackend,
  validateCosts,
  validatePort,
  type CommonBackendValues,
} from '../backend-common/items.js';
import {splitHostPort} from '../../core/netceptor/session-base.js';

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
  splitHostPort(v.address);
}

export const tcpListenerType: ActionTypeDef<TcpListenerValues> = {
  key: 'tcp-listener',
  description: 'Run a backend listener on a TCP port',
  reloadable: true,
  fields: [
    bindAddrField,
    portField('TCP'),
    {name: 'tls', type: 'string', description: 'Name of TLS server config'},
    costField,
    nodeCostField,
    allowedPeersField,
  ],
  validate: validateListener,
  create(v) {
    const start = async (rt: Runtime) => {
      const tls = lookupTls(rt, 'tls-server', v.tls);
      await startBackend(rt, 'tcp-listener', new (await import('./backend.js')).TcpListenerBackend({port: v.port, bindAddr: v.bindaddr, tls}), v);
    };
    return {run: start, preReload: () => validateListener(v), reload: start};
  },
};

export const tcpPeerType: ActionTypeDef<TcpPeerValues> = {
  key: 'tcp-peer',
  description: 'Make an outbound backend connection to a TCP peer',
  reloadable: true,
  fields: [
    {name: 'address', type: 'string', bare: true, required: true, description: 'Remote address (Host:Port) to connect to'},
    redialField,
    {name: 'tls', type: 'string', description: 'Name of TLS client config'},
    costField,
    allowedPeersField,
  ],
  validate: validatePeer,
  create(v) {
    const start = async (rt: Runtime) => {
      const tls = lookupTls(rt, 'tls-client', v.tls);
      await startBackend(rt, 'tcp-peer', new (await import('./backend.js')).TcpDialerBackend({address: v.address, redial: v.redial, tls}), v);
    };
    return {run: start, preReload: () => validatePeer(v), reload: start};
  },
};

export const tcpBackendTypes: ActionTypeDef[] = [tcpListenerType, tcpPeerType] as ActionTypeDef[];

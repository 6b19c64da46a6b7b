/** `ws-listener` and `ws-peer` items (config.md §5.6) on the WebSocket backend. */
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
import {parseExtraHeader, parseWsUrl} from './http-rules.js';

export * from './http-rules.js';

export interface WsListenerValues extends CommonBackendValues {
  port: number;
  bindaddr: string;
  path: string;
  tls: string;
  nodecost: Record<string, number>;
}

export interface WsPeerValues extends CommonBackendValues {
  address: string;
  redial: boolean;
  extraheader: string;
  tls: string;
}

function validateListener(v: WsListenerValues): void {
  validatePort(v.port);
  validateCosts(v);
  if (!v.path.startsWith('/')) throw new Error(`invalid path ${JSON.stringify(v.path)}: must start with /`);
}

function validatePeer(v: WsPeerValues): void {
  validateCosts(v);
  parseWsUrl(v.address);
  if (v.extraheader !== '') parseExtraHeader(v.extraheader);
}

export const wsListenerType: ActionTypeDef<WsListenerValues> = {
  key: 'ws-listener',
  description: 'Run an http server that accepts websocket connections',
  reloadable: true,
  fields: [
    bindAddrField,
    portField('TCP'),
    {name: 'path', type: 'string', default: '/', description: 'URI path to the websocket server'},
    {name: 'tls', type: 'string', description: 'Name of TLS server config'},
    costField,
    nodeCostField,
    allowedPeersField,
  ],
  validate: validateListener,
  create(v) {
    const start = async (rt: Runtime) => {
      const tls = lookupTls(rt, 'tls-server', v.tls);
      await startBackend(rt, 'ws-listener', new (await import('./backend.js')).WsListenerBackend({port: v.port, bindAddr: v.bindaddr, path: v.path, tls}), v);
    };
    return {run: start, preReload: () => validateListener(v), reload: start};
  },
};

export const wsPeerType: ActionTypeDef<WsPeerValues> = {
  key: 'ws-peer',
  description: 'Connect outbound to a websocket peer',
  reloadable: true,
  fields: [
    {name: 'address', type: 'string', bare: true, required: true, description: 'URL to connect to (ws://host:port/path or wss://…)'},
    redialField,
    {name: 'extraheader', type: 'string', description: 'Sends extra HTTP header on initial connection (Name:Value)'},
    {name: 'tls', type: 'string', description: 'Name of TLS client config'},
    costField,
    allowedPeersField,
  ],
  validate: validatePeer,
  create(v) {
    const start = async (rt: Runtime) => {
      const tls = lookupTls(rt, 'tls-client', v.tls);
      const backend = new (await import('./backend.js')).WsDialerBackend({address: v.address, redial: v.redial, extraHeader: v.extraheader || undefined, tls});
      await startBackend(rt, 'ws-peer', backend, v);
    };
    return {run: start, preReload: () => validatePeer(v), reload: start};
  },
};

export const wsBackendTypes: ActionTypeDef[] = [wsListenerType, wsPeerType] as ActionTypeDef[];

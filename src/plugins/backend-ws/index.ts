/** `ws-listener` and `ws-peer` items (config.md §5.6) on the WebSocket backend. */
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
  type CommonBackendValues,
} from '../backend-common/items.js';
import {checkField, fieldError} from '../../core/errors.js';
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
  if (!v.path.startsWith('/')) throw fieldError(`invalid path ${JSON.stringify(v.path)}: must start with /`, 'path', v.path);
}

function validatePeer(v: WsPeerValues): void {
  validateCosts(v);
  checkField('address', v.address, () => parseWsUrl(v.address));
  if (v.extraheader !== '') parseExtraHeader(v.extraheader);
}

export const wsListenerType: ActionTypeDef<WsListenerValues> = listenerItem<WsListenerValues>({
  key: 'ws-listener',
  description: 'Run an http server that accepts websocket connections',
  fields: [bindAddrField, portField('TCP'), {name: 'path', type: 'string', default: '/', description: 'URI path to the websocket server'}, tlsServerField],
  validate: validateListener,
  async backend(v, rt) {
    const tls = lookupTls(rt, 'tls-server', v.tls);
    return new (await import('./backend.js')).WsListenerBackend({port: v.port, bindAddr: v.bindaddr, path: v.path, tls});
  },
});

export const wsPeerType: ActionTypeDef<WsPeerValues> = peerItem<WsPeerValues>({
  key: 'ws-peer',
  description: 'Connect outbound to a websocket peer',
  fields: [
    addressField('URL to connect to (ws://host:port/path or wss://…)'),
    redialField,
    {name: 'extraheader', type: 'string', description: 'Sends extra HTTP header on initial connection (Name:Value)'},
    tlsClientField,
  ],
  validate: validatePeer,
  async backend(v, rt) {
    const tls = lookupTls(rt, 'tls-client', v.tls);
    return new (await import('./backend.js')).WsDialerBackend({address: v.address, redial: v.redial, extraHeader: v.extraheader || undefined, tls});
  },
});

export const wsBackendTypes: ActionTypeDef[] = [wsListenerType, wsPeerType] as ActionTypeDef[];

/**
 * The config items of the unix-socket backend: `unixsock-listener` and `unixsock-peer`.
 * listenerItem/peerItem (from receptor-mesh) add the link fields every backend has (`cost`,
 * `nodecost` for listeners, `allowedpeers`) and start the backend on the mesh node at Run
 * and on a reload, exactly as for the built-in tcp/udp/ws items.
 */
import {fieldError, listenerItem, peerItem, redialField, validateCosts, type ActionTypeDef, type CommonBackendValues} from 'receptor-mesh';

export interface UnixSockListenerValues extends CommonBackendValues {
  path: string;
  permissions: number;
  nodecost: Record<string, number>;
}

export interface UnixSockPeerValues extends CommonBackendValues {
  path: string;
  redial: boolean;
}

function validatePath(path: string): void {
  // fieldError names the field; receptor adds the file, item and key.
  if (path === '') throw fieldError('path must not be empty', 'path');
  // sun_path holds 108 bytes on Linux, 104 on macOS, the terminating NUL included
  if (Buffer.byteLength(path) > 103) throw fieldError(`path ${path} is too long for a unix socket (at most 103 bytes)`, 'path', path);
}

export const unixsockListenerType: ActionTypeDef<UnixSockListenerValues> = listenerItem<UnixSockListenerValues>({
  key: 'unixsock-listener',
  description: 'Run a mesh backend listener on a unix socket (example plugin)',
  fields: [
    {name: 'path', type: 'string', bare: true, required: true, description: 'Path of the unix socket to listen on'},
    {name: 'permissions', type: 'int', default: '0600', display: 'octal', description: 'Socket file permissions'},
  ],
  validate(v) {
    validatePath(v.path);
    validateCosts(v);
  },
  // Loaded on first use, so `config check` does not load the transport.
  backend: async (v) => new (await import('./unixsock.js')).UnixSockListenerBackend({path: v.path, permissions: v.permissions}),
});

export const unixsockPeerType: ActionTypeDef<UnixSockPeerValues> = peerItem<UnixSockPeerValues>({
  key: 'unixsock-peer',
  description: 'Make an outbound mesh backend connection to a unix socket (example plugin)',
  fields: [{name: 'path', type: 'string', bare: true, required: true, description: 'Path of the unix socket to connect to'}, redialField],
  validate(v) {
    validatePath(v.path);
    validateCosts(v);
  },
  backend: async (v) => new (await import('./unixsock.js')).UnixSockDialerBackend({path: v.path, redial: v.redial}),
});

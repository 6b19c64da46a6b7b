/**
 * Service proxies over the mesh (config.md §5.7): `tcp-server` / `tcp-client`,
 * `udp-server` / `udp-client` and (not on Windows) `unix-socket-server` /
 * `unix-socket-client`. All have phase Run only.
 *
 * This module is loaded for every node start, so it only declares fields and checks values;
 * each Run lazy-imports its implementation from src/core/services/.
 */
import {fieldsOf, type ItemValues} from '../../core/config/fields.js';
import type {ActionTypeDef, FieldSpec, Runtime} from '../../core/config/types.js';
import {checkField, fieldError} from '../../core/errors.js';
import {splitHostPort} from '../../core/netceptor/session-base.js';
import type {TcpClientOptions, TcpServerOptions} from '../../core/services/tcp-proxy.js';
import type {UdpClientOptions, UdpServerOptions} from '../../core/services/udp-proxy.js';
import type {UnixClientOptions, UnixServerOptions} from '../../core/services/unix-proxy.js';

export type TcpServerValues = ItemValues<TcpServerOptions>;
export type TcpClientValues = ItemValues<TcpClientOptions>;
export type UdpServerValues = ItemValues<UdpServerOptions>;
export type UdpClientValues = ItemValues<UdpClientOptions>;
export type UnixServerValues = ItemValues<UnixServerOptions>;
export type UnixClientValues = ItemValues<UnixClientOptions>;

/** Mesh service names are at most 8 bytes on the wire (netceptor-wire.md). */
const MAX_SERVICE_BYTES = 8;

// ---------------------------------------------------------------------------------------------
// Load-time checks
// ---------------------------------------------------------------------------------------------

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw fieldError(`invalid port ${port}: must be 0-65535`, 'port', port);
}

/** A service this node listens on: Go fails the same way when listening. */
function checkLocalService(service: string): void {
  if (service === '') throw fieldError('error listening on Receptor network: service name must not be empty', 'service');
  if (Buffer.byteLength(service, 'utf8') > MAX_SERVICE_BYTES) throw fieldError(`error listening on Receptor network: service name ${service} too long`, 'service', service);
}

/** The node and service every connection is forwarded to. */
function checkRemote(node: string, service: string): void {
  if (node === '') throw fieldError('remotenode must not be empty', 'remotenode');
  if (service === '') throw fieldError('remoteservice must not be empty', 'remoteservice');
  if (Buffer.byteLength(service, 'utf8') > MAX_SERVICE_BYTES) throw fieldError(`remoteservice: service name ${service} too long`, 'remoteservice', service);
}

/** `host:port` with a numeric port (Go's net.SplitHostPort texts). */
function checkAddress(address: string): void {
  checkField('address', address, () => splitHostPort(address));
}

// ---------------------------------------------------------------------------------------------
// Fields
// ---------------------------------------------------------------------------------------------

// (`as const` keeps the literal names that fieldsOf checks against the options types.)
const remoteNodeField = {name: 'remotenode', type: 'string', required: true, description: 'Receptor node to connect to'} as const satisfies FieldSpec;
const remoteServiceField = {name: 'remoteservice', type: 'string', required: true, description: 'Receptor service name to connect to'} as const satisfies FieldSpec;
const serviceField = {name: 'service', type: 'string', required: true, description: 'Receptor service name to bind to'} as const satisfies FieldSpec;

function portField(proto: string) {
  return {name: 'port', type: 'int', required: true, description: `Local ${proto} port to bind to`} as const satisfies FieldSpec;
}

function bindAddrField(proto: string) {
  return {name: 'bindaddr', type: 'string', default: '0.0.0.0', description: `Address to bind ${proto} listener to`} as const satisfies FieldSpec;
}

// ---------------------------------------------------------------------------------------------
// Items
// ---------------------------------------------------------------------------------------------

export const tcpServerType: ActionTypeDef<TcpServerValues> = {
  key: 'tcp-server',
  description: 'Listen for TCP and forward via Receptor',
  fields: fieldsOf<TcpServerOptions>()([
    portField('TCP'),
    bindAddrField('TCP'),
    remoteNodeField,
    remoteServiceField,
    {name: 'tlsserver', type: 'string', description: 'Name of TLS server config for the TCP listener'},
    {name: 'tlsclient', type: 'string', description: 'Name of TLS client config for the Receptor connection'},
  ]),
  validate(v) {
    checkPort(v.port);
    checkRemote(v.remotenode, v.remoteservice);
  },
  create(v) {
    return {
      async run(rt: Runtime) {
        const {startTcpServer} = await import('../../core/services/tcp-proxy.js');
        await startTcpServer(rt, v);
      },
    };
  },
};

export const tcpClientType: ActionTypeDef<TcpClientValues> = {
  key: 'tcp-client',
  description: 'Listen on a Receptor service and forward via TCP',
  fields: fieldsOf<TcpClientOptions>()([
    serviceField,
    {name: 'address', type: 'string', required: true, description: 'Address for outbound TCP connection'},
    {name: 'tlsserver', type: 'string', description: 'Name of TLS server config for the Receptor service'},
    {name: 'tlsclient', type: 'string', description: 'Name of TLS client config for the TCP connection'},
  ]),
  validate(v) {
    checkLocalService(v.service);
    checkAddress(v.address);
  },
  create(v) {
    return {
      async run(rt: Runtime) {
        const {startTcpClient} = await import('../../core/services/tcp-proxy.js');
        await startTcpClient(rt, v);
      },
    };
  },
};

export const udpServerType: ActionTypeDef<UdpServerValues> = {
  key: 'udp-server',
  description: 'Listen for UDP and forward via Receptor',
  fields: fieldsOf<UdpServerOptions>()([portField('UDP'), bindAddrField('UDP'), remoteNodeField, remoteServiceField]),
  validate(v) {
    checkPort(v.port);
    checkRemote(v.remotenode, v.remoteservice);
  },
  create(v) {
    return {
      async run(rt: Runtime) {
        const {startUdpServer} = await import('../../core/services/udp-proxy.js');
        await startUdpServer(rt, v);
      },
    };
  },
};

export const udpClientType: ActionTypeDef<UdpClientValues> = {
  key: 'udp-client',
  description: 'Listen on a Receptor service and forward via UDP',
  fields: fieldsOf<UdpClientOptions>()([serviceField, {name: 'address', type: 'string', required: true, description: 'Address for outbound UDP connection'}]),
  validate(v) {
    checkLocalService(v.service);
    checkAddress(v.address);
  },
  create(v) {
    return {
      async run(rt: Runtime) {
        const {startUdpClient} = await import('../../core/services/udp-proxy.js');
        await startUdpClient(rt, v);
      },
    };
  },
};

export const unixSocketServerType: ActionTypeDef<UnixServerValues> = {
  key: 'unix-socket-server',
  description: 'Listen on a Unix socket and forward via Receptor',
  fields: fieldsOf<UnixServerOptions>()([
    {name: 'filename', type: 'string', required: true, description: 'Socket filename, which will be overwritten'},
    {name: 'permissions', type: 'int', default: '0600', display: 'octal', description: 'Socket file permissions'},
    remoteNodeField,
    remoteServiceField,
    {name: 'tls', type: 'string', description: 'Name of TLS client config for the Receptor connection'},
  ]),
  validate(v) {
    if (v.filename === '') throw fieldError('error opening Unix socket: filename must not be empty', 'filename');
    checkRemote(v.remotenode, v.remoteservice);
  },
  create(v) {
    return {
      async run(rt: Runtime) {
        const {startUnixServer} = await import('../../core/services/unix-proxy.js');
        await startUnixServer(rt, v);
      },
    };
  },
};

export const unixSocketClientType: ActionTypeDef<UnixClientValues> = {
  key: 'unix-socket-client',
  description: 'Listen via Receptor and forward to a Unix socket',
  fields: fieldsOf<UnixClientOptions>()([
    serviceField,
    {name: 'filename', type: 'string', required: true, description: 'Socket filename, which must already exist'},
    {name: 'tls', type: 'string', description: 'Name of TLS server config for the Receptor connection'},
  ]),
  validate(v) {
    checkLocalService(v.service);
    if (v.filename === '') throw fieldError('filename must not be empty', 'filename');
  },
  create(v) {
    return {
      async run(rt: Runtime) {
        const {startUnixClient} = await import('../../core/services/unix-proxy.js');
        await startUnixClient(rt, v);
      },
    };
  },
};

/** The six proxy items; the unix-socket ones do not exist on Windows (config.md §5.17). */
export const serviceTypes: ActionTypeDef[] = [
  tcpServerType,
  tcpClientType,
  udpServerType,
  udpClientType,
  ...(process.platform === 'win32' ? [] : [unixSocketServerType, unixSocketClientType]),
] as ActionTypeDef[];

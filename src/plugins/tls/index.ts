/**
 * `tls-server` and `tls-client` items (config.md §5.4, §5.5): named TLS configurations used by
 * the backends' `tls` fields (and later by TLS stream services). Phase Prepare, so every named
 * config exists before any Run (config.md §4).
 *
 * This module only defines the items; the PKI and TLS code loads on Prepare
 * (`await import('../../core/tls/config.js')`), so a node without TLS items never loads it.
 *
 * What is registered: `rt.registry('tls-server' | 'tls-client').register(name, nodeOptions)`,
 * a Node options object the backends hand to `tls.createServer` / `https.createServer` or
 * spread into `tls.connect` / `new WebSocket(…)`; its non-enumerable `receptor` property is the
 * full {@link TlsServerConfig} / {@link TlsClientConfig}.
 */
import {readFile} from 'node:fs/promises';
import type {ActionTypeDef, FieldSpec, Runtime} from '../../core/config/types.js';
import {fieldError} from '../../core/errors.js';
import type {TlsClientConfig, TlsClientValues, TlsServerConfig, TlsServerValues} from '../../core/tls/config.js';

export type {TlsClientValues, TlsServerValues} from '../../core/tls/config.js';

const tlsConfig = () => import('../../core/tls/config.js');

/** Registry kinds the items fill. */
export const TLS_SERVER_REGISTRY = 'tls-server';
export const TLS_CLIENT_REGISTRY = 'tls-client';

const MINTLS13 = 'Set minimum TLS version to 1.3. Otherwise the minimum is 1.2';

const serverFields: FieldSpec[] = [
  {name: 'name', type: 'string', required: true, description: 'Name of this TLS server configuration'},
  {name: 'cert', type: 'string', required: true, description: 'Server certificate filename'},
  {name: 'key', type: 'string', required: true, description: 'Server private key filename'},
  {name: 'requireclientcert', type: 'bool', default: false, description: 'Require client certificates'},
  {name: 'clientcas', type: 'string', description: 'Filename of CA bundle to verify client certs with'},
  {name: 'pinnedclientcert', type: 'string-list', description: 'Pinned fingerprint of required client certificate'},
  {name: 'skipreceptornamescheck', type: 'bool', default: false, description: 'Skip verifying ReceptorNames OIDs in certificate at startup'},
  {name: 'mintls13', type: 'bool', default: false, description: MINTLS13},
  // ours, after Go's fields
  {
    name: 'verifypeernodeid',
    type: 'bool',
    default: false,
    description: 'Refuse a mesh peer whose node ID is not among its certificate node IDs (receptor-mesh only; Go has no such check)',
  },
];

const clientFields: FieldSpec[] = [
  {name: 'name', type: 'string', required: true, description: 'Name of this TLS client configuration'},
  {name: 'cert', type: 'string', required: true, description: 'Client certificate filename'},
  {name: 'key', type: 'string', required: true, description: 'Client private key filename'},
  {name: 'rootcas', type: 'string', description: 'Root CA bundle to use instead of system trust'},
  {name: 'insecureskipverify', type: 'bool', default: false, description: 'Accept any server cert'},
  {name: 'pinnedservercert', type: 'string-list', description: 'Pinned fingerprint of required server certificate'},
  {name: 'skipreceptornamescheck', type: 'bool', default: false, description: 'Skip verifying ReceptorNames OIDs in certificate at startup'},
  {name: 'mintls13', type: 'bool', default: false, description: MINTLS13},
  // ours, after Go's fields
  {
    name: 'verifypeernodeid',
    type: 'bool',
    default: false,
    description: 'Refuse a mesh peer whose node ID is not among its certificate node IDs (receptor-mesh only; Go has no such check)',
  },
];

/**
 * Light load-time check of pins (hex with optional colons, 32 or 64 bytes) with Go's Prepare
 * text, so `config check` catches them; Prepare checks them again in Go's order.
 */
function checkPinsText(kind: 'server' | 'client', field: string, pins: readonly string[]): void {
  for (const p of pins) {
    const hex = p.replaceAll(':', '');
    let why: string | undefined;
    if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) why = 'error decoding fingerprint';
    else if (hex.length !== 64 && hex.length !== 128) why = 'fingerprints must be 32 or 64 bytes for sha256 or sha512';
    if (why) throw fieldError(`error preparing tls ${kind} config: error decoding fingerprints: ${why}`, field, p);
  }
}

function register(rt: Runtime, kind: 'tls-server' | 'tls-client', name: string, value: unknown): void {
  // Go needs a name (SetServerTLSConfig / SetClientTLSConfig)
  if (name === '') throw fieldError('must provide a name', 'name');
  const reg = rt.registry(kind);
  // Go lets a later item silently replace an earlier one of the same name; that hides mistakes.
  if (reg.has(name)) throw fieldError(`duplicate ${kind} name "${name}": another ${kind} item already defines it`, 'name', name);
  reg.register(name, value, kind);
}

export const tlsServerType: ActionTypeDef<TlsServerValues & Record<string, unknown>> = {
  key: 'tls-server',
  description: 'Define a TLS server configuration',
  fields: serverFields,
  validate(v) {
    checkPinsText('server', 'pinnedclientcert', v.pinnedclientcert);
  },
  create(v) {
    return {
      async prepare(rt) {
        const m = await tlsConfig();
        const config: TlsServerConfig = await m.prepareTlsServerConfig(v, {
          nodeId: () => rt.node.id,
          readFile: (p) => readFile(p),
          logger: rt.logger,
        });
        register(rt, 'tls-server', v.name, config.nodeOptions);
        rt.logger.debug({tls: v.name, cert: v.cert}, `tls-server ${v.name} ready`);
      },
    };
  },
};

export const tlsClientType: ActionTypeDef<TlsClientValues & Record<string, unknown>> = {
  key: 'tls-client',
  description: 'Define a TLS client configuration',
  fields: clientFields,
  validate(v) {
    checkPinsText('client', 'pinnedservercert', v.pinnedservercert);
  },
  create(v) {
    return {
      async prepare(rt) {
        const m = await tlsConfig();
        const config: TlsClientConfig = await m.prepareTlsClientConfig(v, {
          nodeId: () => rt.node.id,
          readFile: (p) => readFile(p),
          logger: rt.logger,
        });
        register(rt, 'tls-client', v.name, config.nodeOptions);
        rt.logger.debug({tls: v.name, cert: v.cert}, `tls-client ${v.name} ready`);
      },
    };
  },
};

export const tlsTypes: ActionTypeDef[] = [tlsServerType, tlsClientType] as ActionTypeDef[];

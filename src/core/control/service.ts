/** Starting a control service: its listeners and the built-in command table. */
import type {Runtime} from '../config/types.js';
import {pingCommand, tracerouteCommand} from './commands/ping.js';
import {reloadCommand} from './commands/reload.js';
import {statusCommand} from './commands/status.js';
import {connectCommand} from './commands/connect.js';
import {workCommand} from './commands/work.js';
import {netceptorOf} from './commands/common.js';
import type {MeshStream} from '../netceptor/streams.js';
import {listenTcp, listenUnix, type Listening} from './listeners.js';
import {CONTROL_COMMANDS, DEFAULT_MAX_CONTROL_SESSIONS, runControlSession, SessionGate, type ControlCommand} from './server.js';
import {parseIdleTimeout} from './idle.js';
import type {Duplex} from 'node:stream';
import type net from 'node:net';
import type tls from 'node:tls';
import {ReceptorError} from '../errors.js';
import {logOncePerCause, RepeatFilter} from '../repeat-log.js';

/** The `control-service` item's fields (config.md §5.8), as this module reads them. */
export interface ControlServiceOptions {
  /** Mesh service name; '' for none. */
  service: string;
  /** Unix socket path; '' for none. */
  filename: string;
  permissions: number;
  /** tls-server config for the mesh listener; '' for none. */
  tls: string;
  /** TCP port or host:port; '' for none. */
  tcplisten: string;
  /** tls-server config for the TCP listener; '' for none. */
  tcptls: string;
  /** Ours: Go duration a session may wait for a request line; '' the default (10m), '0' never. */
  idletimeout: string;
  /** Ours: concurrent sessions per listener; 0 the default (1024). */
  maxsessions: number;
}

const BUILTIN: ControlCommand[] = [statusCommand, pingCommand, tracerouteCommand, reloadCommand, connectCommand, workCommand];

declare module '../config/types.js' {
  interface RegistryKinds {
    'control-service-name': true;
  }
}

/** Adds the built-in commands to the node's command table (once). */
export function registerBuiltinCommands(rt: Runtime): void {
  const table = rt.registry(CONTROL_COMMANDS);
  for (const c of BUILTIN) if (!table.has(c.name)) table.register(c.name, c, 'receptor-mesh');
}

export async function startControlService(rt: Runtime, v: ControlServiceOptions): Promise<void> {
  registerBuiltinCommands(rt);
  const logger = rt.logger.child({controlService: v.service || undefined});
  const listening: Listening[] = [];
  rt.onShutdown(async () => {
    await Promise.all(listening.map((l) => l.close()));
  });
  const idleMs = parseIdleTimeout(v.idletimeout);
  const maxSessions = v.maxsessions > 0 ? v.maxsessions : DEFAULT_MAX_CONTROL_SESSIONS;
  /** Runs a session if the listener's gate admits it; else closes the stream at once. */
  const admitted = (gate: SessionGate, stream: Duplex, conn: {isUnix: boolean; remote: string; transport: string}) => {
    const release = gate.admit();
    if (!release) {
      stream.destroy();
      return;
    }
    void runControlSession(stream, conn, rt, logger, {idleMs}).finally(release);
  };
  const session = (transport: string, isUnix: boolean) => {
    const gate = new SessionGate(maxSessions, logger, transport);
    return (socket: net.Socket) => {
      socket.on('error', () => {});
      const remote = isUnix ? 'unix' : `${socket.remoteAddress}:${socket.remotePort}`;
      admitted(gate, socket, {isUnix, remote, transport});
    };
  };

  if (v.service !== '') {
    const names = rt.registry('control-service-name');
    if (names.has(v.service)) throw new ReceptorError('E_SERVICE_IN_USE', `error opening Unix socket: service ${v.service} is already listening`);
    names.register(v.service, true);
    let tlsConfig;
    if (v.tls !== '') {
      const {tlsServerConfigOf} = await import('../tls/config.js');
      tlsConfig = tlsServerConfigOf(rt.registry('tls-server').get(v.tls));
      if (!tlsConfig) throw new ReceptorError('E_TLS_CONFIG_UNKNOWN', `unknown TLS config ${v.tls}`);
    }
    const {listenStream} = await import('../netceptor/streams.js');
    const listener = await listenStream(netceptorOf(rt), v.service, {tls: tlsConfig, tags: {type: 'Control Service'}});
    const gate = new SessionGate(maxSessions, logger, `mesh:${v.service}`);
    listener.on('stream', (s: MeshStream) => {
      s.conn.stream.on('error', () => {});
      admitted(gate, s.conn.stream, {isUnix: false, remote: `${s.remoteNode}:${s.remoteService}`, transport: 'mesh'});
    });
    // once per node and reason: a peer dialling thousands of times must not write thousands of lines
    const repeats = new RepeatFilter();
    listener.on('refused', (peer: string, err: Error) => {
      const node = peer.slice(0, peer.lastIndexOf(':'));
      logOncePerCause(logger, repeats, 'warn', `refused:${node}`, err.message, {peer, err: err.message}, 'mesh control connection refused');
    });
    listening.push({address: `mesh:${v.service}`, close: async () => listener.close()});
  }
  if (v.filename !== '') {
    listening.push(await listenUnix(v.filename, v.permissions, session('unix', true)));
  }
  if (v.tcplisten !== '') {
    let tlsOptions: tls.TlsOptions | undefined;
    if (v.tcptls !== '') {
      tlsOptions = rt.registry('tls-server').get(v.tcptls) as tls.TlsOptions | undefined;
      if (!tlsOptions) throw new ReceptorError('E_TLS_CONFIG_UNKNOWN', `unknown TLS config ${v.tcptls}`);
    } else if (v.tls !== '') {
      logger.warn(`Control service ${v.service} has TLS configured on the Receptor listener but not the TCP listener.`);
    }
    const l = await listenTcp(v.tcplisten, tlsOptions, session(tlsOptions ? 'tls' : 'tcp', false), logger);
    logger.info({address: l.address}, `control service listening on TCP ${l.address}`);
    listening.push(l);
  }
  logger.info(`Running control service ${v.service}`);
}

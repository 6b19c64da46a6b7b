/**
 * UDP service proxies (config.md §5.7):
 *
 *  - `udp-server`: a UDP socket on `bindaddr:port`; each UDP source address gets its own
 *    ephemeral mesh datagram service, which sends that source's datagrams to
 *    `remotenode:remoteservice` and returns the answers (from exactly that mesh address) to
 *    the source;
 *  - `udp-client`: an advertised mesh datagram service (tags `type: UDP Proxy`, `address`);
 *    each mesh source (node:service) gets its own UDP socket towards `address`, and whatever
 *    comes back from `address` is sent to that mesh source.
 *
 * Go keeps these per-source sessions forever; here a session unused in both directions for
 * {@link UDP_SESSION_IDLE_MS} is dropped (a later datagram simply opens a new one).
 * Per-datagram failures (no route, oversized) are dropped like UDP would: logged, never fatal.
 */
import dgram from 'node:dgram';
import {lookup} from 'node:dns/promises';
import net from 'node:net';
import type {Logger} from 'pino';
import type {Runtime} from '../config/types.js';
import {CONN_TYPE_DATAGRAM} from '../netceptor/codec.js';
import type {PacketConn} from '../netceptor/packet-conn.js';
import {splitHostPort} from '../netceptor/session-base.js';
import {meshNodeOf} from './common.js';
import {ReceptorError} from '../errors.js';

/** The `udp-server` item's fields, as this module reads them. */
export interface UdpServerOptions {
  port: number;
  /** Listen address; '' for all. */
  bindaddr: string;
  remotenode: string;
  remoteservice: string;
}

/** The `udp-client` item's fields, as this module reads them. */
export interface UdpClientOptions {
  service: string;
  /** host:port to send to. */
  address: string;
}

/** Idle time after which a per-source session is closed. */
export const UDP_SESSION_IDLE_MS = 5 * 60_000;

export interface UdpProxyOptions {
  /** Override of {@link UDP_SESSION_IDLE_MS} (tests). */
  idleMs?: number;
}

interface Resolved {
  address: string;
  family: 4 | 6;
}

async function resolveHost(host: string, what: string): Promise<Resolved> {
  const fam = net.isIP(host);
  if (fam !== 0) return {address: host, family: fam as 4 | 6};
  try {
    const r = await lookup(host === '' ? 'localhost' : host);
    return {address: r.address, family: r.family === 6 ? 6 : 4};
  } catch (err) {
    throw new ReceptorError('E_ADDRESS', `${what}: lookup ${host}: ${(err as Error).message}`);
  }
}

function bindSocket(sock: dgram.Socket, port: number, address: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({port, address}, () => {
      sock.off('error', reject);
      resolve();
    });
  });
}

/** Logs the first failure of a run and stays quiet (debug) until a success. */
class FailureLog {
  private failing = false;
  constructor(private readonly logger: Logger) {}
  fail(msg: string, err: unknown): void {
    const text = (err as Error)?.message ?? String(err);
    if (this.failing) this.logger.debug({err: text}, msg);
    else this.logger.warn({err: text}, `${msg}: ${text}`);
    this.failing = true;
  }
  ok(): void {
    this.failing = false;
  }
}

/** Sweeps idle sessions; the timer does not keep the process alive. */
function idleSweeper<S extends {last: number}>(sessions: Map<string, S>, idleMs: number, close: (key: string, s: S) => void): NodeJS.Timeout {
  const t = setInterval(
    () => {
      const cutoff = Date.now() - idleMs;
      for (const [key, s] of sessions) if (s.last < cutoff) close(key, s);
    },
    Math.max(50, Math.min(idleMs / 2, 30_000)),
  );
  t.unref();
  return t;
}

// ---------------------------------------------------------------------------------------------
// udp-server
// ---------------------------------------------------------------------------------------------

interface InboundSession {
  pc: PacketConn;
  last: number;
  log: FailureLog;
}

export async function startUdpServer(rt: Runtime, v: UdpServerOptions, opts: UdpProxyOptions = {}): Promise<void> {
  const node = meshNodeOf(rt, 'udp-server');
  const logger = rt.logger.child({proxy: 'udp-server', remote: `${v.remotenode}:${v.remoteservice}`});
  const remoteNode = v.remotenode.toLowerCase() === 'localhost' ? node.id : v.remotenode;
  let sock: dgram.Socket;
  if (v.bindaddr === '') {
    // all interfaces, dual-stack where possible
    sock = dgram.createSocket({type: 'udp6'});
    try {
      await bindSocket(sock, v.port, undefined);
    } catch {
      sock.close();
      const v4 = dgram.createSocket({type: 'udp4'});
      await bindSocket(v4, v.port, undefined).catch((err: Error) => {
        v4.close();
        throw new ReceptorError('E_LISTEN', `error listening on UDP: ${err.message}`);
      });
      sock = v4;
    }
  } else {
    const bind = await resolveHost(v.bindaddr, 'error listening on UDP');
    sock = dgram.createSocket({type: bind.family === 6 ? 'udp6' : 'udp4'});
    await bindSocket(sock, v.port, bind.address).catch((err: Error) => {
      sock.close();
      throw new ReceptorError('E_LISTEN', `error listening on UDP: ${err.message}`);
    });
  }
  const udp = sock;
  const sessions = new Map<string, InboundSession>();
  const openLog = new FailureLog(logger);
  const closeSession = (key: string, s: InboundSession) => {
    sessions.delete(key);
    s.pc.close();
    logger.debug({source: key}, 'UDP session closed');
  };

  const open = (key: string, rinfo: dgram.RemoteInfo): InboundSession | undefined => {
    let pc: PacketConn;
    try {
      pc = node.listenPacket();
    } catch (err) {
      openLog.fail('Error listening on Receptor network', err);
      return undefined;
    }
    openLog.ok();
    const s: InboundSession = {pc, last: Date.now(), log: new FailureLog(logger)};
    pc.setHandler((d) => {
      if (d.node !== remoteNode || d.service !== v.remoteservice) {
        logger.debug({from: `${d.node}:${d.service}`}, 'Received packet from unexpected source');
        return;
      }
      s.last = Date.now();
      try {
        udp.send(d.data, rinfo.port, rinfo.address, (err) => {
          if (err) logger.debug({err: err.message, to: key}, 'Error sending UDP packet');
        });
      } catch (err) {
        logger.debug({err: (err as Error).message, to: key}, 'Error sending UDP packet');
      }
    });
    pc.onUnreachable((n) => logger.debug({problem: n.problem, reporter: n.reporter}, `mesh reports ${v.remotenode}:${v.remoteservice} unreachable: ${n.problem}`));
    sessions.set(key, s);
    logger.debug({source: key, service: pc.service}, 'UDP session opened');
    return s;
  };

  udp.on('message', (msg, rinfo) => {
    const key = rinfo.family === 'IPv6' ? `[${rinfo.address}]:${rinfo.port}` : `${rinfo.address}:${rinfo.port}`;
    let s = sessions.get(key);
    if (s?.pc.closed) {
      sessions.delete(key);
      s = undefined;
    }
    s ??= open(key, rinfo);
    if (!s) return;
    s.last = Date.now();
    try {
      s.pc.writeTo(msg, remoteNode, v.remoteservice);
      s.log.ok();
    } catch (err) {
      s.log.fail('Error sending packet on Receptor network', err);
    }
  });
  udp.on('error', (err) => logger.error({err: err.message}, `UDP socket error: ${err.message}`));

  const sweeper = idleSweeper(sessions, opts.idleMs ?? UDP_SESSION_IDLE_MS, closeSession);
  rt.onShutdown(() => {
    clearInterval(sweeper);
    for (const [key, s] of [...sessions]) closeSession(key, s);
    udp.close();
  });
  const a = udp.address();
  const address = a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  logger.info({address}, `udp-server listening on ${address}, forwarding to ${v.remotenode}:${v.remoteservice}`);
}

// ---------------------------------------------------------------------------------------------
// udp-client
// ---------------------------------------------------------------------------------------------

interface OutboundSession {
  sock: dgram.Socket;
  last: number;
  log: FailureLog;
}

export async function startUdpClient(rt: Runtime, v: UdpClientOptions, opts: UdpProxyOptions = {}): Promise<void> {
  const node = meshNodeOf(rt, 'udp-client');
  const logger = rt.logger.child({proxy: 'udp-client', service: v.service});
  const {host, port} = splitHostPort(v.address);
  const target = await resolveHost(host, 'error resolving UDP address');
  let pc: PacketConn;
  try {
    pc = node.listenPacketAndAdvertise(v.service, CONN_TYPE_DATAGRAM, {type: 'UDP Proxy', address: v.address});
  } catch (err) {
    throw new ReceptorError('E_LISTEN', `error listening on Receptor network: ${(err as Error).message}`);
  }
  const mesh = pc;
  const sessions = new Map<string, OutboundSession>();
  const closeSession = (key: string, s: OutboundSession) => {
    sessions.delete(key);
    s.sock.close();
    logger.debug({source: key}, 'UDP session closed');
  };

  const open = (key: string, srcNode: string, srcService: string): OutboundSession => {
    const sock = dgram.createSocket({type: target.family === 6 ? 'udp6' : 'udp4'});
    const s: OutboundSession = {sock, last: Date.now(), log: new FailureLog(logger)};
    sock.on('message', (msg, rinfo) => {
      // what a connected UDP socket would accept: datagrams from the target only
      if (rinfo.address !== target.address || rinfo.port !== port) return;
      s.last = Date.now();
      try {
        mesh.writeTo(msg, srcNode, srcService);
        s.log.ok();
      } catch (err) {
        s.log.fail('Error sending packet on Receptor network', err);
      }
    });
    sock.on('error', (err) => {
      logger.warn({err: err.message, source: key}, `UDP socket error: ${err.message}`);
      if (sessions.get(key) === s) closeSession(key, s);
    });
    sessions.set(key, s);
    logger.debug({source: key}, 'UDP session opened');
    return s;
  };

  mesh.setHandler((d) => {
    const key = `${d.node}:${d.service}`;
    const s = sessions.get(key) ?? open(key, d.node, d.service);
    s.last = Date.now();
    try {
      s.sock.send(d.data, port, target.address, (err) => {
        if (err) logger.debug({err: err.message}, 'Error sending UDP packet');
      });
    } catch (err) {
      logger.debug({err: (err as Error).message}, 'Error sending UDP packet');
    }
  });

  const sweeper = idleSweeper(sessions, opts.idleMs ?? UDP_SESSION_IDLE_MS, closeSession);
  rt.onShutdown(() => {
    clearInterval(sweeper);
    for (const [key, s] of [...sessions]) closeSession(key, s);
    mesh.close();
  });
  logger.info({address: v.address}, `udp-client on service ${v.service} forwarding to ${v.address}`);
}

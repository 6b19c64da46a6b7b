/**
 * UDP mesh backend (netceptor-wire.md §2.3): one datagram = one netceptor message, no
 * framing, no close signal. The listener keeps one session per remote `IP:port`, created by
 * the first datagram from that source (which becomes the session's first message); the
 * session lives until the node closes it (its idle timeout). The dialer uses a connected
 * socket and speaks first. Empty datagrams are dropped on receipt and never sent.
 */
import * as dgram from 'node:dgram';
import {lookup} from 'node:dns/promises';
import {isIP} from 'node:net';
import type {Logger} from 'pino';
import type {Clock} from '../../core/clock.js';
import type {BackendRunning, MeshBackend, SessionSink} from '../../core/netceptor/backend.js';
import type {BackoffOptions} from '../../core/netceptor/redial.js';
import {dialAborted, startDialer, watchDialAbort} from '../backend-common/items.js';
import {listenerStop} from '../backend-common/listener.js';
import {listenOpError} from '../../core/go/errno.js';
import {BaseSession, joinHostPort, splitHostPort} from '../../core/netceptor/session-base.js';
import {ReceptorError} from '../../core/errors.js';

/** Go refuses to send larger datagrams. */
export const UDP_MAX_MESSAGE = 65_507;
/** Datagrams kept for a session nobody has started yet. */
const MAX_QUEUED = 256;

async function socketTypeFor(host: string): Promise<{type: dgram.SocketType; address: string}> {
  const family = isIP(host);
  if (family === 4) return {type: 'udp4', address: host};
  if (family === 6) return {type: 'udp6', address: host};
  // Like Go's ResolveUDPAddr("udp", …): prefer an IPv4 address.
  const all = await lookup(host, {all: true});
  const pick = all.find((a) => a.family === 4) ?? all[0];
  if (!pick) throw new ReceptorError('E_ADDRESS', `no address found for ${host}`);
  return {type: pick.family === 6 ? 'udp6' : 'udp4', address: pick.address};
}

/** A listener-side session: shares the listener's socket, addressed by source. */
class UdpListenerSession extends BaseSession {
  readonly kind: string = 'udp';
  constructor(
    private readonly socket: dgram.Socket,
    private readonly address: string,
    private readonly port: number,
    private readonly forget: (s: UdpListenerSession) => void,
    logger?: Logger,
  ) {
    super({remote: joinHostPort(address, port), outbound: false, maxMessageSize: UDP_MAX_MESSAGE, logger, maxQueued: MAX_QUEUED});
  }

  deliver(msg: Buffer): void {
    this.receive(msg);
  }

  end(err?: Error): void {
    this.transportEnded(err);
  }

  protected transmit(msg: Uint8Array): void {
    this.socket.send(msg, this.port, this.address, (err) => {
      if (err) this.logger?.debug({remote: this.remote, err: err.message}, 'UDP send failed');
    });
  }

  protected shutdown(): void {
    this.forget(this);
    this.released();
  }
}

/** A dialer-side session: owns one connected socket. */
class UdpDialerSession extends BaseSession {
  readonly kind: string = 'udp';
  constructor(
    private readonly socket: dgram.Socket,
    remote: string,
    logger?: Logger,
  ) {
    super({remote, outbound: true, maxMessageSize: UDP_MAX_MESSAGE, logger, maxQueued: MAX_QUEUED});
    socket.on('message', (msg) => this.receive(msg));
    // An ICMP error surfaces as a socket error and ends the session, as in Go.
    socket.on('error', (err) => this.transportEnded(err));
    socket.on('close', () => {
      this.transportEnded();
      this.released();
    });
  }

  protected transmit(msg: Uint8Array): void {
    this.socket.send(msg, (err) => {
      if (err) this.transportEnded(err);
    });
  }

  protected shutdown(): void {
    try {
      this.socket.close();
    } catch {
      this.released(); // already closed
    }
  }
}

export interface UdpListenerOptions {
  port: number;
  /** Default `0.0.0.0`. */
  bindAddr?: string;
}

/** `udp-listener`: one session per remote address. */
export class UdpListenerBackend implements MeshBackend {
  readonly kind = 'udp-listener';
  readonly description: string;
  constructor(readonly options: UdpListenerOptions) {
    this.description = `UDP listener on ${joinHostPort(options.bindAddr ?? '0.0.0.0', options.port)}`;
  }

  async start(sink: SessionSink, logger: Logger): Promise<BackendRunning> {
    const bind = this.options.bindAddr || '0.0.0.0';
    const {type, address} = await socketTypeFor(bind);
    const socket = dgram.createSocket({type});
    const sessions = new Map<string, UdpListenerSession>();
    let stopping = false;

    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        socket.close();
        reject(listenOpError(err, 'udp', bind, this.options.port));
      };
      socket.once('error', onError);
      socket.bind(this.options.port, address, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    socket.on('error', (err) => logger.warn({err: err.message}, 'UDP listener socket error'));
    socket.on('message', (msg, rinfo) => {
      if (stopping || msg.length === 0) return;
      const key = joinHostPort(rinfo.address, rinfo.port);
      let s = sessions.get(key);
      if (!s) {
        const created = new UdpListenerSession(
          socket,
          rinfo.address,
          rinfo.port,
          (x) => {
            if (sessions.get(key) === x) sessions.delete(key);
          },
          logger,
        );
        sessions.set(key, created);
        s = created;
        logger.debug({remote: key}, 'new UDP backend session');
        try {
          sink(created);
        } catch (err) {
          created.close(err as Error);
          return;
        }
      }
      s.deliver(msg);
    });
    const a = socket.address();
    const localAddress = joinHostPort(a.address, a.port);

    return {
      localAddress,
      stop: listenerStop({
        stopAccepting: () => {
          stopping = true;
        },
        sessions: () => sessions.values(),
        // no close signal on UDP: the transport simply ends
        end: (s) => s.end(),
        release: () => new Promise<void>((resolve) => socket.close(() => resolve())),
      }),
    };
  }
}

export interface UdpDialerOptions {
  /** `host:port`. */
  address: string;
  /** Default true. */
  redial?: boolean;
  clock?: Clock;
  backoff?: BackoffOptions;
}

/** `udp-peer`: a connected UDP socket per session; the netceptor layer speaks first. */
export class UdpDialerBackend implements MeshBackend {
  readonly kind = 'udp-peer';
  readonly description: string;
  private readonly host: string;
  private readonly port: number;
  constructor(readonly options: UdpDialerOptions) {
    ({host: this.host, port: this.port} = splitHostPort(options.address));
    this.description = `UDP peer ${options.address}`;
  }

  async start(sink: SessionSink, logger: Logger): Promise<BackendRunning> {
    return startDialer(this.options, (signal) => this.dial(signal, logger), sink, logger);
  }

  async dial(signal: AbortSignal, logger?: Logger): Promise<UdpDialerSession> {
    const {type, address} = await socketTypeFor(this.host);
    if (signal.aborted) throw dialAborted();
    const socket = dgram.createSocket({type});
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error) => {
        unwatch();
        try {
          socket.close();
        } catch {
          // already closed
        }
        reject(err);
      };
      const unwatch = watchDialAbort(signal, fail);
      socket.connect(this.port, address, (err?: Error) => {
        unwatch();
        if (err) fail(err);
        else resolve();
      });
    });
    return new UdpDialerSession(socket, this.options.address, logger);
  }
}

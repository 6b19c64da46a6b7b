/**
 * A mesh backend over unix domain sockets: links between nodes on one host without a TCP
 * port. Each message travels as a frame of a 4-byte big-endian length and the message (this
 * backend's own format: only nodes running this plugin speak it).
 *
 * It follows the contract from receptor-mesh: a MeshBackend whose start() yields
 * BackendSessions; StreamSocketSession does the bookkeeping and the socket's close,
 * ListenerSessions and listenerStop the listener's, startDialer the redial loop: this file
 * only moves bytes.
 */
import {connect, createServer, type Server, type Socket} from 'node:net';
import {chmod, unlink} from 'node:fs/promises';
import {
  ListenerSessions,
  listenerStop,
  netSocketHandle,
  startDialer,
  StreamSocketSession,
  watchDialAbort,
  type BackendRunning,
  type BackoffOptions,
  type Clock,
  type Logger,
  type MeshBackend,
  type SessionSink,
} from 'receptor-mesh';

/** Largest message a frame may carry (netceptor's own messages are far smaller). */
export const UNIXSOCK_MAX_MESSAGE = 1 << 20;

/** Splits a byte stream into messages; throws on a frame no peer of ours would send. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Buffer[] = [];
    while (this.buf.length >= 4) {
      const size = this.buf.readUInt32BE(0);
      if (size === 0 || size > UNIXSOCK_MAX_MESSAGE) throw new Error(`bad frame length ${size}`);
      if (this.buf.length < 4 + size) break;
      out.push(this.buf.subarray(4, 4 + size));
      this.buf = this.buf.subarray(4 + size);
    }
    return out;
  }
}

export function frame(msg: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(4 + msg.length);
  b.writeUInt32BE(msg.length, 0);
  b.set(msg, 4);
  return b;
}

/** One connection on a unix socket. */
export class UnixSockSession extends StreamSocketSession {
  readonly kind = 'unixsock';
  private readonly reader = new FrameReader();

  constructor(
    private readonly socket: Socket,
    outbound: boolean,
    remote: string,
    logger?: Logger,
  ) {
    // The base class ends the session on the socket's end/error, releases it on close, and
    // closes it gracefully (end, then destroy after a grace period) on a local close.
    super({remote, outbound, maxMessageSize: UNIXSOCK_MAX_MESSAGE, logger}, netSocketHandle(socket));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  private onData(chunk: Buffer): void {
    if (!this.isOpen) return;
    let msgs: Buffer[];
    try {
      msgs = this.reader.push(chunk);
    } catch (err) {
      this.logger?.warn({remote: this.remote, err: (err as Error).message}, 'malformed unix socket frame; closing the session');
      this.transportEnded(err as Error);
      return;
    }
    for (const m of msgs) this.receive(m);
  }

  protected transmit(msg: Uint8Array): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(frame(msg));
  }
}

/** Listens on `path`; a socket file left behind by a dead process is replaced. */
async function listenOn(server: Server, path: string): Promise<void> {
  const attempt = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  try {
    await attempt();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || (await somebodyListens(path))) throw err;
    await unlink(path);
    await attempt();
  }
}

function somebodyListens(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect({path});
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

export interface UnixSockListenerOptions {
  path: string;
  /** File mode of the socket (default 0600: only this user may link). */
  permissions?: number;
}

/** `unixsock-listener`: each accepted connection is a session. */
export class UnixSockListenerBackend implements MeshBackend {
  readonly kind = 'unixsock-listener';
  readonly description: string;
  constructor(readonly options: UnixSockListenerOptions) {
    this.description = `unix socket listener on ${options.path}`;
  }

  async start(sink: SessionSink, logger: Logger): Promise<BackendRunning> {
    const {path} = this.options;
    const server = createServer();
    const sessions = new ListenerSessions<UnixSockSession>(sink);
    server.on('connection', (socket: Socket) => {
      if (sessions.stopping) {
        socket.destroy();
        return;
      }
      sessions.accept(new UnixSockSession(socket, false, `unix:${path}`, logger));
    });
    await listenOn(server, path);
    try {
      await chmod(path, this.options.permissions ?? 0o600);
    } catch (err) {
      server.close();
      throw err;
    }
    server.on('error', (err) => logger.error({err}, 'unix socket listener error'));
    return {
      localAddress: path,
      stop: listenerStop({
        // closing the server also removes the socket file
        stopAccepting: () => sessions.stopAccepting(server),
        sessions: () => sessions,
      }),
    };
  }
}

export interface UnixSockDialerOptions {
  path: string;
  /** Default true. */
  redial?: boolean;
  clock?: Clock;
  /** Overrides the default back-off (tests). */
  backoff?: BackoffOptions;
}

/** `unixsock-peer`: dials the socket at `path`, redialling with back-off. */
export class UnixSockDialerBackend implements MeshBackend {
  readonly kind = 'unixsock-peer';
  readonly description: string;
  constructor(readonly options: UnixSockDialerOptions) {
    this.description = `unix socket peer ${options.path}`;
  }

  async start(sink: SessionSink, logger: Logger): Promise<BackendRunning> {
    const {path, redial, clock, backoff} = this.options;
    return startDialer({address: path, redial, clock, backoff}, (signal) => this.dial(signal, logger), sink, logger);
  }

  /** One dial: resolves with a session once connected. */
  dial(signal: AbortSignal, logger?: Logger): Promise<UnixSockSession> {
    return new Promise((resolve, reject) => {
      const socket = connect({path: this.options.path});
      const cleanup = () => {
        socket.off('error', fail);
        unwatch();
      };
      const fail = (err: Error) => {
        cleanup();
        socket.destroy();
        reject(err);
      };
      const unwatch = watchDialAbort(signal, fail);
      socket.once('error', fail);
      socket.once('connect', () => {
        cleanup();
        resolve(new UnixSockSession(socket, true, `unix:${this.options.path}`, logger));
      });
    });
  }
}

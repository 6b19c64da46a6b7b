/**
 * Listener plumbing shared by the mesh backends (and exported for third-party ones): binding
 * a TCP server with Go's listen errors, and the one shutdown order every listener follows.
 */
import type {AddressInfo, Server} from 'node:net';
import type {Logger} from 'pino';
import type {BackendSession, SessionSink} from '../../core/netceptor/backend.js';
import {listenOpError} from '../../core/go/errno.js';
import {joinHostPort} from '../../core/netceptor/session-base.js';

/**
 * Binds `server` to `bindAddr:port` (empty = all interfaces) and resolves with the bound
 * `host:port`; a bind failure rejects with Go's text. Later server errors are logged as `what`.
 */
export async function listenTcp(server: Server, bindAddr: string | undefined, port: number, logger: Logger, what: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(listenOpError(err, 'tcp', bindAddr, port));
    server.once('error', onError);
    server.listen({port, host: bindAddr || undefined}, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({err}, `${what} error`));
  const addr = server.address() as AddressInfo;
  return joinHostPort(addr.address, addr.port);
}

/**
 * A listener's live sessions: `accept` hands a new one to the sink (closing it if the sink
 * throws) and keeps it until it is closed; once `stopAccepting` ran, `stopping` is true and
 * `accept` closes what still arrives.
 */
export class ListenerSessions<S extends BackendSession> implements Iterable<S> {
  private readonly live = new Set<S>();
  private refusing = false;

  constructor(private readonly sink: SessionSink) {}

  /** True once the listener stops: close new connections at once. */
  get stopping(): boolean {
    return this.refusing;
  }

  /** Adds `s` and hands it to the sink; false (and `s` closed) when stopping. */
  accept(s: S): boolean {
    if (this.refusing) {
      s.close();
      return false;
    }
    this.live.add(s);
    void s.closed.then(() => this.live.delete(s));
    try {
      this.sink(s);
    } catch (err) {
      s.close(err as Error);
    }
    return true;
  }

  /** Refuses new sessions and closes `server` (net, http or https); resolves once it is closed. */
  stopAccepting(server?: {close(cb: () => void): unknown}): Promise<void> {
    this.refusing = true;
    return server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
  }

  [Symbol.iterator](): Iterator<S> {
    return this.live.values();
  }
}

export interface ListenerShutdown<S extends BackendSession> {
  /** Refuse new connections; may return a promise (the server's close), awaited last. */
  stopAccepting(): Promise<void> | void;
  /** The live sessions (asked once, after `stopAccepting`). */
  sessions(): Iterable<S>;
  /** Ends one session; default `close()`. */
  end?(s: S): void;
  /** Once every session has ended: release what is left (half-open sockets, the datagram socket). */
  release?(): Promise<void> | void;
}

/**
 * A listener's `stop()`: stop accepting, end every session and wait for each, release the
 * rest, then wait for the server. Runs once; later calls return the same promise.
 */
export function listenerStop<S extends BackendSession>(o: ListenerShutdown<S>): () => Promise<void> {
  let stopped: Promise<void> | undefined;
  return () =>
    (stopped ??= (async () => {
      const accepting = o.stopAccepting();
      const list = [...o.sessions()];
      for (const s of list) {
        if (o.end) o.end(s);
        else s.close();
      }
      await Promise.all(list.map((s) => s.closed));
      await o.release?.();
      await accepting;
    })());
}

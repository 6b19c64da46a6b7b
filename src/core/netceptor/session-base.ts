/**
 * Shared BackendSession plumbing for the TCP, UDP and WebSocket backends: queueing of
 * messages that arrive before `start()`, the size checks on `send()`, exactly-once
 * `onClose`, and the `closed` promise (BaseSession); the socket wiring and graceful close
 * of stream transports (StreamSocketSession). A transport subclass only moves bytes.
 */
import type {Socket} from 'node:net';
import type {Logger} from 'pino';
import type {BackendSession, SessionHandler} from './backend.js';
import {systemClock, type Clock, type TimerHandle} from '../clock.js';
import {ReceptorError} from '../errors.js';

/**
 * Bytes a session may hold for a peer that does not read before new messages are dropped
 * (datagram semantics; QUIC above resends). Ours: Go blocks the sending goroutine instead.
 */
export const MAX_SEND_BACKLOG = 8 * 1024 * 1024;

export interface SessionInit {
  remote: string;
  outbound: boolean;
  maxMessageSize: number;
  logger?: Logger;
  /** Messages kept while nobody has called start(); later ones are dropped (default unbounded). */
  maxQueued?: number;
}

export abstract class BaseSession implements BackendSession {
  abstract readonly kind: string;
  readonly remote: string;
  readonly outbound: boolean;
  readonly maxMessageSize: number;
  readonly closed: Promise<void>;
  protected readonly logger: Logger | undefined;

  private resolveClosed!: () => void;
  private handler: SessionHandler | undefined;
  private queue: Buffer[] = [];
  private readonly maxQueued: number;
  private open = true;
  private endError: Error | undefined;
  private notified = false;
  private releasedOnce = false;
  private backlogDrops = 0;

  protected constructor(init: SessionInit) {
    this.remote = init.remote;
    this.outbound = init.outbound;
    this.maxMessageSize = init.maxMessageSize;
    this.logger = init.logger;
    this.maxQueued = init.maxQueued ?? Infinity;
    this.closed = new Promise<void>((resolve) => {
      this.resolveClosed = resolve;
    });
  }

  /** Bytes written but not yet taken by the transport (0 when the transport cannot tell). */
  protected backlogBytes(): number {
    return 0;
  }

  /** Messages dropped because the peer did not read (see MAX_SEND_BACKLOG). */
  get droppedForBacklog(): number {
    return this.backlogDrops;
  }

  /** True until the session ended (locally or remotely). */
  get isOpen(): boolean {
    return this.open;
  }

  start(h: SessionHandler): void {
    if (this.handler) throw new Error('backend session started twice');
    this.handler = h;
    const pending = this.queue;
    this.queue = [];
    for (const m of pending) {
      if (this.notified) break;
      this.dispatch(m);
    }
    if (!this.open) this.notifyClose();
  }

  send(msg: Uint8Array): void {
    if (!this.open) return;
    if (msg.length === 0) {
      this.logger?.debug({remote: this.remote}, 'not sending an empty message');
      return;
    }
    if (msg.length > this.maxMessageSize) {
      this.logger?.warn({remote: this.remote, size: msg.length, max: this.maxMessageSize}, 'message too large for this backend; not sent');
      return;
    }
    if (this.backlogBytes() > MAX_SEND_BACKLOG) {
      // one line per session; the count is in the close line
      if (this.backlogDrops++ === 0)
        this.logger?.warn({remote: this.remote, backlog: this.backlogBytes()}, `peer is not reading: dropping messages while over ${MAX_SEND_BACKLOG} bytes wait for it`);
      return;
    }
    try {
      this.transmit(msg);
    } catch (err) {
      this.transportEnded(err instanceof Error ? err : new Error(String(err)));
    }
  }

  close(err?: Error): void {
    if (!this.open) return;
    this.open = false;
    this.endError = err;
    this.queue = []; // closed locally: nobody wants what had not been delivered yet
    this.runShutdown(true);
    this.notifyClose();
  }

  /** Transport: one whole received message. Empty messages are dropped here. */
  protected receive(msg: Buffer): void {
    if (!this.open || msg.length === 0) return;
    if (this.handler) {
      this.dispatch(msg);
    } else if (this.queue.length < this.maxQueued) {
      this.queue.push(msg);
    } else {
      this.logger?.debug({remote: this.remote}, 'session not started yet; dropping a message');
    }
  }

  /** Transport: the remote end went away or the transport failed. */
  protected transportEnded(err?: Error): void {
    if (!this.open) return;
    this.open = false;
    this.endError = err;
    this.runShutdown(false);
    this.notifyClose();
  }

  /** Transport: all resources are released; resolves `closed`. */
  protected released(): void {
    if (this.releasedOnce) return;
    this.releasedOnce = true;
    this.resolveClosed();
  }

  /** Puts one message (already size-checked) on the wire. */
  protected abstract transmit(msg: Uint8Array): void;

  /**
   * Releases the transport and eventually calls `released()`. `graceful` is true for a
   * local close (flush what was queued first) and false when the transport is already dead.
   */
  protected abstract shutdown(graceful: boolean): void;

  private runShutdown(graceful: boolean): void {
    try {
      this.shutdown(graceful);
    } catch (err) {
      this.logger?.debug({err, remote: this.remote}, 'error while closing a backend session');
      this.released();
    }
  }

  private dispatch(msg: Buffer): void {
    try {
      this.handler!.onMessage(msg);
    } catch (err) {
      this.logger?.error({err, remote: this.remote}, 'session message handler failed; closing the session');
      this.close(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private notifyClose(): void {
    if (!this.handler || this.notified) return;
    this.notified = true;
    try {
      this.handler.onClose(this.endError);
    } catch (err) {
      this.logger?.error({err, remote: this.remote}, 'session close handler failed');
    }
  }
}

/** A local close waits this long for queued data (or the close handshake) before dropping the socket. */
export const SOCKET_CLOSE_GRACE_MS = 2_000;

/** The transport under a {@link StreamSocketSession}: its events and how to close it. */
export interface SocketHandle {
  /** Emits `close` once the transport is gone, `error`, and (net sockets) `end` when the peer finished. */
  readonly events: {on(event: string, listener: (...args: any[]) => void): unknown}; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Orderly close: flush and FIN (`socket.end()`), the close handshake (`ws.close()`). */
  end(): void;
  /** Drop now: `socket.destroy()`, `ws.terminate()`. */
  destroy(): void;
  /** `closed` once `close` has fired; `closing` when destroyed with `close` still to come. */
  state(): 'open' | 'closing' | 'closed';
}

/** The {@link SocketHandle} of a `net.Socket` (TCP, TLS, unix). */
export function netSocketHandle(socket: Socket): SocketHandle {
  return {
    events: socket,
    end: () => socket.end(),
    destroy: () => socket.destroy(),
    state: () => (socket.closed ? 'closed' : socket.destroyed ? 'closing' : 'open'),
  };
}

/**
 * A session over one stream socket (net.Socket, WebSocket): the socket's `end`/`error` end
 * the session, its `close` releases it; a local close ends the socket gracefully and drops it
 * after a grace period, a dead transport drops it at once. The subclass reads data (calling
 * `receive`) and implements `transmit`.
 */
export abstract class StreamSocketSession extends BaseSession {
  private readonly handle: SocketHandle;
  private readonly graceMs: number;
  private readonly clock: Clock;
  private graceTimer: TimerHandle | undefined;

  /** `clock` times the grace period (tests). */
  protected constructor(init: SessionInit & {graceMs?: number; clock?: Clock}, handle: SocketHandle) {
    super(init);
    this.handle = handle;
    this.graceMs = init.graceMs ?? SOCKET_CLOSE_GRACE_MS;
    this.clock = init.clock ?? systemClock;
    handle.events.on('end', () => this.transportEnded());
    handle.events.on('error', (err: Error) => this.transportEnded(err));
    handle.events.on('close', () => {
      if (this.graceTimer) this.clock.clearTimeout(this.graceTimer);
      this.transportEnded();
      this.released();
    });
    // A socket that died before we were listening emits nothing more we can rely on.
    if (handle.state() !== 'open')
      queueMicrotask(() => {
        this.transportEnded();
        this.released();
      });
  }

  protected shutdown(graceful: boolean): void {
    const state = this.handle.state();
    if (state === 'closed') this.released();
    if (state !== 'open') return; // closing: its close event releases
    if (!graceful) {
      this.handle.destroy();
      return;
    }
    this.handle.end();
    this.graceTimer = this.clock.setTimeout(() => this.handle.destroy(), this.graceMs);
    this.graceTimer.unref?.();
  }
}

/** `host:port`, with IPv6 hosts in brackets (Go's net.JoinHostPort). */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Go's net.SplitHostPort plus a numeric port check (Node cannot dial named services).
 * Throws an Error with a short reason.
 */
export function splitHostPort(address: string): {host: string; port: number} {
  let host: string;
  let portText: string;
  if (address.startsWith('[')) {
    const end = address.indexOf(']');
    if (end < 0) throw new ReceptorError('E_ADDRESS', `address ${address}: missing ']' in address`);
    host = address.slice(1, end);
    const rest = address.slice(end + 1);
    if (!rest.startsWith(':')) throw new ReceptorError('E_ADDRESS', `address ${address}: missing port in address`);
    portText = rest.slice(1);
  } else {
    const colon = address.lastIndexOf(':');
    if (colon < 0) throw new ReceptorError('E_ADDRESS', `address ${address}: missing port in address`);
    host = address.slice(0, colon);
    portText = address.slice(colon + 1);
    if (host.includes(':')) throw new ReceptorError('E_ADDRESS', `address ${address}: too many colons in address`);
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new ReceptorError('E_ADDRESS', `address ${address}: invalid port ${JSON.stringify(portText)}`);
  }
  return {host, port: Number(portText)};
}

/**
 * Datagram sockets on the mesh: one PacketConn per local (service) name. Messages are
 * delivered to a handler (fast path, used by QUIC) or queued for `readFrom()`.
 */
import {ReceptorError} from '../errors.js';

export interface MeshAddr {
  node: string;
  service: string;
}

export interface Datagram extends MeshAddr {
  data: Buffer;
}

export interface UnreachableNotice {
  /** The node that reported the problem. */
  reporter: string;
  problem: string;
  /** The failed message's addressing. */
  fromNode: string;
  toNode: string;
  fromService: string;
  toService: string;
}

/** What a PacketConn needs from the node. */
export interface PacketConnHost {
  readonly nodeId: string;
  sendFrom(fromService: string, toNode: string, toService: string, payload: Uint8Array, hopsToLive?: number): void;
  closePacketConn(pc: PacketConn): void;
}

export interface PacketConnOptions {
  /** Datagrams kept for readFrom() before new ones are dropped (datagram semantics). */
  maxQueue?: number;
}

export class PacketConn {
  private queue: Datagram[] = [];
  private waiters: Array<{resolve: (d: Datagram) => void; reject: (e: Error) => void}> = [];
  private handler: ((d: Datagram) => void) | undefined;
  private unreachableHandlers = new Set<(n: UnreachableNotice) => void>();
  private closedFlag = false;
  private readonly maxQueue: number;

  constructor(
    private readonly host: PacketConnHost,
    readonly service: string,
    readonly advertised: boolean,
    opts: PacketConnOptions = {},
  ) {
    this.maxQueue = opts.maxQueue ?? 1024;
  }

  get localAddr(): MeshAddr {
    return {node: this.host.nodeId, service: this.service};
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Delivers incoming datagrams to `fn` instead of the readFrom() queue. */
  setHandler(fn: ((d: Datagram) => void) | undefined): void {
    this.handler = fn;
    if (fn) for (const d of this.queue.splice(0)) fn(d);
  }

  /** Called by the node for each datagram addressed to this service. */
  deliver(d: Datagram): void {
    if (this.closedFlag) return;
    if (this.handler) {
      this.handler(d);
      return;
    }
    const w = this.waiters.shift();
    if (w) w.resolve(d);
    else if (this.queue.length < this.maxQueue) this.queue.push(d);
  }

  /** Called by the node when an unreachable message names this service as the sender. */
  deliverUnreachable(n: UnreachableNotice): void {
    for (const fn of this.unreachableHandlers) fn(n);
  }

  /** Subscribes to unreachable notifications; returns an unsubscribe function. */
  onUnreachable(fn: (n: UnreachableNotice) => void): () => void {
    this.unreachableHandlers.add(fn);
    return () => this.unreachableHandlers.delete(fn);
  }

  /** Waits for the next datagram. */
  readFrom(signal?: AbortSignal): Promise<Datagram> {
    if (this.closedFlag) return Promise.reject(new ReceptorError('E_INTERNAL', 'packet connection closed'));
    const d = this.queue.shift();
    if (d) return Promise.resolve(d);
    return new Promise((resolve, reject) => {
      const w = {resolve, reject};
      this.waiters.push(w);
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        },
        {once: true},
      );
    });
  }

  /** Sends one datagram; errors (e.g. no route) are thrown synchronously. */
  writeTo(data: Uint8Array, node: string, service: string, hopsToLive?: number): void {
    if (this.closedFlag) throw new ReceptorError('E_INTERNAL', 'packet connection closed');
    this.host.sendFrom(this.service, node, service, data, hopsToLive);
  }

  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.host.closePacketConn(this);
    if (this.waiters.length > 0) {
      const err = new ReceptorError('E_INTERNAL', 'packet connection closed');
      for (const w of this.waiters.splice(0)) w.reject(err);
    }
    this.queue = [];
    this.unreachableHandlers.clear();
    this.handler = undefined;
  }
}

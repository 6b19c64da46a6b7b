/**
 * An in-memory "wire" between QUIC endpoints for engine tests: packets are delivered
 * asynchronously (setImmediate rounds) and can be dropped, held back a round (reordered) or
 * delivered twice, each from a seeded RNG so a run is repeatable. Loss can differ per direction
 * (one RNG per sending endpoint, so one direction's traffic does not shift the other's draws).
 * Each endpoint may run its own engine (quiche, TS), for the cross-engine matrix.
 */
import type {QuicEngine} from '../../src/core/netceptor/quic/engine.js';
import {QuicEndpoint, type QuicEndpointOptions} from '../../src/core/netceptor/quic/endpoint.js';
import {quicheEngine} from '../../src/core/netceptor/quic/quiche.js';
import {mulberry32} from './prng.js';

export interface WireOptions {
  /** Fraction of packets dropped (every direction unless `lossFrom` names the sender). */
  loss?: number;
  /** Per sending endpoint key: fraction of its packets dropped (overrides `loss`). */
  lossFrom?: Record<string, number>;
  /** Fraction of packets held back one delivery round (delivered after later packets). */
  reorder?: number;
  /** Fraction of packets delivered twice (the copy in the next round). */
  duplicate?: number;
  seed?: number;
}

interface InFlight {
  from: string;
  to: string;
  packet: Buffer;
}

export class TestWire {
  readonly endpoints = new Map<string, QuicEndpoint>();
  readonly blackholes = new Set<string>();
  loss: number;
  readonly lossFrom: Map<string, number>;
  reorder: number;
  duplicate: number;
  sent = 0;
  dropped = 0;
  reordered = 0;
  duplicated = 0;
  maxPacket = 0;
  /** Packets dropped, per sender. */
  readonly droppedFrom = new Map<string, number>();
  /** Length of each peer's first packet. */
  readonly firstPacket = new Map<string, number>();
  private queue: InFlight[] = [];
  private held: InFlight[] = [];
  private scheduled = false;
  private readonly seed: number;
  private readonly rngs = new Map<string, () => number>();

  constructor(opts: WireOptions = {}) {
    this.loss = opts.loss ?? 0;
    this.lossFrom = new Map(Object.entries(opts.lossFrom ?? {}));
    this.reorder = opts.reorder ?? 0;
    this.duplicate = opts.duplicate ?? 0;
    this.seed = opts.seed ?? 1;
  }

  /** A new endpoint named `key` on this wire; `opts.engine` defaults to quiche. */
  endpoint(key: string, opts: Partial<QuicEndpointOptions> & {engine?: QuicEngine} = {}): QuicEndpoint {
    const ep = new QuicEndpoint({...opts, engine: opts.engine ?? quicheEngine(), send: opts.send ?? ((to, packet) => this.send(key, to, packet))});
    this.endpoints.set(key, ep);
    return ep;
  }

  send(from: string, to: string, packet: Buffer): void {
    this.sent++;
    if (packet.length > this.maxPacket) this.maxPacket = packet.length;
    if (!this.firstPacket.has(from)) this.firstPacket.set(from, packet.length);
    this.queue.push({from, to, packet});
    this.schedule();
  }

  /** The sender's RNG: seeded from the wire's seed and the sender's key. */
  private rng(from: string): () => number {
    let r = this.rngs.get(from);
    if (!r) {
      let h = this.seed >>> 0;
      for (const c of from) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
      r = mulberry32(h);
      this.rngs.set(from, r);
    }
    return r;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.deliver);
  }

  private readonly deliver = (): void => {
    this.scheduled = false;
    const batch = this.queue;
    const late = this.held;
    this.queue = [];
    this.held = [];
    for (const p of batch) {
      const rng = this.rng(p.from);
      // Three draws per packet whatever the outcome, so one knob does not shift the others.
      const [dLoss, dReorder, dDup] = [rng(), rng(), rng()];
      if (dLoss < (this.lossFrom.get(p.from) ?? this.loss)) {
        this.dropped++;
        this.droppedFrom.set(p.from, (this.droppedFrom.get(p.from) ?? 0) + 1);
        continue;
      }
      if (dDup < this.duplicate) {
        this.duplicated++;
        // A copy: the endpoint decrypts a packet in place.
        this.held.push({...p, packet: Buffer.from(p.packet)});
      }
      if (dReorder < this.reorder) {
        this.reordered++;
        this.held.push(p);
        continue;
      }
      this.hand(p);
    }
    for (const p of late) this.hand(p);
    if (this.held.length > 0) this.schedule();
  };

  private hand(p: InFlight): void {
    if (this.blackholes.has(p.to)) return;
    this.endpoints.get(p.to)?.receive(p.from, p.packet);
  }

  close(): void {
    for (const ep of this.endpoints.values()) ep.close();
  }
}

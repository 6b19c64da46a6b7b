/**
 * The store of known service advertisements (netceptor-wire.md §7.3), keyed by
 * (NodeID, Service). Times are compared as BigInt nanoseconds since the Unix epoch, so
 * `…:13.663466574Z` and `…:13.663466575Z` are different instants and the same instant
 * written in two zones is equal.
 *
 * Like Go, ads persist until cancelled: nothing expires, and the ads of a node that became
 * unreachable stay. Unlike Go, a cancel that is not newer than the last cancel seen for the
 * key (a tombstone) is dropped, so cancels cannot circulate forever in a cyclic mesh (§14
 * item 28).
 */

export interface ServiceAdKey {
  readonly nodeId: string;
  readonly service: string;
}

/** The parts of an advertisement the store needs; the full ad object is kept as given. */
export interface ServiceAdInput extends ServiceAdKey {
  /** `Time` as nanoseconds since the Unix epoch. */
  readonly timeNs: bigint;
  readonly cancel: boolean;
}

export type ServiceAdOutcome =
  | 'added' // no entry before; stored
  | 'updated' // replaced an older entry
  | 'cancelled' // removed an older entry
  | 'cancel-unknown' // a newer cancel for a key with no entry: re-flooded like Go does
  | 'stale' // not strictly later than the stored entry: dropped
  | 'stale-cancel' // a cancel not newer than the tombstone: dropped
  | 'limit'; // a new key while maxEntries ads are stored: dropped, not flooded (not in Go)

export interface ServiceAdResult {
  readonly outcome: ServiceAdOutcome;
  /** Re-flood the original received bytes to every connection except the one it came from. */
  readonly flood: boolean;
}

/** Ads kept at most (ours; Go keeps every ad it hears of): a peer inventing services cannot grow memory forever. */
export const MAX_SERVICE_ADS = 65_536;

export interface ServiceAdStoreOptions {
  /** Stored ads at most (default MAX_SERVICE_ADS); tombstones are kept up to the same number. */
  maxEntries?: number;
}

export class ServiceAdStore<A extends ServiceAdInput = ServiceAdInput> {
  private readonly ads = new Map<string, Map<string, A>>();
  /** Time of the latest accepted cancel per key, while the key has no entry. */
  private readonly tombstones = new Map<string, Map<string, bigint>>();
  private count = 0;
  private tombCount = 0;
  readonly maxEntries: number;

  constructor(opts: ServiceAdStoreOptions = {}) {
    this.maxEntries = opts.maxEntries ?? MAX_SERVICE_ADS;
  }

  /** Applies an advertisement received from the network. */
  receive(ad: A): ServiceAdResult {
    const current = this.get(ad.nodeId, ad.service);
    if (current && ad.timeNs <= current.timeNs) return {outcome: 'stale', flood: false};
    if (!current && !ad.cancel && this.count >= this.maxEntries) return {outcome: 'limit', flood: false};
    if (ad.cancel) {
      const tomb = lookup(this.tombstones, ad.nodeId, ad.service);
      if (!current && tomb !== undefined && ad.timeNs <= tomb) return {outcome: 'stale-cancel', flood: false};
      this.remove(ad.nodeId, ad.service, ad.timeNs);
      return {outcome: current ? 'cancelled' : 'cancel-unknown', flood: true};
    }
    this.set(ad);
    return {outcome: current ? 'updated' : 'added', flood: true};
  }

  /** Stores an ad unconditionally (e.g. a local service). */
  set(ad: A): void {
    if (store(this.ads, ad.nodeId, ad.service, ad)) this.count++;
    if (unstore(this.tombstones, ad.nodeId, ad.service)) this.tombCount--;
  }

  /**
   * Removes an entry unconditionally (e.g. a local service being withdrawn). With
   * `cancelTimeNs`, remembers it as a tombstone so the echo of our own cancel is dropped.
   */
  remove(nodeId: string, service: string, cancelTimeNs?: bigint): boolean {
    const existed = unstore(this.ads, nodeId, service);
    if (existed) this.count--;
    if (cancelTimeNs !== undefined) {
      const tomb = lookup(this.tombstones, nodeId, service);
      if (tomb === undefined || cancelTimeNs > tomb) {
        if (store(this.tombstones, nodeId, service, cancelTimeNs)) this.tombCount++;
        // Forget the oldest node's tombstones: at worst an old cancel is flooded once more.
        while (this.tombCount > this.maxEntries) {
          const [oldest, services] = this.tombstones.entries().next().value!;
          this.tombstones.delete(oldest);
          this.tombCount -= services.size;
        }
      }
    }
    return existed;
  }

  get(nodeId: string, service: string): A | undefined {
    return lookup(this.ads, nodeId, service);
  }

  /** All current ads, ordered by node ID then service (Go's order is unspecified). */
  list(): A[] {
    return [...this.ads.keys()].sort(compare).flatMap((node) => this.byNode(node));
  }

  /** The current ads of one node, ordered by service. */
  byNode(nodeId: string): A[] {
    const services = this.ads.get(nodeId);
    if (!services) return [];
    return [...services.keys()].sort(compare).map((s) => services.get(s)!);
  }

  /** Nodes that currently advertise at least one service. */
  nodes(): string[] {
    return [...this.ads.keys()].sort(compare);
  }

  get size(): number {
    return this.count;
  }

  /** Tombstones kept (cancels remembered for keys without an entry). */
  get tombstoneCount(): number {
    return this.tombCount;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function lookup<V>(m: Map<string, Map<string, V>>, node: string, service: string): V | undefined {
  return m.get(node)?.get(service);
}

/** Sets the value; returns whether the key is new. */
function store<V>(m: Map<string, Map<string, V>>, node: string, service: string, v: V): boolean {
  let inner = m.get(node);
  if (!inner) m.set(node, (inner = new Map()));
  const added = !inner.has(service);
  inner.set(service, v);
  return added;
}

function unstore<V>(m: Map<string, Map<string, V>>, node: string, service: string): boolean {
  const inner = m.get(node);
  if (!inner?.delete(service)) return false;
  if (inner.size === 0) m.delete(node);
  return true;
}

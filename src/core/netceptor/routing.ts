/**
 * The link-state database and route computation of a node (netceptor-wire.md §6).
 *
 * Pure state: no sockets, no timers. The node feeds it its own connections and every
 * routing update that passed the per-connection checks of §4.3, and acts on the returned
 * result (re-flood, send its own update soon, recompute routes, learn name hashes, handle
 * a duplicate node ID). Time only matters for UpdateID de-duplication and comes from the
 * injected clock.
 */
import {randomInt} from 'node:crypto';
import type {Clock} from '../clock.js';
import {randomId} from './ids.js';

/** How long a seen UpdateID is remembered (§6.5 step 3). */
export const SEEN_UPDATE_MEMORY_MS = 60 * 60 * 1000;
/** How often remembered UpdateIDs are purged (Go: every half memory period). */
export const SEEN_UPDATE_PURGE_INTERVAL_MS = SEEN_UPDATE_MEMORY_MS / 2;
/**
 * Most UpdateIDs remembered at once; beyond it the oldest is forgotten. Go has no cap (an
 * update flood grew its memory without bound); below it the hour rule above is Go's.
 */
export const MAX_SEEN_UPDATES = 65_536;
/**
 * Most nodes accepted into the link-state database, and most connections one update may
 * list. Far above real meshes; a peer announcing made-up nodes past it is dropped.
 */
export const MAX_KNOWN_NODES = 10_000;

const EPOCH_RANDOM_BITS = 24;

/** §6.2: unix_seconds × 2^24 + a random number in [0, 2^24). */
export function makeEpoch(nowMs: number, random: number = randomInt(0, 2 ** EPOCH_RANDOM_BITS)): bigint {
  if (!Number.isInteger(random) || random < 0 || random >= 2 ** EPOCH_RANDOM_BITS) {
    throw new RangeError(`epoch random part out of range: ${random}`);
  }
  return (BigInt(Math.floor(nowMs / 1000)) << BigInt(EPOCH_RANDOM_BITS)) + BigInt(random);
}

/** A received routing update, as far as routing needs it (structurally matches the codec's). */
export interface RouteUpdateInput {
  readonly nodeId: string;
  readonly updateId: string;
  readonly updateEpoch: bigint;
  readonly updateSequence: bigint;
  readonly connections: ReadonlyMap<string, number>;
  readonly suspectedDuplicate: bigint;
}

/** A routing update originated by this node (§6.4), ready for the codec. */
export interface OwnRouteUpdate {
  nodeId: string;
  updateId: string;
  updateEpoch: bigint;
  updateSequence: bigint;
  /** Own established connections, keys sorted. */
  connections: Map<string, number>;
  forwardingNode: string;
  suspectedDuplicate: bigint;
}

/** What to do about an update carrying our own node ID (§6.7, rows in order). */
export type DuplicateDecision =
  {readonly action: 'ignore'; readonly reason: 'own-update' | 'older-epoch'} | {readonly action: 'shutdown'} | {readonly action: 'notify'; readonly suspectedDuplicate: bigint};

export type RouteUpdateOutcome =
  | 'empty-node-id' // step 1: ignored
  | 'own-node-id' // step 2: see `duplicate`
  | 'seen' // step 3: UpdateID already seen
  | 'duplicate-notice' // step 4: SuspectedDuplicate ≠ 0
  | 'stale' // step 5: older epoch, or same epoch and sequence not higher
  | 'node-limit' // a new node while MAX_KNOWN_NODES are known: dropped (not in Go)
  | 'connection-limit' // lists more than MAX_KNOWN_NODES connections: dropped (not in Go)
  | 'edge-limit' // would store more than MAX_KNOWN_EDGES connections in all: dropped (not in Go)
  | 'accepted'; // step 5: stored

export interface RouteUpdateResult {
  readonly outcome: RouteUpdateOutcome;
  /** Re-flood (ForwardingNode = own ID) to every connection except the one it came from. */
  readonly flood: boolean;
  /** Send an own routing update within ~100 ms (the update came from a new node). */
  readonly sendOwnUpdateSoon: boolean;
  /** Recompute the routing table within ~100 ms (the topology changed). */
  readonly recompute: boolean;
  /** Node IDs whose name hash the node must learn (§5.3). */
  readonly learnNames: readonly string[];
  /** Set when outcome is 'own-node-id'. For 'notify', flood buildUpdate(suspectedDuplicate). */
  readonly duplicate?: DuplicateDecision;
}

export interface RouteEntry {
  readonly nextHop: string;
  readonly cost: number;
}

export interface NodeRecord {
  readonly epoch: bigint;
  readonly sequence: bigint;
}

export type Topology = ReadonlyMap<string, ReadonlyMap<string, number>>;

export interface RoutingStateOptions {
  nodeId: string;
  clock: Clock;
  /** Defaults to makeEpoch(clock.now()). */
  epoch?: bigint;
  /** UpdateID generator; defaults to randomId(). */
  newUpdateId?: () => string;
  /** Defaults to MAX_SEEN_UPDATES. */
  maxSeenUpdates?: number;
  /** Defaults to MAX_KNOWN_NODES. */
  maxKnownNodes?: number;
  /** Defaults to MAX_KNOWN_EDGES. */
  maxKnownEdges?: number;
}

/**
 * Edges (listed connections) kept over all nodes (not in Go): without it, maxKnownNodes made-up
 * nodes each listing maxKnownNodes neighbours would be 10^8 edges, and every route computation
 * walks them all. Past it, an update that
 * would add edges is dropped as `edge-limit`.
 */
export const MAX_KNOWN_EDGES = 100_000;

const IGNORED = {flood: false, sendOwnUpdateSoon: false, recompute: false, learnNames: []} as const;

export class RoutingState {
  readonly nodeId: string;
  readonly epoch: bigint;
  private readonly clock: Clock;
  private readonly newUpdateId: () => string;
  private seq = 0n;
  /** Own established connections → link cost. */
  private readonly own = new Map<string, number>();
  /** Epoch and sequence of every node whose update was accepted (never forgotten). */
  private readonly records = new Map<string, {epoch: bigint; sequence: bigint}>();
  /** The directed graph: node → neighbour → cost ("knownConnectionCosts"). */
  private readonly topology = new Map<string, Map<string, number>>();
  /** Reverse index of `topology`: node → nodes with an edge to it (keeps updates O(edges)). */
  private readonly inbound = new Map<string, Set<string>>();
  private readonly maxSeen: number;
  private readonly maxNodes: number;
  private readonly maxEdges: number;
  private edges = 0;
  /** UpdateID → when it was first seen (ms). */
  private readonly seen = new Map<string, number>();
  /**
   * Insertion order of `seen` as a ring of (id, time): evicting via seen.keys().next() is
   * O(deleted holes) in V8 and made a flood quadratic again.
   */
  private readonly seenRing: Array<{id: string; at: number}> = [];
  private seenPos = 0;
  private lastPurge: number;
  private table = new Map<string, RouteEntry>();

  constructor(opts: RoutingStateOptions) {
    this.nodeId = opts.nodeId;
    this.clock = opts.clock;
    this.epoch = opts.epoch ?? makeEpoch(opts.clock.now());
    this.newUpdateId = opts.newUpdateId ?? (() => randomId());
    this.lastPurge = opts.clock.now();
    this.maxSeen = opts.maxSeenUpdates ?? MAX_SEEN_UPDATES;
    this.maxNodes = opts.maxKnownNodes ?? MAX_KNOWN_NODES;
    this.maxEdges = opts.maxKnownEdges ?? MAX_KNOWN_EDGES;
  }

  /** Edges stored over all nodes (see MAX_KNOWN_EDGES). */
  get edgeCount(): number {
    return this.edges;
  }

  // --- sequence and own updates --------------------------------------------------------

  /** The sequence number of the last update built (0n before the first). */
  get sequence(): bigint {
    return this.seq;
  }

  /** Increments and returns the shared sequence counter (§6.3); the first value is 1n. */
  nextSequence(): bigint {
    return ++this.seq;
  }

  /**
   * Builds a fresh own update (periodic, triggered, handshake, or — with a non-zero
   * `suspectedDuplicate` — a duplicate notification). Consumes a sequence number.
   */
  buildUpdate(suspectedDuplicate = 0n): OwnRouteUpdate {
    return {
      nodeId: this.nodeId,
      updateId: this.newUpdateId(),
      updateEpoch: this.epoch,
      updateSequence: this.nextSequence(),
      connections: this.ownConnections(),
      forwardingNode: this.nodeId,
      suspectedDuplicate,
    };
  }

  // --- own connections -----------------------------------------------------------------

  /** Records an established connection: edges self → peer and peer → self. */
  addConnection(peer: string, cost: number): void {
    this.own.set(peer, cost);
    this.setEdge(this.nodeId, peer, cost);
    this.setEdge(peer, this.nodeId, cost);
  }

  /** Forgets an ended connection and both direct edges (the nodes stay known). */
  removeConnection(peer: string): boolean {
    this.deleteEdge(this.nodeId, peer);
    this.deleteEdge(peer, this.nodeId);
    return this.own.delete(peer);
  }

  hasConnection(peer: string): boolean {
    return this.own.has(peer);
  }

  connectionCost(peer: string): number | undefined {
    return this.own.get(peer);
  }

  /** Own connections → cost, keys sorted. */
  ownConnections(): Map<string, number> {
    return new Map([...this.own].sort(([a], [b]) => compare(a, b)));
  }

  /** `status` → `Connections` (sorted by node ID; Go's order is unspecified). */
  statusConnections(): Array<{NodeID: string; Cost: number}> {
    return [...this.ownConnections()].map(([NodeID, Cost]) => ({NodeID, Cost}));
  }

  // --- received updates ----------------------------------------------------------------

  /** Processes a routing update that passed the §4.3 checks, per §6.5 and §6.7. */
  handleUpdate(u: RouteUpdateInput): RouteUpdateResult {
    if (u.nodeId === '') return {outcome: 'empty-node-id', ...IGNORED};
    if (u.nodeId === this.nodeId) return {outcome: 'own-node-id', ...IGNORED, duplicate: this.duplicateDecision(u)};

    const now = this.clock.now();
    if (now - this.lastPurge >= SEEN_UPDATE_PURGE_INTERVAL_MS) this.purgeSeen(now);
    if (this.wasSeen(u.updateId, now)) return {outcome: 'seen', ...IGNORED};
    this.remember(u.updateId, now);

    if (u.suspectedDuplicate !== 0n) {
      const rec = this.records.get(u.nodeId);
      if (rec && rec.epoch === u.suspectedDuplicate) {
        rec.epoch = u.updateEpoch;
        rec.sequence = u.updateSequence;
      }
      return {outcome: 'duplicate-notice', ...IGNORED, flood: true};
    }

    const rec = this.records.get(u.nodeId);
    if (rec && (u.updateEpoch < rec.epoch || (u.updateEpoch === rec.epoch && u.updateSequence <= rec.sequence))) {
      return {outcome: 'stale', ...IGNORED};
    }
    if (!rec && !this.own.has(u.nodeId) && this.records.size >= this.maxNodes) return {outcome: 'node-limit', ...IGNORED};
    if (u.connections.size > this.maxNodes) return {outcome: 'connection-limit', ...IGNORED};
    const grows = u.connections.size - (this.topology.get(u.nodeId)?.size ?? 0);
    if (grows > 0 && this.edges + grows > this.maxEdges) return {outcome: 'edge-limit', ...IGNORED};
    this.records.set(u.nodeId, {epoch: u.updateEpoch, sequence: u.updateSequence});
    const changed = this.replaceEdges(u.nodeId, u.connections);
    return {
      outcome: 'accepted',
      flood: true,
      // A newer epoch is a restarted node that knows nothing about us: tell it at once rather
      // than at our next periodic update (up to 10 s later in Go). Wire-compatible: it is one
      // more ordinary update.
      sendOwnUpdateSoon: !rec || u.updateEpoch > rec.epoch,
      recompute: changed,
      learnNames: rec ? [] : [u.nodeId],
    };
  }

  private duplicateDecision(u: RouteUpdateInput): DuplicateDecision {
    if (u.updateEpoch === this.epoch) return {action: 'ignore', reason: 'own-update'};
    if (u.suspectedDuplicate === this.epoch) return {action: 'shutdown'};
    if (u.updateEpoch > this.epoch) return {action: 'notify', suspectedDuplicate: u.updateEpoch};
    return {action: 'ignore', reason: 'older-epoch'};
  }

  /**
   * Step 5, edge-set replacement. An absent edge set differs even from an empty
   * `Connections` (Go compares a nil map with an empty one), so every accepted node
   * becomes a topology key.
   */
  private replaceEdges(node: string, connections: ReadonlyMap<string, number>): boolean {
    const stored = this.topology.get(node);
    if (stored && sameEdges(stored, connections)) return false;
    for (const to of stored?.keys() ?? []) this.inbound.get(to)?.delete(node);
    this.edges += connections.size - (stored?.size ?? 0);
    this.topology.set(node, new Map(connections));
    for (const to of connections.keys()) inboundOf(this.inbound, to).add(node);
    // Edges toward `node` from nodes it no longer lists go (only own edges stay).
    for (const other of [...(this.inbound.get(node) ?? [])]) {
      if (other !== this.nodeId && !connections.has(other)) this.deleteEdge(other, node);
    }
    return true;
  }

  private setEdge(from: string, to: string, cost: number): void {
    const m = edgesOf(this.topology, from);
    if (!m.has(to)) this.edges++;
    m.set(to, cost);
    inboundOf(this.inbound, to).add(from);
  }

  private deleteEdge(from: string, to: string): void {
    if (this.topology.get(from)?.delete(to)) this.edges--;
    this.inbound.get(to)?.delete(from);
  }

  /** Records an UpdateID as the newest; at the cap the oldest recorded is forgotten. */
  private remember(updateId: string, now: number): void {
    this.seen.set(updateId, now);
    if (this.seenRing.length < this.maxSeen) {
      this.seenRing.push({id: updateId, at: now});
      return;
    }
    const slot = this.seenRing[this.seenPos]!;
    // Only if that slot still is the live entry (not purged, nor re-recorded after expiry).
    if (this.seen.get(slot.id) === slot.at) this.seen.delete(slot.id);
    slot.id = updateId;
    slot.at = now;
    this.seenPos = (this.seenPos + 1) % this.maxSeen;
  }

  private wasSeen(updateId: string, now: number): boolean {
    const at = this.seen.get(updateId);
    return at !== undefined && now - at <= SEEN_UPDATE_MEMORY_MS;
  }

  /** Forgets UpdateIDs seen more than an hour before `now`; returns how many. */
  purgeSeen(now: number = this.clock.now()): number {
    this.lastPurge = now;
    let n = 0;
    for (const [id, at] of this.seen) {
      if (now - at > SEEN_UPDATE_MEMORY_MS) {
        this.seen.delete(id);
        n++;
      }
    }
    return n;
  }

  /** Number of remembered UpdateIDs. */
  get seenCount(): number {
    return this.seen.size;
  }

  // --- routes --------------------------------------------------------------------------

  /** Recomputes (and keeps) the routing table: destination → next hop (§6.6). */
  computeRoutes(): Map<string, string> {
    this.table = shortestPaths(this.nodeId, this.topology);
    return this.routes();
  }

  /** The table of the last computeRoutes(), destination → next hop, sorted. */
  routes(): Map<string, string> {
    return new Map([...this.table].map(([dest, e]) => [dest, e.nextHop]));
  }

  /** Next hop toward `dest` per the last computeRoutes() (hot path: no copy). */
  nextHop(dest: string): string | undefined {
    return this.table.get(dest)?.nextHop;
  }

  /** Path cost to a destination per the last computeRoutes(). */
  pathCost(dest: string): number | undefined {
    return this.table.get(dest)?.cost;
  }

  /** `status` → `RoutingTable`. */
  statusRoutingTable(): Record<string, string> {
    return Object.fromEntries(this.routes());
  }

  /** `status` → `KnownConnectionCosts`: node → {neighbour → cost}, keys sorted. */
  knownConnectionCosts(): Record<string, Record<string, number>> {
    return Object.fromEntries(
      [...this.topology.keys()].sort(compare).map((node) => {
        const edges = this.topology.get(node)!;
        return [node, Object.fromEntries([...edges].sort(([a], [b]) => compare(a, b)))];
      }),
    );
  }

  /** A copy of the directed graph. */
  topologySnapshot(): Map<string, Map<string, number>> {
    return new Map([...this.topology].map(([n, e]) => [n, new Map(e)]));
  }

  /** Nodes that are keys of the topology (the only routable ones), sorted. */
  topologyNodes(): string[] {
    return [...this.topology.keys()].sort(compare);
  }

  /** Nodes whose routing update was accepted at least once, sorted. */
  knownNodes(): string[] {
    return [...this.records.keys()].sort(compare);
  }

  nodeRecord(nodeId: string): NodeRecord | undefined {
    const r = this.records.get(nodeId);
    return r && {epoch: r.epoch, sequence: r.sequence};
  }
}

/**
 * Shortest paths by summed cost from `self` over the directed graph (Dijkstra). Only
 * topology keys are routable; `self` is not in the result. Among equal-cost paths the one
 * with the lexicographically smallest next hop wins (Go's choice is arbitrary). Result
 * keys are sorted. Costs are expected to be > 0 (config enforces it); a zero or negative
 * cost received from a peer cannot make this loop.
 */
export function shortestPaths(self: string, topology: Topology): Map<string, RouteEntry> {
  const best = new Map<string, RouteEntry>();
  const done = new Set<string>([self]);
  // Min-heap of (cost, node) candidates; entries made stale by a better path are skipped.
  const heap: Array<[number, string]> = [];
  const relax = (from: string, base: number, hop: string | undefined): void => {
    for (const [to, w] of topology.get(from) ?? []) {
      if (done.has(to) || !topology.has(to)) continue;
      const cand: RouteEntry = {nextHop: hop ?? to, cost: base + w};
      const cur = best.get(to);
      if (!cur || better(cand, cur)) {
        best.set(to, cand);
        if (!cur || cand.cost < cur.cost) heapPush(heap, [cand.cost, to]);
      }
    }
  };
  relax(self, 0, undefined);
  // Picks the lowest cost, ties by node ID: the same order as a linear scan, in O(log n).
  for (let top = heapPop(heap); top; top = heapPop(heap)) {
    const [cost, node] = top;
    const e = best.get(node)!;
    if (done.has(node) || e.cost !== cost) continue;
    done.add(node);
    relax(node, e.cost, e.nextHop);
  }
  return new Map([...best].sort(([a], [b]) => compare(a, b)));
}

function heapLess(a: [number, string], b: [number, string]): boolean {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}

function heapPush(h: Array<[number, string]>, item: [number, string]): void {
  let i = h.push(item) - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!heapLess(h[i]!, h[p]!)) break;
    [h[i], h[p]] = [h[p]!, h[i]!];
    i = p;
  }
}

function heapPop(h: Array<[number, string]>): [number, string] | undefined {
  const top = h[0];
  const last = h.pop();
  if (h.length === 0 || last === undefined) return top;
  h[0] = last;
  for (let i = 0; ;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < h.length && heapLess(h[l]!, h[m]!)) m = l;
    if (r < h.length && heapLess(h[r]!, h[m]!)) m = r;
    if (m === i) break;
    [h[i], h[m]] = [h[m]!, h[i]!];
    i = m;
  }
  return top;
}

function better(a: RouteEntry, b: RouteEntry): boolean {
  return a.cost < b.cost || (a.cost === b.cost && a.nextHop < b.nextHop);
}

function sameEdges(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

function inboundOf(index: Map<string, Set<string>>, node: string): Set<string> {
  let from = index.get(node);
  if (!from) index.set(node, (from = new Set()));
  return from;
}

function edgesOf(topology: Map<string, Map<string, number>>, node: string): Map<string, number> {
  let edges = topology.get(node);
  if (!edges) topology.set(node, (edges = new Map()));
  return edges;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The mesh node ("netceptor"): runs the netceptor protocol on backend sessions
 * (handshake, routing updates, service advertisements, rejects), keeps the link-state
 * routing table, forwards and delivers data messages, and hosts datagram services.
 * Byte-compatible with Go receptor 1.4.x (netceptor-wire.md §4–§10).
 *
 * One file on purpose: the Netceptor class is one state machine whose parts (links, routing
 * table, service ads, data path) share its state and event order; the pure pieces live
 * beside it (codec, routing, firewall, service-ads, packet-conn, name-hash).
 */
import {EventEmitter} from 'node:events';
import type {Logger} from 'pino';
import {systemClock, type Clock, type TimerHandle} from '../clock.js';
import type {BackendHandle} from '../config/types.js';
import {ReceptorError} from '../errors.js';
import {goTlsErrorText} from '../tls/go-tls-errors.js';
import {logOncePerCause, RepeatFilter} from '../repeat-log.js';
import type {BackendRunning, BackendSession, LinkOptions, MeshBackend, MeshNodeHandle} from './backend.js';
import {
  CONN_TYPE_DATAGRAM,
  DATA_HEADER_LENGTH,
  DecodeError,
  decodeMessage,
  decodeUnreachable,
  encodeData,
  encodeReject,
  encodeRoutingUpdate,
  encodeServiceAdvertisement,
  encodeUnreachable,
  forwardData,
  goTimeNow,
  MAX_FORWARDING_HOPS,
  MAX_SERVICE_NAME_BYTES,
  MSG_TYPE_DATA,
  MSG_TYPE_REJECT,
  MSG_TYPE_ROUTING_UPDATE,
  MSG_TYPE_SERVICE_ADVERTISEMENT,
  PROBLEM_EXPIRED,
  PROBLEM_FIREWALLED,
  PROBLEM_SERVICE_UNKNOWN,
  SERVICE_PING,
  SERVICE_UNREACH,
  type DecodedServiceAdvertisement,
  type RoutingUpdate,
  type ServiceAdvertisement,
  type WorkCommand,
} from './codec.js';
import {evaluateFirewall, type FirewallRule} from './firewall.js';
import {ephemeralServiceName, isReservedService} from './ids.js';
import {nameHash} from './name-hash.js';
import {MAX_NODE_ID_BYTES, nodeIdProblem, printableNodeId} from './node-id.js';
import {PacketConn, type PacketConnHost} from './packet-conn.js';
import {STABLE_LINK_MS} from './redial.js';
import {MAX_KNOWN_EDGES, MAX_KNOWN_NODES, RoutingState} from './routing.js';
import {MAX_SERVICE_ADS, ServiceAdStore} from './service-ads.js';

/** Protocol timers (netceptor-wire.md §4.10); overridable for tests. */
export interface NetceptorTimings {
  handshakeIntervalMs: number;
  /** Handshake messages sent before giving up (Go: 10 reach the wire, closed at 10 s). */
  handshakeAttempts: number;
  routeUpdatePeriodMs: number;
  triggerDelayMs: number;
  serviceAdPeriodMs: number;
  serviceAdFirstDelayMs: number;
  idleCheckMs: number;
}

/** What a rejected node is told may have been wrong, when the peer gave no reason (Go never does). */
function likelyRejectCauses(self: string): string {
  return `it may already have a connection from a node named ${self} (duplicate node ID?), ${self} may not be in its allowed peers list, or it may disagree about the connection cost`;
}

export const DEFAULT_TIMINGS: NetceptorTimings = {
  handshakeIntervalMs: 1000,
  handshakeAttempts: 10,
  routeUpdatePeriodMs: 10_000,
  triggerDelayMs: 100,
  serviceAdPeriodMs: 60_000,
  serviceAdFirstDelayMs: 5000,
  idleCheckMs: 5000,
};

/** Caps against hostile peers (none of them exist in Go receptor; README "Caps against hostile peers and clients"). */
export interface NetceptorLimits {
  /** Nodes in the routing table; the node-name table keeps twice as many names at most. */
  maxKnownNodes: number;
  /** Connections listed by known nodes, stored over all of them. */
  maxKnownEdges: number;
  /** Service advertisements stored (and as many cancel tombstones). */
  maxServiceAds: number;
  /** Backend sessions still in the netceptor handshake at once; one more is closed at once. */
  maxPendingLinks: number;
  /** QUIC connections a stream service accepts at once, in total. */
  maxStreamConnections: number;
  /** QUIC connections a stream service accepts at once from one node. */
  maxStreamConnectionsPerNode: number;
}

export const DEFAULT_LIMITS: Readonly<NetceptorLimits> = Object.freeze({
  maxKnownNodes: MAX_KNOWN_NODES,
  maxKnownEdges: MAX_KNOWN_EDGES,
  maxServiceAds: MAX_SERVICE_ADS,
  maxPendingLinks: 1024,
  maxStreamConnections: 4096,
  maxStreamConnectionsPerNode: 1024,
});

export interface NetceptorOptions {
  nodeId: string;
  dataDir?: string;
  logger: Logger;
  clock?: Clock;
  /** Drop a connection after this long without receiving anything (default 21 s). */
  maxIdleMs?: number;
  firewallRules?: FirewallRule[];
  timings?: Partial<NetceptorTimings>;
  epoch?: bigint;
  /** Called when this node learns it is a duplicate and must stop (§6.7). */
  onFatal?: (reason: string) => void;
  limits?: Partial<NetceptorLimits>;
}

type LinkState = 'pending' | 'established' | 'closed';

/** One backend session running the netceptor protocol. */
class Link {
  state: LinkState = 'pending';
  peerId = '';
  cost: number;
  remoteEstablished = false;
  lastRx: number;
  attempts = 0;
  handshakeTimer: TimerHandle | undefined;
  establishedAt = 0;
  /** Whether "Connection established" went out at info (else it repeated an earlier one). */
  announced = true;
  /** Set when this node ends the session itself (reject, rejected, handshake timeout). */
  endedHere = false;
  constructor(
    readonly session: BackendSession,
    readonly opts: LinkOptions,
    readonly backend: string,
    now: number,
  ) {
    this.cost = opts.cost;
    this.lastRx = now;
  }
}

/** A data message on its way through the node (names already resolved). */
interface Datum {
  hops: number;
  fromNode: string;
  toNode: string;
  fromService: string;
  toService: string;
  payload: Buffer;
  /** The received bytes, when forwarding a received message. */
  raw?: Buffer;
}

interface LocalService {
  pc: PacketConn;
  connType: number;
  tags: Record<string, string> | null;
}

interface StoredAd {
  nodeId: string;
  service: string;
  timeNs: bigint;
  cancel: boolean;
  ad: DecodedServiceAdvertisement;
}

export interface StatusAdvertisement {
  NodeID: string;
  Service: string;
  Time: string;
  ConnType: number;
  Tags: Record<string, string> | null;
  WorkCommands: Array<{WorkType: string; Secure: boolean}> | null;
}

const EMPTY = Buffer.alloc(0);

export class Netceptor extends EventEmitter implements MeshNodeHandle, PacketConnHost {
  readonly id: string;
  readonly dataDir: string;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly routing: RoutingState;
  private readonly timings: NetceptorTimings;
  private readonly maxIdleMs: number;
  private firewall: FirewallRule[];
  private readonly onFatal?: (reason: string) => void;

  readonly limits: Readonly<NetceptorLimits>;
  private readonly links = new Set<Link>();
  /** Links still in the handshake (a subset of `links`). */
  private readonly pendingLinks = new Set<Link>();
  private readonly conns = new Map<string, Link>();
  /** Node names by wire hash, for data messages; pruned of names without a route (see learnName). */
  private readonly names = new Map<bigint, string>();
  private namesPruneAt: number;
  /** The same table keyed by the 8 wire bytes (latin1), for the forwarding fast path. */
  private readonly namesByBytes = new Map<string, string>();
  private ownHashBytes = '';
  private readonly services = new Map<string, LocalService>();
  private readonly ads: ServiceAdStore<StoredAd>;
  private readonly backendList: BackendHandle[] = [];
  private readonly running = new Map<BackendHandle, BackendRunning>();
  private backendWrapper: ((b: MeshBackend) => MeshBackend) | undefined;
  private workCommands: WorkCommand[] = [];

  private routeTimer: TimerHandle | undefined;
  private routeTriggered = false;
  private recomputeTimer: TimerHandle | undefined;
  private adTimer: TimerHandle | undefined;
  private adDueAt = Infinity;
  private idleTimer: TimerHandle | undefined;
  private shut = false;
  /** One log line per cause for rejections and links that come and go on every redial. */
  private readonly repeats: RepeatFilter;

  constructor(opts: NetceptorOptions) {
    super();
    // Every remote work unit waiting to reconnect, every ping and dial listens here.
    this.setMaxListeners(0);
    this.id = opts.nodeId;
    this.dataDir = opts.dataDir ?? '/tmp/receptor';
    this.logger = opts.logger;
    this.clock = opts.clock ?? systemClock;
    this.timings = {...DEFAULT_TIMINGS, ...opts.timings};
    this.maxIdleMs = opts.maxIdleMs ?? 21_000;
    this.firewall = opts.firewallRules ?? [];
    this.repeats = new RepeatFilter(this.clock);
    this.onFatal = opts.onFatal;
    this.limits = {...DEFAULT_LIMITS, ...opts.limits};
    this.namesPruneAt = this.maxNames;
    this.ads = new ServiceAdStore<StoredAd>({maxEntries: this.limits.maxServiceAds});
    this.routing = new RoutingState({nodeId: this.id, clock: this.clock, epoch: opts.epoch, maxKnownNodes: this.limits.maxKnownNodes, maxKnownEdges: this.limits.maxKnownEdges});
    this.learnName(this.id);
    this.armRoutePeriod();
    this.armIdleCheck();
  }

  get nodeId(): string {
    return this.id;
  }

  get epoch(): bigint {
    return this.routing.epoch;
  }

  // ---------------------------------------------------------------- backends -----------

  addBackend(b: BackendHandle): void {
    this.backendList.push(b);
  }

  get backends(): readonly BackendHandle[] {
    return this.backendList;
  }

  /** Every backend started after this goes through `wrap` (the `chaos` item's fault layer). */
  setBackendWrapper(wrap: ((b: MeshBackend) => MeshBackend) | undefined): void {
    this.backendWrapper = wrap;
  }

  async addMeshBackend(backend: MeshBackend, opts: LinkOptions): Promise<BackendRunning> {
    // The wrapped backend only starts; lists keep the original, which reload stops by identity.
    const started = this.backendWrapper?.(backend) ?? backend;
    const run = await started.start((s) => this.attachSession(s, opts, backend.kind), this.logger);
    this.backendList.push(backend);
    this.running.set(backend, run);
    return run;
  }

  /** Stops one backend (its listener or dialer and its links); used by reload. Others keep running. */
  async stopBackend(b: BackendHandle): Promise<void> {
    const i = this.backendList.indexOf(b);
    if (i >= 0) this.backendList.splice(i, 1);
    const run = this.running.get(b);
    this.running.delete(b);
    await run?.stop().catch((err: unknown) => this.logger.warn({err}, 'error stopping backend'));
  }

  /** Stops every backend (all links drop); used by shutdown. */
  async stopBackends(): Promise<void> {
    await Promise.all([...this.backendList].map((b) => this.stopBackend(b)));
  }

  /** Runs the netceptor protocol on a new backend session (exported for tests). */
  attachSession(session: BackendSession, opts: LinkOptions, backend = session.kind): void {
    if (this.shut) {
      session.close();
      return;
    }
    if (this.pendingLinks.size >= this.limits.maxPendingLinks) {
      this.noteLimit('pending-links', {remote: session.remote, backend}, `Closing new connections: ${this.limits.maxPendingLinks} are still in the handshake (maxpendinglinks)`);
      session.close(new Error('too many connections in the handshake'));
      return;
    }
    const link = new Link(session, opts, backend, this.clock.now());
    this.links.add(link);
    this.pendingLinks.add(link);
    this.logger.debug({remote: session.remote, backend}, 'Backend session started');
    session.start({
      onMessage: (m) => this.onMessage(link, m),
      onClose: (err) => this.onLinkClosed(link, err),
    });
    if (link.state === 'pending') this.sendHandshake(link);
  }

  // ---------------------------------------------------------------- handshake ----------

  private sendHandshake(link: Link): void {
    link.handshakeTimer = undefined;
    if (link.state !== 'pending') return;
    if (link.attempts >= this.timings.handshakeAttempts) {
      this.logger.warn({remote: link.session.remote}, 'Giving up on connection initialization');
      link.endedHere = true;
      link.session.close(new Error('handshake timed out'));
      return;
    }
    link.attempts++;
    link.session.send(encodeRoutingUpdate(this.routing.buildUpdate()));
    link.handshakeTimer = this.clock.setTimeout(() => this.sendHandshake(link), this.timings.handshakeIntervalMs);
  }

  private onHandshakeUpdate(link: Link, u: RoutingUpdate): void {
    const peer = u.forwardingNode;
    if (peer === this.id) {
      return this.reject(link, 'it tried to connect using our own node ID', peer, `${this.id} was dialled by a node with the same node ID ${peer} (two nodes with one ID?)`);
    }
    const problem = nodeIdProblem(peer);
    if (problem) {
      const shown = printableNodeId(peer);
      return this.reject(link, `${problem}`, shown, `${this.id} refuses peer node ID "${shown}": ${problem}`);
    }
    const certIds = link.session.peerCertNodeIds;
    if (certIds && !certIds.includes(peer)) {
      const names = certIds.length > 0 ? certIds.map((n) => printableNodeId(n)).join(', ') : 'none';
      const why = `it claims node ID ${peer} but its TLS certificate names node IDs [${names}]`;
      return this.reject(link, why, peer, `${this.id} refuses peer node ID "${peer}": its TLS certificate names node IDs [${names}] (verifypeernodeid)`);
    }
    const allowed = link.opts.allowedPeers;
    if (allowed && allowed.length > 0 && !allowed.includes(peer)) {
      return this.reject(link, `it is not in the allowed peers list`, peer, `${peer} is not in the allowed peers list of ${this.id}`);
    }
    const override = link.opts.nodeCost?.[peer];
    if (override !== undefined) link.cost = override;
    if (this.conns.has(peer)) {
      return this.reject(
        link,
        'it connected using a node ID we are already connected to',
        peer,
        `${this.id} already has a connection from a node named ${peer} (duplicate node ID?)`,
      );
    }
    this.stopHandshake(link);
    this.pendingLinks.delete(link);
    link.state = 'established';
    link.peerId = peer;
    link.establishedAt = this.clock.now();
    this.conns.set(peer, link);
    this.learnName(peer);
    this.routing.addConnection(peer, link.cost);
    link.announced = logOncePerCause(
      this.logger,
      this.repeats,
      'info',
      `link:${peer}`,
      'established',
      {peer, remote: link.session.remote, cost: link.cost},
      'Connection established',
    );
    this.triggerRouteUpdate();
    this.triggerRecompute();
    this.emit('connection', peer);
  }

  private stopHandshake(link: Link): void {
    if (link.handshakeTimer) this.clock.clearTimeout(link.handshakeTimer);
    link.handshakeTimer = undefined;
  }

  /**
   * Refuses a peer: logs Go's reason (once per peer and reason, not once per redial), sends a
   * reject carrying `told` (what the refused node logs; Go ignores a reject's body) and
   * closes the session.
   */
  private reject(link: Link, reason: string, peer: string, told: string): void {
    const remote = link.session.remote;
    logOncePerCause(this.logger, this.repeats, 'warn', `rejecting:${peer}`, reason, {peer, remote}, `Rejecting connection: ${reason}`);
    link.endedHere = true;
    link.session.send(encodeReject(told));
    link.session.close(new Error(`rejected: ${reason}`));
  }

  private onLinkClosed(link: Link, err?: Error): void {
    if (link.state === 'closed') return;
    const wasEstablished = link.state === 'established';
    link.state = 'closed';
    this.stopHandshake(link);
    this.links.delete(link);
    this.pendingLinks.delete(link);
    if (wasEstablished && this.conns.get(link.peerId) === link) {
      this.conns.delete(link.peerId);
      this.routing.removeConnection(link.peerId);
      if (this.clock.now() - link.establishedAt >= STABLE_LINK_MS) {
        // a real connection ended: whatever happens to this peer next is news again
        const remote = link.session.remote;
        for (const k of [`link:${link.peerId}`, `rejected-by:${link.peerId}`, `rejected-by:${remote}`, `closed-in-handshake:${remote}`]) this.repeats.forget(k);
      }
      this.logger[link.announced ? 'info' : 'debug']({peer: link.peerId, reason: err?.message}, 'Connection closed');
      this.triggerRouteUpdate();
      this.triggerRecompute();
      this.emit('disconnection', link.peerId);
    } else if (!wasEstablished && link.session.outbound && !link.endedHere && !this.shut) {
      // A Go node refusing us usually closes before its reject reaches the wire.
      const remote = link.session.remote;
      // A TLS peer that refuses our certificate does so with an alert after our handshake finished.
      const tlsText = err ? goTlsErrorText(err) : undefined;
      if (tlsText?.startsWith('remote error: tls: ')) {
        logOncePerCause(
          this.logger,
          this.repeats,
          'warn',
          `closed-in-handshake:${remote}`,
          tlsText,
          {remote, reason: tlsText},
          `TLS link to ${remote} refused by the peer: ${tlsText}`,
        );
        return;
      }
      const why = err ? ` (${err.message})` : '';
      logOncePerCause(
        this.logger,
        this.repeats,
        'warn',
        `closed-in-handshake:${remote}`,
        err?.message ?? '',
        {remote, reason: err?.message},
        `Connection to ${remote} closed before the handshake finished${why}: if the peer refused us, ${likelyRejectCauses(this.id)}`,
      );
    } else {
      this.logger.debug({remote: link.session.remote, reason: err?.message}, 'Backend session ended');
    }
  }

  // ---------------------------------------------------------------- receiving ----------

  private onMessage(link: Link, buf: Buffer): void {
    if (link.state === 'closed') return;
    link.lastRx = this.clock.now();
    if (buf[0] === MSG_TYPE_DATA && link.state === 'established' && this.forwardFast(buf)) return;
    let msg;
    try {
      msg = decodeMessage(buf);
    } catch (err) {
      if (err instanceof DecodeError) {
        const level = link.state === 'established' ? 'warn' : 'debug';
        this.logger[level]({peer: link.peerId || link.session.remote, code: err.code}, `Dropping malformed message: ${err.message}`);
        return;
      }
      throw err;
    }
    if (link.state === 'pending') {
      if (msg.type === MSG_TYPE_ROUTING_UPDATE) this.onHandshakeUpdate(link, msg);
      else if (msg.type === MSG_TYPE_REJECT) this.onRejected(link, msg.reason);
      return;
    }
    switch (msg.type) {
      case MSG_TYPE_DATA:
        this.onData(msg.hopsToLive, msg.fromHash, msg.toHash, msg.fromService, msg.toService, msg.payload, buf);
        return;
      case MSG_TYPE_ROUTING_UPDATE:
        this.onRoutingUpdate(link, msg);
        return;
      case MSG_TYPE_SERVICE_ADVERTISEMENT:
        this.onServiceAd(link, msg);
        return;
      case MSG_TYPE_REJECT:
        this.onRejected(link, msg.reason);
        return;
    }
  }

  /** The peer refused us: one line naming it and its reason (or the likely causes, when it gave none). */
  private onRejected(link: Link, reason?: string): void {
    const remote = link.session.remote;
    const who = link.peerId || remote;
    const msg = reason ? `Connection rejected by ${who}: ${reason}` : `Connection rejected by ${who} without a reason (Go receptor gives none): ${likelyRejectCauses(this.id)}`;
    logOncePerCause(this.logger, this.repeats, 'warn', `rejected-by:${link.session.outbound ? remote : who}`, reason ?? '', {peer: link.peerId || undefined, remote, reason}, msg);
    link.endedHere = true;
    link.session.close(new Error(reason ? `rejected by peer: ${reason}` : 'rejected by peer'));
  }

  private onRoutingUpdate(link: Link, u: RoutingUpdate): void {
    const peer = link.peerId;
    if (u.forwardingNode !== peer) {
      return this.reject(link, 'remote node ID changed unexpectedly', peer, `${this.id} saw the node ID of its peer change from ${peer} to ${u.forwardingNode}`);
    }
    const bad = [u.nodeId, ...u.connections.keys()].find((n) => nodeIdProblem(n) !== undefined);
    if (bad !== undefined) {
      const why = nodeIdProblem(bad) ?? '';
      const shown = printableNodeId(bad);
      logOncePerCause(this.logger, this.repeats, 'warn', `bad-node-id:${peer}`, why, {peer, node: shown}, `Ignoring routing update from ${peer} naming node "${shown}": ${why}`);
      return;
    }
    if (u.nodeId === peer) {
      const listed = u.connections.get(this.id);
      if (listed === undefined) {
        if (link.remoteEstablished) return this.reject(link, 'remote node no longer lists us as a connection', peer, `${peer} no longer lists ${this.id} as a connection`);
        return; // a late handshake message
      }
      if (!link.remoteEstablished) {
        link.remoteEstablished = true;
        this.sendKnownAds(link);
      }
      if (listed !== link.cost) {
        return this.reject(
          link,
          'we disagree about the connection cost',
          peer,
          `${this.id} and ${peer} disagree about the connection cost (${this.id}: ${link.cost}, ${peer}: ${listed})`,
        );
      }
    }
    const before = this.routing.nodeRecord(u.nodeId);
    const res = this.routing.handleUpdate(u);
    if (res.outcome === 'edge-limit') {
      this.noteLimit(
        'edges',
        {peer, node: u.nodeId},
        `Dropping routing updates that add connections: ${this.limits.maxKnownEdges} connections between known nodes are stored already (maxknownedges)`,
      );
      return;
    }
    if (res.outcome === 'node-limit' || res.outcome === 'connection-limit') {
      const msg =
        res.outcome === 'node-limit'
          ? `Dropping routing updates for new nodes: ${this.limits.maxKnownNodes} nodes are known already`
          : `Dropping routing updates listing more than ${this.limits.maxKnownNodes} connections`;
      logOncePerCause(this.logger, this.repeats, 'warn', 'routing-limit', res.outcome, {peer, node: u.nodeId}, msg);
      return;
    }
    for (const n of res.learnNames) this.learnName(n);
    // Names listed only as connections are not learned (as in Go): they are not routable until
    // their own update arrives, and hashing thousands per update let one peer stall the node.
    // A newer epoch is a new process of that node: streams to the old one are dead.
    if (res.outcome === 'accepted' && before && u.updateEpoch > before.epoch) this.emit('restarted', u.nodeId);
    if (res.duplicate?.action === 'shutdown') {
      this.logger.error({epoch: this.epoch.toString()}, 'We are a duplicate node with the same node ID as another node. Shutting down.');
      this.onFatal?.('duplicate node ID');
      return;
    }
    if (res.duplicate?.action === 'notify') {
      this.floodRoutingUpdate(encodeRoutingUpdate(this.routing.buildUpdate(res.duplicate.suspectedDuplicate)));
      return;
    }
    if (res.sendOwnUpdateSoon) this.triggerRouteUpdate();
    if (res.recompute) this.triggerRecompute();
    if (res.flood) this.floodRoutingUpdate(encodeRoutingUpdate({...u, forwardingNode: this.id}), link);
  }

  private onServiceAd(link: Link, ad: DecodedServiceAdvertisement): void {
    if (ad.nodeId === this.id) return;
    const res = this.ads.receive({nodeId: ad.nodeId, service: ad.service, timeNs: ad.time.unixNano, cancel: ad.cancel, ad});
    if (res.outcome === 'limit') {
      this.noteLimit(
        'service-ad-limit',
        {peer: link.peerId, node: ad.nodeId},
        `Dropping service advertisements for new services: ${this.limits.maxServiceAds} are stored already (maxserviceads)`,
      );
      return;
    }
    if (!res.flood) return;
    // No name learned here (as in Go): the node's own routing update brings it; hashing every
    // advertised node ID cost seconds under a flood of made-up ones.
    for (const l of this.conns.values()) if (l !== link) l.session.send(ad.raw);
    this.emit('advertisement', ad);
  }

  private onData(hops: number, fromHash: bigint, toHash: bigint, fromService: string, toService: string, payload: Buffer, raw: Buffer): void {
    const fromNode = this.names.get(fromHash);
    const toNode = this.names.get(toHash);
    if (fromNode === undefined || toNode === undefined) {
      this.logger.debug({fromHash: fromHash.toString(16), toHash: toHash.toString(16)}, 'hash not found; dropping data message');
      return;
    }
    try {
      this.route({hops, fromNode, toNode, fromService, toService, payload, raw}, false);
    } catch (err) {
      this.logger.debug({err}, 'error handling data message');
    }
  }

  // ---------------------------------------------------------------- data path ----------

  /** Originates a data message from a local service (PacketConnHost). */
  sendFrom(fromService: string, toNode: string, toService: string, payload: Uint8Array, hopsToLive = MAX_FORWARDING_HOPS): void {
    if (this.shut) throw new ReceptorError('E_SHUTDOWN', 'netceptor shutdown');
    // Go names the service when opening one, not when sending to one (SendMessageWithHopsToLive)
    checkServiceName(toService, false);
    const to = toNode.toLowerCase() === 'localhost' ? this.id : toNode;
    // No node with a longer ID is ever routable (peers and updates naming one are refused), so
    // do not hash it: hashing a 16 MiB name from a control client took seconds of CPU.
    if (to === this.id || Buffer.byteLength(to, 'utf8') <= MAX_NODE_ID_BYTES) this.learnName(to);
    const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    this.route({hops: hopsToLive, fromNode: this.id, toNode: to, fromService, toService, payload: data}, true);
  }

  /**
   * §5.6: firewall, then local delivery or forwarding. `local` = originated here; errors
   * for local senders are thrown (no route, service unknown).
   */
  private route(m: Datum, local: boolean): void {
    if (this.firewall.length > 0) {
      const action = evaluateFirewall(this.firewall, m);
      if (action === 'drop' || action === 'reject') {
        this.logFirewalled(m, action);
        if (action === 'reject' && m.fromService !== SERVICE_UNREACH) this.sendUnreachable(m, PROBLEM_FIREWALLED);
        return;
      }
    }
    if (m.toNode === this.id) {
      this.deliver(m, local);
      return;
    }
    if (m.hops <= 0) {
      if (m.fromService !== SERVICE_UNREACH) this.sendUnreachable(m, PROBLEM_EXPIRED);
      return;
    }
    const nextHop = this.routing.nextHop(m.toNode);
    const link = nextHop === undefined ? undefined : this.conns.get(nextHop);
    if (!link) {
      if (local) throw new ReceptorError('E_NO_ROUTE', 'no route to node');
      this.logger.debug({to: m.toNode}, 'no route to node; dropping message');
      return;
    }
    const bytes = m.raw
      ? forwardData(m.raw, m.hops - 1)
      : encodeData({hopsToLive: m.hops - 1, fromHash: nameHash(m.fromNode), toHash: nameHash(m.toNode), fromService: m.fromService, toService: m.toService, payload: m.payload});
    if (bytes.length > link.session.maxMessageSize) {
      this.logger.warn({to: m.toNode, size: bytes.length}, 'message too large for the next link; dropped');
      return;
    }
    link.session.send(bytes);
  }

  /** A firewall rule stopped a message: one info line per flow and action, repeats at debug. */
  private logFirewalled(m: Datum, action: 'drop' | 'reject'): void {
    const what = action === 'drop' ? 'dropped (no reply sent)' : 'rejected (sender told "blocked by firewall")';
    logOncePerCause(
      this.logger,
      this.repeats,
      'info',
      `firewall:${m.fromNode}>${m.toNode}:${m.toService}`,
      action,
      {action, from: `${m.fromNode}:${m.fromService}`, to: `${m.toNode}:${m.toService}`},
      `Firewall ${what} a message from ${m.fromNode}:${m.fromService} to ${m.toNode}:${m.toService}`,
    );
  }

  private deliver(m: Datum, local: boolean): void {
    if (m.toService === SERVICE_PING) {
      try {
        this.route({hops: MAX_FORWARDING_HOPS, fromNode: this.id, toNode: m.fromNode, fromService: SERVICE_PING, toService: m.fromService, payload: EMPTY}, true);
      } catch (err) {
        this.logger.debug({err, to: m.fromNode}, 'cannot answer ping');
      }
      return;
    }
    if (m.toService === SERVICE_UNREACH) {
      this.onUnreachable(m);
      return;
    }
    const svc = this.services.get(m.toService);
    if (svc) {
      svc.pc.deliver({node: m.fromNode, service: m.fromService, data: m.payload});
      return;
    }
    if (local && m.fromNode === this.id) throw new ReceptorError('E_UNKNOWN_SERVICE', PROBLEM_SERVICE_UNKNOWN);
    this.sendUnreachable(m, PROBLEM_SERVICE_UNKNOWN);
  }

  private sendUnreachable(m: Datum, problem: string): void {
    const payload = encodeUnreachable({fromNode: m.fromNode, toNode: m.toNode, fromService: m.fromService, toService: m.toService, problem});
    try {
      this.route({hops: MAX_FORWARDING_HOPS, fromNode: this.id, toNode: m.fromNode, fromService: SERVICE_UNREACH, toService: SERVICE_UNREACH, payload}, true);
    } catch (err) {
      this.logger.debug({err, to: m.fromNode, problem}, 'cannot send unreachable message');
    }
  }

  private onUnreachable(m: Datum): void {
    let u;
    try {
      u = decodeUnreachable(m.payload);
    } catch {
      this.logger.debug({from: m.fromNode}, 'malformed unreachable message dropped');
      return;
    }
    this.logger.debug({reporter: m.fromNode, problem: u.problem, to: u.toNode, service: u.toService}, 'unreachable message received');
    if (u.fromNode !== this.id) return;
    this.services.get(u.fromService)?.pc.deliverUnreachable({reporter: m.fromNode, ...u});
  }

  // ---------------------------------------------------------------- services -----------

  /** Opens a datagram service; an empty name picks an ephemeral one (§12.3). */
  listenPacket(service = ''): PacketConn {
    return this.openService(service, false, CONN_TYPE_DATAGRAM, null);
  }

  /** Opens a service and advertises it (5 s later, then every 60 s). */
  listenPacketAndAdvertise(service: string, connType: number = CONN_TYPE_DATAGRAM, tags: Record<string, string> | null = null): PacketConn {
    return this.openService(service, true, connType, tags);
  }

  private openService(service: string, advertise: boolean, connType: number, tags: Record<string, string> | null): PacketConn {
    if (this.shut) throw new ReceptorError('E_SHUTDOWN', 'netceptor shutdown');
    const name = service === '' ? ephemeralServiceName((n) => this.services.has(n)) : service;
    checkServiceName(name);
    if (isReservedService(name) || this.services.has(name)) throw new ReceptorError('E_SERVICE_IN_USE', `service ${name} is already listening`);
    const pc = new PacketConn(this, name, advertise);
    this.services.set(name, {pc, connType, tags});
    if (advertise) {
      this.logger.debug({service: name}, 'added service to listener registry');
      this.scheduleAdRound(this.timings.serviceAdFirstDelayMs);
    }
    return pc;
  }

  /** PacketConnHost: a PacketConn closed. Advertised services send a cancel at once. */
  closePacketConn(pc: PacketConn): void {
    const svc = this.services.get(pc.service);
    if (!svc || svc.pc !== pc) return;
    this.services.delete(pc.service);
    if (pc.advertised && !this.shut) {
      const ad: ServiceAdvertisement = {nodeId: this.id, service: pc.service, time: goTimeNow(this.clock), connType: svc.connType, tags: null, workCommands: null, cancel: true};
      this.floodAll(encodeServiceAdvertisement(ad));
    }
  }

  /** The work types put on this node's Control Service advertisements. */
  setWorkCommands(list: WorkCommand[]): void {
    this.workCommands = [...list];
  }

  private ownAd(service: string, svc: LocalService): ServiceAdvertisement {
    const isControl = svc.tags?.type === 'Control Service';
    return {
      nodeId: this.id,
      service,
      time: goTimeNow(this.clock),
      connType: svc.connType,
      tags: svc.tags ? new Map(Object.entries(svc.tags)) : null,
      workCommands: isControl && this.workCommands.length > 0 ? this.workCommands : null,
      cancel: false,
    };
  }

  private scheduleAdRound(delayMs: number): void {
    const due = this.clock.now() + delayMs;
    if (due >= this.adDueAt) return;
    if (this.adTimer) this.clock.clearTimeout(this.adTimer);
    this.adDueAt = due;
    this.adTimer = this.clock.setTimeout(() => this.adRound(), delayMs);
    this.adTimer.unref?.();
  }

  private adRound(): void {
    this.adTimer = undefined;
    this.adDueAt = Infinity;
    if (this.shut) return;
    for (const [service, svc] of this.services) {
      if (svc.pc.advertised) this.floodAll(encodeServiceAdvertisement(this.ownAd(service, svc)));
    }
    if ([...this.services.values()].some((s) => s.pc.advertised)) this.scheduleAdRound(this.timings.serviceAdPeriodMs);
  }

  /** Once a peer lists us, send it our ads and those we know, so it need not wait for the 60 s round. */
  private sendKnownAds(link: Link): void {
    for (const [service, svc] of this.services) {
      if (svc.pc.advertised) link.session.send(encodeServiceAdvertisement(this.ownAd(service, svc)));
    }
    for (const s of this.ads.list()) if (s.nodeId !== link.peerId) link.session.send(s.ad.raw);
  }

  // ---------------------------------------------------------------- routing updates ----

  private floodAll(bytes: Buffer): void {
    for (const l of this.conns.values()) l.session.send(bytes);
  }

  private floodRoutingUpdate(bytes: Buffer, except?: Link): void {
    for (const l of this.conns.values()) if (l !== except) l.session.send(bytes);
  }

  private triggerRouteUpdate(): void {
    if (this.routeTriggered || this.shut) return;
    this.routeTriggered = true;
    if (this.routeTimer) this.clock.clearTimeout(this.routeTimer);
    this.routeTimer = this.clock.setTimeout(() => this.sendRouteUpdate(), this.timings.triggerDelayMs);
    this.routeTimer.unref?.();
  }

  private armRoutePeriod(): void {
    if (this.routeTimer) this.clock.clearTimeout(this.routeTimer);
    this.routeTimer = this.clock.setTimeout(() => this.sendRouteUpdate(), this.timings.routeUpdatePeriodMs);
    this.routeTimer.unref?.();
  }

  private sendRouteUpdate(): void {
    this.routeTriggered = false;
    this.routeTimer = undefined;
    if (this.shut) return;
    if (this.conns.size > 0) this.floodAll(encodeRoutingUpdate(this.routing.buildUpdate()));
    this.armRoutePeriod();
  }

  private triggerRecompute(): void {
    if (this.recomputeTimer || this.shut) return;
    this.recomputeTimer = this.clock.setTimeout(() => {
      this.recomputeTimer = undefined;
      this.routing.computeRoutes();
      this.emit('routes', this.routing.routes());
    }, this.timings.triggerDelayMs);
    this.recomputeTimer.unref?.();
  }

  private armIdleCheck(): void {
    this.idleTimer = this.clock.setTimeout(() => {
      const now = this.clock.now();
      for (const l of this.links) {
        if (l.state === 'established' && now - l.lastRx > this.maxIdleMs) {
          this.logger.warn({peer: l.peerId}, `Timing out connection, idle for the past ${Math.round(this.maxIdleMs / 1000)}s`);
          l.session.close(new Error('idle timeout'));
        }
      }
      if (!this.shut) this.armIdleCheck();
    }, this.timings.idleCheckMs);
    this.idleTimer.unref?.();
  }

  // ---------------------------------------------------------------- names & status -----

  /** Names kept before a prune: twice the routing table, so every routable node fits. */
  private get maxNames(): number {
    return 2 * this.limits.maxKnownNodes;
  }

  private learnName(name: string): void {
    const h = nameHash(name);
    if (this.names.has(h)) return;
    this.names.set(h, name);
    this.namesByBytes.set(hashKey(h), name);
    if (name === this.id) this.ownHashBytes = hashKey(h);
    if (this.names.size > this.namesPruneAt) this.pruneNames();
  }

  /**
   * Forgets the oldest names of nodes that are neither us, a peer, in the routing table nor
   * reachable (a peer announcing ever-new node IDs). A data message from or to a forgotten
   * name is dropped like one for an unknown hash; the name comes back with its next route.
   * The next prune waits for a quarter of the cap more names, so a flood costs O(1) per name.
   */
  private pruneNames(): void {
    const target = Math.floor((this.maxNames * 3) / 4);
    for (const [h, name] of this.names) {
      if (this.names.size <= target) break;
      if (name === this.id || this.conns.has(name) || this.routing.nodeRecord(name) || this.routing.nextHop(name) !== undefined) continue;
      this.names.delete(h);
      this.namesByBytes.delete(hashKey(h));
    }
    this.namesPruneAt = Math.max(this.maxNames, this.names.size + (this.maxNames >> 2));
  }

  /** Node names known by hash (bounded, see pruneNames). */
  get knownNameCount(): number {
    return this.names.size;
  }

  /** Logs a cap being hit once per cause (repeats at debug, a summary every 5 min). */
  noteLimit(key: string, fields: Record<string, unknown>, msg: string): void {
    logOncePerCause(this.logger, this.repeats, 'warn', `limit:${key}`, 'limit', fields, msg);
  }

  /**
   * Transit fast path: a data message for another node is forwarded from its bytes without
   * decoding it (HopsToLive decremented, reserved bytes zeroed, as Go's rebuilt header).
   * Returns false when the full path is needed (firewall rules, expiry, local delivery).
   */
  private forwardFast(buf: Buffer): boolean {
    if (buf.length < DATA_HEADER_LENGTH || this.firewall.length > 0 || buf[1] === 0) return false;
    const toKey = buf.toString('latin1', 12, 20);
    if (toKey === this.ownHashBytes) return false;
    const toNode = this.namesByBytes.get(toKey);
    if (toNode === undefined || !this.namesByBytes.has(buf.toString('latin1', 4, 12))) return false;
    const nextHop = this.routing.nextHop(toNode);
    const link = nextHop === undefined ? undefined : this.conns.get(nextHop);
    if (!link || buf.length > link.session.maxMessageSize) return false;
    buf[1] = buf.readUInt8(1) - 1; // ≥ 1: checked above
    buf[2] = 0;
    buf[3] = 0;
    link.session.send(buf);
    return true;
  }

  /** Replaces the firewall rules (validated by the caller). */
  setFirewallRules(rules: FirewallRule[]): void {
    this.firewall = rules;
  }

  /** Direct neighbours for `status`. */
  statusConnections(): Array<{NodeID: string; Cost: number}> {
    return this.routing.statusConnections();
  }

  statusRoutingTable(): Record<string, string> {
    return this.routing.statusRoutingTable();
  }

  knownConnectionCosts(): Record<string, Record<string, number>> {
    return this.routing.knownConnectionCosts();
  }

  /** Every advertisement known, own services first (with the current time). */
  statusAdvertisements(): StatusAdvertisement[] {
    const local = this.workCommands.length > 0 ? this.workCommands.map((w) => ({WorkType: w.workType, Secure: w.secure})) : null;
    const out: StatusAdvertisement[] = [];
    const now = goTimeNow(this.clock).text;
    for (const [service, svc] of this.services) {
      if (!svc.pc.advertised) continue;
      out.push({NodeID: this.id, Service: service, Time: now, ConnType: svc.connType, Tags: svc.tags, WorkCommands: local});
    }
    for (const s of this.ads.list()) {
      const a = s.ad;
      out.push({
        NodeID: a.nodeId,
        Service: a.service,
        Time: a.time.text,
        ConnType: a.connType,
        Tags: a.tags ? Object.fromEntries(a.tags) : null,
        WorkCommands: a.workCommands ? a.workCommands.map((w) => ({WorkType: w.workType, Secure: w.secure})) : null,
      });
    }
    return out;
  }

  /** Peers with an established connection. */
  connectedPeers(): string[] {
    return [...this.conns.keys()];
  }

  /** Is there a route (or is it us)? */
  reachable(node: string): boolean {
    return node === this.id || node.toLowerCase() === 'localhost' || this.routing.nextHop(node) !== undefined;
  }

  // ---------------------------------------------------------------- shutdown -----------

  async shutdown(): Promise<void> {
    if (this.shut) return;
    this.shut = true;
    for (const t of [this.routeTimer, this.recomputeTimer, this.adTimer, this.idleTimer]) if (t) this.clock.clearTimeout(t);
    for (const svc of [...this.services.values()]) svc.pc.close();
    await this.stopBackends();
    for (const l of [...this.links]) l.session.close(new Error('netceptor shutdown'));
    this.emit('shutdown');
  }

  get isShutdown(): boolean {
    return this.shut;
  }
}

/** The 8 wire bytes of a name hash as a map key. */
function hashKey(h: bigint): string {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(h);
  return b.toString('latin1');
}

function checkServiceName(name: string, named = true): void {
  if (Buffer.byteLength(name, 'utf8') > MAX_SERVICE_NAME_BYTES) {
    throw new ReceptorError('E_SERVICE_NAME', named ? `service name ${name} too long` : 'service name too long');
  }
}

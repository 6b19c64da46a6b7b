/**
 * The QUIC endpoint driver, independent of the engine (./engine.ts). One endpoint stands for one
 * local datagram socket (a mesh service). It routes received packets to connections by
 * destination connection ID, accepts new server connections from Initial packets, flushes
 * outgoing packets once per event-loop tick and hands each connection (./connection.ts) its
 * clock and timeouts.
 *
 * Mesh peers are opaque strings (e.g. `node:service`). The engine wants IP socket addresses,
 * so every peer gets a made-up, stable (while in use) IPv4 literal + port.
 */
import {randomBytes} from 'node:crypto';
import {systemClock, type Clock} from '../../clock.js';
import {EngineConnection, type QuicTimeouts} from './connection.js';
import {
  DEFAULT_MAX_PACKET,
  DEFAULT_TRANSPORT_PARAMS,
  HANDSHAKE_TIMEOUT_MS,
  KEEPALIVE_MS,
  LOCAL_CID_LEN,
  MAX_MESH_QUIC_PACKET,
  MIN_INITIAL_PACKET,
  QUIC_ALPN,
  type HostPort,
  type QuicEngine,
  type QuicEngineConfig,
  type QuicEngineConnection,
  type QuicTlsConfig,
  type QuicTransportParams,
} from './engine.js';

// ---------------------------------------------------------------------------------------------
// Peer address map
// ---------------------------------------------------------------------------------------------

const ADDR_SPACE = 1 << 24;

/** Gives each mesh peer a made-up IPv4 literal (10.x.y.z) + port, stable while referenced. */
export class PeerAddressMap {
  private byPeer = new Map<string, {addr: HostPort; refs: number; n: number}>();
  private used = new Set<number>();
  private next = 1;

  acquire(peer: string): HostPort {
    const e = this.byPeer.get(peer);
    if (e) {
      e.refs++;
      return e.addr;
    }
    if (this.used.size >= ADDR_SPACE - 2) throw new Error('too many QUIC peers');
    let n = this.next;
    while (this.used.has(n) || n === 0) n = (n + 1) % ADDR_SPACE;
    this.next = (n + 1) % ADDR_SPACE;
    this.used.add(n);
    const addr = {host: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, port: 4242};
    this.byPeer.set(peer, {addr, refs: 1, n});
    return addr;
  }

  release(peer: string): void {
    const e = this.byPeer.get(peer);
    if (!e) return;
    if (--e.refs <= 0) {
      this.byPeer.delete(peer);
      this.used.delete(e.n);
    }
  }

  get size(): number {
    return this.byPeer.size;
  }
}

// ---------------------------------------------------------------------------------------------
// Endpoint (driver)
// ---------------------------------------------------------------------------------------------

export interface QuicEndpointOptions {
  engine: QuicEngine;
  /** Ships one packet to a peer. May throw (e.g. no route): the connection then fails with INTERNAL_ERROR. */
  send(peer: string, packet: Buffer): void;
  /** Largest packet handed to `send` (1200–1452; default 1350). */
  maxPacketSize?: number;
  clock?: Clock;
  timeouts?: Partial<QuicTimeouts>;
  /** Transport parameter overrides. */
  params?: Partial<QuicTransportParams>;
  alpn?: readonly string[];
  /** Server connections alive at once; an Initial beyond it is dropped (default unlimited). */
  maxConnections?: number;
  /** Server connections alive at once from one group of peers (see `groupOf`; default unlimited). */
  maxConnectionsPerGroup?: number;
  /** The group a peer counts in (e.g. its node, over all its ephemeral services); default the peer. */
  groupOf?: (peer: string) => string;
  /** Called when an Initial is dropped because of a cap. */
  onRefused?: (peer: string, cause: 'total' | 'group') => void;
}

export interface QuicConnectOptions {
  /** TLS SNI; null/undefined sends none. */
  serverName?: string | null;
  tls: QuicTlsConfig;
}

export interface QuicListenOptions {
  tls: QuicTlsConfig;
  /** Called for every new server connection (before its handshake completes). */
  onConnection(conn: EngineConnection): void;
}

export interface QuicEndpointStats {
  connections: number;
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Packets dropped because no connection matched and no connection could be accepted. */
  dropped: number;
}
const SLAB_SIZE = 64 * 1024;

export class QuicEndpoint {
  readonly engine: QuicEngine;
  readonly maxPacketSize: number;
  readonly clock: Clock;
  readonly timeouts: QuicTimeouts;
  readonly params: QuicTransportParams;
  readonly alpn: readonly string[];
  readonly localAddr: HostPort = {host: '10.255.255.254', port: 4242};
  readonly stats: QuicEndpointStats = {connections: 0, packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0, dropped: 0};

  private readonly sendFn: (peer: string, packet: Buffer) => void;
  private readonly routes = new Map<string, EngineConnection>();
  private readonly conns = new Set<EngineConnection>();
  private readonly addrs = new PeerAddressMap();
  private readonly dirty = new Set<EngineConnection>();
  private flushScheduled = false;
  private flushing = false;
  private listener: {config: QuicEngineConfig; onConnection: (c: EngineConnection) => void} | undefined;
  private readonly clientConfigs = new WeakMap<QuicTlsConfig, QuicEngineConfig>();
  private slab = Buffer.allocUnsafe(SLAB_SIZE);
  private slabOff = 0;
  private closedFlag = false;
  private serverConns = 0;
  private readonly perGroup = new Map<string, number>();
  private readonly maxConns: number;
  private readonly maxPerGroup: number;
  private readonly groupOf: (peer: string) => string;
  private readonly onRefused: ((peer: string, cause: 'total' | 'group') => void) | undefined;

  constructor(opts: QuicEndpointOptions) {
    this.engine = opts.engine;
    this.maxConns = opts.maxConnections ?? Infinity;
    this.maxPerGroup = opts.maxConnectionsPerGroup ?? Infinity;
    this.groupOf = opts.groupOf ?? ((p) => p);
    this.onRefused = opts.onRefused;
    this.sendFn = opts.send;
    const max = opts.maxPacketSize ?? DEFAULT_MAX_PACKET;
    if (!Number.isInteger(max) || max < MIN_INITIAL_PACKET || max > MAX_MESH_QUIC_PACKET) {
      throw new RangeError(`QUIC max packet size must be an integer between ${MIN_INITIAL_PACKET} and ${MAX_MESH_QUIC_PACKET}, got ${max}`);
    }
    this.maxPacketSize = max;
    this.clock = opts.clock ?? systemClock;
    this.timeouts = {handshakeMs: opts.timeouts?.handshakeMs ?? HANDSHAKE_TIMEOUT_MS, keepAliveMs: opts.timeouts?.keepAliveMs ?? KEEPALIVE_MS};
    this.params = {...DEFAULT_TRANSPORT_PARAMS, ...opts.params, maxSendUdpPayloadSize: Math.min(opts.params?.maxSendUdpPayloadSize ?? max, max)};
    this.alpn = opts.alpn ?? [QUIC_ALPN];
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  get listening(): boolean {
    return this.listener !== undefined;
  }

  /** Live connections (handshaking, established or closing). */
  connections(): EngineConnection[] {
    return [...this.conns];
  }

  /** Accepts new connections from Initial packets. */
  listen(opts: QuicListenOptions): void {
    if (this.closedFlag) throw new Error('QUIC endpoint closed');
    if (this.listener) throw new Error('QUIC endpoint is already listening');
    const config = this.engine.createConfig({role: 'server', alpn: this.alpn, tls: opts.tls, params: this.params});
    this.listener = {config, onConnection: opts.onConnection};
  }

  /** Stops accepting new connections (existing ones continue). */
  stopListening(): void {
    this.listener = undefined;
  }

  /** Starts a client connection to `peer`. */
  connect(peer: string, opts: QuicConnectOptions): EngineConnection {
    if (this.closedFlag) throw new Error('QUIC endpoint closed');
    let config = this.clientConfigs.get(opts.tls);
    if (!config) {
      config = this.engine.createConfig({role: 'client', alpn: this.alpn, tls: opts.tls, params: this.params});
      this.clientConfigs.set(opts.tls, config);
    }
    const scid = this.newCid();
    const remote = this.addrs.acquire(peer);
    let core: QuicEngineConnection;
    try {
      core = this.engine.connect(config, opts.serverName ?? null, scid, this.localAddr, remote);
    } catch (err) {
      this.addrs.release(peer);
      throw err;
    }
    const conn = new EngineConnection(this, core, 'client', peer, remote, scid);
    this.register(conn, [scid]);
    this.markDirty(conn);
    return conn;
  }

  /**
   * Feeds one datagram received from `peer`. The engine decrypts in place: `packet` is
   * overwritten, so hand over a buffer nobody else reads afterwards.
   */
  receive(peer: string, data: Uint8Array): void {
    const packet = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (this.closedFlag || packet.length < 1 + LOCAL_CID_LEN) {
      this.stats.dropped++;
      return;
    }
    this.stats.packetsIn++;
    this.stats.bytesIn += packet.length;
    const b0 = packet.readUInt8(0);
    let key: string;
    if (b0 & 0x80) {
      if (packet.length < 7) return void this.stats.dropped++;
      const dlen = packet.readUInt8(5);
      if (dlen > 20 || packet.length < 6 + dlen) return void this.stats.dropped++;
      key = packet.toString('latin1', 6, 6 + dlen);
    } else {
      key = packet.toString('latin1', 1, 1 + LOCAL_CID_LEN);
    }
    let conn = this.routes.get(key);
    if (!conn) {
      conn = b0 & 0x80 ? this.acceptInitial(peer, packet, key) : undefined;
      if (!conn) return void this.stats.dropped++;
    }
    if (conn.peer !== peer) return void this.stats.dropped++;
    conn.receivePacket(packet);
  }

  /** Closes every connection (application code 0 `normal close`) and stops listening. */
  close(): void {
    if (this.closedFlag) return;
    this.listener = undefined;
    for (const c of [...this.conns]) c.close(true, 0, 'normal close');
    this.flushNow();
    this.closedFlag = true;
    for (const c of [...this.conns]) c.finalize();
  }

  // -- internals used by EngineConnection ------------------------------------------------------

  /** @internal */
  markDirty(conn: EngineConnection): void {
    this.dirty.add(conn);
    if (!this.flushScheduled && !this.flushing) {
      this.flushScheduled = true;
      setImmediate(this.flushNow);
    }
  }

  /** @internal Runs the pending flush now. */
  readonly flushNow = (): void => {
    this.flushScheduled = false;
    if (this.flushing) return;
    this.flushing = true;
    try {
      for (let round = 0; this.dirty.size > 0 && round < 64; round++) {
        const batch = [...this.dirty];
        this.dirty.clear();
        for (const c of batch) c.service();
      }
    } finally {
      this.flushing = false;
    }
    if (this.dirty.size > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushNow);
    }
  };

  /** @internal Sends the connection's pending packets; returns an error if the send hook threw. */
  drain(conn: EngineConnection, core: QuicEngineConnection): Error | undefined {
    const max = this.maxPacketSize;
    for (;;) {
      if (SLAB_SIZE - this.slabOff < max) {
        this.slab = Buffer.allocUnsafe(SLAB_SIZE);
        this.slabOff = 0;
      }
      const off = this.slabOff;
      let n: number | null;
      try {
        n = core.send(this.slab.subarray(off, off + max));
      } catch {
        return undefined; // engine-side failure: the connection records it as its local error
      }
      if (n === null || n === 0) return undefined;
      this.slabOff += n;
      this.stats.packetsOut++;
      this.stats.bytesOut += n;
      try {
        this.sendFn(conn.peer, this.slab.subarray(off, off + n));
      } catch (err) {
        return err instanceof Error ? err : new Error(String(err));
      }
    }
  }

  /** @internal */
  unregister(conn: EngineConnection, keys: readonly string[]): void {
    for (const k of keys) if (this.routes.get(k) === conn) this.routes.delete(k);
    if (this.conns.delete(conn)) {
      this.stats.connections = this.conns.size;
      this.addrs.release(conn.peer);
      if (conn.role === 'server') {
        this.serverConns--;
        const g = this.groupOf(conn.peer);
        const n = (this.perGroup.get(g) ?? 1) - 1;
        if (n > 0) this.perGroup.set(g, n);
        else this.perGroup.delete(g);
      }
    }
    this.dirty.delete(conn);
  }

  private register(conn: EngineConnection, cids: Buffer[]): void {
    for (const cid of cids) conn.routeKeys.push(cid.toString('latin1'));
    for (const k of conn.routeKeys) this.routes.set(k, conn);
    this.conns.add(conn);
    this.stats.connections = this.conns.size;
  }

  private newCid(): Buffer {
    for (;;) {
      const cid = randomBytes(LOCAL_CID_LEN);
      if (!this.routes.has(cid.toString('latin1'))) return cid;
    }
  }

  private acceptInitial(peer: string, packet: Buffer, dcidKey: string): EngineConnection | undefined {
    const listener = this.listener;
    if (!listener || packet.length < MIN_INITIAL_PACKET) return undefined;
    const hdr = this.engine.parseHeader(packet, LOCAL_CID_LEN);
    if (!hdr || hdr.type !== 'initial' || !this.engine.isVersionSupported(hdr.version)) return undefined;
    if (hdr.dcid.length < 8) return undefined; // RFC 9000 §7.2: a client's first DCID has ≥ 8 bytes
    const group = this.groupOf(peer);
    const inGroup = this.perGroup.get(group) ?? 0;
    if (this.serverConns >= this.maxConns || inGroup >= this.maxPerGroup) {
      // Dropped, not refused: the client's handshake times out, as when quic-go's accept queue is full.
      this.onRefused?.(peer, this.serverConns >= this.maxConns ? 'total' : 'group');
      return undefined;
    }
    const scid = this.newCid();
    const remote = this.addrs.acquire(peer);
    let core: QuicEngineConnection;
    try {
      core = this.engine.accept(listener.config, scid, null, this.localAddr, remote);
    } catch {
      this.addrs.release(peer);
      return undefined;
    }
    const conn = new EngineConnection(this, core, 'server', peer, remote, scid);
    this.register(conn, [scid]);
    this.serverConns++;
    this.perGroup.set(group, inGroup + 1);
    conn.routeKeys.push(dcidKey);
    this.routes.set(dcidKey, conn);
    try {
      listener.onConnection(conn);
    } catch {
      // the listener's problem; the connection proceeds and times out if nobody uses it
    }
    return conn;
  }
}

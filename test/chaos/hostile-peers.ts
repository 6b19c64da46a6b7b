/**
 * Attackers for the hostile-peer scenario: a raw TCP peer speaking the netceptor wire (frames
 * from src/core/netceptor/codec.ts, the handshake done by hand), and measurement helpers read
 * from /proc and a control socket.
 */
import {randomBytes} from 'node:crypto';
import {once} from 'node:events';
import {readdirSync, readFileSync} from 'node:fs';
import net from 'node:net';
import {
  decodeMessage,
  encodeData,
  goTimeNow,
  encodeRoutingUpdate,
  encodeServiceAdvertisement,
  MSG_TYPE_ROUTING_UPDATE,
  type RoutingUpdate,
} from '../../src/core/netceptor/codec.js';
import {nameHash} from '../../src/core/netceptor/name-hash.js';
import {encodeTcpFrame, TcpFramer} from '../../src/core/netceptor/tcp-framer.js';

/** A peer on a raw TCP socket: completes the handshake, then writes whatever frames it is given. */
export class RawPeer {
  readonly framer = new TcpFramer();
  framesIn = 0;
  bytesOut = 0;
  private seq = 0n;
  private readonly epoch = BigInt(Date.now()) * 1_000_000n;
  private listedBy = false;
  closed = false;

  private constructor(
    readonly sock: net.Socket,
    readonly id: string,
    readonly victim: string,
  ) {
    sock.on('data', (chunk: Buffer) => {
      let msgs: Buffer[] = [];
      try {
        msgs = this.framer.push(chunk);
      } catch {
        sock.destroy();
      }
      for (const m of msgs) {
        this.framesIn++;
        if (!this.listedBy && m[0] === MSG_TYPE_ROUTING_UPDATE) {
          const u = decodeMessage(m) as RoutingUpdate & {type: number};
          if (u.nodeId === victim && u.connections.has(id)) this.listedBy = true;
        }
      }
    });
    sock.on('error', () => {});
    sock.on('close', () => (this.closed = true));
  }

  /** Dials `port`, does the netceptor handshake as `id` and waits until the victim lists us. */
  static async connect(port: number, id: string, victim: string, timeoutMs = 20_000): Promise<RawPeer> {
    const sock = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
    const p = new RawPeer(sock, id, victim);
    const deadline = Date.now() + timeoutMs;
    while (!p.listedBy) {
      if (p.closed || Date.now() > deadline) throw new Error(`raw peer ${id}: handshake with ${victim} failed`);
      p.write(p.ownUpdate());
      await new Promise((r) => setTimeout(r, 100));
    }
    p.write(p.ownUpdate()); // now listing the victim with it listing us: established both ways
    return p;
  }

  /** Our own routing update (lists the victim at cost 1). */
  ownUpdate(): Buffer {
    return encodeRoutingUpdate(this.update(this.id, new Map([[this.victim, 1]])));
  }

  /** A routing update for `nodeId` (forwarded by us). */
  routing(nodeId: string, connections: Map<string, number>): Buffer {
    return encodeRoutingUpdate(this.update(nodeId, connections));
  }

  update(nodeId: string, connections: Map<string, number>): RoutingUpdate {
    return {nodeId, updateId: randomBytes(8).toString('hex'), updateEpoch: this.epoch, updateSequence: ++this.seq, connections, forwardingNode: this.id, suspectedDuplicate: 0n};
  }

  /** A data message from us to `toService` on the victim. */
  data(toService: string, payload: Buffer): Buffer {
    return encodeData({hopsToLive: 30, fromHash: nameHash(this.id), toHash: nameHash(this.victim), fromService: 'atk', toService, payload});
  }

  /** A service advertisement for `node`:`service`. */
  ad(node: string, service: string): Buffer {
    return encodeServiceAdvertisement({nodeId: node, service, time: goTimeNow(), connType: 1, tags: null, workCommands: null, cancel: false});
  }

  /** Writes one message; false when the socket buffer is full. */
  write(msg: Buffer): boolean {
    const f = encodeTcpFrame(msg);
    this.bytesOut += f.length;
    return this.sock.write(f);
  }

  /** Writes `next()` messages as fast as the socket takes them until it returns undefined. */
  async pump(next: () => Buffer | undefined): Promise<number> {
    let n = 0;
    for (let m = next(); m !== undefined && !this.closed; m = next()) {
      n++;
      if (!this.write(m)) await drained(this.sock);
    }
    await this.flushed();
    return n;
  }

  /** Resolves once everything written has been handed to the kernel (or the socket closed). */
  async flushed(): Promise<void> {
    while (this.sock.writableLength > 0 && !this.closed) await drained(this.sock);
  }

  /** Ends the connection after what was written (destroy() would drop what is still buffered). */
  close(): void {
    this.sock.end();
    setTimeout(() => this.sock.destroy(), 5000).unref();
  }
}

/** Waits for `drain` (or `close`), without leaving listeners behind. */
export async function drained(sock: net.Socket): Promise<void> {
  const ac = new AbortController();
  const wait = (event: string) => once(sock, event, {signal: ac.signal}).catch(() => {}); // the loser is aborted
  try {
    await Promise.race([wait('drain'), wait('close')]);
  } finally {
    ac.abort();
  }
}

/** RSS (bytes) and open fds of a process, from /proc. */
export function procStats(pid: number): {rss: number; fds: number} {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return {rss: kb * 1024, fds: readdirSync(`/proc/${pid}/fd`).length};
}

/** One request on a fresh control session: greeting, `line`, one reply line. */
export function controlRequest(socketPath: string, line: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    let buf = '';
    let greeted = false;
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`control request "${line}" timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const l = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (!greeted) {
          greeted = true;
          s.write(`${line}\n`);
          continue;
        }
        clearTimeout(timer);
        s.destroy();
        resolve(l);
        return;
      }
    });
    s.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

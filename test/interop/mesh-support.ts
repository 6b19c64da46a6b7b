/**
 * Helpers of the mesh interop suites (test/interop/mesh*.test.ts): background scenarios whose
 * outcome a later `it` awaits, log and status polling, control-socket JSON requests, echo
 * targets for the service proxies and byte/datagram round trips through them.
 */
import {createHash, randomBytes} from 'node:crypto';
import dgram from 'node:dgram';
import {rmSync} from 'node:fs';
import net from 'node:net';
import {join} from 'node:path';
import {waitFor} from '../support/cli.js';
import {controlRequest, meshStatus, ours, run, type Impl, type InteropNode, type MeshStatus} from './support.js';

/** Starts `fn` now; its rejection is observed only when a test awaits the promise. */
export function later<T>(fn: () => Promise<T>): Promise<T> {
  const p = fn();
  p.catch(() => {});
  return p;
}

/** Everything a node logged (InteropNode.output: Go logs on stdout, ours on stderr). */
export function logOf(node: InteropNode): string {
  return node.output();
}

/** Waits until `node` has logged a line matching `re` at least `count` times. */
export async function waitLog(node: InteropNode, re: RegExp, timeoutMs = 45_000, count = 1): Promise<string> {
  const global = new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g');
  return waitFor(
    () => {
      const m = logOf(node).match(global);
      return m && m.length >= count ? m[0] : undefined;
    },
    timeoutMs,
    () => `${node.describe()} to log ${re}${count > 1 ? ` ${count} times` : ''}\n${logOf(node).slice(-4000)}`,
  );
}

/** One control request whose reply is one JSON line. */
export async function controlJson<T = Record<string, unknown>>(node: InteropNode, line: string, timeoutMs = 30_000): Promise<T> {
  const reply = await controlRequest(node.sock, line, {lines: 1, timeoutMs});
  try {
    return JSON.parse(reply) as T;
  } catch {
    throw new Error(`${node.describe()}: ${JSON.stringify(line)} answered ${JSON.stringify(reply)}`);
  }
}

export interface PingReply {
  Success: boolean;
  From?: string;
  Error?: string;
  Time?: number;
  TimeStr?: string;
}

/** `ping <target>` through the node's control socket. */
export function pingVia(node: InteropNode, target: string): Promise<PingReply> {
  return controlJson<PingReply>(node, `ping ${target}`);
}

/** Pings until one succeeds (a route that just appeared may still lack its reverse path). */
export async function waitPing(node: InteropNode, target: string, timeoutMs = 45_000): Promise<PingReply> {
  let last: PingReply | undefined;
  return waitFor(
    async () => {
      last = await pingVia(node, target).catch((e: Error) => ({Success: false, Error: e.message}));
      return last.Success ? last : undefined;
    },
    timeoutMs,
    () => `${node.describe()} to ping ${target} (last: ${JSON.stringify(last)})\n${logOf(node).slice(-3000)}`,
  );
}

export type TraceHop = {From: string; Time: number; TimeStr: string; Error?: string};

/** `traceroute <target>`: the hops in order. */
export async function tracerouteVia(node: InteropNode, target: string): Promise<TraceHop[]> {
  const r = await controlJson<Record<string, TraceHop>>(node, `traceroute ${target}`, 60_000);
  return Object.keys(r)
    .sort((x, y) => Number(x) - Number(y))
    .map((k) => r[k]);
}

/** Waits until `node`'s status does (present) or does not list a connection to `peer`. */
export async function waitConnection(node: InteropNode, peer: string, present: boolean, timeoutMs = 60_000): Promise<MeshStatus> {
  let last: MeshStatus | undefined;
  return waitFor(
    async () => {
      last = await meshStatus(node.sock).catch(() => undefined);
      if (!last) return undefined;
      const has = (last.Connections ?? []).some((c) => c.NodeID === peer);
      return has === present ? last : undefined;
    },
    timeoutMs,
    () => `${node.describe()} to ${present ? 'list' : 'drop'} its connection to ${peer} (connections: ${JSON.stringify(last?.Connections)})\n${logOf(node).slice(-3000)}`,
  );
}

/** Waits until `node` knows an advertisement of each (node, service). */
export async function waitAds(node: InteropNode, want: Array<[string, string]>, timeoutMs = 75_000): Promise<MeshStatus> {
  let last: MeshStatus | undefined;
  const has = (s: MeshStatus, [n, svc]: [string, string]) => (s.Advertisements ?? []).some((a) => a.NodeID === n && a.Service === svc);
  return waitFor(
    async () => {
      last = await meshStatus(node.sock).catch(() => undefined);
      return last && want.every((w) => has(last!, w)) ? last : undefined;
    },
    timeoutMs,
    () => `${node.describe()} to know ads ${JSON.stringify(want.filter((w) => !last || !has(last, w)))}`,
  );
}

/**
 * Waits until a node of ours listens on each port (its `<item> listening on 127.0.0.1:<port>`
 * line). A node greets on its control socket before its backends listen, and a dialer
 * refused after a session ends waits 5 s before it redials (0.5 s only before its first connection).
 */
export async function waitListening(node: InteropNode, ports: number[], timeoutMs = 30_000): Promise<void> {
  if (node.impl.kind !== 'ours') throw new Error('waitListening reads the log lines of our nodes');
  for (const port of ports) await waitLog(node, new RegExp(`listening on 127\\.0\\.0\\.1:${port}\\b`), timeoutMs);
}

// ------------------------------------------------------------------------- echo targets -----

export interface EchoTargets {
  tcpPort: number;
  udpPort: number;
  unixPath: string;
  close(): Promise<void>;
}

/** A TCP, a UDP and a unix-socket echo server on 127.0.0.1 / in `dir`. */
export async function startEchoTargets(dir: string): Promise<EchoTargets> {
  const streams = new Set<net.Socket>();
  const echo = (s: net.Socket) => {
    streams.add(s);
    s.on('close', () => streams.delete(s));
    s.on('error', () => s.destroy());
    s.pipe(s);
  };
  const tcp = net.createServer(echo);
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  const unixPath = join(dir, 'echo.sock');
  const unix = net.createServer(echo);
  await new Promise<void>((r) => unix.listen(unixPath, r));
  const udp = dgram.createSocket('udp4');
  udp.on('message', (msg, rinfo) => udp.send(msg, rinfo.port, rinfo.address));
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  return {
    tcpPort: (tcp.address() as net.AddressInfo).port,
    udpPort: udp.address().port,
    unixPath,
    async close() {
      for (const s of streams) s.destroy();
      await Promise.all([new Promise((r) => tcp.close(r)), new Promise((r) => unix.close(r)), new Promise((r) => udp.close(() => r(undefined)))]);
      rmSync(unixPath, {force: true});
    },
  };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Sends `size` random bytes on a fresh connection through a stream proxy to an echo server
 * and reads until as many came back; returns the SHA-256 of what was sent and received.
 */
export function streamRoundTrip(connect: () => net.Socket, size: number, timeoutMs = 60_000): Promise<{sent: string; received: string; bytes: number}> {
  const data = randomBytes(size);
  return new Promise((resolve, reject) => {
    const s = connect();
    const chunks: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`stream round trip: ${got} of ${size} bytes came back within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got >= size) {
        clearTimeout(timer);
        s.destroy();
        resolve({sent: sha256(data), received: sha256(Buffer.concat(chunks)), bytes: got});
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on('close', () => {
      clearTimeout(timer);
      if (got < size) reject(new Error(`stream round trip: connection closed after ${got} of ${size} bytes`));
    });
    s.write(data);
  });
}

/**
 * Round trips of distinct datagrams through a UDP proxy to the echo server, one at a time;
 * a datagram is re-sent every second until its echo arrives (UDP may lose one while the
 * mesh path is set up). Returns the echoes in order.
 */
export async function udpRoundTrips(port: number, payloads: Buffer[], timeoutMs = 45_000): Promise<Buffer[]> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const inbox: Buffer[] = [];
  sock.on('message', (m) => inbox.push(m));
  const deadline = Date.now() + timeoutMs;
  const out: Buffer[] = [];
  try {
    for (const p of payloads) {
      let sentAt = 0;
      const echo = await waitFor(
        () => {
          const hit = inbox.find((m) => m.equals(p));
          if (hit) return hit;
          if (Date.now() - sentAt >= 1000) {
            sentAt = Date.now();
            sock.send(p, port, '127.0.0.1');
          }
          return undefined;
        },
        Math.max(0, deadline - Date.now()),
        () => `the echo of a ${p.length}-byte datagram through 127.0.0.1:${port} (received: ${inbox.map((m) => m.length).join(', ')})`,
      );
      out.push(echo);
    }
    return out;
  } finally {
    sock.close();
  }
}

// ------------------------------------------------------------------------- certificates -----

export interface CertPair {
  cert: string;
  key: string;
}

/** Certificate tools of either implementation, with Go's field names on both. */
export class CertTool {
  constructor(readonly impl: Impl) {}

  private async exec(goFlag: string, fields: Record<string, string | number | boolean | string[]>, oursArgs: string[]): Promise<void> {
    const r =
      this.impl.kind === 'go'
        ? await run(this.impl.bin, [goFlag, ...Object.entries(fields).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => `${k}=${x}`) : [`${k}=${String(v)}`]))], {
            timeoutMs: 60_000,
          })
        : await ours(oursArgs, {timeoutMs: 60_000});
    if (r.code !== 0) throw new Error(`${this.impl.label} ${goFlag} failed (${r.code}): ${r.stderr}${r.stdout}`);
  }

  /** A self-signed CA. */
  async ca(dir: string, name: string): Promise<CertPair> {
    const cert = join(dir, `${name}.crt`);
    const key = join(dir, `${name}.key`);
    await this.exec('--cert-init', {commonname: name, bits: 2048, outcert: cert, outkey: key}, [
      'cert',
      'init',
      '--common-name',
      name,
      '--bits',
      '2048',
      '--out-cert',
      cert,
      '--out-key',
      key,
    ]);
    return {cert, key};
  }

  /** A key and a certificate signed by `ca` for the given node IDs, DNS names and IPs. */
  async issue(dir: string, name: string, ca: CertPair, names: {nodeIds: string[]; dns?: string[]; ips?: string[]}): Promise<CertPair> {
    const req = join(dir, `${name}.csr`);
    const key = join(dir, `${name}.key`);
    const cert = join(dir, `${name}.crt`);
    const dns = names.dns ?? [];
    const ips = names.ips ?? [];
    await this.exec('--cert-makereq', {commonname: name, bits: 2048, nodeid: names.nodeIds, dnsname: dns, ipaddress: ips, outreq: req, outkey: key}, [
      'cert',
      'makereq',
      '--common-name',
      name,
      '--bits',
      '2048',
      ...names.nodeIds.flatMap((n) => ['--node-id', n]),
      ...dns.flatMap((n) => ['--dns-name', n]),
      ...ips.flatMap((n) => ['--ip-address', n]),
      '--out-req',
      req,
      '--out-key',
      key,
    ]);
    await this.exec('--cert-signreq', {req, cacert: ca.cert, cakey: ca.key, outcert: cert, verify: 'yes'}, [
      'cert',
      'signreq',
      '--req',
      req,
      '--ca-cert',
      ca.cert,
      '--ca-key',
      ca.key,
      '--out-cert',
      cert,
      '--verify',
    ]);
    return {cert, key};
  }
}

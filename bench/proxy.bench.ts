/**
 * Service-proxy benchmark: stream throughput through `tcp-server` → mesh → `tcp-client`
 * over 1 and 3 hops, upload (client → target) and download (target → client), with raw
 * loopback TCP measured in the same run as the ceiling. Prints one JSON object.
 *
 * First version: all mesh nodes run in THIS process (one event loop for every node, linked by
 * real TCP mesh backends on 127.0.0.1), so the figures are a lower bound for a deployment
 * where each node has its own process and core. Items run through a real NodeRuntime.
 *
 * The QUIC engine is RECEPTOR_QUIC_ENGINE's (else auto); `quicEngine` says which ran.
 *
 *   node --import tsx bench/proxy.bench.ts [--quick] [--mb=N] [--runs=N]
 */
import {createHash, randomBytes} from 'node:crypto';
import net from 'node:net';
import {pino} from 'pino';
import type {ActionTypeDef} from '../src/core/config/types.js';
import {Netceptor} from '../src/core/netceptor/node.js';
import {quicEngineSelection} from '../src/core/netceptor/quic/select.js';
import {dialStream, listenStream, type MeshStream} from '../src/core/netceptor/streams.js';
import {NodeRuntime} from '../src/core/runtime.js';
import {TcpDialerBackend, TcpListenerBackend} from '../src/plugins/backend-tcp/backend.js';
import {serviceTypes} from '../src/plugins/services/index.js';

const quick = process.argv.includes('--quick');
const argNum = (name: string, dflt: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : dflt;
};
const SIZE_MB = argNum('mb', quick ? 16 : 64);
const RUNS = argNum('runs', quick ? 1 : 3);
const MB = 1024 * 1024;
const silent = pino({level: 'silent'});
const FAST = {triggerDelayMs: 5, handshakeIntervalMs: 50, serviceAdFirstDelayMs: 20};

async function waitUntil(probe: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// ------------------------------------------------------------------------- targets --------

const payload = randomBytes(SIZE_MB * MB);
const payloadSha = createHash('sha256').update(payload).digest('hex');

/**
 * One target server: the first byte says what to do — 'U' = read to EOF then answer with the
 * byte count; 'D' = send the payload and end.
 */
async function startTarget(): Promise<{port: number; close: () => void}> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({allowHalfOpen: true}, (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    s.on('error', () => {});
    let mode = '';
    let n = 0;
    s.on('data', (d: Buffer) => {
      if (mode === '') {
        mode = String.fromCharCode(d[0]);
        d = d.subarray(1);
        if (mode === 'D') s.end(payload);
      }
      n += d.length;
    });
    s.on('end', () => {
      if (mode === 'U') s.end(String(n));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({port, host: '127.0.0.1', allowHalfOpen: true});
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Upload: send the payload, wait for the byte count. Returns MB/s. */
async function upload(port: number): Promise<number> {
  const s = await connect(port);
  const t0 = performance.now();
  const reply = new Promise<string>((resolve, reject) => {
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('end', () => resolve(text));
    s.on('error', reject);
  });
  s.write('U');
  s.end(payload);
  const got = await reply;
  const ms = performance.now() - t0;
  s.destroy();
  if (Number(got) !== payload.length) throw new Error(`upload: target got ${got} bytes, expected ${payload.length}`);
  return payload.length / MB / (ms / 1000);
}

/** Download: ask for the payload, read to EOF, check SHA-256. Returns MB/s. */
async function download(port: number): Promise<number> {
  const s = await connect(port);
  const t0 = performance.now();
  const h = createHash('sha256');
  let n = 0;
  const done = new Promise<void>((resolve, reject) => {
    s.on('data', (d: Buffer) => {
      h.update(d);
      n += d.length;
    });
    s.on('end', () => resolve());
    s.on('error', reject);
  });
  s.end('D');
  await done;
  const ms = performance.now() - t0;
  s.destroy();
  if (n !== payload.length || h.digest('hex') !== payloadSha) throw new Error(`download: got ${n} bytes or a wrong SHA-256`);
  return payload.length / MB / (ms / 1000);
}

// ------------------------------------------------------------------------- mesh -----------

interface MeshNode {
  node: Netceptor;
  rt: NodeRuntime;
}

/** A line of in-process nodes linked by TCP mesh backends on 127.0.0.1. */
async function meshLine(n: number, tag: string): Promise<MeshNode[]> {
  const nodes: MeshNode[] = [];
  for (let i = 0; i < n; i++) {
    const node = new Netceptor({nodeId: `${tag}${i}`, logger: silent, timings: FAST});
    const rt = new NodeRuntime(silent, {configFiles: [], argv: [], selfCommand: []}, () => undefined);
    rt.setNode(node);
    nodes.push({node, rt});
  }
  for (let i = 0; i + 1 < n; i++) {
    const running = await nodes[i].node.addMeshBackend(new TcpListenerBackend({port: 0, bindAddr: '127.0.0.1'}), {cost: 1});
    const port = Number(running.localAddress!.split(':').pop());
    await nodes[i + 1].node.addMeshBackend(new TcpDialerBackend({address: `127.0.0.1:${port}`, backoff: {initialMs: 50, maxMs: 200}}), {cost: 1});
  }
  const first = nodes[0].node;
  const last = nodes[n - 1].node;
  await waitUntil(() => first.reachable(last.id) && last.reachable(first.id), 30_000, `${tag} line`);
  return nodes;
}

const typeOf = (key: string) => serviceTypes.find((t) => t.key === key) as ActionTypeDef;

async function runItem(rt: NodeRuntime, key: string, values: Record<string, unknown>): Promise<void> {
  const def = typeOf(key);
  const full: Record<string, unknown> = {};
  for (const f of def.fields) full[f.name] = f.name in values ? values[f.name] : (f.default ?? (f.type === 'int' ? 0 : ''));
  def.validate?.(full);
  await def.create(full, {key, plugin: 'bench', source: {kind: 'implicit'}, explicit: new Set(Object.keys(values))}).run!(rt);
}

/**
 * The same exchange on a bare mesh stream (no proxy, no TCP at the ends): what the proxies
 * are built on. Returns MB/s for upload and download.
 */
async function bareStream(nodes: MeshNode[]): Promise<{uploadMBps: number; downloadMBps: number}> {
  const first = nodes[0].node;
  const last = nodes[nodes.length - 1].node;
  const listener = await listenStream(last, 'bare');
  listener.on('stream', (ms: MeshStream) => {
    const s = ms.conn.stream;
    s.on('error', () => {});
    let mode = '';
    let n = 0;
    s.on('data', (d: Buffer) => {
      if (mode === '') {
        mode = String.fromCharCode(d[0]);
        d = d.subarray(1);
        if (mode === 'D') s.end(payload);
      }
      n += d.length;
    });
    s.on('end', () => {
      if (mode === 'U') s.end(String(n));
    });
  });
  const once = async (mode: 'U' | 'D'): Promise<number> => {
    const ms = await dialStream(first, last.id, 'bare');
    const s = ms.conn.stream;
    const t0 = performance.now();
    let n = 0;
    const done = new Promise<void>((resolve, reject) => {
      s.on('data', (d: Buffer) => (n += d.length));
      s.on('end', () => resolve());
      s.on('error', reject);
    });
    if (mode === 'U') {
      s.write('U');
      s.end(payload);
    } else s.end('D');
    await done;
    const secs = (performance.now() - t0) / 1000;
    if (mode === 'D' && n !== payload.length) throw new Error('bare download short');
    return payload.length / MB / secs;
  };
  const up: number[] = [];
  const down: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    up.push(await once('U'));
    down.push(await once('D'));
  }
  listener.close();
  return {uploadMBps: round(median(up)), downloadMBps: round(median(down))};
}

/** Sets up tcp-client on the last node and tcp-server on the first; returns the front port. */
async function proxyOver(hops: number, targetPort: number): Promise<{port: number; nodes: MeshNode[]; stop: () => Promise<void>}> {
  const nodes = await meshLine(hops + 1, `h${hops}n`);
  const first = nodes[0];
  const last = nodes[hops];
  await runItem(last.rt, 'tcp-client', {service: 'bench', address: `127.0.0.1:${targetPort}`});
  // pick a free port for the tcp-server (its log line is silent here)
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  await runItem(first.rt, 'tcp-server', {port, bindaddr: '127.0.0.1', remotenode: last.node.id, remoteservice: 'bench'});
  return {
    port,
    nodes,
    stop: async () => {
      for (const n of nodes) await n.rt.shutdown();
      for (const n of nodes) await n.node.shutdown();
    },
  };
}

const round = (x: number) => Math.round(x * 10) / 10;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(port: number): Promise<{uploadMBps: number; downloadMBps: number; runs: {up: number[]; down: number[]}}> {
  const up: number[] = [];
  const down: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    up.push(await upload(port));
    down.push(await download(port));
  }
  return {uploadMBps: round(median(up)), downloadMBps: round(median(down)), runs: {up: up.map(round), down: down.map(round)}};
}

async function main(): Promise<void> {
  const target = await startTarget();
  const result: Record<string, unknown> = {
    bench: 'proxy',
    inProcess: true,
    note: 'all mesh nodes share this process and event loop, linked by TCP mesh backends on 127.0.0.1; raw = direct loopback TCP to the same target',
    payloadMB: SIZE_MB,
    runs: RUNS,
    node: process.version,
  };
  result.rawLoopbackTcp = await measure(target.port);
  for (const hops of [1, 3]) {
    const p = await proxyOver(hops, target.port);
    try {
      const name = `${hops}Hop${hops > 1 ? 's' : ''}`;
      result[`tcpProxy${name}`] = await measure(p.port);
      result[`bareMeshStream${name}`] = await bareStream(p.nodes);
    } finally {
      await p.stop();
    }
  }
  target.close();
  // The engine of this process (RECEPTOR_QUIC_ENGINE, else auto), chosen at the first stream.
  result.quicEngine = quicEngineSelection()?.name;
  console.log(JSON.stringify(result, null, 2));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

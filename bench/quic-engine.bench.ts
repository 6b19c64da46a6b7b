/**
 * QUIC engine throughput in memory: two endpoints (quiche) joined by a wire that hands packets
 * over once per event-loop tick, optionally dropping a fraction of them (seeded). Measures
 * one direction alone and both directions concurrently, at 16348-byte packets (our default) unless --packet is given.
 * Prints one JSON object.
 *
 *   node --import tsx bench/quic-engine.bench.ts [--mb=50] [--packet=16348] [--loss=0.02]
 */
import {once} from 'node:events';
import {randomFillSync} from 'node:crypto';
import type {Readable, Writable} from 'node:stream';
import {QuicEndpoint} from '../src/core/netceptor/quic/endpoint.js';
import {quicheEngine} from '../src/core/netceptor/quic/quiche.js';
import {dialQuic, listenQuic, type QuicConnection} from '../src/core/netceptor/quic/stream.js';
import {createInsecureStreamCert} from '../src/core/pki/x509.js';

function arg(name: string, dflt: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : dflt;
}

const MB = 1024 * 1024;
const sizeMb = arg('mb', 50);
const packet = arg('packet', 16348); // our default; pass --packet=1452 to see what a Go peer allows
const lossArg = arg('loss', 0.02);

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function setup(
  loss: number,
  cert: {certPem: string; keyPem: string},
): Promise<{client: QuicConnection; server: QuicConnection; wire: {packets: number; dropped: number}; close(): void}> {
  const eps = new Map<string, QuicEndpoint>();
  const random = rng(7);
  const wire = {packets: 0, dropped: 0};
  let queue: Array<[string, string, Buffer]> = [];
  let scheduled = false;
  const deliver = (): void => {
    scheduled = false;
    const batch = queue;
    queue = [];
    for (const [from, to, p] of batch) {
      if (loss > 0 && random() < loss) {
        wire.dropped++;
        continue;
      }
      eps.get(to)?.receive(from, p);
    }
  };
  const sender = (from: string) => (to: string, p: Buffer) => {
    wire.packets++;
    queue.push([from, to, p]);
    if (!scheduled) {
      scheduled = true;
      setImmediate(deliver);
    }
  };
  const a = new QuicEndpoint({engine: quicheEngine(), send: sender('A:bench'), maxPacketSize: packet});
  const b = new QuicEndpoint({engine: quicheEngine(), send: sender('B:bench'), maxPacketSize: packet});
  eps.set('A:bench', a);
  eps.set('B:bench', b);
  const listener = await listenQuic(b, {insecureCert: cert});
  const serverP = once(listener, 'connection').then(([c]) => c as QuicConnection);
  const client = await dialQuic(a, 'B:bench', {localNodeId: 'A'});
  const server = await serverP;
  return {client, server, wire, close: () => (a.close(), b.close())};
}

async function pump(w: Writable, bytes: number): Promise<void> {
  const block = randomFillSync(Buffer.allocUnsafe(4 * MB));
  let left = bytes;
  let off = 0;
  while (left > 0) {
    const n = Math.min(64 * 1024, left);
    if (off + n > block.length) off = 0;
    left -= n;
    if (!w.write(block.subarray(off, off + n))) await once(w, 'drain');
    off += n;
  }
  w.end();
}

function drain(r: Readable): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    r.on('data', (d: Buffer) => (n += d.length));
    r.on('end', () => resolve(n));
    r.on('error', reject);
  });
}

async function run(loss: number, bothWays: boolean, cert: {certPem: string; keyPem: string}): Promise<Record<string, number>> {
  const s = await setup(loss, cert);
  const bytes = sizeMb * MB;
  const t0 = performance.now();
  const work: Array<Promise<unknown>> = [pump(s.client.stream, bytes), drain(s.server.stream)];
  if (bothWays) work.push(pump(s.server.stream, bytes), drain(s.client.stream));
  else s.server.stream.end();
  if (!bothWays) work.push(drain(s.client.stream));
  await Promise.all(work);
  const secs = (performance.now() - t0) / 1000;
  s.close();
  const perDir = sizeMb / secs;
  return {
    seconds: Number(secs.toFixed(3)),
    mbPerSecPerDirection: Number(perDir.toFixed(1)),
    mbPerSecTotal: Number((bothWays ? 2 * perDir : perDir).toFixed(1)),
    packets: s.wire.packets,
    dropped: s.wire.dropped,
  };
}

const cert = await createInsecureStreamCert();
const result = {
  engine: 'quiche',
  packetBytes: packet,
  megabytesPerDirection: sizeMb,
  oneWayClean: await run(0, false, cert),
  bothWaysClean: await run(0, true, cert),
  bothWaysLossy: {loss: lossArg, ...(await run(lossArg, true, cert))},
  node: process.version,
};
console.log(JSON.stringify(result, null, 2));

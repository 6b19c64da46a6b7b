/**
 * QUIC engine throughput in memory: two endpoints joined by a wire that hands packets over once
 * per event-loop tick, optionally dropping a fraction of them (seeded). Measures one direction
 * alone and both directions concurrently, at 16348-byte packets (our default) unless --packet
 * is given, with the CPU time of this process per MB moved. Prints one JSON object.
 *
 * --engine picks the engines (client-server pairs allowed): `quiche` (default), `ts`,
 * `ts-quiche` (TS client, quiche server), or a list `--engine=quiche,ts,ts-quiche,quiche-ts`.
 * One engine: the object as before (with `engine`); several: `byEngine` holds one object each
 * (an engine that fails, e.g. not available here, gets `{error}`).
 *
 *   node --import tsx bench/quic-engine.bench.ts [--mb=50] [--packet=16348] [--loss=0.02] [--engine=quiche,ts]
 */
import {once} from 'node:events';
import {randomFillSync} from 'node:crypto';
import type {Readable, Writable} from 'node:stream';
import {QuicEndpoint} from '../src/core/netceptor/quic/endpoint.js';
import {dialQuic, listenQuic, type QuicConnection} from '../src/core/netceptor/quic/stream.js';
import {createInsecureStreamCert} from '../src/core/pki/x509.js';
import {mulberry32} from '../test/support/prng.js';
import {ENGINE_NAMES, makeEngine, type EngineName} from '../test/support/quic-engines.js';

function arg(name: string, dflt: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : dflt;
}

const MB = 1024 * 1024;
const sizeMb = arg('mb', 50);
const packet = arg('packet', 16348); // our default; pass --packet=1452 to see what a Go peer allows
const lossArg = arg('loss', 0.02);
const engineArg = process.argv.find((x) => x.startsWith('--engine=') || x.startsWith('--engines='));
const engineSpecs = (engineArg ? engineArg.slice(engineArg.indexOf('=') + 1) : 'quiche').split(',').filter(Boolean);

interface EnginePair {
  label: string;
  client: EngineName;
  server: EngineName;
}

function parseEngine(spec: string): EnginePair {
  const [client, server = client] = spec.split('-');
  const ok = (e: string | undefined): e is EngineName => (ENGINE_NAMES as readonly string[]).includes(e ?? '');
  if (!ok(client) || !ok(server)) throw new Error(`--engine: ${spec} is not quiche, ts or a pair client-server (e.g. ts-quiche)`);
  return {label: spec, client, server};
}

async function setup(
  engines: EnginePair,
  loss: number,
  cert: {certPem: string; keyPem: string},
): Promise<{client: QuicConnection; server: QuicConnection; wire: {packets: number; dropped: number}; close(): void}> {
  const eps = new Map<string, QuicEndpoint>();
  const random = mulberry32(7);
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
  const a = new QuicEndpoint({engine: makeEngine(engines.client), send: sender('A:bench'), maxPacketSize: packet});
  const b = new QuicEndpoint({engine: makeEngine(engines.server), send: sender('B:bench'), maxPacketSize: packet});
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

async function run(engines: EnginePair, loss: number, bothWays: boolean, cert: {certPem: string; keyPem: string}): Promise<Record<string, number>> {
  const s = await setup(engines, loss, cert);
  const bytes = sizeMb * MB;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const work: Array<Promise<unknown>> = [pump(s.client.stream, bytes), drain(s.server.stream)];
  if (bothWays) work.push(pump(s.server.stream, bytes), drain(s.client.stream));
  else s.server.stream.end();
  if (!bothWays) work.push(drain(s.client.stream));
  await Promise.all(work);
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  s.close();
  const perDir = sizeMb / secs;
  const movedMb = bothWays ? 2 * sizeMb : sizeMb;
  return {
    seconds: Number(secs.toFixed(3)),
    mbPerSecPerDirection: Number(perDir.toFixed(1)),
    mbPerSecTotal: Number((bothWays ? 2 * perDir : perDir).toFixed(1)),
    // Both endpoints run in this process: the CPU of sender and receiver together.
    cpuMsPerMB: Number(((cpu.user + cpu.system) / 1000 / movedMb).toFixed(2)),
    packets: s.wire.packets,
    dropped: s.wire.dropped,
  };
}

async function measure(engines: EnginePair, cert: {certPem: string; keyPem: string}): Promise<Record<string, unknown>> {
  return {
    oneWayClean: await run(engines, 0, false, cert),
    bothWaysClean: await run(engines, 0, true, cert),
    bothWaysLossy: {loss: lossArg, ...(await run(engines, lossArg, true, cert))},
  };
}

const cert = await createInsecureStreamCert();
const pairs = engineSpecs.map(parseEngine);
let result: Record<string, unknown>;
if (pairs.length === 1) {
  result = {engine: pairs[0]!.label, packetBytes: packet, megabytesPerDirection: sizeMb, ...(await measure(pairs[0]!, cert)), node: process.version};
} else {
  const byEngine: Record<string, unknown> = {};
  for (const p of pairs) {
    try {
      byEngine[p.label] = await measure(p, cert);
    } catch (err) {
      byEngine[p.label] = {error: err instanceof Error ? err.message : String(err)};
    }
  }
  result = {benchmark: 'quic-engine', packetBytes: packet, megabytesPerDirection: sizeMb, byEngine, node: process.version};
}
console.log(JSON.stringify(result, null, 2));

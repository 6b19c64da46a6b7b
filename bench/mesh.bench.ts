/**
 * Mesh benchmarks (issue: mesh core). Real node processes linked over TCP on 127.0.0.1,
 * measured through their control sockets. Prints one JSON object.
 *
 *  - ping round trip over 1 and 3 hops (the node-measured Time of `ping`), median and p95
 *  - routing convergence for 16 and 32 nodes in a line and in a random tree, counted from
 *    the moment the last process reports "Initialization complete" until both ends of the
 *    mesh route to every node; plus the RSS of every node once converged
 *  - idle CPU of a 2-node mesh over 20 s
 */
import {Control, freePorts, NodeProc, percentile, waitUntil, workDir, writeConfig} from './lib.js';

const quick = process.argv.includes('--quick');

interface Mesh {
  nodes: NodeProc[];
  lastStarted: number;
}

/** Starts nodes parent-first; node i dials its parent. parent[0] = -1. */
async function startTree(parents: number[], tag: string): Promise<Mesh> {
  const dir = workDir(tag);
  const ports = await freePorts(parents.length);
  const nodes: NodeProc[] = [];
  let lastStarted = 0;
  for (let i = 0; i < parents.length; i++) {
    const items = [`- tcp-listener:\n    port: ${ports[i]}\n    bindaddr: 127.0.0.1`];
    if (parents[i] >= 0) items.push(`- tcp-peer:\n    address: 127.0.0.1:${ports[parents[i]]}`);
    const {config, socket} = writeConfig(dir, `n${i}`, items);
    const p = new NodeProc(`n${i}`, config, socket);
    nodes.push(p);
    await p.ready();
    lastStarted = performance.now();
  }
  return {nodes, lastStarted};
}

async function stopAll(m: Mesh): Promise<void> {
  await Promise.all(m.nodes.map((n) => n.stop()));
}

async function routesAll(c: Control, n: number): Promise<boolean> {
  const st = await c.command('{"command":"status","requested_fields":["RoutingTable"]}');
  return Object.keys(st.RoutingTable as object).length >= n - 1;
}

async function convergence(parents: number[], tag: string): Promise<Record<string, unknown>> {
  const m = await startTree(parents, tag);
  try {
    // Both ends of the mesh: the root and the last (deepest-started) node.
    const ends = [await Control.open(m.nodes[0].socket), await Control.open(m.nodes.at(-1)!.socket)];
    await waitUntil(async () => (await Promise.all(ends.map((c) => routesAll(c, parents.length)))).every(Boolean), 60_000, `${tag} convergence`);
    const ms = performance.now() - m.lastStarted;
    ends.forEach((c) => c.close());
    const rss = m.nodes.map((n) => n.rssKiB() / 1024);
    const priv = m.nodes.map((n) => n.privateKiB() / 1024);
    const stats = (xs: number[]) => ({
      median: round(
        percentile(
          [...xs].sort((a, b) => a - b),
          50,
        ),
      ),
      max: round(Math.max(...xs)),
    });
    return {nodes: parents.length, convergenceMs: round(ms), rssMiB: stats(rss), privateMiB: stats(priv)};
  } finally {
    await stopAll(m);
  }
}

async function pingBench(): Promise<Record<string, unknown>> {
  const m = await startTree([-1, 0, 1, 2], 'ping'); // a line of 4: 1 hop and 3 hops from n0
  try {
    const c = await Control.open(m.nodes[0].socket);
    const far = await Control.open(m.nodes[3].socket);
    await waitUntil(async () => (await routesAll(c, 4)) && (await routesAll(far, 4)), 30_000, 'ping mesh');
    far.close();
    const out: Record<string, unknown> = {};
    for (const [label, target] of [
      ['1hop', 'n1'],
      ['3hops', 'n3'],
    ] as const) {
      const times: number[] = [];
      const count = quick ? 50 : 300;
      for (let i = 0; i < count + 200; i++) {
        const r = await c.command(`ping ${target}`);
        if (r.Success !== true) throw new Error(`ping failed: ${JSON.stringify(r)}`);
        if (i >= 200) times.push(Number(r.Time) / 1e6); // the first 200 warm the JIT
      }
      times.sort((a, b) => a - b);
      out[label] = {count, medianMs: round(percentile(times, 50), 3), p95Ms: round(percentile(times, 95), 3)};
    }
    c.close();
    return out;
  } finally {
    await stopAll(m);
  }
}

async function idleCpu(): Promise<Record<string, unknown>> {
  const m = await startTree([-1, 0], 'idle');
  try {
    const c = await Control.open(m.nodes[0].socket);
    await waitUntil(async () => routesAll(c, 2), 30_000, 'idle mesh');
    c.close();
    const seconds = quick ? 5 : 20;
    const window = async () => {
      const before = m.nodes.map((n) => n.cpuMs());
      await new Promise((r) => setTimeout(r, seconds * 1000));
      const used = m.nodes.map((n, i) => n.cpuMs() - before[i]);
      return {cpuMsPerNode: used, cpuMsTotal: used.reduce((a, b) => a + b, 0)};
    };
    // V8's memory reducer runs a few GCs in the first tens of seconds after start-up;
    // report the window right after convergence and the steady state after it.
    const afterStart = await window();
    const steady = await window();
    return {seconds, afterStart, steady, rssMiB: m.nodes.map((n) => round(n.rssKiB() / 1024)), privateMiB: m.nodes.map((n) => round(n.privateKiB() / 1024))};
  } finally {
    await stopAll(m);
  }
}

/** A random tree: each node's parent is a uniformly chosen earlier node (fixed seed). */
function randomTree(n: number, seed = 42): number[] {
  let s = seed;
  const rand = () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  return Array.from({length: n}, (_, i) => (i === 0 ? -1 : Math.floor(rand() * i)));
}

const line = (n: number) => Array.from({length: n}, (_, i) => i - 1);
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

const result: Record<string, unknown> = {benchmark: 'mesh', quick, machine: {cpus: (await import('node:os')).availableParallelism(), node: process.version}};
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',');
const want = (part: string) => !only || only.includes(part);
if (want('ping')) result.ping = await pingBench();
if (want('convergence'))
  result.convergence = {
    line16: await convergence(line(16), 'line16'),
    tree16: await convergence(randomTree(16), 'tree16'),
    ...(quick ? {} : {line32: await convergence(line(32), 'line32'), tree32: await convergence(randomTree(32), 'tree32')}),
  };
if (want('idle')) result.idle = await idleCpu();
console.log(JSON.stringify(result, null, 2));

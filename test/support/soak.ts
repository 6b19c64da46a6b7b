/**
 * The soak: a 4-node diamond of real daemons (the built CLI) under continuous pings, proxied
 * stream traffic and remote work, sampled for memory, open fds, handles and timers. Shared by
 * test/soak/mesh.soak.ts (which asserts the slopes) and bench/soak.bench.ts (which records
 * them).
 *
 *        b
 *      /   \        a: tcp-server (entry of the stream proxy), submits work to d
 *     a     d       d: tcp-client to an echo server here, runs a's work
 *      \   /        c: submits work to b (through a or d); b runs it
 *        c          every node pings every other node
 *
 * The daemons write RECEPTOR_DIAG_FILE samples (src/core/diag.ts): handles and timers come
 * from process.getActiveResourcesInfo() inside each daemon; RSS and fds are also read from
 * /proc/PID here.
 */
import {createHash} from 'node:crypto';
import {existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {DiagSample} from '../../src/core/diag.js';
import {Daemon, waitFor} from './cli.js';
import {freePorts} from './ports.js';
import {mulberry32} from './prng.js';

export interface SoakOptions {
  /** How long the traffic runs (after the mesh has converged). */
  durationMs: number;
  /** Samples before this (from the start of the traffic) are left out of the slopes. */
  warmupMs: number;
  /** Time between samples. */
  sampleMs: number;
  seed?: number;
  /** Progress lines (stderr in the suite, nothing in the bench). */
  log?: (line: string) => void;
}

export interface SoakPoint {
  /** Seconds since the traffic started. */
  t: number;
  rssMiB: number;
  heapUsedMiB: number;
  /** Memory of Buffers and other C++ objects bound to JS ones (process.memoryUsage().external). */
  externalMiB: number;
  fds: number;
  handles: number;
  timers: number;
}

export const METRICS = ['rssMiB', 'heapUsedMiB', 'externalMiB', 'fds', 'handles', 'timers'] as const;
export type Metric = (typeof METRICS)[number];

/** How long the soak runs: 10 minutes in full, 75 s for CI. */
export const SOAK_PLAN: Record<'short' | 'full', Pick<SoakOptions, 'durationMs' | 'warmupMs' | 'sampleMs'>> = {
  full: {durationMs: 600_000, warmupMs: 120_000, sampleMs: 5000},
  short: {durationMs: 75_000, warmupMs: 25_000, sampleMs: 1000},
};

/**
 * The largest least-squares slope per minute each metric may have after the warm-up. The
 * counts (fds, handles, timers) and the JS heap are the tight leak detectors: a leak of one
 * handle per unit, stream or ping would climb by tens per minute. RSS rises in steps to a
 * high-water mark (freed pages stay with malloc and V8 for a while), so its bound is looser.
 * Heap and external memory saw with garbage collection (external: 3 to 30 MiB of stream
 * Buffers in flight); 50 s of the short run do not average that out, so its memory bounds
 * only catch gross leaks.
 */
export const SOAK_TOLERANCE: Record<'short' | 'full', Record<Metric, number>> = {
  full: {rssMiB: 4, heapUsedMiB: 0.5, externalMiB: 0.5, fds: 0.5, handles: 0.5, timers: 0.5},
  short: {rssMiB: 25, heapUsedMiB: 30, externalMiB: 40, fds: 12, handles: 12, timers: 12},
};

export interface SoakNodeResult {
  /** Least-squares slope per minute of each metric, over the samples after the warm-up. */
  slopes: Record<Metric, number>;
  /** First and last sample after the warm-up, and the range. */
  first: SoakPoint;
  last: SoakPoint;
  min: Record<Metric, number>;
  max: Record<Metric, number>;
  samples: SoakPoint[];
}

export interface SoakCounts {
  pings: number;
  pingFailures: number;
  streams: number;
  streamBytesChecked: number;
  lostBytes: number;
  units: number;
  unitFailures: number;
  stuckUnits: number;
}

export interface SoakResult {
  seconds: number;
  warmupSeconds: number;
  nodes: Record<string, SoakNodeResult>;
  counts: SoakCounts;
  /** The first few failures, for the message of a failed run. */
  errors: string[];
}

const NODES = ['a', 'b', 'c', 'd'] as const;
type NodeName = (typeof NODES)[number];

/** Least-squares slope of y over x. */
export function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * One control session: `line`, then everything up to EOF (`toEof`) or the first reply line;
 * the reply without the greeting. Fails after `timeoutMs`.
 */
function control(sock: string, line: string, opts: {payload?: Buffer; toEof?: boolean; timeoutMs?: number} = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect(sock);
    const parts: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no reply to ${line} on ${sock} within ${opts.timeoutMs ?? 60_000} ms`));
    }, opts.timeoutMs ?? 60_000);
    const finish = () => {
      clearTimeout(timer);
      const all = Buffer.concat(parts);
      const g = all.indexOf(0x0a);
      resolve(g < 0 ? Buffer.alloc(0) : all.subarray(g + 1));
    };
    s.on('data', (d: Buffer) => {
      parts.push(d);
      if (!opts.toEof) {
        const all = Buffer.concat(parts);
        const g = all.indexOf(0x0a);
        if (g >= 0 && all.indexOf(0x0a, g + 1) >= 0) {
          s.destroy();
          finish();
        }
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on('close', finish);
    s.once('connect', () => {
      s.write(line + '\n');
      if (opts.payload) s.end(opts.payload);
      else if (opts.toEof) s.end();
    });
  });
}

/** A TCP echo server (what comes in goes back, then end). */
async function echoServer(): Promise<net.Server> {
  const srv = net.createServer({allowHalfOpen: true}, (s) => {
    s.on('error', () => s.destroy());
    s.pipe(s);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return srv;
}

/** Sends `data` through the proxy at `port`, half-closes, reads everything back. */
function echoThrough(port: number, data: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const c = net.connect({port, host: '127.0.0.1', allowHalfOpen: true});
    const parts: Buffer[] = [];
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error(`stream of ${data.length} bytes: no end within ${timeoutMs} ms`));
    }, timeoutMs);
    c.on('data', (d: Buffer) => parts.push(d));
    c.on('end', () => {
      clearTimeout(timer);
      c.end();
      resolve(Buffer.concat(parts));
    });
    c.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    c.end(data);
  });
}

function procStatusKiB(pid: number, field: string): number {
  const m = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

interface Running {
  daemons: Record<NodeName, Daemon>;
  socks: Record<NodeName, string>;
  diag: Record<NodeName, string>;
  proxyPort: number;
  echo: net.Server;
  dir: string;
}

async function startMesh(log: (l: string) => void, diagIntervalMs: number): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'receptor-soak-'));
  const echo = await echoServer();
  const echoPort = (echo.address() as net.AddressInfo).port;
  const [la, ld, proxyPort] = await freePorts(3);
  const socks = Object.fromEntries(NODES.map((n) => [n, join(dir, `${n}.sock`)])) as Record<NodeName, string>;
  const diag = Object.fromEntries(NODES.map((n) => [n, join(dir, `${n}.diag.json`)])) as Record<NodeName, string>;
  const common = (n: NodeName) => [
    `- node:\n    id: ${n}\n    datadir: ${join(dir, `${n}-data`)}`,
    `- control-service:\n    service: control\n    filename: ${socks[n]}`,
    '- work-command:\n    worktype: echo\n    command: cat',
  ];
  const items: Record<NodeName, string[]> = {
    a: [`- tcp-listener:\n    port: ${la}\n    bindaddr: 127.0.0.1`, `- tcp-server:\n    port: ${proxyPort}\n    bindaddr: 127.0.0.1\n    remotenode: d\n    remoteservice: echo`],
    b: [`- tcp-peer:\n    address: 127.0.0.1:${la}`, `- tcp-peer:\n    address: 127.0.0.1:${ld}`],
    c: [`- tcp-peer:\n    address: 127.0.0.1:${la}`, `- tcp-peer:\n    address: 127.0.0.1:${ld}`],
    d: [`- tcp-listener:\n    port: ${ld}\n    bindaddr: 127.0.0.1`, `- tcp-client:\n    service: echo\n    address: 127.0.0.1:${echoPort}`],
  };
  const daemons = {} as Record<NodeName, Daemon>;
  const running: Running = {daemons, socks, diag, proxyPort, echo, dir};
  try {
    for (const n of NODES) {
      const config = join(dir, `${n}.yml`);
      writeFileSync(config, [...common(n), ...items[n]].join('\n') + '\n');
      daemons[n] = new Daemon(['-c', config], {env: {RECEPTOR_DIAG_FILE: diag[n], RECEPTOR_DIAG_INTERVAL_MS: String(diagIntervalMs), RECEPTOR_LOG_LEVEL: 'warning'}});
    }
    await Promise.all(
      NODES.map((n) =>
        waitFor(
          () => existsSync(diag[n]),
          60_000,
          () => `${n} to start\n${daemons[n].stderr}`,
          daemons[n],
        ),
      ),
    );
    // Converged: the submitters see their executors' control services, every node routes to every other.
    const sees = async (from: NodeName, to: NodeName) =>
      (await control(socks[from], 'status', {timeoutMs: 10_000}).catch(() => Buffer.alloc(0))).toString().includes(`"NodeID":"${to}","Service":"control"`);
    // An ad can arrive before both halves of a link are in the routing table: also require a
    // route from every node to every other (else the first pings and streams find none).
    const routesAll = async (from: NodeName): Promise<boolean> => {
      try {
        const st = JSON.parse((await control(socks[from], 'status', {timeoutMs: 10_000})).toString()) as {RoutingTable?: Record<string, string>};
        return NODES.every((n) => n === from || st.RoutingTable?.[n] !== undefined);
      } catch {
        return false;
      }
    };
    await waitFor(
      async () => (await sees('a', 'd')) && (await sees('c', 'b')) && (await sees('b', 'c')) && (await sees('d', 'a')) && (await Promise.all(NODES.map(routesAll))).every(Boolean),
      60_000,
      () => 'the diamond to converge',
    );
    log(`soak: mesh up in ${dir}`);
    return running;
  } catch (e) {
    await stopMesh(running);
    throw e;
  }
}

async function stopMesh(r: Running): Promise<void> {
  await Promise.all(Object.values(r.daemons).map((d) => d.stop('SIGTERM')));
  r.echo.close();
}

function sampleNode(r: Running, n: NodeName, t: number): SoakPoint {
  const pid = r.daemons[n].child.pid!;
  const d = JSON.parse(readFileSync(r.diag[n], 'utf8')) as DiagSample;
  return {
    t,
    rssMiB: procStatusKiB(pid, 'VmRSS') / 1024,
    heapUsedMiB: d.heapUsedBytes / 2 ** 20,
    externalMiB: d.externalBytes / 2 ** 20,
    fds: readdirSync(`/proc/${pid}/fd`).length,
    handles: d.handles,
    timers: d.timers,
  };
}

/** Runs the soak; never throws for traffic failures (they are counted), only for a mesh that does not start. */
export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const log = opts.log ?? (() => {});
  const rand = mulberry32(opts.seed ?? 16);
  const r = await startMesh(log, Math.max(250, Math.floor(opts.sampleMs / 2)));
  const counts: SoakCounts = {pings: 0, pingFailures: 0, streams: 0, streamBytesChecked: 0, lostBytes: 0, units: 0, unitFailures: 0, stuckUnits: 0};
  const errors: string[] = [];
  const started = Date.now();
  const fail = (what: string) => {
    if (errors.length < 10) errors.push(`t=${((Date.now() - started) / 1000).toFixed(0)}s ${what}`);
  };
  const samples = Object.fromEntries(NODES.map((n) => [n, [] as SoakPoint[]])) as Record<NodeName, SoakPoint[]>;
  const end = started + opts.durationMs;
  const going = () => Date.now() < end;
  const loops: Array<Promise<void>> = [];
  try {
    // Pings: every node pings every other node in turn, each on a fresh control session.
    for (const n of NODES) {
      loops.push(
        (async () => {
          const others = NODES.filter((o) => o !== n);
          for (let i = 0; going(); i++) {
            const target = others[i % others.length];
            try {
              const reply = JSON.parse((await control(r.socks[n], `ping ${target}`, {timeoutMs: 20_000})).toString()) as {Success?: boolean; Error?: string};
              if (reply.Success === true) counts.pings++;
              else throw new Error(reply.Error ?? 'no Success');
            } catch (e) {
              counts.pingFailures++;
              fail(`ping ${n} -> ${target}: ${(e as Error).message}`);
            }
            await sleep(200);
          }
        })(),
      );
    }
    // Streams: two clients at a time through a's tcp-server to the echo server behind d.
    for (let w = 0; w < 2; w++) {
      loops.push(
        (async () => {
          while (going()) {
            const data = Buffer.alloc(4 * Math.floor(4096 + rand() * 252 * 1024)); // 16 KiB to 1 MiB
            for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((rand() * 2 ** 32) >>> 0, i);
            counts.streams++;
            try {
              const back = await echoThrough(r.proxyPort, data, 60_000);
              if (back.length === data.length && sha(back) === sha(data)) counts.streamBytesChecked += data.length;
              else {
                counts.lostBytes += data.length;
                fail(`stream: sent ${data.length} bytes, got ${back.length} back${back.length === data.length ? ' (different)' : ''}`);
              }
            } catch (e) {
              counts.lostBytes += data.length;
              fail(`stream: ${(e as Error).message}`);
            }
            await sleep(100);
          }
        })(),
      );
    }
    // Remote work: a → d and c → b, one unit at a time each; results checked, then released.
    for (const [from, to] of [
      ['a', 'd'],
      ['c', 'b'],
    ] as Array<[NodeName, NodeName]>) {
      loops.push(
        (async () => {
          while (going()) {
            const payload = Buffer.from(Array.from({length: 1 + Math.floor(rand() * 64)}, () => rand().toString(36)).join('\n'));
            try {
              const submitted = (
                await control(r.socks[from], JSON.stringify({command: 'work', subcommand: 'submit', node: to, worktype: 'echo'}), {payload, toEof: true, timeoutMs: 60_000})
              ).toString();
              const id = /Work unit created with ID (\w+)\./.exec(submitted)?.[1];
              if (!id) throw new Error(`submit ${from} -> ${to}: ${submitted.trim()}`);
              const out = await control(r.socks[from], `work results ${id} 0`, {toEof: true, timeoutMs: 120_000});
              const body = out.subarray(out.indexOf(0x0a) + 1);
              if (sha(body) !== sha(payload)) throw new Error(`unit ${id} ${from} -> ${to}: results ${body.length} bytes, sent ${payload.length}`);
              const rel = (await control(r.socks[from], `work release ${id}`, {timeoutMs: 60_000})).toString();
              if (!rel.startsWith('{')) throw new Error(`release ${id}: ${rel.trim()}`);
              counts.units++;
            } catch (e) {
              counts.unitFailures++;
              fail((e as Error).message);
            }
            await sleep(250);
          }
        })(),
      );
    }
    // Samples.
    loops.push(
      (async () => {
        for (;;) {
          const t = (Date.now() - started) / 1000;
          for (const n of NODES) {
            try {
              samples[n].push(sampleNode(r, n, t));
            } catch (e) {
              fail(`sample ${n}: ${(e as Error).message}`);
            }
          }
          if (!going()) break;
          log(
            `soak t=${t.toFixed(0)}s ${NODES.map((n) => {
              const p = samples[n].at(-1);
              return p
                ? `${n}: rss ${p.rssMiB.toFixed(1)} MiB heap ${p.heapUsedMiB.toFixed(1)} ext ${p.externalMiB.toFixed(1)} fds ${p.fds} handles ${p.handles} timers ${p.timers}`
                : `${n}: -`;
            }).join(' | ')}; pings ${counts.pings} units ${counts.units} stream MB ${(counts.streamBytesChecked / 2 ** 20).toFixed(0)}`,
          );
          await sleep(Math.min(opts.sampleMs, Math.max(0, end - Date.now())));
        }
      })(),
    );
    await Promise.all(loops);
    // Nothing left behind: every unit was released on both ends.
    const listed = async (n: NodeName) => Object.keys(JSON.parse((await control(r.socks[n], 'work list', {timeoutMs: 20_000})).toString() || '{}') as object).length;
    let left = 0;
    await waitFor(
      async () => {
        left = 0;
        for (const n of NODES) left += await listed(n);
        return left === 0;
      },
      30_000,
      () => `units left`,
    ).catch(() => undefined);
    counts.stuckUnits = left;
    if (left > 0) fail(`${left} units still listed after the soak`);
  } finally {
    await stopMesh(r);
  }
  // The daemons log at warning level: with a failure, what they said helps (links that dropped, …).
  if (errors.length > 0)
    for (const n of NODES) {
      const said = [...new Set(r.daemons[n].logs().map((l) => `${String(l.time)} ${String(l.msg)}${l.peer ? ` peer=${String(l.peer)}` : ''}`))];
      if (said.length > 0) errors.push(`${n} logged: ${said.slice(-10).join(' | ')}`);
    }
  const nodes = {} as Record<string, SoakNodeResult>;
  for (const n of NODES) {
    const kept = samples[n].filter((p) => p.t * 1000 >= opts.warmupMs);
    const xs = kept.map((p) => p.t / 60);
    const per = (f: (m: Metric) => number) => Object.fromEntries(METRICS.map((m) => [m, f(m)])) as Record<Metric, number>;
    nodes[n] = {
      slopes: per((m) =>
        slope(
          xs,
          kept.map((p) => p[m]),
        ),
      ),
      first: kept[0],
      last: kept.at(-1)!,
      min: per((m) => Math.min(...kept.map((p) => p[m]))),
      max: per((m) => Math.max(...kept.map((p) => p[m]))),
      samples: kept,
    };
  }
  return {seconds: (Date.now() - started) / 1000, warmupSeconds: opts.warmupMs / 1000, nodes, counts, errors};
}

/**
 * TCP proxy throughput between real daemons: a line n0-n1-n2-n3 over TCP mesh links;
 * n0 runs tcp-servers forwarding to tcp-clients on n1 (1 hop) and n3 (3 hops), which connect
 * to a sink/source in this process. Upload and download MB/s, daemon CPU ms per MB, and raw
 * loopback TCP in the same run as the ceiling. Prints JSON.
 *
 * QUIC engine of our nodes: RECEPTOR_QUIC_ENGINE as set (`quicEngine` says which one the nodes
 * logged), or `--engines=quiche,ts` to measure each in turn (`byEngine`, one entry each; an
 * engine whose mesh does not come up gets `{error}`). With Go (BENCH_IMPL_BIN) the mesh runs
 * once (quic-go) and its figures stand under every engine name, so `--impl go` pairs each of
 * our engines with Go. --mb=N sets the megabytes per transfer (default 64, --quick 16).
 */
import net from 'node:net';
import {freePorts, IMPL, startNodes, waitUntil, workDir, type NodeProc} from './lib.js';

const quick = process.argv.includes('--quick');
const enginesArg = process.argv.find((x) => x.startsWith('--engines='));
const engines = enginesArg ? enginesArg.slice('--engines='.length).split(',').filter(Boolean) : undefined;
for (const e of engines ?? []) if (!['auto', 'quiche', 'ts'].includes(e)) throw new Error(`--engines: ${e} is not auto, quiche or ts`);
const mbArg = process.argv.find((x) => x.startsWith('--mb='));
const MB = mbArg ? Number(mbArg.slice(5)) : quick ? 16 : 64;
const total = MB << 20;
const chunk = Buffer.alloc(1 << 16, 7);

/** A local service: mode `sink` counts bytes and answers "ok" at EOF; `source` sends `total` bytes. */
function service(mode: 'sink' | 'source'): Promise<{port: number; close(): void}> {
  const srv = net.createServer({allowHalfOpen: true}, (s) => {
    s.on('error', () => {}); // a probe connection that the proxy closes early (Go does before the route is up)
    if (mode === 'sink') {
      s.on('data', () => {});
      s.on('end', () => s.end('ok'));
    } else {
      let sent = 0;
      const pump = () => {
        while (sent < total) {
          sent += chunk.length;
          if (!s.write(chunk)) return void s.once('drain', pump);
        }
        s.end();
      };
      pump();
      s.resume();
    }
  });
  return new Promise((r) => srv.listen(0, '127.0.0.1', () => r({port: (srv.address() as net.AddressInfo).port, close: () => srv.close()})));
}

async function upload(port: number): Promise<number> {
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const c = net.connect({port, host: '127.0.0.1', allowHalfOpen: true});
    c.on('error', reject);
    c.on('data', () => {});
    c.on('end', () => resolve());
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!c.write(chunk)) return void c.once('drain', pump);
      }
      c.end();
    };
    c.once('connect', pump);
  });
  return MB / ((performance.now() - t0) / 1000);
}

/** Downloads `total` bytes; a probe with `timeoutMs` gives up (and fails) after that long. */
async function download(port: number, timeoutMs = 0): Promise<number> {
  const t0 = performance.now();
  let got = 0;
  await new Promise<void>((resolve, reject) => {
    const c = net.connect({port, host: '127.0.0.1'});
    if (timeoutMs) c.setTimeout(timeoutMs, () => c.destroy(new Error('probe timed out')));
    c.on('error', reject);
    c.on('data', (d) => (got += d.length));
    // No half-close before the data is in: Go's proxies close both directions at the first EOF.
    c.on('end', () => {
      c.end();
      resolve();
    });
  });
  if (got < total) throw new Error(`download got ${got} of ${total} bytes`);
  return MB / ((performance.now() - t0) / 1000);
}

const round = (x: number) => Math.round(x * 10) / 10;
const sink = await service('sink');
const source = await service('source');
const result: Record<string, unknown> = {
  benchmark: 'proxy-procs',
  megabytes: MB,
  raw: {uploadMBps: round(await upload(sink.port)), downloadMBps: round(await download(source.port))},
};

/** Starts the 4-node line, measures 1 and 3 hops both ways, stops it. */
async function measureMesh(): Promise<Record<string, unknown>> {
  const dir = workDir('proxy');
  const ports = await freePorts(8);
  const [l0, l1, l2] = ports;
  const [up1, down1, up3, down3] = ports.slice(3);
  const cfgs = [
    [
      `- tcp-listener:\n    port: ${l0}\n    bindaddr: 127.0.0.1`,
      ...[
        ['up1', up1, 'n1', 'sink'],
        ['down1', down1, 'n1', 'source'],
        ['up3', up3, 'n3', 'sink'],
        ['down3', down3, 'n3', 'source'],
      ].map(([, port, node, svc]) => `- tcp-server:\n    port: ${port}\n    bindaddr: 127.0.0.1\n    remotenode: ${node}\n    remoteservice: ${svc}`),
    ],
    [
      `- tcp-peer: 127.0.0.1:${l0}`,
      `- tcp-listener:\n    port: ${l1}\n    bindaddr: 127.0.0.1`,
      `- tcp-client:\n    service: sink\n    address: 127.0.0.1:${sink.port}`,
      `- tcp-client:\n    service: source\n    address: 127.0.0.1:${source.port}`,
    ],
    [`- tcp-peer: 127.0.0.1:${l1}`, `- tcp-listener:\n    port: ${l2}\n    bindaddr: 127.0.0.1`],
    [
      `- tcp-peer: 127.0.0.1:${l2}`,
      `- tcp-client:\n    service: sink\n    address: 127.0.0.1:${sink.port}`,
      `- tcp-client:\n    service: source\n    address: 127.0.0.1:${source.port}`,
    ],
  ];
  const nodes: NodeProc[] = [];
  const out: Record<string, unknown> = {};
  try {
    await startNodes(dir, cfgs, nodes);
    out.quicEngine = [...new Set(nodes.map((n) => n.quicEngine()))].join(',');
    // Wait until a 3-hop connection works end to end.
    await waitUntil(
      async () =>
        await download(down3, 5000).then(
          () => true,
          () => false,
        ),
      60_000,
      '3-hop route',
    );
    const measure = async (f: () => Promise<number>) => {
      const before = nodes.reduce((a, n) => a + n.cpuMs(), 0);
      const mbps = await f();
      const cpu = nodes.reduce((a, n) => a + n.cpuMs(), 0) - before;
      return {MBps: round(mbps), daemonCpuMsPerMB: round(cpu / MB)};
    };
    out.hop1 = {upload: await measure(() => upload(up1)), download: await measure(() => download(down1))};
    out.hop3 = {upload: await measure(() => upload(up3)), download: await measure(() => download(down3))};
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
  return out;
}

try {
  if (!engines) {
    Object.assign(result, await measureMesh());
  } else if (IMPL.kind === 'go') {
    const go = await measureMesh();
    result.byEngine = Object.fromEntries(engines.map((e) => [e, go]));
  } else {
    const byEngine: Record<string, unknown> = {};
    const saved = process.env.RECEPTOR_QUIC_ENGINE;
    for (const e of engines) {
      process.env.RECEPTOR_QUIC_ENGINE = e; // inherited by the node processes
      try {
        byEngine[e] = await measureMesh();
      } catch (err) {
        byEngine[e] = {error: err instanceof Error ? err.message.split('\n')[0] : String(err)};
      }
    }
    if (saved === undefined) delete process.env.RECEPTOR_QUIC_ENGINE;
    else process.env.RECEPTOR_QUIC_ENGINE = saved;
    result.byEngine = byEngine;
  }
} finally {
  sink.close();
  source.close();
}
console.log(JSON.stringify(result, null, 2));

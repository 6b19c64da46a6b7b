/**
 * Work units between real daemons: a line n0-n1-n2-n3 over TCP mesh links. Measures, from
 * n0's control socket: local submit → complete results; remote submit → complete results for
 * a small unit 1 and 3 hops away; and results throughput of a 64 MiB stdout produced 3 hops
 * away. Prints JSON.
 */
import {command, freePorts, percentile, results, startNodes, submit, waitUntil, workDir, type NodeProc} from './lib.js';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 5 : 15;
const BIG_MB = quick ? 16 : 64;

const round = (x: number) => Math.round(x * 10) / 10;

async function roundTrip(sock: string, node: string): Promise<{medianMs: number; p95Ms: number; samples: number}> {
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    const id = await submit(sock, {node, worktype: 'echo'}, 'hello\n');
    const n = await results(sock, id);
    times.push(performance.now() - t0);
    if (n !== 6) throw new Error(`expected 6 bytes of results, got ${n}`);
    await command(sock, `work release ${id}`);
  }
  times.sort((a, b) => a - b);
  return {medianMs: round(percentile(times, 50)), p95Ms: round(percentile(times, 95)), samples: times.length};
}

const dir = workDir('work');
const [l0, l1, l2] = await freePorts(3);
const types = ['- work-command:\n    worktype: echo\n    command: cat', `- work-command:\n    worktype: big\n    command: head\n    params: -c ${BIG_MB << 20} /dev/zero`];
const mesh = '- control-service:\n    service: control';
const cfgs = [
  [`- tcp-listener:\n    port: ${l0}\n    bindaddr: 127.0.0.1`, mesh, ...types],
  [`- tcp-peer: 127.0.0.1:${l0}`, `- tcp-listener:\n    port: ${l1}\n    bindaddr: 127.0.0.1`, mesh, ...types],
  [`- tcp-peer: 127.0.0.1:${l1}`, `- tcp-listener:\n    port: ${l2}\n    bindaddr: 127.0.0.1`, mesh, ...types],
  [`- tcp-peer: 127.0.0.1:${l2}`, mesh, ...types],
];
const nodes: NodeProc[] = [];
const result: Record<string, unknown> = {benchmark: 'work', rounds: ROUNDS};
try {
  await startNodes(dir, cfgs, nodes);
  result.quicEngine = nodes[0].quicEngine(); // RECEPTOR_QUIC_ENGINE, inherited by the nodes, else auto
  const sock = nodes[0].socket;
  await waitUntil(async () => (await command(sock, 'status')).includes('"NodeID":"n3","Service":"control"'), 30_000, 'n3 control advertised');
  // Warm-up (first QUIC connections, first runner spawn).
  await roundTrip(sock, 'n3');
  result.localSubmitToResults = await roundTrip(sock, 'localhost');
  result.remote1HopSubmitToResults = await roundTrip(sock, 'n1');
  result.remote3HopSubmitToResults = await roundTrip(sock, 'n3');
  const t0 = performance.now();
  const id = await submit(sock, {node: 'n3', worktype: 'big'});
  const bytes = await results(sock, id);
  const secs = (performance.now() - t0) / 1000;
  if (bytes !== BIG_MB << 20) throw new Error(`big results: got ${bytes} bytes`);
  result.results3Hop = {megabytes: BIG_MB, seconds: Math.round(secs * 1000) / 1000, MBps: round(BIG_MB / secs)};
  await command(sock, `work release ${id}`);
} finally {
  await Promise.all(nodes.map((n) => n.stop()));
}
console.log(JSON.stringify(result, null, 2));

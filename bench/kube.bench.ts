/**
 * work-kubernetes units (stream method logger) against the Kubernetes API test server
 * (test/support/kube-api/): payload in by attach, through `cat` in the "pod", output back
 * from the pod log. Measures submit → Succeeded with all results read, for long lines (4000
 * bytes) and short lines (80 bytes, where a per-line cost shows). With `--impl go` the same
 * runs on Go receptor (client-go, SPDY attach). Prints JSON.
 */
import {randomBytes} from 'node:crypto';
import {KubeApiServer} from '../test/support/kube-api/index.js';
import {command, results, startNodes, submit, workDir, type NodeProc} from './lib.js';

const quick = process.argv.includes('--quick');
const SHAPES = [
  {name: 'longLines', lineBytes: 4000, megabytes: quick ? 4 : 16},
  {name: 'shortLines', lineBytes: 80, megabytes: quick ? 0.25 : 1},
];

function payloadOf(megabytes: number, lineBytes: number): Buffer {
  const total = Math.round(megabytes * (1 << 20));
  const text = randomBytes(Math.ceil((total * 3) / 4) + 3).toString('base64');
  const lines: string[] = [];
  for (let off = 0; off < total; off += lineBytes) lines.push(text.slice(off, Math.min(total, off + lineBytes) - 1));
  return Buffer.from(lines.join('\n') + '\n');
}

const round = (x: number) => Math.round(x * 10) / 10;
const dir = workDir('kube');
const server = await KubeApiServer.start();
const kubeconfig = server.writeKubeconfig(dir, {namespace: 'default'});
const nodes: NodeProc[] = [];
const result: Record<string, unknown> = {benchmark: 'kube'};
try {
  await startNodes(
    dir,
    [
      [
        '- local-only:',
        `- work-kubernetes:\n    worktype: kcat\n    authmethod: kubeconfig\n    kubeconfig: ${kubeconfig}\n    namespace: default\n    image: busybox\n    command: cat`,
      ],
    ],
    nodes,
  );
  const sock = nodes[0]!.socket;
  for (const shape of SHAPES) {
    const payload = payloadOf(shape.megabytes, shape.lineBytes);
    const t0 = performance.now();
    const id = await submit(sock, {node: 'localhost', worktype: 'kcat'}, payload);
    const bytes = await results(sock, id);
    const secs = (performance.now() - t0) / 1000;
    const status = await command(sock, `work status ${id}`);
    if (bytes !== payload.length || !status.includes('"StateName":"Succeeded"')) throw new Error(`${shape.name}: ${bytes} of ${payload.length} bytes, status ${status}`);
    const lines = Math.round(payload.length / shape.lineBytes);
    result[shape.name] = {
      megabytes: round(payload.length / (1 << 20)),
      lineBytes: shape.lineBytes,
      seconds: Math.round(secs * 1000) / 1000,
      MBps: round(payload.length / (1 << 20) / secs),
      linesPerSecond: Math.round(lines / secs),
    };
    await command(sock, `work release ${id}`);
  }
} finally {
  await Promise.all(nodes.map((n) => n.stop()));
  await server.close();
}
console.log(JSON.stringify(result, null, 2));

/**
 * Start-up and one-shot clients. Prints JSON.
 *
 *  - startToStatusMs: from spawning a node (control socket + TCP listener) until its control
 *    socket has answered a whole `status` reply; median over several cold starts
 *  - bareNodeMs: `node -e 0` on the same machine, the floor for anything written for Node
 *  - clientStatusMs: a one-shot `status` against a running node, by our CLI
 *    (`receptor status --socket …`) and by the real receptorctl (when the interop set-up
 *    installed it), each spawned fresh every time
 */
import {execFileSync, spawn} from 'node:child_process';
import {existsSync, readFileSync} from 'node:fs';
import net from 'node:net';
import {join} from 'node:path';
import {BIN, IMPL, freePorts, NodeProc, percentile, workDir, writeConfig} from './lib.js';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 5 : 15;
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const median = (xs: number[]) =>
  round(
    percentile(
      [...xs].sort((a, b) => a - b),
      50,
    ),
  );

/** Resolves once `status` is answered in full on the socket; retries until then. */
async function statusAnswered(sock: string, deadline: number): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(sock);
      let buf = '';
      c.on('data', (d) => {
        buf += d.toString();
        const lines = buf.split('\n');
        if (lines.length >= 3) {
          c.destroy();
          resolve(lines[1].startsWith('{'));
        }
      });
      c.on('error', () => resolve(false));
      c.on('close', () => resolve(false));
      c.once('connect', () => c.write('status\n'));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`no status reply on ${sock}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function startOnce(dir: string, i: number): Promise<number> {
  const [port] = await freePorts(1);
  const {config, socket} = writeConfig(dir, `s${i}`, [`- tcp-listener:\n    port: ${port}\n    bindaddr: 127.0.0.1`]);
  const t0 = performance.now();
  const p = new NodeProc(`s${i}`, config, socket);
  try {
    await statusAnswered(socket, Date.now() + 30_000);
    return performance.now() - t0;
  } finally {
    await p.stop();
  }
}

function timeCommand(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const c = spawn(cmd, args, {stdio: ['ignore', 'ignore', 'ignore'], env: {...process.env, NODE_OPTIONS: ''}});
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`))));
  });
}

function receptorctlBin(): string | undefined {
  const m = join(BIN, '..', '..', '.interop', 'manifest.json');
  if (!existsSync(m)) return undefined;
  const list = (JSON.parse(readFileSync(m, 'utf8')) as {receptorctl: Array<{bin: string}>}).receptorctl ?? [];
  return list
    .map((r) => r.bin)
    .filter((b) => existsSync(b))
    .at(-1);
}

const dir = workDir('startup');
const result: Record<string, unknown> = {benchmark: 'startup', impl: IMPL.kind, runs: RUNS};
await startOnce(dir, 0); // warm the page cache
const starts: number[] = [];
for (let i = 1; i <= RUNS; i++) starts.push(await startOnce(dir, i));
result.startToStatusMs = {median: median(starts), min: round(Math.min(...starts))};
const bare: number[] = [];
for (let i = 0; i < RUNS; i++) bare.push(await timeCommand(process.execPath, ['-e', '0']));
result.bareNodeMs = median(bare);

const [port] = await freePorts(1);
const {config, socket} = writeConfig(dir, 'client', [`- tcp-listener:\n    port: ${port}\n    bindaddr: 127.0.0.1`]);
const node = new NodeProc('client', config, socket);
try {
  await node.ready();
  const clients: Record<string, number> = {};
  const ours: number[] = [];
  for (let i = 0; i < RUNS + 1; i++) ours.push(await timeCommand(process.execPath, [BIN, 'status', '--socket', socket]));
  clients.receptor = median(ours.slice(1));
  const rctl = receptorctlBin();
  if (rctl) {
    execFileSync(rctl, ['--socket', socket, 'status'], {stdio: 'ignore'});
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) times.push(await timeCommand(rctl, ['--socket', socket, 'status']));
    clients.receptorctl = median(times);
  }
  result.clientStatusMs = clients;
} finally {
  await node.stop();
}
console.log(JSON.stringify(result, null, 2));

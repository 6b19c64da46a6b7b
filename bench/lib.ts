/** Shared helpers for benchmarks: spawning real node processes and talking to their control sockets. */
import {spawn, type ChildProcess} from 'node:child_process';
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';

export const BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url));

export function workDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `receptor-bench-${prefix}-`));
}

/**
 * Which implementation the node processes run: ours (default), or the Go receptor binary named
 * by BENCH_IMPL_BIN (scripts/bench.js sets it for `npm run bench -- --impl go`).
 */
export const IMPL: {kind: 'ts'} | {kind: 'go'; bin: string} = process.env.BENCH_IMPL_BIN ? {kind: 'go', bin: process.env.BENCH_IMPL_BIN} : {kind: 'ts'};

/** The command line that runs a node with `config`. */
export function nodeCommand(config: string): [string, string[]] {
  if (IMPL.kind === 'go') return [IMPL.bin, ['-c', config]];
  return [process.execPath, [...(process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : []), BIN, '-c', config]];
}

export class NodeProc {
  readonly child: ChildProcess;
  stderr = '';
  constructor(
    readonly id: string,
    readonly config: string,
    readonly socket: string,
  ) {
    const [cmd, args] = nodeCommand(config);
    // Go receptor logs to stdout, ours to stderr: both are kept in `stderr`.
    this.child = spawn(cmd, args, {stdio: ['ignore', IMPL.kind === 'go' ? 'pipe' : 'ignore', 'pipe'], env: {...process.env, NODE_OPTIONS: ''}});
    const keep = (d: Buffer) => {
      this.stderr += d.toString();
      if (this.stderr.length > 1 << 20) this.stderr = this.stderr.slice(-(1 << 19));
    };
    this.child.stderr!.on('data', keep);
    this.child.stdout?.on('data', keep);
  }
  async ready(timeoutMs = 30_000): Promise<void> {
    // Both implementations log it at info level (ours as JSON, Go as text).
    await waitUntil(() => this.stderr.includes('Initialization complete') || this.child.exitCode !== null, timeoutMs, `${this.id} start`);
    if (!this.stderr.includes('Initialization complete'))
      throw new Error(`${this.id} exited with ${this.child.exitCode} before it started: ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
  /** Resident set size in KiB (VmRSS). */
  rssKiB(): number {
    return this.statusField('VmRSS');
  }
  /**
   * Private resident memory in KiB (RssAnon): what one more node costs. The rest of VmRSS is
   * RssFile, pages of the node binary shared by every Node process on the machine.
   */
  privateKiB(): number {
    return this.statusField('RssAnon');
  }
  private statusField(name: string): number {
    const m = new RegExp(`${name}:\\s+(\\d+)`).exec(readFileSync(`/proc/${this.child.pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  }
  /** User + system CPU time in milliseconds. */
  cpuMs(): number {
    const fields = readFileSync(`/proc/${this.child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / 100; // CLK_TCK is 100 on Linux
  }
  /** The QUIC engine the node logged at start (ours: `QUIC engine: quiche|ts`; Go: quic-go). */
  quicEngine(): string {
    if (IMPL.kind === 'go') return 'quic-go';
    return /"quicEngine":"(\w+)"/.exec(this.stderr)?.[1] ?? 'unknown';
  }
  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.child.kill('SIGINT');
      setTimeout(() => this.child.kill('SIGKILL'), 5000).unref();
    });
  }
}

export function writeConfig(dir: string, id: string, items: string[]): {config: string; socket: string} {
  const socket = join(dir, `${id}.sock`);
  const config = join(dir, `${id}.yml`);
  writeFileSync(config, [`- node:\n    id: ${id}\n    datadir: ${join(dir, 'data')}`, `- control-service:\n    service: ""\n    filename: ${socket}`, ...items].join('\n') + '\n');
  return {config, socket};
}

/** Starts node `n<i>` with `cfgs[i]` for each i, in order, pushing each onto `into` (for cleanup) before it is ready. */
export async function startNodes(dir: string, cfgs: string[][], into: NodeProc[]): Promise<void> {
  for (let i = 0; i < cfgs.length; i++) {
    const {config, socket} = writeConfig(dir, `n${i}`, cfgs[i]);
    const p = new NodeProc(`n${i}`, config, socket);
    into.push(p);
    await p.ready();
  }
}

export async function waitUntil(probe: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A control-socket session that sends lines and reads reply lines. */
export class Control {
  private buf = '';
  private waiter: (() => void) | undefined;
  private constructor(private readonly s: net.Socket) {
    s.on('data', (d) => {
      this.buf += d.toString();
      this.waiter?.();
    });
  }
  static async open(path: string): Promise<Control> {
    const s = net.connect(path);
    await new Promise((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    const c = new Control(s);
    await c.line();
    return c;
  }
  async line(): Promise<string> {
    for (;;) {
      const i = this.buf.indexOf('\n');
      if (i >= 0) {
        const l = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        return l;
      }
      await new Promise<void>((r) => (this.waiter = r));
    }
  }
  async command(line: string): Promise<Record<string, unknown>> {
    this.s.write(`${line}\n`);
    const reply = await this.line();
    if (reply.startsWith('ERROR')) throw new Error(reply);
    return JSON.parse(reply) as Record<string, unknown>;
  }
  close(): void {
    this.s.destroy();
  }
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function freePorts(n: number): Promise<number[]> {
  return Promise.all(
    Array.from(
      {length: n},
      () =>
        new Promise<number>((resolve) => {
          const s = net.createServer();
          s.listen(0, '127.0.0.1', () => {
            const p = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(p));
          });
        }),
    ),
  );
}

/** One control connection: submit, payload, EOF; returns the unit ID. */
export function submit(sock: string, req: Record<string, string>, payload: string | Buffer = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(sock);
    let out = '';
    c.on('data', (d) => (out += d.toString()));
    c.on('error', reject);
    c.on('close', () => {
      const m = /"unitid":"(\w+)"/.exec(out);
      if (m) resolve(m[1]);
      else reject(new Error(`submit failed: ${out}`));
    });
    c.once('connect', () => {
      c.write(JSON.stringify({command: 'work', subcommand: 'submit', ...req}) + '\n');
      c.end(payload);
    });
  });
}

/** Reads a unit's results to EOF; returns the byte count (header excluded). */
export function results(sock: string, id: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = net.connect(sock);
    let lines = 0;
    let bytes = 0;
    c.on('data', (d: Buffer) => {
      let i = 0;
      while (lines < 2 && i < d.length) {
        if (d[i] === 0x0a) lines++;
        i++;
      }
      bytes += d.length - i;
    });
    c.on('error', reject);
    c.on('close', () => resolve(bytes));
    c.once('connect', () => c.end(`work results ${id} 0\n`));
  });
}

/** One control command on its own connection; returns the reply line. */
export function command(sock: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(sock);
    let out = '';
    c.on('data', (d) => (out += d.toString()));
    c.on('error', reject);
    c.on('close', () => resolve(out.split('\n')[1] ?? ''));
    c.end(line + '\n');
  });
}

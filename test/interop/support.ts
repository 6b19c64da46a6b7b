/**
 * Interop harness: real daemons of both implementations (ours: bin/run.js; Go: the binaries of
 * the reference install, `npm run interop:setup`), the real receptorctl and ansible-runner.
 *
 * Every node gets a unix control socket (`<dir>/<id>.sock`), which is also how the harness
 * knows a node is up: it answers the greeting `Receptor Control, node <id>`.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {stringify} from 'yaml';
import {BIN, childEnv, REPO_ROOT, runProgram, waitFor, type CliOptions} from '../support/cli.js';

export const INTEROP_DIR = join(REPO_ROOT, '.interop');

export interface GoRef {
  label: string;
  bin: string;
}
interface Manifest {
  go: Array<{label: string; bin?: string; unavailable?: string}>;
  receptorctl: Array<{version: string; bin: string}>;
  python: string | null;
  ansibleRunner: string | null;
}

let cached: Manifest | undefined;
/** The reference install's manifest plus RECEPTOR_INTEROP_GO="label=/path,…". */
export function manifest(): Manifest {
  if (cached) return cached;
  const file = join(INTEROP_DIR, 'manifest.json');
  const m: Manifest = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Manifest) : {go: [], receptorctl: [], python: null, ansibleRunner: null};
  for (const e of (process.env.RECEPTOR_INTEROP_GO ?? '').split(',').filter(Boolean)) {
    const i = e.indexOf('=');
    const [label, bin] = i > 0 ? [e.slice(0, i), e.slice(i + 1)] : [e, e];
    if (!m.go.some((g) => g.bin === bin)) m.go.push({label, bin});
  }
  m.go = m.go.filter((g) => !g.bin || existsSync(g.bin));
  m.receptorctl = m.receptorctl.filter((r) => existsSync(r.bin));
  if (m.python && !existsSync(m.python)) m.python = null;
  if (m.ansibleRunner && !existsSync(m.ansibleRunner)) m.ansibleRunner = null;
  cached = m;
  return m;
}

/** The Go receptor binaries available to this run. */
export function goRefs(): GoRef[] {
  return manifest().go.filter((g): g is GoRef => Boolean(g.bin));
}

function whyNoGo(): string {
  const reasons = manifest()
    .go.filter((g) => g.unavailable)
    .map((g) => `${g.label}: ${g.unavailable}`);
  if (!existsSync(join(INTEROP_DIR, 'manifest.json'))) return 'no reference install (run `npm run interop:setup`)';
  return reasons.length ? reasons.join('; ') : 'no Go receptor binary in the reference install';
}

const printed = new Set<string>();
/** Skips the suite (from a `before` hook) with one printed line saying why. */
function skipWith(ctx: Mocha.Context, why: string): never {
  const title = ctx.test?.parent?.fullTitle() ?? 'interop';
  if (!printed.has(title)) {
    printed.add(title);
    console.log(`    [interop skipped] ${title}: ${why}`);
  }
  ctx.skip();
}

/** In a `before` hook: skips unless a Go receptor binary is installed. */
export function requireGo(ctx: Mocha.Context): GoRef[] {
  const refs = goRefs();
  if (refs.length === 0) skipWith(ctx, `Go receptor is not installed (${whyNoGo()})`);
  return refs;
}

/** In a `before` hook: skips unless receptorctl (all versions) is installed; returns them. */
export function requireReceptorctl(ctx: Mocha.Context): Array<{version: string; bin: string}> {
  const r = manifest().receptorctl;
  if (r.length === 0) skipWith(ctx, 'receptorctl is not installed (run `npm run interop:setup`)');
  return r;
}

/** In a `before` hook: skips unless ansible-runner is installed. */
export function requireAnsibleRunner(ctx: Mocha.Context): {python: string; ansibleRunner: string; receptorctl: string} {
  const m = manifest();
  const rc = m.receptorctl[m.receptorctl.length - 1];
  if (!m.python || !m.ansibleRunner || !rc) skipWith(ctx, 'ansible-runner is not installed (run `npm run interop:setup`)');
  return {python: m.python, ansibleRunner: m.ansibleRunner, receptorctl: rc.bin};
}

/** One implementation of a node. */
export type Impl = {kind: 'ours'; label: 'ts'} | {kind: 'go'; label: string; bin: string};
export const OURS: Impl = {kind: 'ours', label: 'ts'};
export function goImpl(g: GoRef): Impl {
  return {kind: 'go', label: `go-${g.label}`, bin: g.bin};
}
/** (ours, go) and (go, ours) for every Go binary: the mixed pairs each case runs in. */
export function mixedPairs(): Array<[Impl, Impl]> {
  return goRefs().flatMap((g) => [
    [OURS, goImpl(g)],
    [goImpl(g), OURS],
  ]);
}

/** A fresh temporary folder for one test's configs, sockets and data. */
export function tempDir(prefix = 'receptor-interop-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The tests' child environment (test/support/cli.ts) without a RECEPTORCTL_SOCKET of the user's. */
function interopEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {RECEPTORCTL_SOCKET: undefined, ...extra};
}

/** The environment for a program an interop test spawns itself. */
export function interopChildEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return childEnv(interopEnv(extra));
}

/** A config item: `{key: value}` (v1 YAML list element). */
export type Item = Record<string, unknown>;

export interface NodeOptions {
  /** Items after `node` and `control-service` (backends, work types, services…). */
  items?: Item[];
  /** Extra fields of the `node` item (datadir defaults to <dir>/<id>-data). */
  node?: Record<string, unknown>;
  /** Extra fields of the `control-service` item (e.g. `tls`: the mesh service over TLS). */
  controlService?: Record<string, unknown>;
  /** Log level (both implementations): default info. */
  logLevel?: 'error' | 'warning' | 'info' | 'debug';
  env?: Record<string, string | undefined>;
}

/** A real daemon of either implementation with a unix control socket. */
export class InteropNode {
  readonly sock: string;
  readonly config: string;
  readonly dataDir: string;
  child: ChildProcess | undefined;
  stderr = '';
  stdout = '';
  private exitedP: Promise<void> = Promise.resolve();

  constructor(
    readonly impl: Impl,
    readonly id: string,
    readonly dir: string,
    readonly opts: NodeOptions = {},
  ) {
    this.sock = join(dir, `${id}.sock`);
    this.config = join(dir, `${id}.yml`);
    this.dataDir = (opts.node?.datadir as string | undefined) ?? join(dir, `${id}-data`);
    mkdirSync(this.dataDir, {recursive: true});
    const items: Item[] = [
      {node: {id, datadir: this.dataDir, ...opts.node}},
      {'log-level': opts.logLevel ?? 'info'},
      {'control-service': {service: 'control', filename: this.sock, ...opts.controlService}},
      ...(opts.items ?? []),
    ];
    writeFileSync(this.config, stringify(items));
  }

  /** Spawns the daemon and waits until its control socket greets. */
  async start(timeoutMs = 30_000): Promise<this> {
    const [cmd, args] = this.impl.kind === 'ours' ? [process.execPath, [BIN, '-c', this.config]] : [this.impl.bin, ['-c', this.config]];
    const child = spawn(cmd, args, {cwd: this.dir, env: interopChildEnv(this.opts.env), stdio: ['ignore', 'pipe', 'pipe']});
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    // 'exit', not 'close': command runners a node started may keep its output pipes open.
    this.exitedP = new Promise((resolve) => child.once('exit', () => resolve()));
    await waitFor(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`${this.describe()} exited (${child.exitCode ?? child.signalCode}) while starting\n${this.stderr}`);
        return greets(this.sock, this.id);
      },
      timeoutMs,
      () => `${this.describe()} to answer on ${this.sock}\n${this.stderr}`,
    );
    return this;
  }

  /** Everything the daemon logged: Go receptor logs to stdout, ours to stderr. */
  output(): string {
    return this.stdout + this.stderr;
  }

  describe(): string {
    return `${this.impl.label} node ${this.id}`;
  }

  get running(): boolean {
    return Boolean(this.child && this.child.exitCode === null && this.child.signalCode === null);
  }

  /** Stops it (SIGTERM, then SIGKILL after a grace period) and waits for the exit. */
  async stop(sig: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
    if (!this.running) return this.exitedP;
    this.child!.kill(sig);
    const t = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    await this.exitedP;
    clearTimeout(t);
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child!.kill(sig);
  }
}

/** True when the socket answers with the greeting of node `id`. */
export function greets(sock: string, id: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(sock);
    let buf = '';
    const done = (v: boolean) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(2000, () => done(false));
    s.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\n')) done(buf.startsWith(`Receptor Control, node ${id}`));
    });
    s.on('error', () => done(false));
    s.on('close', () => done(false));
  });
}

/**
 * One request line on a fresh control session; the reply after the greeting: `lines` whole
 * lines when given (Go keeps a session open after a one-line reply), else everything to EOF.
 */
export function controlRequest(sock: string, line: string, opts: {lines?: number; timeoutMs?: number} = {}): Promise<string> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  return new Promise((resolve, reject) => {
    const s = net.connect(sock);
    let out = '';
    const reply = () => {
      const i = out.indexOf('\n');
      return i >= 0 ? out.slice(i + 1) : '';
    };
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no end of reply to ${JSON.stringify(line)} on ${sock} within ${timeoutMs} ms: ${JSON.stringify(out)}`));
    }, timeoutMs);
    s.on('data', (d) => {
      out += d.toString();
      if (opts.lines !== undefined && reply().split('\n').length > opts.lines) {
        clearTimeout(timer);
        const r = reply().split('\n').slice(0, opts.lines).join('\n') + '\n';
        s.destroy();
        resolve(r);
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve(reply());
    });
    s.once('connect', () => s.write(line + '\n'));
  });
}

export interface MeshStatus {
  NodeID: string;
  Connections: Array<{NodeID: string; Cost: number}> | null;
  RoutingTable: Record<string, string> | null;
  Advertisements: Array<{NodeID: string; Service: string; Tags?: Record<string, string> | null}> | null;
  KnownConnectionCosts: Record<string, Record<string, number>> | null;
  WorkCommands?: unknown;
  Version?: string;
}

/** `status` through the control socket, parsed. */
export async function meshStatus(sock: string): Promise<MeshStatus> {
  const reply = await controlRequest(sock, 'status', {lines: 1});
  return JSON.parse(reply) as MeshStatus;
}

/** Waits until `node`'s routing table has a route to each of `to`. */
export async function waitRoutes(node: InteropNode, to: string[], timeoutMs = 30_000): Promise<MeshStatus> {
  let last: MeshStatus | undefined;
  return waitFor(
    async () => {
      last = await meshStatus(node.sock).catch(() => undefined);
      return last && to.every((t) => last!.RoutingTable?.[t] !== undefined) ? last : undefined;
    },
    timeoutMs,
    () => `${node.describe()} to route to ${to.join(', ')} (routing table: ${JSON.stringify(last?.RoutingTable)})\n${node.stderr.slice(-4000)}`,
  );
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion with a deadline (60 s unless given; stdin: `input`, or closed). */
export function run(cmd: string, args: string[], opts: CliOptions = {}): Promise<RunResult> {
  return runProgram(cmd, args, {...opts, env: interopEnv(opts.env), timeoutMs: opts.timeoutMs ?? 60_000});
}

/** Our CLI (bin/run.js). */
export function ours(args: string[], opts: Parameters<typeof run>[2] = {}): Promise<RunResult> {
  return run(process.execPath, [BIN, ...args], opts);
}

/** Spawning the real CLI (bin/run.js) in end-to-end tests. */
import {spawn, type ChildProcess} from 'node:child_process';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string | Buffer;
  timeoutMs?: number;
  /** An installed `receptor` executable to run instead of `node bin/run.js` (Daemon). */
  bin?: string;
}

/** This process's environment for a child, less mocha's loader, plus `extra` (undefined = unset). */
export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {...process.env, ...extra};
  delete env.NODE_OPTIONS; // don't inherit mocha's tsx loader
  for (const [k, v] of Object.entries(extra)) if (v === undefined) delete env[k];
  return env;
}

/** oclif's data, cache and config folders for the CLI under `work` (plugins, completion caches). */
export function cliDirs(work: string): Record<string, string> {
  return {RECEPTOR_DATA_DIR: join(work, 'data'), RECEPTOR_CACHE_DIR: join(work, 'cache'), RECEPTOR_CONFIG_DIR: join(work, 'config')};
}

/** Runs the CLI to completion. */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return runProgram(process.execPath, [BIN, ...args], opts, `receptor ${args.join(' ')}`);
}

/** Runs a program to completion with a deadline (30 s unless given); stdin is `input`, or closed. */
export function runProgram(cmd: string, args: string[], opts: CliOptions = {}, label = `${cmd} ${args.join(' ')}`): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {cwd: opts.cwd ?? REPO_ROOT, env: childEnv(opts.env)});
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${label} did not finish within ${opts.timeoutMs ?? 30_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({code, signal, stdout, stderr});
    });
    child.stdin.on('error', () => {}); // a program that exits without reading its input
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** A long-running CLI process (a daemon) whose output can be awaited. */
export class Daemon {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<CliResult>;

  constructor(args: string[], opts: CliOptions = {}) {
    const [cmd, argv] = opts.bin ? [opts.bin, args] : [process.execPath, [BIN, ...args]];
    this.child = spawn(cmd, argv, {cwd: opts.cwd ?? REPO_ROOT, env: childEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe']});
    this.child.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => resolve({code, signal, stdout: this.stdout, stderr: this.stderr}));
    });
  }

  /** Structured log records (pino JSON lines on stderr). */
  logs(): Array<Record<string, unknown>> {
    return this.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return {};
        }
      });
  }

  /** Polls until a log record with this msg appears (or the process exits / the deadline passes). */
  async waitForLog(msg: string | RegExp, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const match = (r: Record<string, unknown>) => (typeof msg === 'string' ? r.msg === msg : msg.test(String(r.msg ?? '')));
    return waitFor(
      () => this.logs().find(match),
      timeoutMs,
      () => `log ${String(msg)}\nstderr: ${this.stderr}\nstdout: ${this.stdout}`,
      this,
    );
  }

  kill(sig: NodeJS.Signals = 'SIGINT'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(sig);
  }

  async stop(sig: NodeJS.Signals = 'SIGINT', timeoutMs = 15_000): Promise<CliResult> {
    this.kill(sig);
    const timer = setTimeout(() => this.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Starts one daemon per config file (`receptor -c FILE`), one after another, each pushed
 * onto `into` before it is awaited (so the caller's cleanup also stops one that failed), and
 * waits until each has logged `Initialization complete`.
 */
export async function startDaemons(configs: string[], into: Daemon[]): Promise<void> {
  for (const config of configs) {
    const d = new Daemon(['-c', config]);
    into.push(d);
    await d.waitForLog('Initialization complete');
  }
}

/** Polls `probe` every 25 ms until it returns a value other than undefined/false. */
export async function waitFor<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, what: () => string, daemon?: Daemon): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (daemon && daemon.child.exitCode !== null) throw new Error(`process exited (${daemon.child.exitCode}) while waiting for ${what()}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Helpers of the remote-work interop tests (work*.test.ts): node items with the test work
 * types, unit status polling over the raw control protocol, byte-exact result capture.
 */
import {execFileSync, spawn, type ChildProcess} from 'node:child_process';
import {createHash, randomBytes} from 'node:crypto';
import {existsSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {BIN, REPO_ROOT, waitFor} from '../support/cli.js';
import {controlRequest, interopChildEnv, type InteropNode, type Item} from './support.js';

/** Files shared by the work types of one suite (keys, payload files). */
export interface WorkFiles {
  dir: string;
  privKey: string;
  pubKey: string;
  /** Two halves of random output (`halves` work type). */
  half1: string;
  half2: string;
  halvesSha: string;
  halvesSize: number;
  /** The big random output (`big` work type), when made. */
  big?: string;
  bigSha?: string;
  bigSize?: number;
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** RSA keys (openssl, as the README says) and random output files in `dir`. */
export function makeWorkFiles(dir: string, opts: {halfBytes?: number; bigBytes?: number} = {}): WorkFiles {
  const privKey = join(dir, 'work-priv.pem');
  const pubKey = join(dir, 'work-pub.pem');
  execFileSync('openssl', ['genrsa', '-out', privKey, '2048'], {stdio: 'ignore'});
  execFileSync('openssl', ['rsa', '-in', privKey, '-pubout', '-out', pubKey], {stdio: 'ignore'});
  const halfBytes = opts.halfBytes ?? 4 << 20;
  const h1 = randomBytes(halfBytes);
  const h2 = randomBytes(halfBytes);
  const half1 = join(dir, 'half1.bin');
  const half2 = join(dir, 'half2.bin');
  writeFileSync(half1, h1);
  writeFileSync(half2, h2);
  const files: WorkFiles = {dir, privKey, pubKey, half1, half2, halvesSha: sha256(Buffer.concat([h1, h2])), halvesSize: 2 * halfBytes};
  if (opts.bigBytes) {
    const big = join(dir, 'big.bin');
    const hash = createHash('sha256');
    const chunk = 4 << 20;
    writeFileSync(big, '');
    for (let done = 0; done < opts.bigBytes; done += chunk) {
      const b = randomBytes(Math.min(chunk, opts.bigBytes - done));
      hash.update(b);
      writeFileSync(big, b, {flag: 'a'});
    }
    files.big = big;
    files.bigSha = hash.digest('hex');
    files.bigSize = opts.bigBytes;
  }
  return files;
}

/**
 * The work types every test node offers (same on both implementations):
 *  - `echo`: the payload back (cat);
 *  - `secure`: like echo, but submissions from other nodes must be signed;
 *  - `gated`: prints `first`, waits until the file named by the payload's first line exists,
 *    prints `second` (the test decides when the job ends);
 *  - `halves`: like gated, but prints half1.bin before the wait and half2.bin after it;
 *  - `forever`: prints `started`, then sleeps (until canceled);
 *  - `big`: prints big.bin.
 * Plus work-signing and work-verification with the suite's keys.
 */
export function workItems(f: WorkFiles): Item[] {
  const wait = 'read g; while [ ! -e "$g" ]; do sleep 0.05; done';
  const items: Item[] = [
    {'work-signing': {privatekey: f.privKey, tokenexpiration: '10m'}},
    {'work-verification': {publickey: f.pubKey}},
    {'work-command': {worktype: 'echo', command: 'cat'}},
    {'work-command': {worktype: 'secure', command: 'cat', verifysignature: true}},
    {'work-command': {worktype: 'gated', command: 'sh', params: `-c 'echo first; ${wait}; echo second'`}},
    {'work-command': {worktype: 'halves', command: 'sh', params: `-c 'cat ${f.half1}; ${wait}; cat ${f.half2}'`}},
    {'work-command': {worktype: 'forever', command: 'sh', params: `-c 'echo started; exec sleep 600'`}},
  ];
  if (f.big) items.push({'work-command': {worktype: 'big', command: 'cat', params: f.big}});
  return items;
}

/** A unit's status as `work status` replies (both implementations). */
export interface UnitStatus {
  State: number;
  StateName: string;
  Detail: string;
  StdoutSize: number;
  WorkType: string;
  ExtraData: {RemoteNode?: string; RemoteUnitID?: string; RemoteStarted?: boolean; SignWork?: boolean} | null | string;
}

/** `work status <id>` over the raw control protocol; undefined when refused (`ERROR: …`). */
export async function unitStatus(node: InteropNode, id: string): Promise<UnitStatus | undefined> {
  const line = await controlRequest(node.sock, `work status ${id}`, {lines: 1});
  if (line.startsWith('ERROR')) return undefined;
  return JSON.parse(line) as UnitStatus;
}

/** Polls `work status` until `pred` holds; returns that status. */
export async function waitStatus(node: InteropNode, id: string, pred: (s: UnitStatus) => boolean, what: string, timeoutMs = 60_000): Promise<UnitStatus> {
  let last: UnitStatus | undefined;
  return waitFor(
    async () => {
      last = node.running ? await unitStatus(node, id).catch(() => undefined) : undefined;
      return last && pred(last) ? last : undefined;
    },
    timeoutMs,
    () => `${what} of unit ${id} on ${node.describe()} (last status: ${JSON.stringify(last)})\n${tail(node)}`,
  );
}

/** The last lines of a node's logs (Go logs on stdout, ours on stderr). */
export function tail(node: InteropNode, n = 40): string {
  return node.output().split('\n').slice(-n).join('\n');
}

/** The directory of unit `id` on `node` (`<datadir>/<node id>/<unit id>`, both implementations). */
export function unitDir(node: InteropNode, id: string): string {
  return join(node.dataDir, node.id, id);
}

/** Size of a unit's stdout file on `node` (0 when missing). */
export function localStdoutSize(node: InteropNode, id: string): number {
  try {
    return statSync(join(unitDir(node, id), 'stdout')).size;
  } catch {
    return 0;
  }
}

export function unitDirExists(node: InteropNode, id: string): boolean {
  return existsSync(unitDir(node, id));
}

/** The unit ID in `Unit ID: X` (our CLI) or `Result: …, Unit ID: X` lines. */
export function unitIdOf(out: string): string {
  const m = /Unit ID: (\w+)/.exec(out);
  if (!m) throw new Error(`no unit ID in ${JSON.stringify(out)}`);
  return m[1];
}

export interface HashedRun {
  code: number | null;
  size: number;
  sha: string;
  /** The first 64 KiB of stdout, as text (for messages). */
  head: string;
  stderr: string;
}

/** A running program whose stdout is hashed, not kept (results of many MiB). */
export class HashedProcess {
  readonly child: ChildProcess;
  readonly done: Promise<HashedRun>;
  size = 0;

  constructor(cmd: string, args: string[], opts: {timeoutMs?: number} = {}) {
    this.child = spawn(cmd, args, {cwd: REPO_ROOT, env: interopChildEnv(), stdio: ['ignore', 'pipe', 'pipe']});
    const hash = createHash('sha256');
    const head: Buffer[] = [];
    let headLen = 0;
    let stderr = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      hash.update(d);
      this.size += d.length;
      if (headLen < 65536) {
        head.push(d.subarray(0, 65536 - headLen));
        headLen += Math.min(d.length, 65536 - headLen);
      }
    });
    this.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timeoutMs = opts.timeoutMs ?? 120_000;
    this.done = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(new Error(`${cmd} ${args.join(' ')} did not finish within ${timeoutMs} ms (${this.size} bytes read)\nstderr: ${stderr}`));
      }, timeoutMs);
      this.child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      this.child.on('close', (code) => {
        clearTimeout(timer);
        resolve({code, size: this.size, sha: hash.digest('hex'), head: Buffer.concat(head).toString('utf8'), stderr});
      });
    });
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** `receptor work results ID --socket S` (our CLI), hashed. */
export function oursResults(node: InteropNode, id: string, timeoutMs?: number): HashedProcess {
  return new HashedProcess(process.execPath, [BIN, 'work', 'results', id, '--socket', node.sock], {timeoutMs});
}

/** `receptorctl --socket S work results ID`, hashed. */
export function receptorctlResults(bin: string, node: InteropNode, id: string, timeoutMs?: number): HashedProcess {
  return new HashedProcess(bin, ['--socket', node.sock, 'work', 'results', id], {timeoutMs});
}

/**
 * Kills a node with SIGKILL and waits for the process to exit. (Not for its pipes to close:
 * the command runners it started live on and keep its stderr open.)
 */
export async function kill9(node: InteropNode): Promise<void> {
  const child = node.child;
  if (!child || !node.running) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

/**
 * Test clean-up: force-releases every unit on the running nodes (a job a failed case left
 * running is stopped), then stops the nodes, waiting for the processes to exit (not for their
 * pipes: a command runner that is still winding down keeps a node's stderr open).
 */
export async function cleanUp(nodes: Array<InteropNode | undefined>): Promise<void> {
  const live = nodes.filter((n): n is InteropNode => Boolean(n?.running));
  await Promise.all(
    live.map(async (n) => {
      try {
        const list = JSON.parse(await controlRequest(n.sock, 'work list', {lines: 1, timeoutMs: 10_000})) as Record<string, unknown>;
        for (const id of Object.keys(list)) {
          await controlRequest(n.sock, JSON.stringify({command: 'work', subcommand: 'force-release', unitid: id}), {lines: 1, timeoutMs: 10_000}).catch(() => '');
        }
      } catch {
        // the node does not answer: stop it anyway
      }
    }),
  );
  await Promise.all(
    live.map(async (n) => {
      const child = n.child!;
      const exited = new Promise<void>((resolve) => {
        if (!n.running) resolve();
        else child.once('exit', () => resolve());
      });
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }),
  );
}

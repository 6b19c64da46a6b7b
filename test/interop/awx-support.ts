/**
 * What the AWX flow tests share (awx.test.ts over the mesh, awx-kube.test.ts on container
 * groups): the driver (awx_driver.py, AWX's calls through receptorctl's Python API), private
 * data dirs as AWX prepares them, and the playbooks.
 */
import {expect} from 'chai';
import {createHash, randomBytes} from 'node:crypto';
import {mkdirSync, writeFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {run} from './support.js';

export const DRIVER = join(dirname(fileURLToPath(import.meta.url)), 'awx_driver.py');

export const DEADLINE = 120_000;

/**
 * How much a successful job carries: the size of the private data dir's blob.bin, and how many
 * lines its last task prints (the result travels back in one event). The signed job of every
 * shape is the large one (a payload over many packets, an event of ~1 MB); the others stay small
 * for run time.
 */
export interface Load {
  blobBytes: number;
  count: number;
}

export const LARGE: Load = {blobBytes: 2 << 20, count: 30_000};

export const SMALL: Load = {blobBytes: 64 << 10, count: 100};

/**
 * Runs to the end; checks on the execution node that blob.bin arrived intact (sha1 `blobSha1`),
 * and prints 1..count.
 */
export const okPlaybook = (count: number) => (blobSha1: string) => `- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: greet
      debug:
        msg: hello from the execution node
    - name: run a command
      command: echo interop-ok
      register: out
    - name: keep its output
      set_fact:
        said: "{{ out.stdout }}"
    - name: show it
      debug:
        var: said
    - name: payload
      stat:
        path: "{{ playbook_dir }}/blob.bin"
        checksum_algorithm: sha1
      register: blob
    - name: payload intact
      assert:
        that: blob.stat.checksum == '${blobSha1}'
    - name: count
      command: seq 1 ${count}
      register: counted
    - name: show count
      debug:
        var: counted.stdout_lines
`;

export const OK_TASKS = 8;

export interface Tools {
  python: string;
  ansibleRunner: string;
  receptorctl: string;
}

/** Environment of an execution node: ansible-playbook on PATH, HOME and ansible's temp in the test dir. */
export function execEnv(dir: string, tools: Tools): Record<string, string> {
  const home = join(dir, 'home');
  mkdirSync(join(home, 'tmp'), {recursive: true});
  return {PATH: `${dirname(tools.ansibleRunner)}:${process.env.PATH ?? ''}`, HOME: home, ANSIBLE_LOCAL_TEMP: join(home, 'tmp'), ANSIBLE_REMOTE_TMP: join(home, 'tmp')};
}

export async function python(tools: Tools, args: string[], env: Record<string, string>): Promise<unknown> {
  const r = await run(tools.python, [DRIVER, ...args], {env, timeoutMs: DEADLINE});
  if (r.code !== 0) throw new Error(`awx_driver ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as unknown;
}

/**
 * A private data dir as AWX prepares it: project/main.yml, the playbook `playbook(sha1)` given the
 * sha1 of project/blob.bin (`blobBytes` random bytes).
 */
export function privateDataDir(dir: string, name: string, playbook: (blobSha1: string) => string, blobBytes = SMALL.blobBytes): string {
  const pdd = join(dir, 'pdd', name);
  mkdirSync(join(pdd, 'project'), {recursive: true});
  const blob = randomBytes(blobBytes);
  writeFileSync(join(pdd, 'project', 'blob.bin'), blob);
  writeFileSync(join(pdd, 'project', 'main.yml'), playbook(createHash('sha1').update(blob).digest('hex')));
  return pdd;
}

/**
 * Every event arrived: counters 1..N without a gap, from playbook_on_start to playbook_on_stats
 * (ansible's warnings come before as `verbose` events). Returns the event names.
 */
export function expectAllEvents(events: Array<{counter: number; event: string}>): string[] {
  expect(events.map((e) => e.counter)).to.deep.equal(events.map((_, i) => i + 1));
  const names = events.map((e) => e.event);
  expectPlaybookEvents(names);
  return names;
}

export function expectPlaybookEvents(names: string[]): void {
  const playbook = names.filter((n) => n !== 'verbose');
  expect(playbook[0]).to.equal('playbook_on_start');
  expect(playbook[playbook.length - 1]).to.equal('playbook_on_stats');
  expect(playbook).to.include('playbook_on_play_start');
}

export function count(names: string[], name: string): number {
  return names.filter((n) => n === name).length;
}

/** What the driver reports of a job whose results went through ansible-runner's processor. */
export interface ProcessedJob {
  result: {result: string; unitid: string};
  unitid: string;
  status: string;
  statuses: string[];
  events: Array<{counter: number; event: string}>;
  artifactStatus: string | null;
  artifactRc: string | null;
  stdout: string | null;
  /** What the results stream held after the worker's eof line. */
  afterEof: string;
  released: unknown;
}

/**
 * The README quick start, run as written: every block marked `<!-- quickstart:… -->` in
 * README.md (see test/support/readme-transcript.ts for the markers), with `receptor` on the
 * PATH (a shim that runs this checkout's bin/run.js), one bash per README section.
 *
 * Two substitutions, so that runs never collide with each other, with other suites or with
 * a developer's own quick-start nodes: the fixed folders /tmp/qs and /tmp/mesh become folders
 * in a private temporary directory, and the fixed ports 2222 and 2223 become free ports. Both
 * are replaced everywhere in the commands, consistently; nothing else is touched.
 *
 * Daemons the commands start in the background are stopped at the end by signalling the
 * shell's process group (each section's bash runs in its own group).
 */
import {expect} from 'chai';
import {spawn} from 'node:child_process';
import {chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {BIN, REPO_ROOT, childEnv, waitFor} from '../support/cli.js';
import {freePorts} from '../support/ports.js';
import {linePattern, markedBlocks, matchOutput, transcriptSteps, type Bindings, type ReadmeBlock} from '../support/readme-transcript.js';

const README = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
/** How long one section may take (starting nodes, waiting for links, the commands). */
const SECTION_MS = 90_000;

/** True while some process of the group `pgid` is alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops a process group: SIGTERM (daemons shut down cleanly), SIGKILL after 10 s. */
async function stopGroup(pgid: number): Promise<void> {
  if (!groupAlive(pgid)) return;
  process.kill(-pgid, 'SIGTERM');
  try {
    await waitFor(
      () => !groupAlive(pgid),
      10_000,
      () => `process group ${pgid} to exit`,
    );
  } catch {
    if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
  }
}

interface ShellRun {
  stdout: string;
  code: number | null;
  timedOut: boolean;
}

/** Runs `script` with bash in its own process group; waits for bash (not its background jobs). */
function runShell(script: string, cwd: string, env: NodeJS.ProcessEnv, groups: number[]): Promise<ShellRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['--noprofile', '--norc', '-s'], {cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe']});
    groups.push(child.pid!);
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stdout += d.toString()));
    const timer = setTimeout(() => {
      process.kill(-child.pid!, 'SIGKILL');
      resolve({stdout, code: null, timedOut: true});
    }, SECTION_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      // background daemons keep the pipes open: give the last output a moment, not the close
      setImmediate(() => resolve({stdout, code, timedOut: false}));
    });
    child.stdin.end(script);
  });
}

const tag = (what: string) => `@@quickstart:${what}@@`;
const BEGIN = /^@@quickstart:begin:(\d+)@@$/;
const END = /^@@quickstart:end:(\d+):(\d+)@@$/;

interface Step {
  kind: 'run' | 'command';
  block: ReadmeBlock;
  command: string;
  expected: string[];
  line: number;
}

/** One bash script for a section's blocks; each step's output is framed by marker lines. */
function sectionScript(steps: Step[], substitute: (s: string) => string): string {
  const out: string[] = ['exec 2>&1 # one stream, in order, as in a terminal'];
  steps.forEach((s, i) => {
    out.push(`printf '%s\\n' '${tag(`begin:${i}`)}'`);
    // run blocks: stop at the first failing command (a paste would show its error)
    if (s.kind === 'run') out.push('set -e', substitute(s.command), 'set +e');
    else out.push('{', substitute(s.command), '} 2>&1');
    out.push(`printf '\\n%s\\n' "@@quickstart:end:${i}:$?@@"`);
  });
  return out.join('\n') + '\n';
}

/** Splits framed output into each step's output text and exit status. */
function stepResults(stdout: string): Map<number, {output: string; code: number}> {
  const results = new Map<number, {output: string; code: number}>();
  let current: number | undefined;
  let buf: string[] = [];
  for (const line of stdout.split('\n')) {
    const b = BEGIN.exec(line);
    const e = END.exec(line);
    if (b) {
      current = Number(b[1]);
      buf = [];
    } else if (e && current === Number(e[1])) {
      // the end marker starts with its own newline: drop the empty line it adds
      const text = buf.join('\n');
      results.set(current, {output: text.endsWith('\n') ? text.slice(0, -1) : text, code: Number(e[2])});
      current = undefined;
    } else if (current !== undefined) buf.push(line);
  }
  return results;
}

function outputLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

describe('e2e: the README quick start, as written', function () {
  this.timeout(SECTION_MS + 30_000);
  const blocks = markedBlocks(README);
  let tmp: string;
  let bin: string;
  const groups: number[] = [];

  before(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'rqs-'));
    bin = path.join(tmp, 'bin');
    mkdirSync(bin);
    const shim = path.join(bin, 'receptor');
    writeFileSync(shim, `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@"\n`);
    chmodSync(shim, 0o755);
  });

  afterEach(async () => {
    for (const g of groups.splice(0)) await stopGroup(g);
  });

  after(() => rmSync(tmp, {recursive: true, force: true}));

  it('README marks the quick-start blocks (foreground, run, transcript)', () => {
    expect(blocks.map((b) => b.kind)).to.include.members(['foreground', 'run', 'transcript']);
    for (const fixed of ['/tmp/qs', '/tmp/mesh', '2222', '2223']) {
      expect(
        blocks.some((b) => b.body.includes(fixed)),
        `the substitution of ${fixed} still has something to replace`,
      ).to.equal(true);
    }
  });

  for (const block of blocks.filter((b) => b.kind === 'foreground')) {
    it(`README line ${block.line}: "${block.body}" comes up, and stops cleanly on Ctrl-C`, async () => {
      const child = spawn('bash', ['--noprofile', '--norc', '-c', block.body], {cwd: REPO_ROOT, env: childEnv({PATH: `${bin}:${process.env.PATH}`}), detached: true});
      groups.push(child.pid!);
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdout.resume();
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      await waitFor(
        () => stderr.includes('"msg":"Initialization complete"'),
        30_000,
        () => `"Initialization complete" in\n${stderr}`,
      );
      process.kill(-child.pid!, 'SIGINT'); // what Ctrl-C does: the terminal signals the foreground group
      expect(await exited, stderr).to.equal(0);
      expect(stderr).to.include('"msg":"Shutdown complete"');
    });
  }

  const sections = [...new Set(blocks.filter((b) => b.kind !== 'foreground').map((b) => b.section))];
  for (const section of sections) {
    it(`README section "${section}": the commands work and print what the README shows`, async () => {
      const [qsPort, meshPort] = await freePorts(2);
      const substitute = (s: string) =>
        s
          .replaceAll('/tmp/qs', path.join(tmp, 'qs'))
          .replaceAll('/tmp/mesh', path.join(tmp, 'mesh'))
          .replace(/\b2222\b/g, String(qsPort))
          .replace(/\b2223\b/g, String(meshPort));
      const steps: Step[] = [];
      for (const b of blocks.filter((x) => x.section === section && x.kind !== 'foreground')) {
        if (b.kind === 'run') steps.push({kind: 'run', block: b, command: b.body, expected: [], line: b.line});
        else for (const t of transcriptSteps(b)) steps.push({kind: 'command', block: b, ...t});
      }
      const cwd = path.join(tmp, `section-${sections.indexOf(section)}`);
      mkdirSync(cwd);
      const env = childEnv({PATH: `${bin}:${process.env.PATH}`, RECEPTORCTL_SOCKET: undefined});
      const run = await runShell(sectionScript(steps, substitute), cwd, env, groups);
      const results = stepResults(run.stdout);
      let bindings: Bindings = new Map();
      for (const [i, s] of steps.entries()) {
        const r = results.get(i);
        const where = `README line ${s.line}: ${s.kind === 'run' ? 'the block' : `$ ${s.command}`}`;
        if (!r) {
          expect.fail(`${where}: ${run.timedOut ? `still running after ${SECTION_MS} ms` : `never finished (the shell exited ${run.code})`}\nshell output:\n${run.stdout}`);
        }
        if (s.kind === 'run' || s.expected.length === 0) {
          expect(r.code, `${where}: exit status (output:\n${r.output})`).to.equal(0);
          continue;
        }
        const actual = outputLines(r.output);
        const matched = matchOutput(s.expected, actual, bindings);
        if (!matched) expect.fail(`${where}: printed\n${actual.join('\n')}\n--- but README shows\n${s.expected.join('\n')}`);
        bindings = matched;
      }
    });
  }
});

describe('README transcript matcher', () => {
  it('durations, unit IDs and "..." vary; everything else must be equal', () => {
    const ok = (e: string[], a: string[]) => matchOutput(e, a, new Map()) !== undefined;
    expect(ok(['Reply from bar in 2.835401ms'], ['Reply from bar in 612.3µs'])).to.equal(true);
    expect(ok(['Reply from bar in 2.835401ms'], ['Reply from baz in 612.3µs'])).to.equal(false);
    expect(ok(['Reply from bar in 2.835401ms'], ['ERROR: no route to node'])).to.equal(false);
    expect(ok(['Unit ID: UBc2aWeq'], ['Unit ID: qITQDHd8'])).to.equal(true);
    expect(ok(['Released:'], ['Released:'])).to.equal(true);
    expect(ok(['Released:'], ['Released'])).to.equal(false);
    expect(ok(['{"a":[...],...,"NodeID":"bar",...}'], ['{"a":[1,2],"b":3,"NodeID":"bar","c":4}'])).to.equal(true);
    expect(ok(['{"a":[...],...,"NodeID":"bar",...}'], ['{"a":[1,2],"b":3,"NodeID":"foo","c":4}'])).to.equal(false);
    expect(ok(['HELLO FROM FOO'], ['HELLO FROM FOO', 'extra'])).to.equal(false);
    expect(linePattern('0: foo in 41.2µs').ids).to.deep.equal([]);
  });

  it('an example ID stands for one real ID throughout; lists of IDs may come in any order', () => {
    let b: Bindings | undefined = matchOutput(['Unit ID: UBc2aWeq'], ['Unit ID: zzzzzzz1'], new Map());
    expect(b?.get('UBc2aWeq')).to.equal('zzzzzzz1');
    b = matchOutput(['948nntU9', 'UBc2aWeq'], ['zzzzzzz1', 'aaaaaaa2'], b!);
    expect(b?.get('948nntU9')).to.equal('aaaaaaa2');
    expect(matchOutput(['(948nntU9, released)', '(UBc2aWeq, released)'], ['(aaaaaaa2, released)', '(zzzzzzz1, released)'], b!)).to.not.equal(undefined);
    expect(matchOutput(['(UBc2aWeq, released)'], ['(bbbbbbb3, released)'], b!), 'a different ID').to.equal(undefined);
    expect(matchOutput(['948nntU9', 'UBc2aWeq'], ['aaaaaaa2', 'aaaaaaa2'], new Map()), 'two examples, one ID').to.equal(undefined);
  });

  it('markers: an unknown kind or a marker without a block is an error naming the line', () => {
    expect(() => markedBlocks('x\n<!-- quickstart:runn -->\n```\nls\n```\n')).to.throw('README line 2: unknown marker quickstart:runn');
    expect(() => markedBlocks('<!-- quickstart:run -->\nls\n')).to.throw('README line 1: quickstart:run is not followed by a fenced block');
    const [b] = markedBlocks('## S\n<!-- quickstart:transcript -->\n```\n$ echo hi\nhi\n```\n');
    expect(b).to.deep.include({kind: 'transcript', section: 'S', line: 4});
    expect(transcriptSteps(b)).to.deep.equal([{command: 'echo hi', expected: ['hi'], line: 4}]);
  });
});

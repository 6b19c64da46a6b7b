/**
 * The command runner as real processes (workceptor.md §7.1): bin/run.js re-executed with
 * `--command-runner`, spawned detached by spawnCommandRunner on a temporary unit directory,
 * running real jobs. Needs `npm run build` (the runner runs from dist/).
 */
import {expect} from 'chai';
import {execFileSync, spawn, type ChildProcess} from 'node:child_process';
import {closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {spawnCommandRunner} from '../../src/core/work/spawn-runner.js';
import {readStatus, type StatusRecord} from '../../src/core/work/status.js';
import {parseRunnerArgs} from '../../src/work-runner-main.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const runJs = join(repo, 'bin', 'run.js');
const selfCommand = [process.execPath, runJs];
const EXTRA = {Pid: 0, Params: ''};

async function until<T>(probe: () => T | undefined | false, what: string, timeoutMs = 10_000, stepMs = 5): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

function tryStatus(dir: string): StatusRecord | undefined {
  try {
    return readStatus(dir);
  } catch {
    return undefined;
  }
}

/** Polls the unit's status file until `ok` holds for it; returns that status. */
function untilStatus(dir: string, ok: (s: StatusRecord) => boolean, what: string, timeoutMs?: number, stepMs?: number): Promise<StatusRecord> {
  return until(
    () => {
      const s = tryStatus(dir);
      return s && ok(s) && s;
    },
    what,
    timeoutMs,
    stepMs,
  );
}

/** Whether `pid` is a live (non-zombie) process. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Fields of /proc/<pid>/stat after the command name: [state, ppid, pgrp, session, …]. */
function procStat(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

describe('work: command runner (real processes)', function () {
  this.timeout(30_000);
  let root: string;
  const pids: number[] = [];
  const runners: ChildProcess[] = [];

  before(function () {
    if (!existsSync(join(repo, 'dist', 'work-runner-main.js'))) throw new Error('run `npm run build` first');
    root = mkdtempSync(join(tmpdir(), 'receptor-runner-'));
  });
  after(() => rmSync(root, {recursive: true, force: true}));
  afterEach(() => {
    for (const pid of pids.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    runners.splice(0);
  });

  let n = 0;
  function makeUnit(stdin: string | null = '', workType = 'echo'): string {
    const dir = join(root, `unit${++n}`);
    mkdirSync(dir, {mode: 0o700});
    writeFileSync(join(dir, 'status'), JSON.stringify({State: 0, Detail: 'Launching command runner', StdoutSize: 0, WorkType: workType, ExtraData: EXTRA}) + '\n', {mode: 0o600});
    if (stdin !== null) writeFileSync(join(dir, 'stdin'), stdin, {mode: 0o600});
    return dir;
  }

  function startRunner(command: string, params: string, unitdir: string, logLevel = 'error'): {child: ChildProcess; exit: Promise<number | null>} {
    const child = spawnCommandRunner({selfCommand, logLevel, command, params, unitdir});
    runners.push(child);
    if (child.pid) pids.push(child.pid);
    const exit = new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => resolve(code));
    });
    return {child, exit};
  }

  const stdoutOf = (dir: string) => readFileSync(join(dir, 'stdout'));

  it('runs a job with the unit stdin and ends Succeeded `exit status 0` with the exact output', async () => {
    const payload = 'hello\nworld\n\u00e9\u0000end';
    const dir = makeUnit(payload);
    const {exit} = startRunner('cat', '', dir);
    expect(await exit).to.equal(0);
    const want = Buffer.from(payload);
    expect(stdoutOf(dir).equals(want)).to.equal(true);
    expect(readStatus(dir)).to.deep.equal({State: 2, Detail: 'exit status 0', StdoutSize: want.length, WorkType: 'echo', ExtraData: EXTRA});
    expect(readFileSync(join(dir, 'status'), 'utf8')).to.equal(
      `{"State":2,"Detail":"exit status 0","StdoutSize":${want.length},"WorkType":"echo","ExtraData":{"Pid":0,"Params":""}}\n`,
    );
    expect(statSync(join(dir, 'stdout')).mode & 0o777).to.equal(0o600);
  });

  it('merges stderr into stdout and reports a non-zero exit as Failed `exit status 3`', async () => {
    const dir = makeUnit('');
    const {exit} = startRunner('sh', `-c 'echo out; echo err >&2; exit 3'`, dir);
    expect(await exit).to.equal(3);
    expect(stdoutOf(dir).toString()).to.equal('out\nerr\n');
    expect(readStatus(dir)).to.deep.include({State: 3, Detail: 'exit status 3', StdoutSize: 8});
  });

  it('reports a job killed by a signal as `signal: <name>`', async () => {
    const dir = makeUnit('');
    const {exit} = startRunner('sh', `-c 'kill -TERM $$'`, dir);
    expect(await exit).to.equal(255);
    expect(readStatus(dir)).to.deep.include({State: 3, Detail: 'signal: terminated'});
  });

  it('splits params with quotes and escapes like google/shlex', async () => {
    const dir = makeUnit('');
    const params = `-c 'printf "[%s]" "$@"' argv0 "a b" 'c  d' e\\ f "g\\"h" '' #comment ignored`;
    const {exit} = startRunner('sh', params, dir);
    expect(await exit).to.equal(0);
    expect(stdoutOf(dir).toString()).to.equal('[a b][c  d][e f][g"h][]');
  });

  it('fails with the shlex error for unbalanced quotes', async () => {
    const dir = makeUnit('');
    const {exit} = startRunner('echo', `"unterminated`, dir);
    expect(await exit).to.equal(255);
    expect(readStatus(dir)).to.deep.equal({
      State: 3,
      Detail: 'EOF found when expecting closing quote',
      StdoutSize: 0,
      WorkType: 'echo',
      ExtraData: EXTRA,
    });
  });

  it("fails with Go's exec error texts when the command cannot run", async () => {
    const script = join(root, 'no-shebang.sh');
    writeFileSync(script, 'echo should not run\n', {mode: 0o755});
    const plain = join(root, 'not-executable');
    writeFileSync(plain, '#!/bin/sh\necho no\n', {mode: 0o644});
    const cases: Array<[string, string]> = [
      ['receptor-no-such-command-xyz', 'exec: "receptor-no-such-command-xyz": executable file not found in $PATH'],
      ['/nonexistent/bin', 'fork/exec /nonexistent/bin: no such file or directory'],
      [root, `fork/exec ${root}: permission denied`],
      [script, `fork/exec ${script}: exec format error`],
    ];
    // (Even for root, execve needs an execute bit.)
    cases.push([plain, `fork/exec ${plain}: permission denied`]);
    for (const [command, detail] of cases) {
      const dir = makeUnit('');
      const {exit} = startRunner(command, '', dir);
      expect(await exit, command).to.equal(255);
      expect(readStatus(dir), command).to.deep.equal({State: 3, Detail: detail, StdoutSize: 0, WorkType: 'echo', ExtraData: EXTRA});
      // The runner creates stdout before it tries to exec (as Go's does).
      expect(existsSync(join(dir, 'stdout')), command).to.equal(true);
    }
  });

  it('a missing stdin file is an empty payload', async () => {
    const dir = makeUnit(null);
    const {exit} = startRunner('wc', '-c', dir);
    expect(await exit).to.equal(0);
    expect(stdoutOf(dir).toString().trim()).to.equal('0');
  });

  it('shows Running right after the spawn, so short jobs are visible', async () => {
    const dir = makeUnit('');
    const {exit} = startRunner('sleep', '0.3', dir);
    const running = await untilStatus(dir, (x) => x.State === 1, 'Running');
    expect(running.Detail).to.match(/^Running: PID \d+$/);
    expect(await exit).to.equal(0);
    expect(readStatus(dir)).to.deep.include({State: 2, Detail: 'exit status 0'});
  });

  it('Not started yet, then Running with the job PID (runner is a session leader, job its child); measures startup and RSS', async () => {
    const dir = makeUnit(null);
    // A FIFO as stdin holds the runner right after `Not started yet` until we open it.
    execFileSync('mkfifo', ['-m', '600', join(dir, 'stdin')]);
    const t0 = process.hrtime.bigint();
    const {child, exit} = startRunner('sh', `-c 'cat; echo fed; exec sleep 30'`, dir);
    const notStarted = await untilStatus(dir, (x) => x.Detail === 'Not started yet', 'Not started yet', 10_000, 1);
    const startupMs = Number(process.hrtime.bigint() - t0) / 1e6;
    expect(notStarted).to.deep.equal({State: 0, Detail: 'Not started yet', StdoutSize: 0, WorkType: 'echo', ExtraData: EXTRA});
    const fd = openSync(join(dir, 'stdin'), 'w');
    writeSync(fd, 'payload\n');
    closeSync(fd);
    const s = await untilStatus(dir, (x) => x.State === 1 && x.StdoutSize === 'payload\nfed\n'.length, 'Running with output');
    const jobPid = Number(/^Running: PID (\d+)$/.exec(s.Detail)![1]);
    const runnerPid = child.pid!;
    expect(jobPid).to.not.equal(runnerPid);
    const [, jobPpid, , jobSid] = procStat(jobPid);
    const [, , runnerPgrp, runnerSid] = procStat(runnerPid);
    expect(Number(jobPpid)).to.equal(runnerPid);
    expect(Number(runnerSid)).to.equal(runnerPid);
    expect(Number(runnerPgrp)).to.equal(runnerPid);
    expect(Number(jobSid)).to.equal(runnerPid);
    expect(s.ExtraData).to.deep.equal(EXTRA);
    const rss = rssKb(runnerPid);
    console.log(`      runner startup (spawn -> "Not started yet"): ${startupMs.toFixed(1)} ms; runner RSS while the job runs: ${(rss / 1024).toFixed(1)} MiB`);
    process.kill(runnerPid, 'SIGTERM');
    expect(await exit).to.equal(255);
    expect(readStatus(dir)).to.deep.include({State: 3, Detail: 'Killed'});
  });

  it('SIGINT to the runner interrupts the job and ends Failed `Killed`, keeping ExtraData', async () => {
    const dir = makeUnit('');
    const extra = {Pid: 4242, Params: '30'};
    writeFileSync(join(dir, 'status'), JSON.stringify({State: 0, Detail: 'Launching command runner', StdoutSize: 0, WorkType: 'sleep', ExtraData: extra}) + '\n');
    // With the SIGKILL fallback an hour away, only the SIGINT can end the job within the test.
    const saved = process.env.RECEPTOR_RUNNER_KILL_DELAY_MS;
    process.env.RECEPTOR_RUNNER_KILL_DELAY_MS = '3600000';
    let started;
    try {
      started = startRunner('sleep', '30', dir);
    } finally {
      if (saved === undefined) delete process.env.RECEPTOR_RUNNER_KILL_DELAY_MS;
      else process.env.RECEPTOR_RUNNER_KILL_DELAY_MS = saved;
    }
    const {child, exit} = started;
    const s = await untilStatus(dir, (x) => x.State === 1, 'Running');
    const jobPid = Number(/^Running: PID (\d+)$/.exec(s.Detail)![1]);
    pids.push(jobPid);
    expect(alive(jobPid)).to.equal(true);
    process.kill(child.pid!, 'SIGINT');
    expect(await exit).to.equal(255);
    expect(readFileSync(join(dir, 'status'), 'utf8')).to.equal('{"State":3,"Detail":"Killed","StdoutSize":0,"WorkType":"sleep","ExtraData":{"Pid":4242,"Params":"30"}}\n');
    await until(() => !alive(jobPid), 'the job to be gone');
  });

  it('a job that traps SIGINT finishes its handler and keeps its output', async () => {
    const dir = makeUnit('', 'trap');
    const job = `-c 'trap "echo trapped; exit 7" INT; echo started; while :; do sleep 0.05; done'`;
    const {child, exit} = startRunner('sh', job, dir);
    await until(() => existsSync(join(dir, 'stdout')) && stdoutOf(dir).toString() === 'started\n', 'job started');
    process.kill(child.pid!, 'SIGTERM');
    expect(await exit).to.equal(255);
    expect(stdoutOf(dir).toString()).to.equal('started\ntrapped\n');
    expect(readStatus(dir)).to.deep.equal({State: 3, Detail: 'Killed', StdoutSize: 16, WorkType: 'trap', ExtraData: EXTRA});
  });

  it('SIGKILLs a job that ignores SIGINT after the (injectable) delay', async () => {
    const dir = makeUnit('');
    const saved = process.env.RECEPTOR_RUNNER_KILL_DELAY_MS;
    process.env.RECEPTOR_RUNNER_KILL_DELAY_MS = '300';
    let started;
    try {
      // The job notes the SIGINT and carries on; only the later SIGKILL ends it.
      started = startRunner('sh', `-c 'trap "echo got-int" INT; echo ready; while :; do sleep 0.05; done'`, dir);
    } finally {
      if (saved === undefined) delete process.env.RECEPTOR_RUNNER_KILL_DELAY_MS;
      else process.env.RECEPTOR_RUNNER_KILL_DELAY_MS = saved;
    }
    const s = await untilStatus(dir, (x) => x.State === 1 && x.StdoutSize === 6, 'Running');
    const jobPid = Number(/^Running: PID (\d+)$/.exec(s.Detail)![1]);
    pids.push(jobPid);
    process.kill(started.child.pid!, 'SIGINT');
    expect(await started.exit).to.equal(255);
    expect(stdoutOf(dir).toString()).to.equal('ready\ngot-int\n');
    expect(readStatus(dir)).to.deep.include({State: 3, Detail: 'Killed', StdoutSize: 14});
    await until(() => !alive(jobPid), 'the job to be killed');
  });

  it('survives the death of the process that spawned it (and of its stderr reader)', async () => {
    const dir = makeUnit('');
    const spawnRunner = join(repo, 'dist', 'core', 'work', 'spawn-runner.js');
    const script = `
      const {spawnCommandRunner} = await import(${JSON.stringify(spawnRunner)});
      const c = spawnCommandRunner(JSON.parse(process.argv[1]));
      c.on('spawn', () => process.stdout.write(c.pid + '\\n'));
      setInterval(() => {}, 1000);
    `;
    const opts = {selfCommand, logLevel: 'debug', command: 'sh', params: `-c 'sleep 1; echo done'`, unitdir: dir};
    const middle = spawn(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(opts)], {stdio: ['ignore', 'pipe', 'pipe']});
    pids.push(middle.pid!);
    let out = '';
    middle.stdout!.on('data', (d) => (out += d));
    const runnerPid = Number(await until(() => /^(\d+)\n/.exec(out)?.[1], 'runner pid'));
    pids.push(runnerPid);
    await until(() => tryStatus(dir)?.State === 1, 'Running');
    // The node dies and nobody reads the runner's stderr any more.
    middle.stdout!.destroy();
    middle.stderr!.destroy();
    middle.kill('SIGKILL');
    await until(() => !alive(middle.pid!), 'the spawner to die');
    await until(() => Number(procStat(runnerPid)[1]) !== middle.pid, 'the runner to be re-parented');
    expect(alive(runnerPid)).to.equal(true);
    const done = await untilStatus(dir, (x) => x.State === 2, 'Succeeded');
    expect(done).to.deep.equal({State: 2, Detail: 'exit status 0', StdoutSize: 5, WorkType: 'echo', ExtraData: EXTRA});
    expect(stdoutOf(dir).toString()).to.equal('done\n');
    await until(() => !alive(runnerPid), 'the runner to exit');
  });

  it('gives up (exit 255) after more than 3 consecutive failed status writes', async () => {
    const dir = makeUnit('');
    const {exit} = startRunner('sleep', '30', dir);
    const s = await untilStatus(dir, (x) => x.State === 1, 'Running');
    const jobPid = Number(/^Running: PID (\d+)$/.exec(s.Detail)![1]);
    pids.push(jobPid);
    // A non-empty directory in place of `status`: every rename over it fails.
    rmSync(join(dir, 'status'));
    mkdirSync(join(dir, 'status'));
    writeFileSync(join(dir, 'status', 'x'), '');
    expect(await exit).to.equal(255);
    expect(alive(jobPid)).to.equal(true); // as in Go, the job is left alone
  });
});

describe('work: command runner argv and command resolution', () => {
  it('parses the argv the node passes (params is one word, keys in any case)', () => {
    expect(parseRunnerArgs(['--node', 'id=worker', '--log-level', 'debug', '--command-runner', 'command=sleep', 'params=30 1', 'unitdir=foo-data/foo/dDIVVP3D'])).to.deep.equal({
      command: 'sleep',
      params: '30 1',
      unitdir: 'foo-data/foo/dDIVVP3D',
      logLevel: 'debug',
    });
    expect(parseRunnerArgs(['-Command-Runner', 'COMMAND=cat', 'Params=', 'UnitDir=/x=y'])).to.deep.equal({
      command: 'cat',
      params: '',
      unitdir: '/x=y',
      logLevel: 'error',
    });
    expect(parseRunnerArgs(['--command-runner', 'command=echo', 'unitdir=/u']).params).to.equal('');
    expect(parseRunnerArgs(['--command-runner', 'command=sh', 'params=-c', 'echo  a=b', 'unitdir=/u']).params).to.equal('-c echo  a=b');
    expect(parseRunnerArgs(['--log-level', 'level=Info', '--command-runner', 'command=x', 'unitdir=/u']).logLevel).to.equal('info');
  });

  it('rejects malformed argv with Go-style messages', () => {
    expect(() => parseRunnerArgs(['--command-runner', 'command=x'])).to.throw('error in --command-runner: required parameter missing: unitdir');
    expect(() => parseRunnerArgs(['--command-runner'])).to.throw('error in --command-runner: required parameters missing: command, unitdir');
    expect(() => parseRunnerArgs(['--command-runner', 'bogus=1'])).to.throw('config error: unknown field name bogus');
    expect(() => parseRunnerArgs(['--command-runner', 'bare'])).to.throw('config error: command does not allow bare values');
    expect(() => parseRunnerArgs(['x=1', '--command-runner'])).to.throw('parameter specified before command');
  });

  it('the CLI prints `Error: <msg>` and exits 1 on bad argv', () => {
    let err: {status?: number; stderr?: Buffer} | undefined;
    try {
      execFileSync(process.execPath, [runJs, '--command-runner', 'command=x'], {stdio: 'pipe'});
    } catch (e) {
      err = e as typeof err;
    }
    expect(err?.status).to.equal(1);
    expect(err?.stderr?.toString()).to.equal('Error: error in --command-runner: required parameter missing: unitdir\n');
  });
});

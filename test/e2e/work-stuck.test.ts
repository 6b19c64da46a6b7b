/**
 * End-to-end: command units whose runner dies without a final status (kill -9, a full disk)
 * end Failed with a clear detail, while the node is up and after it restarts; they never
 * stay Running for ever.
 */
import {expect} from 'chai';
import {execFileSync} from 'node:child_process';
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {Daemon, runCli, waitFor, type CliResult} from '../support/cli.js';
import {tempFiles} from '../support/config-fixtures.js';
import {freePort} from '../support/ports.js';
import type {WorkStatus} from '../../src/core/control/work-client.js';

/** Whether `pid` runs (a zombie nobody reaps does not count). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function killQuietly(pid: number | undefined): void {
  if (pid === undefined || pid <= 0) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** A node `foo` with a unix control socket and the given work types. */
function nodeSetup(dir: string, dataDir: string, types: string[]) {
  const sock = join(dir, 'foo.sock');
  const cfg = join(dir, 'foo.yml');
  let daemon: Daemon | undefined;
  const work = (args: string[]): Promise<CliResult> => runCli(['work', ...args, '--socket', sock]);
  const unitDir = (id: string) => join(dataDir, 'foo', id);
  return {
    work,
    unitDir,
    async start(): Promise<void> {
      // A node needs a backend; the listener's port is never dialled.
      if (!existsSync(cfg)) {
        const port = await freePort();
        const lines = ['- node:', '    id: foo', `    datadir: ${dataDir}`, '- tcp-listener:', `    port: ${port}`, '    bindaddr: 127.0.0.1'];
        writeFileSync(cfg, [...lines, '- control-service:', '    service: control', `    filename: ${sock}`, ...types, ''].join('\n'));
      }
      daemon = new Daemon(['-c', cfg]);
      await daemon.waitForLog('Initialization complete');
    },
    /** Stops the node; waits for its exit only (runners it left hold its stderr open). */
    async stop(sig: NodeJS.Signals = 'SIGTERM'): Promise<void> {
      const d = daemon;
      daemon = undefined;
      if (!d || d.child.exitCode !== null || d.child.signalCode !== null) return;
      const exited = new Promise((resolve) => d.child.once('exit', resolve));
      d.kill(sig);
      await exited;
    },
    async status(id: string): Promise<WorkStatus> {
      const r = await work(['status', id, '--json']);
      expect(r.code, r.stderr).to.equal(0);
      return JSON.parse(r.stdout) as WorkStatus;
    },
    async submit(type: string): Promise<string> {
      const r = await work(['submit', type, '--no-payload']);
      expect(r.code, r.stderr).to.equal(0);
      const m = /^Unit ID: ([a-zA-Z0-9]+)$/m.exec(r.stdout);
      expect(m, r.stdout).to.not.equal(null);
      return m![1];
    },
    /** The runner PID (status file's ExtraData) and the job PID, once the job runs. */
    async running(id: string): Promise<{runner: number; job: number}> {
      return waitFor(
        () => {
          try {
            const s = JSON.parse(readFileSync(join(unitDir(id), 'status'), 'utf8')) as {State: number; Detail: string; ExtraData: {Pid?: number} | null};
            const m = /^Running: PID (\d+)$/.exec(s.Detail);
            if (s.State === 1 && m && (s.ExtraData?.Pid ?? 0) > 0) return {runner: s.ExtraData!.Pid!, job: Number(m[1])};
          } catch {
            // not written yet
          }
          return undefined;
        },
        15_000,
        () => `unit ${id} Running with a runner PID`,
      );
    },
    async until(id: string, pred: (s: WorkStatus) => boolean, what: string, timeoutMs = 15_000): Promise<WorkStatus> {
      let last: WorkStatus | undefined;
      return waitFor(
        async () => {
          last = await this.status(id);
          return pred(last) ? last : undefined;
        },
        timeoutMs,
        () => `${what}; last status ${JSON.stringify(last)}`,
      );
    },
  };
}

describe('e2e: units whose runner dies are not stuck in Running', function () {
  this.timeout(120_000);
  const dir = tempFiles({});
  const node = nodeSetup(dir, join(dir, 'foo-data'), ['- work-command: {worktype: sleep, command: sleep, params: "60"}']);
  const jobs: number[] = [];

  /** Submits a `sleep 60` unit and waits until it runs: its ID and its runner's PID. */
  const runningSleep = async (): Promise<{id: string; runner: number}> => {
    const id = await node.submit('sleep');
    const {runner, job} = await node.running(id);
    jobs.push(job);
    return {id, runner};
  };

  before(async () => node.start());
  after(async () => {
    for (const pid of jobs) killQuietly(pid);
    await node.stop();
  });

  for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
    it(`a runner killed with -9 while the node is up: Failed at once, ExtraData null, also after a restart (${sig})`, async () => {
      const {id, runner} = await runningSleep();
      process.kill(runner, 'SIGKILL');
      const s = await node.until(id, (st) => st.State === 3, 'unit Failed after its runner was killed');
      expect(s.Detail).to.equal('Command runner exited unexpectedly: signal: killed');
      const disk = JSON.parse(readFileSync(join(node.unitDir(id), 'status'), 'utf8')) as WorkStatus;
      expect(disk).to.include({State: 3, Detail: 'Command runner exited unexpectedly: signal: killed'});
      expect(disk.ExtraData).to.equal(null);
      await node.stop(sig);
      await node.start();
      expect(await node.status(id)).to.include({State: 3, Detail: 'Command runner exited unexpectedly: signal: killed'});
    });
  }

  it('a runner killed with -9 while the node is down: Failed at restart', async () => {
    const {id, runner} = await runningSleep();
    await node.stop('SIGKILL');
    expect(alive(runner), 'the detached runner outlives the node').to.equal(true);
    process.kill(runner, 'SIGKILL');
    await waitFor(
      () => !alive(runner),
      10_000,
      () => `runner ${runner} gone`,
    );
    await node.start();
    expect(await node.status(id)).to.include({State: 3, Detail: 'Failed to restart: command runner is gone'});
  });

  it('a runner killed with -9 after the node restarted (not its child): Failed, PID in the detail', async () => {
    const {id, runner} = await runningSleep();
    await node.stop('SIGKILL');
    await node.start();
    expect(await node.status(id)).to.include({State: 1});
    process.kill(runner, 'SIGKILL');
    const s = await node.until(id, (st) => st.State === 3, 'unit Failed after its runner was killed');
    expect(s.Detail).to.equal(`Command runner is gone (PID ${runner})`);
  });

  it('a Running unit whose runner PID now belongs to another process is Failed at restart', async () => {
    const {id, runner} = await runningSleep();
    await node.stop('SIGKILL');
    process.kill(runner, 'SIGKILL');
    await waitFor(
      () => !alive(runner),
      10_000,
      () => `runner ${runner} gone`,
    );
    // The status file names a live process that is no command runner (our own PID).
    const file = join(node.unitDir(id), 'status');
    const s = JSON.parse(readFileSync(file, 'utf8')) as WorkStatus;
    writeFileSync(file, JSON.stringify({...s, ExtraData: {Pid: process.pid, Params: '60'}}) + '\n');
    await node.start();
    expect(await node.status(id)).to.include({State: 3, Detail: 'Failed to restart: command runner is gone'});
  });
});

describe('e2e: a unit that fills the datadir disk', function () {
  this.timeout(120_000);
  const dir = tempFiles({});
  const mnt = join(dir, 'tmpfs');
  let mounted = false;
  const node = nodeSetup(dir, mnt, [
    '- work-command: {worktype: fill, command: head, params: "-c 4194304 /dev/zero"}',
    '- work-command: {worktype: small, command: echo, params: hello}',
  ]);

  before(async function () {
    mkdirSync(mnt, {recursive: true});
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt], {stdio: 'pipe'});
      mounted = true;
    } catch (err) {
      console.log(`    skipped: cannot mount a 2 MiB tmpfs (${((err as {stderr?: Buffer}).stderr ?? '').toString().trim() || (err as Error).message})`);
      this.skip();
    }
    await node.start();
  });
  after(async () => {
    await node.stop();
    if (mounted) execFileSync('umount', [mnt]);
  });

  const checkFiles = (id: string): void => {
    const names = readdirSync(node.unitDir(id));
    expect(
      names.filter((n) => n.endsWith('.tmp')),
      'no temporary status files left',
    ).to.deep.equal([]);
    const status = JSON.parse(readFileSync(join(node.unitDir(id), 'status'), 'utf8')) as WorkStatus;
    expect(status.WorkType).to.equal('fill');
  };

  for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
    it(`ends Failed with "no space left on device", leaves a valid status file, the node keeps serving; also after a restart (${sig})`, async () => {
      const id = await node.submit('fill');
      const s = await node.until(id, (st) => st.State === 3, 'unit Failed on a full disk', 30_000);
      expect(s.Detail).to.match(/^Command runner exited unexpectedly: exit status \d+ \(status file not written: no space left on device\)$/);
      checkFiles(id);
      expect((await node.work(['list', '--json'])).code).to.equal(0);

      await node.stop(sig);
      await node.start();
      const r = await node.status(id);
      expect(r.State).to.equal(3);
      // The disk may fill before the runner's first Running write: then the unit was Pending.
      expect(r.Detail).to.match(/^(Failed to restart: command runner is gone|Pending at restart) \(status file not written: no space left on device\)$/);
      checkFiles(id);

      // Freeing the space: the node serves new work again.
      expect((await node.work(['release', id])).code).to.equal(0);
      expect(existsSync(node.unitDir(id))).to.equal(false);
      const small = await node.submit('small');
      const done = await node.until(small, (st) => st.State === 2, 'small unit Succeeded');
      expect(done.Detail).to.equal('exit status 0');
      expect((await node.work(['release', small])).code).to.equal(0); // the next variant starts with an empty disk
    });
  }
});

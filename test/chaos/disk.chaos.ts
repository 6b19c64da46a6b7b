/**
 * Chaos: the datadir's disk. (1) The submitter's datadir (a small tmpfs) fills while it copies
 * a remote unit's results: the unit ends with a clear error, its status file stays valid JSON,
 * `work results` ends, and the node keeps serving (ping, a new small unit elsewhere; a new
 * remote unit once space is freed). (2) A read-only datadir at start: a clear error naming the
 * directory and a non-zero exit. Needs `mount -t tmpfs` (root); skips with a printed reason.
 */
import {expect} from 'chai';
import {execFileSync, spawnSync} from 'node:child_process';
import {mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {BIN, childEnv, waitFor} from '../support/cli.js';
import {freePorts} from '../support/ports.js';
import {suiteScale, tally} from '../support/tally.js';
import {InteropNode, OURS, ours, tempDir, waitRoutes, type Item} from '../interop/support.js';
import {cleanUp, oursResults, tail, unitDir, unitIdOf, unitStatus} from '../interop/work-helpers.js';

const FAILED = 3;
const SUCCEEDED = 2;
const OUTPUT = suiteScale() === 'short' ? 8 << 20 : 32 << 20;

function mountTmpfs(ctx: Mocha.Context, at: string, opts: string): void {
  mkdirSync(at, {recursive: true});
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', at], {stdio: 'pipe'});
  } catch (err) {
    console.log(`    skipped: cannot mount a tmpfs (${((err as {stderr?: Buffer}).stderr ?? '').toString().trim() || (err as Error).message})`);
    ctx.skip();
  }
}

function unmount(at: string): void {
  spawnSync('umount', [at], {stdio: 'ignore'});
}

describe('chaos: the submitter datadir fills during results', function () {
  this.timeout(180_000);
  let dir: string;
  let mnt: string;
  let mounted = false;
  let S: InteropNode | undefined;
  let E: InteropNode | undefined;

  before(async function () {
    dir = tempDir('receptor-chaos-disk-');
    mnt = join(dir, 'tmpfs');
    mountTmpfs(this, mnt, 'size=2m');
    mounted = true;
    const [port] = await freePorts(1);
    const types: Item[] = [
      {'work-command': {worktype: 'big', command: 'head', params: `-c ${OUTPUT} /dev/urandom`}},
      {'work-command': {worktype: 'small', command: 'echo', params: 'hello'}},
    ];
    S = new InteropNode(OURS, 'sub', dir, {node: {datadir: mnt}, items: [{'tcp-listener': {port, bindaddr: '127.0.0.1'}}, ...types]});
    E = new InteropNode(OURS, 'exec', dir, {items: [{'tcp-peer': {address: `127.0.0.1:${port}`, redial: true}}, ...types]});
    await Promise.all([S.start(), E.start()]);
    await waitRoutes(S, ['exec']);
  });
  after(async () => {
    await cleanUp([S, E]);
    if (mounted) unmount(mnt);
  });

  it('the unit fails with "no space left on device", its status file stays valid, results end, the node keeps serving', async () => {
    const sub = await ours(['work', 'submit', 'big', '--node', 'exec', '--no-payload', '--socket', S!.sock]);
    expect(sub.code, sub.stdout + sub.stderr).to.equal(0);
    const id = unitIdOf(sub.stdout);
    const streaming = oursResults(S!, id, 120_000);
    let last: Awaited<ReturnType<typeof unitStatus>>;
    const st = await waitFor(
      async () => {
        last = await unitStatus(S!, id).catch(() => undefined);
        return last && last.State === FAILED ? last : undefined;
      },
      90_000,
      () => `unit ${id} Failed on the full disk (last: ${JSON.stringify(last)})\n${tail(S!)}`,
    ).catch((err: Error) => {
      tally('stuck units');
      throw err;
    });
    tally('scenarios');
    expect(st.Detail).to.match(/no space left on device/);
    // The results stream ends (with what fitted) and the CLI says why the unit failed.
    const r = await streaming.done;
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr).to.match(/no space left on device/);
    expect(r.size).to.be.below(OUTPUT);
    // No torn or temporary status file.
    const names = readdirSync(unitDir(S!, id));
    expect(names.filter((n) => n.endsWith('.tmp'))).to.deep.equal([]);
    const onDisk = JSON.parse(readFileSync(join(unitDir(S!, id), 'status'), 'utf8')) as {WorkType: string};
    expect(onDisk.WorkType).to.equal('remote');
    // The node keeps serving: ping, and a small unit on the other node through it...
    const ping = await ours(['ping', 'exec', '--count', '1', '--socket', S!.sock]);
    expect(ping.code, ping.stdout + ping.stderr).to.equal(0);
    const other = await ours(['work', 'submit', 'small', '--no-payload', '--socket', E!.sock]);
    expect(other.code, other.stdout + other.stderr).to.equal(0);
    // ... and, once the space is freed, a new remote unit from it.
    const rel = await ours(['work', 'release', id, '--socket', S!.sock]);
    expect(rel.code, rel.stdout + rel.stderr).to.equal(0);
    const again = await ours(['work', 'submit', 'small', '--node', 'exec', '--no-payload', '--socket', S!.sock]);
    expect(again.code, again.stdout + again.stderr).to.equal(0);
    const id2 = unitIdOf(again.stdout);
    await waitFor(
      async () => (await unitStatus(S!, id2).catch(() => undefined))?.State === SUCCEEDED,
      60_000,
      () => `small remote unit ${id2} Succeeded\n${tail(S!)}`,
    );
    tally('scenarios');
  });
});

describe('chaos: a read-only datadir at start', function () {
  this.timeout(60_000);
  let dir: string;
  let mnt: string;
  let mounted = false;

  before(function () {
    dir = tempDir('receptor-chaos-rodisk-');
    mnt = join(dir, 'ro');
    mountTmpfs(this, mnt, 'ro,size=1m');
    mounted = true;
  });
  after(() => {
    if (mounted) unmount(mnt);
  });

  it('refuses to start with an error naming the directory, non-zero exit', () => {
    const config = join(dir, 'ro.yml');
    writeFileSync(config, `- node: {id: ro, datadir: ${mnt}}\n- control-service: {service: control, filename: ${join(dir, 'ro.sock')}}\n`);
    const r = spawnSync(process.execPath, [BIN, '-c', config], {env: childEnv(), encoding: 'utf8', timeout: 30_000});
    tally('scenarios');
    expect(r.status, r.stderr).to.not.equal(0);
    expect(r.status, 'exited by itself').to.not.equal(null);
    expect(r.stderr).to.contain(mnt);
    expect(r.stderr).to.match(/read-only file system/i);
  });
});

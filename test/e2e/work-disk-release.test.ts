/**
 * Regressions found by the chaos suite (test/chaos): a read-only datadir is refused at start;
 * a submitter whose datadir fills while it copies a remote unit's results fails the unit
 * (results end, release works) instead of leaving it Pending for ever; overlapping releases of
 * a remote unit both answer `released`; a unit released right after it succeeded never
 * shows Canceled.
 */
import {expect} from 'chai';
import {execFileSync, spawnSync} from 'node:child_process';
import {mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {BIN, childEnv, waitFor} from '../support/cli.js';
import {freePorts} from '../support/ports.js';
import {controlRequest, InteropNode, OURS, ours, tempDir, waitRoutes, type Item} from '../interop/support.js';
import {cleanUp, oursResults, tail, unitIdOf, unitStatus} from '../interop/work-helpers.js';

/** Mounts a tmpfs (root only); false (printed) when it cannot. */
function tryMount(at: string, opts: string): boolean {
  mkdirSync(at, {recursive: true});
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', at], {stdio: 'pipe'});
    return true;
  } catch (err) {
    console.log(`    skipped: cannot mount a tmpfs (${((err as {stderr?: Buffer}).stderr ?? '').toString().trim() || (err as Error).message})`);
    return false;
  }
}

describe('e2e: datadir and release regressions', function () {
  this.timeout(120_000);
  const mounts: string[] = [];
  const nodes: InteropNode[] = [];
  after(async () => {
    await cleanUp(nodes);
    for (const m of mounts) spawnSync('umount', [m], {stdio: 'ignore'});
  });

  async function pair(subDataDir?: string): Promise<[InteropNode, InteropNode]> {
    const dir = tempDir('receptor-e2e-disk-');
    const [port] = await freePorts(1);
    const types: Item[] = [
      {'work-command': {worktype: 'big', command: 'head', params: '-c 4194304 /dev/urandom'}},
      {'work-command': {worktype: 'say', command: 'echo', params: 'hi'}},
    ];
    const S = new InteropNode(OURS, 'sub', dir, {node: subDataDir ? {datadir: subDataDir} : {}, items: [{'tcp-listener': {port, bindaddr: '127.0.0.1'}}, ...types]});
    const E = new InteropNode(OURS, 'exec', dir, {items: [{'tcp-peer': {address: `127.0.0.1:${port}`, redial: true}}, ...types]});
    nodes.push(S, E);
    await Promise.all([S.start(), E.start()]);
    await waitRoutes(S, ['exec']);
    return [S, E];
  }

  it('a read-only datadir: the node exits at start naming the directory', function () {
    const dir = tempDir('receptor-e2e-ro-');
    const mnt = join(dir, 'ro');
    if (!tryMount(mnt, 'ro,size=1m')) this.skip();
    mounts.push(mnt);
    const config = join(dir, 'ro.yml');
    writeFileSync(config, `- node: {id: ro, datadir: ${mnt}}\n- control-service: {service: control, filename: ${join(dir, 'ro.sock')}}\n`);
    const r = spawnSync(process.execPath, [BIN, '-c', config], {env: childEnv(), encoding: 'utf8', timeout: 30_000});
    expect(r.status, r.stderr).to.equal(1);
    expect(r.stderr).to.contain(`Cannot use the data directory ${mnt}/ro: read-only file system`);
  });

  it('the submitter datadir fills during results: the unit fails, results end, release frees it', async function () {
    const mnt = join(tempDir('receptor-e2e-full-'), 'tmpfs');
    if (!tryMount(mnt, 'size=1m')) this.skip();
    mounts.push(mnt);
    const [S] = await pair(mnt);
    const sub = await ours(['work', 'submit', 'big', '--node', 'exec', '--no-payload', '--socket', S.sock]);
    expect(sub.code, sub.stdout + sub.stderr).to.equal(0);
    const id = unitIdOf(sub.stdout);
    const r = await oursResults(S, id, 60_000).done;
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/Could not write the results of remote unit \w+ to .*: no space left on device/);
    const st = await unitStatus(S, id);
    expect(st?.StateName).to.equal('Failed');
    const rel = await ours(['work', 'release', id, '--socket', S.sock]);
    expect(rel.code, rel.stdout + rel.stderr).to.equal(0);
  });

  it('overlapping releases of a remote unit both answer released; a released local unit never shows Canceled', async () => {
    const [S] = nodes.length ? (nodes.slice(-2) as [InteropNode, InteropNode]) : await pair();
    for (const node of ['exec', 'sub']) {
      const sub = await ours(['work', 'submit', 'say', '--node', node, '--no-payload', '--socket', S.sock]);
      const id = unitIdOf(sub.stdout);
      await waitFor(
        async () => (await unitStatus(S, id))?.StateName === 'Succeeded',
        30_000,
        () => `unit ${id} Succeeded\n${tail(S)}`,
      );
      const states: string[] = [];
      const watch = (async () => {
        for (let i = 0; i < 20; i++) {
          const line = await controlRequest(S.sock, `work status ${id}`, {lines: 1});
          states.push(line.startsWith('ERROR') ? 'gone' : (JSON.parse(line) as {StateName: string}).StateName);
        }
      })();
      const replies = await Promise.all([1, 2].map(() => controlRequest(S.sock, `work release ${id}`, {lines: 1})));
      await watch;
      expect(replies[0]).to.equal(`{"released":"${id}"}\n`);
      expect([`{"released":"${id}"}\n`, `ERROR: unknown work unit ${id}\n`]).to.include(replies[1]);
      expect(states.filter((s) => s !== 'Succeeded' && s !== 'gone')).to.deep.equal([]);
    }
  });
});

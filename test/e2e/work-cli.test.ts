/**
 * End-to-end: `receptor work …` (bin/run.js) against real daemons. foo has a unix control
 * socket and command work types; bar (one TCP hop away) runs remote work for foo and is
 * reached with `--node bar` through `connect bar control`.
 */
import {expect} from 'chai';
import {randomBytes} from 'node:crypto';
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {Daemon, runCli, startDaemons, waitFor, type CliOptions, type CliResult} from '../support/cli.js';
import {tempFiles} from '../support/config-fixtures.js';
import {freePort} from '../support/ports.js';
import type {WorkStatus} from '../../src/core/control/work-client.js';

describe('e2e: work commands through the CLI', function () {
  this.timeout(120_000);
  const dir = tempFiles({});
  const sock = join(dir, 'foo.sock');
  const daemons: Daemon[] = [];

  /** Runs `receptor ARGS --socket foo.sock`. */
  const work = (args: string[], opts: CliOptions = {}): Promise<CliResult> => runCli(['work', ...args, '--socket', sock], opts);
  const json = async <T>(args: string[], opts: CliOptions = {}): Promise<T> => {
    const r = await work([...args, '--json'], opts);
    expect(r.code, `work ${args.join(' ')}: ${r.stderr}${r.stdout}`).to.equal(0);
    return JSON.parse(r.stdout) as T;
  };
  const status = (id: string) => json<WorkStatus>(['status', id]);
  const submitted = (r: CliResult): string => {
    expect(r.code, r.stderr).to.equal(0);
    const m = /^Unit ID: ([a-zA-Z0-9]+)$/m.exec(r.stdout);
    expect(m, r.stdout).to.not.equal(null);
    return m![1];
  };

  before(async () => {
    const port = await freePort();
    writeFileSync(
      join(dir, 'foo.yml'),
      [
        '- node:',
        '    id: foo',
        `    datadir: ${join(dir, 'foo-data')}`,
        '- tcp-listener:',
        `    port: ${port}`,
        '    bindaddr: 127.0.0.1',
        '- control-service:',
        '    service: control',
        `    filename: ${sock}`,
        '- work-command: {worktype: echo, command: cat}',
        '- work-command: {worktype: sleep, command: sleep, params: "30"}',
        '- work-command: {worktype: sh, command: sh, params: "-c", allowruntimeparams: true}',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'bar.yml'),
      [
        '- node:',
        '    id: bar',
        `    datadir: ${join(dir, 'bar-data')}`,
        `- tcp-peer: 127.0.0.1:${port}`,
        '- control-service:',
        '    service: control',
        '- work-command: {worktype: echo, command: cat}',
        '',
      ].join('\n'),
    );
    await startDaemons(
      ['foo', 'bar'].map((n) => join(dir, `${n}.yml`)),
      daemons,
    );
    await waitFor(
      async () => {
        const r = await runCli(['status', '--json', '--socket', sock]);
        if (r.code !== 0) return false;
        const st = JSON.parse(r.stdout) as {RoutingTable?: Record<string, string>; Advertisements?: Array<{NodeID: string; Service: string}>};
        return st.RoutingTable?.bar === 'bar' && (st.Advertisements ?? []).some((a) => a.NodeID === 'bar' && a.Service === 'control');
      },
      30_000,
      () => 'foo sees bar and its control service',
    );
  });
  after(async () => {
    for (const d of daemons.reverse()) await d.stop();
  });

  describe('submit', () => {
    it('-l TEXT: prints Result and Unit ID; results, status and list show the unit', async () => {
      const id = submitted(await work(['submit', 'echo', '-l', 'hello']));
      const sub = await work(['submit', 'echo', '-l', 'again']);
      expect(sub.stdout).to.match(/^Result: Job Started\nUnit ID: [a-zA-Z0-9]+\n$/);

      const res = await work(['results', id]);
      expect(res.code, res.stderr).to.equal(0);
      expect(res.stdout).to.equal('hello\n');

      const st = await status(id);
      expect(st).to.deep.include({State: 2, StateName: 'Succeeded', Detail: 'exit status 0', StdoutSize: 6, WorkType: 'echo'});
      const human = await work(['status', id]);
      expect(human.code).to.equal(0);
      expect(human.stdout).to.match(/^Unit ID:\s+\S+$/m);
      expect(human.stdout).to.match(/^State:\s+Succeeded \(2\)$/m);
      expect(human.stdout).to.match(/^Stdout size:\s+6 bytes$/m);

      const list = await json<Record<string, WorkStatus>>(['list']);
      expect(list[id]).to.deep.include({StateName: 'Succeeded', WorkType: 'echo'});
      const quiet = await work(['list', '-q']);
      expect(quiet.stdout.trim().split('\n')).to.include(id);
      const one = await work(['list', id]);
      expect(one.code).to.equal(0);
      expect(Object.keys(JSON.parse(one.stdout))).to.deep.equal([id]);
      expect(one.stdout).to.include('\n    "'); // receptorctl's indent=4
    });

    it('--payload FILE -f: streams a large output exactly', async () => {
      const text =
        randomBytes(300_000)
          .toString('base64')
          .replace(/(.{76})/g, '$1\n') + '\n';
      const file = join(dir, 'payload.txt');
      writeFileSync(file, text);
      const r = await work(['submit', 'echo', '--payload', file, '-f']);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout.length).to.equal(text.length);
      expect(r.stdout === text).to.equal(true);
    });

    it('--payload - reads stdin; -f --rm --json reports the output and releases the unit', async () => {
      const out = await json<Record<string, unknown>>(['submit', 'echo', '--payload', '-', '-f', '--rm'], {input: 'from stdin\nline 2\n'});
      expect(out).to.deep.include({result: 'Job Started', state: 2, stateName: 'Succeeded', detail: 'exit status 0', output: 'from stdin\nline 2\n', released: 'released'});
      expect(out.unitid).to.be.a('string');
      const list = await json<Record<string, unknown>>(['list']);
      expect(list).to.not.have.property(out.unitid as string);
    });

    it("receptorctl's letters: -p - is the payload from stdin, -a KEY=VALUE a parameter", async () => {
      const r = await work(['submit', 'echo', '-p', '-', '-f'], {input: 'payload via -p\n'});
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.equal('payload via -p\n');
      const refused = await work(['submit', 'echo', '-n', '-a', 'params=x']);
      expect(refused.code).to.equal(101);
      expect(refused.stderr).to.include('extra params provided but not allowed');
    });

    it('-f --rm (human): only the output on stdout, the release line on stderr', async () => {
      const r = await work(['submit', 'echo', '-l', 'bye', '-f', '--rm']);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.equal('bye\n');
      const m = /^\(([a-zA-Z0-9]+), released\)$/m.exec(r.stderr);
      expect(m, r.stderr).to.not.equal(null);
      const gone = await work(['status', m![1]]);
      expect(gone.code).to.equal(1);
    });

    it('--json without -f: {result, unitid}', async () => {
      const out = await json<Record<string, unknown>>(['submit', 'echo', '-n']);
      expect(Object.keys(out).sort()).to.deep.equal(['result', 'unitid']);
      expect(out.result).to.equal('Job Started');
    });

    it('runtime params: --params, extra words, -a params=@FILE; a failed unit exits 1 with -f', async () => {
      const a = await work(['submit', 'sh', '-n', '-f', '--params', "'echo via-params'"]);
      expect(a.code, a.stderr).to.equal(0);
      expect(a.stdout).to.equal('via-params\n');

      const b = await work(['submit', 'sh', "'echo", "words'", '-n', '-f']);
      expect(b.code, b.stderr).to.equal(0);
      expect(b.stdout).to.equal('words\n');

      const file = join(dir, 'params.txt');
      writeFileSync(file, "'echo from-file'");
      const c = await work(['submit', 'sh', '-n', '-f', '-a', `params=@${file}`]);
      expect(c.code, c.stderr).to.equal(0);
      expect(c.stdout).to.equal('from-file\n');

      const d = await work(['submit', 'sh', '-n', '-f', '--params', "'echo oops; exit 3'"]);
      expect(d.code).to.equal(1);
      expect(d.stdout).to.equal('oops\n');
      expect(d.stderr).to.include('ERROR: Remote unit failed: exit status 3');

      const e = await json<Record<string, unknown>>(['submit', 'sh', '-n', '--params', "'exit 4'"]);
      const res = await work(['results', e.unitid as string, '--json']);
      expect(res.code).to.equal(1);
      expect(JSON.parse(res.stdout)).to.deep.include({unitid: e.unitid, state: 3, detail: 'exit status 4', output: ''});
    });

    it('errors: payload options (exit 1), unknown work type and refused params (exit 101)', async () => {
      const none = await work(['submit', 'echo']);
      expect(none.code).to.equal(1);
      expect(none.stderr).to.include('Must provide one of --payload, --no-payload or --payload-literal.');
      const two = await work(['submit', 'echo', '-n', '-l', 'x']);
      expect(two.code).to.equal(1);
      expect(two.stderr).to.include('Cannot provide more than one of');
      const nofile = await work(['submit', 'echo', '--payload', join(dir, 'nosuch.txt')]);
      expect(nofile.code).to.equal(1);
      expect(nofile.stderr).to.include('Failed to load payload file');

      const unknown = await work(['submit', 'nosuchtype', '-n']);
      expect(unknown.code).to.equal(101);
      expect(unknown.stderr).to.include('Failed to start work unit: unknown work type nosuchtype');
      const unknownJson = await work(['submit', 'nosuchtype', '-n', '--json']);
      expect(unknownJson.code).to.equal(101);
      expect(JSON.parse(unknownJson.stdout).error.message).to.equal('Failed to start work unit: unknown work type nosuchtype');

      const extra = await work(['submit', 'echo', '-n', '--params', 'x']);
      expect(extra.code).to.equal(101);
      expect(extra.stderr).to.include('extra params provided but not allowed');
      const dup = await work(['submit', 'echo', '-n', '-a', 'node=x']);
      expect(dup.code).to.equal(101);
      expect(dup.stderr).to.include('Duplicate or illegal parameter node');
      const ttl = await work(['submit', 'echo', '-n', '--ttl', '5s']);
      expect(ttl.code).to.equal(101);
      expect(ttl.stderr).to.include('ttl option is intended for remote work only');
    });
  });

  describe('cancel, release, errors', () => {
    it('cancel a running unit; its results stop with a clear error; release it', async () => {
      const id = submitted(await work(['submit', 'sleep', '-n']));
      await waitFor(
        async () => (await status(id)).State === 1,
        20_000,
        () => `unit ${id} running`,
      );

      const c = await work(['cancel', id]);
      expect(c.code, c.stderr).to.equal(0);
      expect(c.stdout).to.equal(`Cancelled:\n(${id}, cancelled)\n`);
      expect(await status(id)).to.deep.include({State: 4, StateName: 'Canceled'});

      const res = await work(['results', id], {timeoutMs: 20_000});
      expect(res.code).to.equal(1);
      expect(res.stderr).to.include('ERROR: Remote unit was canceled: Canceled');

      const again = await json<unknown>(['cancel', id]);
      expect(again).to.deep.equal([{unitid: id, result: 'cancelled'}]);

      const r = await work(['release', id]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.equal(`Released:\n(${id}, released)\n`);
      const gone = await work(['status', id]);
      expect(gone.code).to.equal(1);
      expect(gone.stderr).to.equal(`Error: unit ${id}: unknown work unit\n`);
    });

    it('submit -f stops when the unit is canceled meanwhile (exit 1)', async () => {
      const before = Object.keys(await json<Record<string, unknown>>(['list']));
      const follower = new Daemon(['work', 'submit', 'sleep', '-n', '-f', '--socket', sock]);
      const id = await waitFor(
        async () => {
          const list = await json<Record<string, WorkStatus>>(['list']);
          return Object.keys(list).find((k) => !before.includes(k) && list[k].WorkType === 'sleep' && list[k].State === 1);
        },
        20_000,
        () => 'the followed unit running',
      );
      expect((await work(['cancel', id])).code).to.equal(0);
      const done = await Promise.race([follower.exited, new Promise<null>((r) => setTimeout(() => r(null), 15_000))]);
      if (done === null) follower.kill('SIGKILL');
      expect(done, 'submit -f did not stop').to.not.equal(null);
      expect(done!.code).to.equal(1);
      // Never `failed: Killed`: the runner's Killed status is hidden while the node cancels.
      expect(done!.stderr).to.include('ERROR: Remote unit was canceled: Canceled');
      expect((await work(['release', id])).code).to.equal(0);
    });

    it('unknown units: status, list, results, cancel and release exit 1 with one line naming the unit', async () => {
      const st = await work(['status', 'nosuch']);
      expect(st.code).to.equal(1);
      expect(st.stderr).to.equal('Error: unit nosuch: unknown work unit\n');
      const stj = await work(['status', 'nosuch', '--json']);
      expect(stj.code).to.equal(1);
      expect(JSON.parse(stj.stdout)).to.deep.equal({error: {code: 'E_UNKNOWN_UNIT', message: 'unit nosuch: unknown work unit'}});
      const ls = await work(['list', 'nosuch']);
      expect(ls.code).to.equal(1);
      expect(ls.stderr).to.equal('Error: unit nosuch: unknown work unit\n');
      const res = await work(['results', 'nosuch']);
      expect(res.code).to.equal(1);
      expect(res.stderr).to.equal('Error: unit nosuch: unknown work unit\n');
      const rsj = await work(['results', 'nosuch', '--json']);
      expect(JSON.parse(rsj.stdout)).to.deep.equal({error: {code: 'E_UNKNOWN_UNIT', message: 'unit nosuch: unknown work unit'}});

      const id = submitted(await work(['submit', 'echo', '-n']));
      const c = await work(['cancel', 'nosuch', id]);
      expect(c.code).to.equal(1);
      expect(c.stdout).to.equal(`Cancelled:\n(${id}, cancelled)\n`);
      expect(c.stderr).to.equal('Error: unit nosuch: unknown work unit\n');
      const rj = await work(['release', 'nosuch', id, '--json']);
      expect(rj.code).to.equal(1);
      const unknown = {code: 'E_UNKNOWN_UNIT', message: 'unit nosuch: unknown work unit'};
      expect(JSON.parse(rj.stdout)).to.deep.equal({
        error: unknown,
        results: [
          {unitid: 'nosuch', error: unknown},
          {unitid: id, result: 'released'},
        ],
      });
      // A unit released twice: the second time is one clean line (the node's reply stays Go's).
      const again = await work(['release', id]);
      expect(again.code).to.equal(1);
      expect(again.stdout).to.equal('Released:\n');
      expect(again.stderr).to.equal(`Error: unit ${id}: unknown work unit\n`);
      const twice = await work(['release', id, 'nosuch', '--json']);
      expect(JSON.parse(twice.stdout).error).to.deep.equal({code: 'E_UNKNOWN_UNIT', message: `2 of 2 units failed: unit ${id}: unknown work unit; unit nosuch: unknown work unit`});
      const nothing = await work(['cancel']);
      expect(nothing.code).to.equal(0);
      expect(nothing.stderr).to.include('No unit IDs supplied');
    });
  });

  describe('another node', () => {
    it('submit --node bar -l hello -f runs the unit on bar', async () => {
      const r = await work(['submit', 'echo', '--node', 'bar', '-l', 'hello', '-f'], {timeoutMs: 60_000});
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.equal('hello\n');
    });

    it('--node bar: list, status, results and release go to bar through connect', async () => {
      const out = await json<Record<string, string>>(['submit', 'echo', '--node', 'bar', '-l', 'remote']);
      expect(out.result).to.match(/^Job (Started|Submitted)$/);
      const local = await status(out.unitid);
      expect(local.WorkType).to.equal('remote');
      const remoteId = await waitFor(
        async () => {
          const st = await status(out.unitid);
          const extra = st.ExtraData as {RemoteUnitID?: string} | null;
          return st.State === 2 && extra?.RemoteUnitID ? extra.RemoteUnitID : undefined;
        },
        30_000,
        () => 'the remote unit finished',
      );
      const barList = await json<Record<string, WorkStatus>>(['list', '--node', 'bar']);
      expect(barList[remoteId]).to.deep.include({WorkType: 'echo', State: 2});
      const quiet = await work(['list', '-q', '--node', 'bar']);
      expect(quiet.stdout.split('\n')).to.include(remoteId);
      expect(await json<WorkStatus>(['status', remoteId, '--node', 'bar'])).to.deep.include({StdoutSize: 7, StateName: 'Succeeded'});
      const res = await work(['results', remoteId, '--node', 'bar']);
      expect(res.code, res.stderr).to.equal(0);
      expect(res.stdout).to.equal('remote\n');
      const part = await work(['results', out.unitid, '--startpos', '3']);
      expect(part.stdout).to.equal('ote\n');

      const rel = await json<unknown>(['release', out.unitid]);
      expect(rel).to.deep.equal([{unitid: out.unitid, result: 'released'}]);
      await waitFor(
        async () => !(remoteId in (await json<Record<string, unknown>>(['list', '--node', 'bar']))),
        30_000,
        () => 'the remote unit released on bar',
      );
    });

    it('--node with an unknown node fails cleanly, naming the node; an unknown unit there names the unit', async () => {
      const r = await work(['list', '--node', 'nosuchnode']);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.equal('Error: cannot reach node nosuchnode: no route to node\n');
      const j = await work(['status', 'x', '--node', 'nosuchnode', '--json']);
      expect(JSON.parse(j.stdout)).to.deep.equal({error: {code: 'E_NO_ROUTE', message: 'cannot reach node nosuchnode: no route to node'}});
      const u = await work(['status', 'nosuch', '--node', 'bar']);
      expect(u.stderr).to.equal('Error: unit nosuch: unknown work unit\n');
    });

    it('connect: an unknown node, an unknown service on another node and on the node itself', async () => {
      const none = await runCli(['connect', 'nosuchnode', 'control', '--socket', sock], {input: ''});
      expect([none.code, none.stderr]).to.deep.equal([1, 'Error: cannot reach node nosuchnode: no route to node\n']);
      const remote = await runCli(['connect', 'bar', 'nosvc', '--socket', sock], {input: ''});
      expect([remote.code, remote.stderr]).to.deep.equal([1, 'Error: cannot connect to service nosvc on node bar: service unknown\n']);
      const local = await runCli(['connect', 'localhost', 'nosvc', '--socket', sock], {input: ''});
      expect([local.code, local.stderr]).to.deep.equal([1, 'Error: cannot connect to service nosvc on node localhost: service unknown\n']);
    });
  });

  // Last: mocha runs a suite's own tests before its nested suites.
  describe('clean-up', () => {
    it('release --all releases every unit', async () => {
      expect((await work(['submit', 'echo', '-n'])).code).to.equal(0);
      const r = await json<Array<{unitid: string; result?: string; error?: string}>>(['release', '--all']);
      expect(r.length).to.be.greaterThan(0);
      expect(
        r.every((x) => x.result === 'released' || x.result === 'release pending'),
        JSON.stringify(r),
      ).to.equal(true);
      expect(await json<Record<string, unknown>>(['list'])).to.deep.equal({});
      const none = await work(['release', '--all']);
      expect(none.code).to.equal(0);
      expect(none.stdout).to.equal('Released:\n');
    });
  });
});

/**
 * End-to-end: remote work between real daemons across a 3-node line (foo — bar — baz) while
 * nodes are stopped and restarted, and signed work (work-signing / work-verification).
 */
import {expect} from 'chai';
import {execFileSync} from 'node:child_process';
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {Daemon, runCli, waitFor, type CliResult} from '../support/cli.js';
import {tempFiles} from '../support/config-fixtures.js';
import {freePort} from '../support/ports.js';
import type {WorkStatus} from '../../src/core/control/work-client.js';

describe('e2e: remote work across restarts, and signed work', function () {
  this.timeout(120_000);
  const dir = tempFiles({});
  const sock = join(dir, 'foo.sock');
  const running = new Map<string, Daemon>();
  let ports: number[] = [];

  const work = (args: string[]): Promise<CliResult> => runCli(['work', ...args, '--socket', sock]);
  const status = async (id: string): Promise<WorkStatus> => {
    const r = await work(['status', id, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    return JSON.parse(r.stdout) as WorkStatus;
  };
  const start = async (n: string) => {
    const d = new Daemon(['-c', join(dir, `${n}.yml`)]);
    running.set(n, d);
    await d.waitForLog('Initialization complete');
    return d;
  };
  const stop = async (n: string, sig: NodeJS.Signals = 'SIGTERM') => {
    await running.get(n)!.stop(sig);
    running.delete(n);
  };

  before(async () => {
    ports = [await freePort(), await freePort()];
    execFileSync('openssl', ['genrsa', '-out', join(dir, 'priv.pem'), '2048'], {stdio: 'ignore'});
    execFileSync('openssl', ['rsa', '-in', join(dir, 'priv.pem'), '-pubout', '-out', join(dir, 'pub.pem')], {stdio: 'ignore'});
    const common = (id: string) => ['- node:', `    id: ${id}`, `    datadir: ${join(dir, `${id}-data`)}`, '- control-service:', '    service: control'];
    const nap = `- work-command: {worktype: nap, command: sh, params: "-c 'echo first; sleep 2; echo second'"}`;
    writeFileSync(
      join(dir, 'foo.yml'),
      [
        ...common('foo'),
        `    filename: ${sock}`,
        '- tcp-listener:',
        `    port: ${ports[0]}`,
        '    bindaddr: 127.0.0.1',
        `- work-signing: {privatekey: ${join(dir, 'priv.pem')}, tokenexpiration: 1m}`,
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'bar.yml'),
      [...common('bar'), `- tcp-peer: 127.0.0.1:${ports[0]}`, '- tcp-listener:', `    port: ${ports[1]}`, '    bindaddr: 127.0.0.1', nap, ''].join('\n'),
    );
    writeFileSync(
      join(dir, 'baz.yml'),
      [
        ...common('baz'),
        `- tcp-peer: 127.0.0.1:${ports[1]}`,
        nap,
        '- work-command: {worktype: secure, command: cat, verifysignature: true}',
        `- work-verification: {publickey: ${join(dir, 'pub.pem')}}`,
        '',
      ].join('\n'),
    );
    for (const n of ['foo', 'bar', 'baz']) await start(n);
    await waitFor(
      async () => {
        const r = await runCli(['status', '--json', '--socket', sock]);
        if (r.code !== 0) return false;
        const st = JSON.parse(r.stdout) as {Advertisements: Array<{NodeID: string}>; RoutingTable: Record<string, string>};
        return st.Advertisements.some((a) => a.NodeID === 'baz') && st.RoutingTable.baz === 'bar';
      },
      30_000,
      () => 'baz reachable from foo',
    );
  });
  after(async () => {
    await Promise.all([...running.keys()].map((n) => stop(n, 'SIGINT')));
  });

  /** Submits `nap` to `executor`, restarts `restarted` with `sig` after the first line, and checks the results on foo. */
  async function restartMidRun(executor: string, restarted: string, sig: NodeJS.Signals): Promise<string> {
    const r = await work(['submit', 'nap', '--node', executor, '--no-payload']);
    expect(r.code, r.stderr).to.equal(0);
    const id = /^Unit ID: (\w+)$/m.exec(r.stdout)![1];
    await waitFor(
      async () => (await status(id)).StdoutSize >= 6,
      20_000,
      () => 'first line mirrored',
    );
    await stop(restarted, sig);
    await start(restarted);
    const res = await work(['results', id]);
    expect(res.code, res.stderr).to.equal(0);
    expect(res.stdout).to.equal('first\nsecond\n');
    return id;
  }

  // A graceful stop (SIGTERM) and a crash (SIGKILL: no shutdown code runs, stale socket and
  // locks stay behind) must both end with complete results.
  for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
    it(`the executing node restarts mid-run (${sig}): its runner survives and foo still gets complete results`, async () => {
      const id = await restartMidRun('baz', 'baz', sig);
      expect(await status(id)).to.include({State: 2, StateName: 'Succeeded', Detail: 'exit status 0', StdoutSize: 13});
    });

    it(`the submitting node restarts mid-run (${sig}): the remote mirror resumes and completes`, async () => {
      const id = await restartMidRun('bar', 'foo', sig);
      expect(await status(id)).to.include({State: 2, Detail: 'exit status 0'});
      const rel = await work(['release', id]);
      expect(rel.stdout).to.contain(`(${id}, released)`);
    });
  }

  it('signed work: accepted with --signwork, refused without it (the verifying node needs a token)', async () => {
    const ok = await work(['submit', 'secure', '--node', 'baz', '--signwork', '-l', 'signed hello', '-f']);
    expect(ok.code, ok.stderr).to.equal(0);
    expect(ok.stdout).to.equal('signed hello\n');
    const bad = await work(['submit', 'secure', '--node', 'baz', '-l', 'x']);
    expect(bad.code).to.equal(101);
    // Our words, naming the unit and the refusing node (the node's own reply keeps Go's text).
    expect(bad.stderr).to.match(/^Error: unit [A-Za-z0-9]{8}: node baz refused it: could not verify signature: signature is empty\n$/);
  });
});

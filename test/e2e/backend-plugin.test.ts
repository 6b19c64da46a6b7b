/**
 * A third-party backend plugin for real: the example plugin (a unix-socket backend) packed,
 * installed with `receptor plugins install` into a temporary data directory, two nodes
 * linked by it and pinging across; and the plugin's own tests, which run the public
 * compliance suite (`receptor-mesh/testing`), pass.
 */
import {expect} from 'chai';
import {mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {cliDirs, Daemon, REPO_ROOT, runCli, runProgram, waitFor} from '../support/cli.js';

const EXAMPLE = join(REPO_ROOT, 'examples', 'receptor-plugin-example');

/** The environment for npm: the test's own, less what an outer `npm test` exported. */
function npmEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {...extra};
  for (const k of Object.keys(process.env)) if (/^npm_/i.test(k)) env[k] = undefined;
  return env;
}

describe('e2e: a third-party backend plugin', function () {
  this.timeout(180_000);
  let work: string;
  let env: Record<string, string>;
  const daemons: Daemon[] = [];

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'receptor-backend-plugin-'));
    env = cliDirs(work);
  });
  after(async () => {
    for (const d of daemons) await d.stop();
    rmSync(work, {recursive: true, force: true});
  });

  it('installs from its packed tarball and links two nodes over its unix-socket backend', async () => {
    const pack = await runProgram('npm', ['pack', '--silent', '--pack-destination', work], {cwd: EXAMPLE, env: npmEnv(), timeoutMs: 90_000});
    expect(pack.code, pack.stderr).to.equal(0);
    const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
    expect(tgz, 'npm pack produced a tarball').to.be.a('string');

    const inst = await runCli(['plugins', 'install', `file:${join(work, tgz!)}`], {env: {...env, ...npmEnv()}, timeoutMs: 90_000});
    expect(inst.code, inst.stderr).to.equal(0);
    // The plugin's peer dependency is this CLI itself: one core in the process, nothing fetched.
    const link = join(env.RECEPTOR_DATA_DIR, 'node_modules', 'receptor-mesh');
    expect(resolve(join(env.RECEPTOR_DATA_DIR, 'node_modules'), readlinkSync(link))).to.equal(resolve(REPO_ROOT));

    const sock = join(work, 'ctl.sock');
    const mesh = join(work, 'mesh.sock');
    const alpha = join(work, 'alpha.yml');
    const beta = join(work, 'beta.yml');
    writeFileSync(
      alpha,
      `- node:\n    id: alpha\n    datadir: ${join(work, 'alpha')}\n- unixsock-listener:\n    path: ${mesh}\n    nodecost:\n      beta: 2\n- control-service:\n    filename: ${sock}\n`,
    );
    writeFileSync(beta, `- node:\n    id: beta\n    datadir: ${join(work, 'beta')}\n- unixsock-peer:\n    path: ${mesh}\n    cost: 2\n`);

    const check = await runCli(['config', 'check', '-c', beta, '--json'], {env});
    expect(check.code, check.stderr).to.equal(0);
    const item = (JSON.parse(check.stdout) as {items: Array<{key: string; plugin: string; values: unknown}>}).items.find((i) => i.key === 'unixsock-peer');
    expect(item).to.deep.include({plugin: 'receptor-plugin-example'});
    expect(item!.values).to.deep.equal({path: mesh, redial: true, cost: 2, allowedpeers: []});
    const bad = await runCli(['config', 'check', '-c', beta, '--', '--unixsock-listener', 'path='], {env});
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.include('path must not be empty');

    for (const cfg of [alpha, beta]) {
      const d = new Daemon(['-c', cfg], {env});
      daemons.push(d);
      await d.waitForLog('Initialization complete');
    }
    const reply = await waitFor(
      async () => {
        const r = await runCli(['ping', 'beta', '--count', '1', '--json', '--socket', sock], {env});
        return r.code === 0 ? r.stdout : undefined;
      },
      20_000,
      () => 'a ping reply from beta over the unix-socket link',
    );
    expect(JSON.parse(reply)).to.have.length(1).and.to.have.nested.property('[0].From', 'beta');
    const status = await runCli(['status', '--json', '--socket', sock], {env});
    const conns = (JSON.parse(status.stdout) as {Connections: Array<{NodeID: string; Cost: number}>}).Connections;
    expect(conns).to.deep.include({NodeID: 'beta', Cost: 2});
    for (const d of daemons.splice(0)) expect((await d.stop('SIGINT')).code).to.equal(0);
  });

  it('installs from its folder too (file:DIR, which npm links)', async () => {
    const dirEnv = {...cliDirs(join(work, 'from-folder')), ...npmEnv()};
    const inst = await runCli(['plugins', 'install', `file:${EXAMPLE}`], {env: dirEnv, timeoutMs: 90_000});
    expect(inst.code, inst.stderr).to.equal(0);
    const list = await runCli(['plugins', '--json'], {env: dirEnv});
    expect(list.code, list.stderr).to.equal(0);
    const plugin = (JSON.parse(list.stdout) as Array<{name: string; type: string; configKeys?: string[]}>).find((p) => p.name === 'receptor-plugin-example');
    expect(plugin, list.stdout).to.deep.include({type: 'user', configKeys: ['example-heartbeat', 'unixsock-listener', 'unixsock-peer']});
  });

  it("the plugin's own tests type-check and pass the public compliance suite", async () => {
    const typecheck = await runProgram('npm', ['run', 'typecheck'], {cwd: EXAMPLE, env: npmEnv(), timeoutMs: 90_000});
    expect(typecheck.code, typecheck.stdout + typecheck.stderr).to.equal(0);
    const test = await runProgram('npm', ['test'], {cwd: EXAMPLE, env: npmEnv(), timeoutMs: 120_000});
    expect(test.code, test.stdout + test.stderr).to.equal(0);
    expect(test.stdout).to.include('backend compliance: unixsock');
    expect(test.stdout).to.match(/\b1[0-9] passing\b/);
    expect(test.stdout).to.not.match(/failing|pending/);
  });
});

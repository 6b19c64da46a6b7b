/**
 * Third-party plugins for real: pack the example plugin, install it with
 * `receptor plugins install`, and use its config key; plus fatal hook failures,
 * duplicate keys, and the forced exit on a second signal.
 */
import {expect} from 'chai';
import {execFileSync} from 'node:child_process';
import {mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {cliDirs, Daemon, REPO_ROOT, runCli, waitFor} from '../support/cli.js';

describe('e2e: third-party plugins', function () {
  this.timeout(120_000);
  let work: string;
  let env: Record<string, string>;

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'receptor-plugins-'));
    env = cliDirs(work);
  });

  it('installs the packed example plugin and runs its Init/Prepare/Run from a config key', async () => {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    execFileSync(npm, ['pack', '--silent', '--pack-destination', work], {cwd: join(REPO_ROOT, 'examples', 'receptor-plugin-example'), stdio: 'pipe'});
    const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
    expect(tgz, 'npm pack produced a tarball').to.be.a('string');

    const inst = await runCli(['plugins', 'install', `file:${join(work, tgz!)}`], {env, timeoutMs: 90_000});
    expect(inst.code, inst.stderr).to.equal(0);

    const list = await runCli(['plugins', '--json'], {env});
    const names = (JSON.parse(list.stdout) as Array<{name: string}>).map((p) => p.name);
    expect(names).to.include('receptor-plugin-example');

    const marker = join(work, 'marker.txt');
    const cfg = join(work, 'hb.yml');
    writeFileSync(cfg, `- node:\n    id: hb\n- example-heartbeat:\n    message: hi\n    interval: 1\n    marker: ${marker}\n`);

    const check = await runCli(['config', 'check', '-c', cfg, '--json'], {env});
    expect(check.code, check.stderr).to.equal(0);
    const item = JSON.parse(check.stdout).items.find((i: {key: string}) => i.key === 'example-heartbeat');
    expect(item).to.deep.include({plugin: 'receptor-plugin-example'});
    expect(item.values).to.deep.equal({message: 'hi', interval: 1, marker, backend: true});

    const bad = await runCli(['config', 'check', '-c', cfg, '--', '--example-heartbeat', 'interval=0'], {env});
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.include('interval must be positive, got 0');

    // The plugin's item is the only "backend": the node runs on it alone.
    const d = new Daemon(['node', 'start', '-c', cfg], {env});
    await d.waitForLog('heartbeat');
    expect(readFileSync(marker, 'utf8')).to.equal('init example-heartbeat hi\nprepare example-heartbeat hi\nrun example-heartbeat hi\n');
    expect((await d.stop('SIGINT')).code).to.equal(0);
    expect(readFileSync(marker, 'utf8')).to.include('shutdown example-heartbeat hi\n');
  });

  describe('linked plugins', () => {
    const plugin = (name: string, body: string) => {
      const dir = join(work, name);
      mkdirSync(dir, {recursive: true});
      writeFileSync(join(dir, 'package.json'), JSON.stringify({name, version: '1.0.0', type: 'module', oclif: {hooks: {'receptor:register': './register.js'}}}));
      writeFileSync(join(dir, 'register.js'), body);
      return dir;
    };
    const linkEnv = () => ({...env, RECEPTOR_DATA_DIR: join(work, 'data-linked')});

    it('a duplicate key is fatal and names both plugins; a failing hook is fatal and names the plugin', async () => {
      const dup = plugin('receptor-plugin-dup', "export default async () => [{key: 'local-only', description: 'x', fields: [], create: () => ({})}];\n");
      expect((await runCli(['plugins', 'link', '--no-install', dup], {env: linkEnv()})).code).to.equal(0);
      const r1 = await runCli(['--node', 'id=a', '--local-only'], {env: linkEnv()});
      expect(r1.code).to.equal(1);
      expect(r1.stderr).to.include('Error: action type "local-only" is registered by two plugins: receptor-mesh and receptor-plugin-dup');

      writeFileSync(join(dup, 'register.js'), "export default async () => { throw new Error('boom'); };\n");
      const r2 = await runCli(['config', 'check', '-c', 'examples/local-only.yml'], {env: linkEnv()});
      expect(r2.code).to.equal(1);
      expect(r2.stderr).to.include('Error: plugin receptor-plugin-dup failed to register its action types: boom');
      expect((await runCli(['plugins', 'unlink', 'receptor-plugin-dup'], {env: linkEnv()})).code).to.equal(0);
    });

    it('a second signal forces exit while shutdown hangs', async () => {
      const hang = plugin(
        'receptor-plugin-hang',
        "export default async () => [{key: 'hang', description: 'never finishes shutdown', fields: [], create: () => ({run(rt) { rt.node.addBackend({kind: 'hang'}); rt.onShutdown(() => new Promise(() => {})); }})}];\n",
      );
      expect((await runCli(['plugins', 'link', '--no-install', hang], {env: linkEnv()})).code).to.equal(0);
      const d = new Daemon(['--node', 'id=h', '--hang'], {env: linkEnv()});
      await d.waitForLog('Initialization complete');
      d.kill('SIGINT');
      await d.waitForLog('Shutting down');
      d.kill('SIGINT');
      const res = await d.exited;
      expect(res.code).to.equal(130);
      await waitFor(
        () => d.logs().some((r) => r.msg === 'second signal: forcing exit'),
        5000,
        () => 'force log',
      );
    });
  });
});

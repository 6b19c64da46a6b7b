/** End-to-end: the real CLI starts, stops on signals, and refuses bad configs. */
import {expect} from 'chai';
import {spawnSync} from 'node:child_process';
import {existsSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {GO_RECEPTOR_VERSION} from '../../src/core/version.js';
import {BIN, Daemon, runCli} from '../support/cli.js';
import {tempFiles} from '../support/config-fixtures.js';

describe('e2e: receptor node start', function () {
  this.timeout(60_000);

  it('starts examples/local-only.yml and exits 0 on SIGINT', async () => {
    const d = new Daemon(['node', 'start', '-c', 'examples/local-only.yml']);
    const rec = await d.waitForLog('Initialization complete');
    expect(rec.node).to.equal('local');
    expect(rec.level).to.equal('info');
    const res = await d.stop('SIGINT');
    expect(res.code).to.equal(0);
    expect(d.logs().map((r) => r.msg)).to.include.members(['Shutting down', 'Shutdown complete']);
    expect(res.stdout).to.equal(''); // logs go to stderr only
  });

  it('the Go invocations "receptor -c FILE" and "receptor --node id=foo --local-only" behave the same, and SIGTERM is graceful', async () => {
    const a = new Daemon(['-c', 'examples/local-only.yml']);
    await a.waitForLog('Initialization complete');
    expect((await a.stop('SIGTERM')).code).to.equal(0);
    const b = new Daemon(['--node', 'id=foo', '--local-only', '--log-level', 'debug']);
    const rec = await b.waitForLog('Initialization complete');
    expect(rec.node).to.equal('foo');
    expect((await b.stop('SIGINT')).code).to.equal(0);
  });

  for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
    it(`restarts after ${sig} on the same datadir and control socket (a killed node leaves its socket file behind)`, async () => {
      const dir = tempFiles({});
      const sock = join(dir, 'n.sock');
      const cfg = join(dir, 'n.yml');
      writeFileSync(
        cfg,
        ['- node:', '    id: again', `    datadir: ${join(dir, 'data')}`, '- local-only:', '- control-service:', '    service: control', `    filename: ${sock}`, ''].join('\n'),
      );
      const first = new Daemon(['-c', cfg]);
      await first.waitForLog('Initialization complete');
      const stopped = await first.stop(sig);
      if (sig === 'SIGKILL') expect(existsSync(sock), 'stale socket left by the killed node').to.equal(true);
      else expect(stopped.code).to.equal(0);
      const second = new Daemon(['-c', cfg]);
      try {
        await second.waitForLog('Initialization complete');
        const st = await runCli(['status', '--json', '--socket', sock]);
        expect(st.code, st.stderr).to.equal(0);
        expect((JSON.parse(st.stdout) as {NodeID: string}).NodeID).to.equal('again');
      } finally {
        expect((await second.stop('SIGTERM')).code).to.equal(0);
      }
    });
  }

  it('refuses to start with no backends, like Go', async () => {
    const res = await runCli(['--node', 'id=lonely']);
    expect(res.code).to.equal(1);
    // Said once (the warning log line), as Go does, not again as an error.
    expect(res.stderr.match(/Nothing to do - no backends are running\./g)).to.have.length(1);
    expect(res.stderr).to.not.include('Error:');
    expect(res.stdout).to.equal('Run receptor --help for command line instructions.\n');
  });

  it('shows listr2 phase progress only when stdout is a terminal', async function () {
    const hasScript = spawnSync('script', ['--version']).status === 0;
    if (!hasScript) this.skip(); // util-linux `script` provides the pseudo-terminal
    const tty = spawnSync('script', ['-qec', `stty cols 100; ${process.execPath} ${BIN} --node id=x`, '/dev/null'], {encoding: 'utf8', env: {...process.env, NODE_OPTIONS: ''}});
    const text = tty.stdout.replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, '');
    expect(tty.status).to.equal(1);
    expect(text).to.match(/✔ Init \(1 items\)[\s\S]*✔ Prepare \(0 items\)[\s\S]*✔ Run \(0 items\)/);
    const plain = await runCli(['--node', 'id=x']);
    expect(plain.stdout + plain.stderr).not.to.include('✔');
  });

  it('a bad config exits 1 before anything starts, naming file, item, key, field and value, without a stack trace', async () => {
    const dir = tempFiles({'bad.yml': '- node:\n    id: foo\n- local-only:\n- log-level:\n    level: loud\n'});
    const res = await runCli(['node', 'start', '-c', 'bad.yml'], {cwd: dir});
    expect(res.code).to.equal(1);
    expect(res.stderr).to.equal('Error: loud is not a valid log level name (bad.yml, item 3, key log-level, field level)\n');
    const res2 = await runCli(['-c', 'bad2.yml'], {cwd: tempFiles({'bad2.yml': '- node:\n    id: foo\n- local-only:\n- tcp-bogus:\n'})});
    expect(res2.code).to.equal(1);
    expect(res2.stderr).to.match(
      /^Error: error loading config file: could not get config type for command tcp-bogus: unknown config type tcp-bogus \(bad2\.yml, item 3, key tcp-bogus\)\n$/,
    );
    expect(res2.stderr).not.to.match(/\bat .*\.js:\d+/);
  });

  it('--json carries the specific code of a refused field, and the same message and exit code', async () => {
    const dir = tempFiles({'bad.yml': '- node:\n    id: foo\n- local-only:\n- log-level:\n    level: loud\n', 'ok.yml': '- node:\n    id: foo\n'});
    const [plain, json] = await Promise.all([runCli(['config', 'check', '-c', 'bad.yml'], {cwd: dir}), runCli(['config', 'check', '-c', 'bad.yml', '--json'], {cwd: dir})]);
    expect(plain.code).to.equal(1);
    expect(plain.stderr).to.equal('Error: loud is not a valid log level name (bad.yml, item 3, key log-level, field level)\n');
    expect(json.code).to.equal(1);
    expect(json.stderr).to.equal('');
    expect(JSON.parse(json.stdout)).to.deep.equal({
      error: {code: 'E_CONFIG_FIELD_INVALID', message: 'loud is not a valid log level name (bad.yml, item 3, key log-level, field level)'},
    });
    // A backend's port, given on the command line after `--`.
    const port = await runCli(['config', 'check', '-c', 'ok.yml', '--json', '--', '--tcp-listener', 'port=70000'], {cwd: dir});
    expect(port.code).to.equal(1);
    expect(JSON.parse(port.stdout)).to.deep.equal({
      error: {code: 'E_CONFIG_FIELD_INVALID', message: 'listen tcp: address 70000: invalid port (command line --tcp-listener (argument 3), key tcp-listener, field port)'},
    });
  });

  it('an unknown command-line action exits 1', async () => {
    const res = await runCli(['--node', 'id=a', '--bogus']);
    expect(res.code).to.equal(1);
    expect(res.stderr).to.include('Error: command error: unknown config type bogus');
  });

  it('receptor --version and receptor version print our version and the one nodes report; --json gives an object', async () => {
    const ours = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {version: string}).version;
    const both = `receptor-mesh (this program)  ${ours}\nreported as Version           ${GO_RECEPTOR_VERSION} (default: the release of the newest receptorctl tested)\n`;
    const a = await runCli(['--version'], {env: {RECEPTOR_REPORTED_VERSION: undefined}});
    expect(a.code).to.equal(0);
    expect(a.stdout).to.equal(both);
    const b = await runCli(['--version', '--node', 'id=a']);
    expect(b.code).to.equal(1);
    expect(b.stderr).to.include('cannot specify any other options with version');
    const c = await runCli(['version', '--json'], {env: {RECEPTOR_REPORTED_VERSION: undefined}});
    expect(JSON.parse(c.stdout)).to.deep.equal({
      version: ours,
      reportedVersion: GO_RECEPTOR_VERSION,
      reportedVersionSource: 'default',
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    });
    const d = await runCli(['version'], {env: {RECEPTOR_REPORTED_VERSION: '1.4.9'}});
    expect(d.stdout).to.equal(`receptor-mesh (this program)  ${ours}\nreported as Version           1.4.9 (from RECEPTOR_REPORTED_VERSION)\n`);
    // The Go-style exclusive action prints the same.
    const dir = tempFiles({'v.yml': '- version\n'});
    const e = await runCli(['-c', 'v.yml'], {cwd: dir, env: {RECEPTOR_REPORTED_VERSION: undefined}});
    expect(e.code, e.stderr).to.equal(0);
    expect(e.stdout).to.equal(both);
  });

  it('a reportedversion (node item) or RECEPTOR_REPORTED_VERSION with spaces is refused, naming it', async () => {
    const dir = tempFiles({'bad.yml': '- node:\n    id: foo\n    reportedversion: "1 2"\n- local-only\n', 'ok.yml': '- node:\n    id: foo\n- local-only\n'});
    const a = await runCli(['config', 'check', '-c', 'bad.yml'], {cwd: dir});
    expect(a.code).to.equal(1);
    expect(a.stderr).to.include(
      'Error: reportedversion must be a version without spaces or control characters, e.g. 1.4.9 (got "1 2") (bad.yml, item 1, key node, field reportedversion)',
    );
    const b = await runCli(['-c', 'ok.yml'], {cwd: dir, env: {RECEPTOR_REPORTED_VERSION: 'one two'}});
    expect(b.code).to.equal(1);
    expect(b.stderr).to.include('RECEPTOR_REPORTED_VERSION must be a version without spaces or control characters, e.g. 1.4.9 (got "one two")');
  });

  it('receptor config check prints resolved items with effective values; --json has a stable shape', async () => {
    const dir = tempFiles({
      'ok.yml': '- node:\n    id: foo\n- log-level: debug\n- local-only\n',
      'ctl.yml': '- node:\n    id: foo\n- local-only\n- control-service:\n    filename: /tmp/x.sock\n    permissions: 0640\n',
    });
    const human = await runCli(['config', 'check', '-c', 'ok.yml'], {cwd: dir});
    expect(human.code).to.equal(0);
    expect(human.stdout).to.include('Configuration is valid: 3 item(s) from 1 file(s).');
    expect(human.stdout).to.include('datadir: "/tmp/receptor"  (default)');
    // File modes read as a person writes them (octal); --json keeps the number.
    const modes = await runCli(['config', 'check', '-c', 'ctl.yml'], {cwd: dir});
    expect(modes.stdout).to.include('     permissions: 0640\n');
    const modesJson = JSON.parse((await runCli(['config', 'check', '-c', 'ctl.yml', '--json'], {cwd: dir})).stdout);
    expect(modesJson.items[2].values.permissions).to.equal(0o640);
    const json = await runCli(['config', 'check', '-c', 'ok.yml', '--json'], {cwd: dir});
    const out = JSON.parse(json.stdout);
    expect(out.valid).to.equal(true);
    expect(out.items.map((i: {key: string}) => i.key)).to.deep.equal(['node', 'log-level', 'local-only']);
    expect(out.items[0]).to.deep.include({index: 1, key: 'node', plugin: 'receptor-mesh', implicit: false});
    expect(out.items[0].values).to.deep.include({id: 'foo', datadir: '/tmp/receptor'});
    const bad = await runCli(['config', 'check', '-c', 'nope.yml', '--json'], {cwd: dir});
    expect(bad.code).to.equal(1);
    expect(JSON.parse(bad.stdout).error).to.deep.include({code: 'E_CONFIG_FILE'});
  });

  it('--help on node start lists the action items and their fields', async () => {
    const res = await runCli(['node', 'start', '--help']);
    expect(res.code).to.equal(0);
    expect(res.stdout).to.include('--node: Specifies the node configuration of this instance');
    expect(res.stdout).to.include('datadir=<string>: Directory in which to store node data. (default: /tmp/receptor)');
    // log-level's field default (Go's "error") is not how a node without the item logs.
    expect(res.stdout).to.include('(a node without the item logs at Info) (default: error, bare value)');
  });
});

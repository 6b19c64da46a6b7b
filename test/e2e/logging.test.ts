/**
 * End-to-end: log formats (text on a terminal, JSON on a pipe, --log-format and
 * RECEPTOR_LOG_FORMAT to choose) and the rejection of a duplicate node ID, logged with its
 * reason on both sides once rather than once per redial.
 */
import {expect} from 'chai';
import {spawnSync} from 'node:child_process';
import {BIN, childEnv, Daemon, runCli, waitFor} from '../support/cli.js';
import {freePort} from '../support/ports.js';

const TEXT_LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) /;
const NOTHING = 'Nothing to do - no backends are running.';

/** Runs the CLI on a real pseudo-terminal (util-linux `script`); returns what the terminal showed. */
function onTerminal(args: string[], env: Record<string, string | undefined> = {}): string {
  const cmd = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('script', ['-qfec', cmd, '/dev/null'], {encoding: 'utf8', env: childEnv(env), timeout: 30_000});
  // listr2 (stdout is the terminal too) shows and hides the cursor: keep only colour sequences
  return r.stdout.replace(/\r\n/g, '\n').replace(/\x1b\[[0-9;?]*[A-Za-ln-z]/g, '');
}

describe('e2e: log formats', function () {
  this.timeout(60_000);

  it('on a pipe: JSON lines unless --log-format text or RECEPTOR_LOG_FORMAT=text', async () => {
    const json = await runCli(['--node', 'id=x']);
    const line = json.stderr.split('\n').find((l) => l.includes(NOTHING))!;
    expect(JSON.parse(line)).to.include({level: 'warn', msg: NOTHING, node: 'x'});

    const text = await runCli(['--node', 'id=x', '--log-format', 'text']);
    const tl = text.stderr.split('\n').find((l) => l.includes(NOTHING))!;
    expect(tl).to.match(TEXT_LINE);
    expect(tl).to.match(/ WARN {2}Nothing to do - no backends are running\. node=x$/);
    expect(text.stderr).to.not.include('\x1b['); // no colours on a pipe

    const byEnv = await runCli(['--node', 'id=x'], {env: {RECEPTOR_LOG_FORMAT: 'text'}});
    expect(byEnv.stderr.split('\n').find((l) => l.includes(NOTHING))).to.match(TEXT_LINE);
    // the flag beats the environment
    const flagWins = await runCli(['--node', 'id=x', '--log-format', 'json'], {env: {RECEPTOR_LOG_FORMAT: 'text'}});
    expect(JSON.parse(flagWins.stderr.split('\n').find((l) => l.includes(NOTHING))!)).to.include({msg: NOTHING});
  });

  it('a bad --log-format value is refused before the node starts, naming it', async () => {
    const r = await runCli(['--node', 'id=x', '--log-format', 'fancy']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.equal('Error: fancy is not a valid log format (use auto, text, json) (command line --log-format (argument 3), key log-format, field format)\n');
  });

  describe('on a terminal', () => {
    before(function () {
      if (spawnSync('script', ['--version']).status !== 0) this.skip(); // util-linux `script` gives the pseudo-terminal
    });

    it('text lines, the level in colour', () => {
      const out = onTerminal(['--node', 'id=x'], {NO_COLOR: undefined});
      const line = out.split('\n').find((l) => l.includes(NOTHING))!;
      expect(line).to.include('\x1b[33mWARN \x1b[0m');
      expect(line.replace(/\x1b\[[0-9;]*m/g, '')).to.match(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} WARN {2}Nothing to do - no backends are running\. node=x$/);
    });

    it('no colours with NO_COLOR; JSON with --log-format json', () => {
      const plain = onTerminal(['--node', 'id=x'], {NO_COLOR: '1'})
        .split('\n')
        .find((l) => l.includes(NOTHING))!;
      expect(plain).to.match(TEXT_LINE);
      expect(plain).to.not.include('\x1b[');
      const json = onTerminal(['--node', 'id=x', '--log-format', 'json'])
        .split('\n')
        .find((l) => l.includes(NOTHING))!;
      expect(JSON.parse(json.slice(json.indexOf('{')))).to.include({level: 'warn', msg: NOTHING});
    });
  });
});

describe('e2e: a duplicate node ID is rejected with a reason, logged once per side', function () {
  this.timeout(90_000);
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await Promise.all(daemons.splice(0).map((d) => d.stop('SIGTERM')));
  });

  it('bar says why it rejects foo, the second foo says why it was rejected, neither repeats it on each redial', async () => {
    const port = await freePort();
    const bar = new Daemon(['--node', 'id=bar', '--tcp-listener', `port=${port}`, '--log-level', 'debug']);
    daemons.push(bar);
    await bar.waitForLog('Initialization complete');
    const foo1 = new Daemon(['--node', 'id=foo', '--tcp-peer', `address=127.0.0.1:${port}`]);
    daemons.push(foo1);
    await foo1.waitForLog('Connection established');
    const foo2 = new Daemon(['--node', 'id=foo', '--tcp-peer', `address=127.0.0.1:${port}`, '--log-level', 'debug']);
    daemons.push(foo2);

    const rejecting = (d: Daemon) => d.logs().filter((r) => String(r.msg).startsWith('Rejecting connection'));
    const rejected = (d: Daemon) => d.logs().filter((r) => String(r.msg).startsWith('Connection rejected by bar'));
    // Three attempts by the second foo: the first one and two redials (5 s, then 7.5 s apart).
    const N = 3;
    await waitFor(
      () => rejecting(bar).length >= N && rejected(foo2).length >= N,
      45_000,
      () => `${N} rejections\nbar: ${bar.stderr}\nfoo2: ${foo2.stderr}`,
    );

    const barLines = rejecting(bar);
    expect(barLines.filter((r) => r.level === 'warn').map((r) => [r.msg, r.peer])).to.deep.equal([
      ['Rejecting connection: it connected using a node ID we are already connected to', 'foo'],
    ]);
    expect(barLines.slice(1).every((r) => r.level === 'debug' && typeof r.repeat === 'number')).to.equal(true);

    const told = 'bar already has a connection from a node named foo (duplicate node ID?)';
    const fooLines = rejected(foo2);
    expect(fooLines.filter((r) => r.level === 'warn').map((r) => [r.msg, r.reason])).to.deep.equal([[`Connection rejected by bar: ${told}`, told]]);
    expect(fooLines.slice(1).every((r) => r.level === 'debug')).to.equal(true);
    // the dialer's "exited (will retry)" and the brief link are said once too
    const warnOrInfo = (d: Daemon, msg: string) => d.logs().filter((r) => r.msg === msg && r.level !== 'debug');
    expect(warnOrInfo(foo2, 'Backend connection exited (will retry)')).to.have.length(1);
    expect(warnOrInfo(foo2, 'Connection established')).to.have.length(1);
    // the first foo keeps its link
    expect(foo1.logs().filter((r) => r.msg === 'Connection closed')).to.deep.equal([]);
  });
});

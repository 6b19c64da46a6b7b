/** End-to-end: the node's QUIC engine choice (--quic-engine, RECEPTOR_QUIC_ENGINE, node.quicengine), logged at start. */
import {expect} from 'chai';
import {Daemon, runCli} from '../support/cli.js';
import {tempFiles} from '../support/config-fixtures.js';
import {engineUnavailable, skipBecause} from '../support/quic-engines.js';

describe('e2e: QUIC engine selection', function () {
  this.timeout(60_000);
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await Promise.all(daemons.splice(0).map((d) => d.stop('SIGKILL')));
  });

  async function engineLog(args: string[], env: Record<string, string | undefined>): Promise<Record<string, unknown>> {
    const d = new Daemon(args, {env});
    daemons.push(d);
    const rec = await d.waitForLog(/^QUIC engine: /);
    await d.waitForLog('Initialization complete');
    return rec;
  }

  it('RECEPTOR_QUIC_ENGINE=ts selects the TS engine and the node logs it (over the node item)', async () => {
    const dir = tempFiles({'n.yml': '- node:\n    id: foo\n    quicengine: quiche\n- local-only\n'});
    const d = new Daemon(['node', 'start', '-c', `${dir}/n.yml`], {env: {RECEPTOR_QUIC_ENGINE: 'ts'}});
    daemons.push(d);
    const rec = await d.waitForLog(/^QUIC engine: /);
    expect(rec).to.include({msg: 'QUIC engine: ts', quicEngine: 'ts', choice: 'ts', source: 'environment', reason: 'ts chosen by environment', level: 'info'});
    await d.waitForLog('Initialization complete');
    expect(d.logs().filter((r) => /^QUIC engine: /.test(String(r.msg)))).to.have.length(1); // once
  });

  it('--quic-engine beats the environment, in "node start" and in the Go-style invocation', async () => {
    const a = await engineLog(['node', 'start', '--node', 'id=a', '--local-only', '--quic-engine', 'ts'], {RECEPTOR_QUIC_ENGINE: 'quiche'});
    expect(a).to.include({quicEngine: 'ts', source: 'flag'});
    const b = await engineLog(['--node', 'id=b', '--quic-engine=ts', '--local-only'], {RECEPTOR_QUIC_ENGINE: 'auto'});
    expect(b).to.include({quicEngine: 'ts', source: 'flag'});
  });

  it('the default is auto, and its reason says whether the native binding loaded', async () => {
    const rec = await engineLog(['--node', 'id=c', '--local-only'], {RECEPTOR_QUIC_ENGINE: undefined});
    expect(rec).to.include({choice: 'auto', source: 'default'});
    expect(String(rec.reason)).to.match(rec.quicEngine === 'quiche' ? /^auto \(default\): native binding loaded$/ : /^auto \(default\): native binding unavailable: /);
  });

  it('a bad RECEPTOR_QUIC_ENGINE or --quic-engine value exits 1 with a clear error before the node starts', async () => {
    const env = await runCli(['--node', 'id=d', '--local-only'], {env: {RECEPTOR_QUIC_ENGINE: 'fast'}});
    expect(env.code).to.equal(1);
    expect(env.stderr).to.equal('Error: "fast" is not a QUIC engine (use auto, quiche, ts) in RECEPTOR_QUIC_ENGINE\n');
    const flag = await runCli(['node', 'start', '--node', 'id=d', '--local-only', '--quic-engine', 'go'], {env: {RECEPTOR_QUIC_ENGINE: undefined}});
    expect(flag.code).to.equal(1);
    expect(flag.stderr).to.equal('Error: "go" is not a QUIC engine (use auto, quiche, ts) in the --quic-engine option\n');
  });

  it('a bad node item quicengine is a field error naming file, item, field and value', async () => {
    const dir = tempFiles({'bad.yml': '- node:\n    id: foo\n    quicengine: native\n- local-only\n'});
    const res = await runCli(['node', 'start', '-c', 'bad.yml'], {cwd: dir, env: {RECEPTOR_QUIC_ENGINE: undefined}});
    expect(res.code).to.equal(1);
    expect(res.stderr).to.equal('Error: native is not a QUIC engine (use auto, quiche, ts) (bad.yml, item 1, key node, field quicengine)\n');
  });

  it('auto falls back to the TS engine when the native binding does not load; a forced quiche then fails with E_QUIC_UNAVAILABLE', async () => {
    const missing = {RECEPTOR_QUIC_ENGINE: undefined, RECEPTOR_QUICHE_PACKAGE: '@matrixai/quic-nonexistent'};
    const rec = await engineLog(['--node', 'id=e', '--local-only'], missing);
    expect(rec).to.include({quicEngine: 'ts', choice: 'auto', source: 'default'});
    expect(String(rec.reason)).to.match(
      /^auto \(default\): native binding unavailable: QUIC streams are not available on this platform \(.+\): the native QUIC engine @matrixai\/quic-nonexistent could not be loaded/,
    );
    const forced = await runCli(['--node', 'id=f', '--local-only', '--quic-engine', 'quiche'], {env: missing});
    expect(forced.code).to.equal(1);
    expect(forced.stderr).to.match(
      /^Error: QUIC streams are not available on this platform \(.+\): the native QUIC engine @matrixai\/quic-nonexistent could not be loaded \(.*\) \(node at command line --node \(argument 1\)\)\n$/,
    );
  });

  it('a node with a control-service item starts where the native binding does not load (auto → TS)', async function () {
    const why = engineUnavailable('ts');
    if (why) skipBecause(this, why);
    const dir = tempFiles({'n.yml': '- node:\n    id: ctl2\n- local-only\n- control-service:\n    service: control\n'});
    const d = new Daemon(['-c', `${dir}/n.yml`], {env: {RECEPTOR_QUIC_ENGINE: undefined, RECEPTOR_QUICHE_PACKAGE: '@matrixai/quic-nonexistent'}});
    daemons.push(d);
    expect(await d.waitForLog(/^QUIC engine: /)).to.include({quicEngine: 'ts', choice: 'auto'});
    await d.waitForLog('Initialization complete');
  });

  it('a node with a control-service item starts with the TS engine forced', async function () {
    const why = engineUnavailable('ts');
    if (why) skipBecause(this, why);
    const dir = tempFiles({'n.yml': '- node:\n    id: ctl\n- local-only\n- control-service:\n    service: control\n'});
    const d = new Daemon(['-c', `${dir}/n.yml`], {env: {RECEPTOR_QUIC_ENGINE: 'ts'}});
    daemons.push(d);
    expect(await d.waitForLog(/^QUIC engine: /)).to.include({quicEngine: 'ts'});
    await d.waitForLog('Initialization complete');
  });
});

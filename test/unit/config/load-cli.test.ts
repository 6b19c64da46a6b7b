/** config.md §1: Go-style command-line actions. */
import {expect} from 'chai';
import {join} from 'node:path';
import {loadConfig} from '../../../src/core/config/load.js';
import {ConfigError} from '../../../src/core/errors.js';
import {fixtureRegistry, tempFiles} from '../../support/config-fixtures.js';

const reg = fixtureRegistry();
const load = (...argv: string[]) => loadConfig(argv, reg, {cwd: '/'});
const fails = (argv: string[], text: string) => {
  let err: unknown;
  try {
    load(...argv);
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${argv.join(' ')} to fail`).to.be.instanceOf(ConfigError);
  expect((err as Error).message).to.include(text);
  return err as ConfigError;
};

describe('config: command-line actions (config.md §1)', () => {
  it('parses key=value actions in order and appends the implicit node last', () => {
    const r = load('--tcp-listener', 'port=2222', '--log-level', 'debug');
    expect(r.items.map((i) => i.key)).to.deep.equal(['tcp-listener', 'log-level', 'node']);
    expect(r.items[0].values.port).to.equal(2222);
    expect(r.items[2].implicit).to.equal(true);
  });

  it('accepts bare values (--node foo, --tcp-listener 2222, --log-level debug)', () => {
    const r = load('--node', 'foo', '--tcp-listener', '2222', '--log-level', 'debug', '--tcp-peer', 'localhost:2222');
    expect(r.items[0].values.id).to.equal('foo');
    expect(r.items[1].values.port).to.equal(2222);
    expect(r.items[2].values.level).to.equal('debug');
    expect(r.items[3].values.address).to.equal('localhost:2222');
  });

  it('matches action and field names case-insensitively, with one or two dashes', () => {
    const r = load('-node', 'ID=a', '--Local-Only', '--TCP-LISTENER', 'Port=1');
    expect(r.items.map((i) => i.key)).to.deep.equal(['node', 'local-only', 'tcp-listener']);
    expect(r.items[0].values.id).to.equal('a');
    expect(r.items[2].values.port).to.equal(1);
  });

  it('splits key=value at the first =', () => {
    const r = load('--json-thing', 'data={"a":"b=c"}');
    expect(r.items[0].values.data).to.deep.equal({a: 'b=c'});
  });

  it('unknown action', () => fails(['--bogus'], 'command error: unknown config type bogus'));
  it('unknown field', () => fails(['--node', 'foo=1'], 'config error: unknown field name foo'));
  it('bare value where none is allowed', () => fails(['--local-only', 'x'], 'config error: command does not allow bare values'));
  it('parameter before any action', () => fails(['id=foo'], 'parameter specified before command'));

  it('missing required parameter names the token as typed', () => {
    fails(['--tcp-listener'], 'error in --tcp-listener: required parameter missing: port');
    fails(['--TCP-Listener', 'bindaddr=x'], 'error in --TCP-Listener: required parameter missing: port');
  });

  it('several missing parameters are listed in declaration order', () => {
    fails(['--cert-init', 'commonname=ca'], 'error in --cert-init: required parameters missing: bits, outcert, outkey');
  });

  it('a singleton twice on the command line is refused', () => {
    fails(['--node', 'a', '--node', 'b'], 'directive "node" is only allowed once');
  });

  it('an exclusive action must be alone', () => {
    fails(['--version', '--node', 'id=a'], 'cannot specify any other options with version');
    const r = load('--version');
    expect(r.items.map((i) => i.key)).to.deep.equal(['version']); // no implicit node
  });

  it('--help or -h anywhere asks for help', () => {
    expect(load('--node', 'a', '--help').help).to.equal(true);
    expect(load('-h').help).to.equal(true);
  });

  it('an error before --help still wins', () => {
    fails(['--bogus', '--help'], 'unknown config type bogus');
  });

  it('accumulates repeated list values and parses JSON list/map strings', () => {
    const r = load('--tcp-listener', 'port=0', 'allowedpeers=a', 'allowedpeers=b', 'nodecost={"a": 1.3}');
    expect(r.items[0].values.allowedpeers).to.deep.equal(['a', 'b']);
    expect(r.items[0].values.nodecost).to.deep.equal({a: 1.3});
    const j = load('--tcp-listener', 'port=0', 'allowedpeers=["x","y"]');
    expect(j.items[0].values.allowedpeers).to.deep.equal(['x', 'y']);
  });

  it('converts command-line ints with base detection (permissions=0640 is octal, 640 decimal)', () => {
    expect(load('--control-service', 'permissions=0640').items[0].values.permissions).to.equal(0o640);
    expect(load('--control-service', 'permissions=640').items[0].values.permissions).to.equal(640);
    expect(load('--control-service', 'permissions=0x1b6').items[0].values.permissions).to.equal(0o666);
  });

  it('a conversion error names item, field and value', () => {
    const e = fails(['--tcp-listener', 'port=abc'], 'error setting field port in command tcp-listener: strconv.ParseInt: parsing "abc": invalid syntax');
    expect(e.detail.field).to.equal('port');
    expect(e.detail.value).to.equal('abc');
    expect(e.message).to.include('command line --tcp-listener');
  });

  describe('--config files', () => {
    const dir = tempFiles({
      'a.yml': '- node:\n    id: filenode\n- tcp-listener:\n    port: 1111\n',
      'b.yml': '- tcp-peer: "localhost:1111"\n',
      'c.yml': '- node: other\n',
    });
    it('splices file items at the position of --config and merges several files in order', () => {
      const r = loadConfig(['--log-level', 'info', '-c', 'a.yml', '--local-only', '--config', 'b.yml'], reg, {cwd: dir});
      expect(r.items.map((i) => i.key)).to.deep.equal(['log-level', 'node', 'tcp-listener', 'local-only', 'tcp-peer']);
      expect(r.configFiles).to.deep.equal([join(dir, 'a.yml'), join(dir, 'b.yml')]);
    });
    it('accepts --Config, -C and --config=FILE spellings', () => {
      expect(loadConfig(['--Config', 'b.yml'], reg, {cwd: dir}).items[0].key).to.equal('tcp-peer');
      expect(loadConfig(['-C', 'b.yml'], reg, {cwd: dir}).items[0].key).to.equal('tcp-peer');
      expect(loadConfig(['--config=b.yml'], reg, {cwd: dir}).items[0].key).to.equal('tcp-peer');
    });
    it('a singleton in two sources: no error, the later one wins', () => {
      const r = loadConfig(['-c', 'a.yml', '-c', 'c.yml'], reg, {cwd: dir});
      const nodes = r.items.filter((i) => i.key === 'node');
      expect(nodes).to.have.length(1);
      expect(nodes[0].values.id).to.equal('other');
      expect(r.warnings.join()).to.include('node is given more than once');
      const cli = loadConfig(['--node', 'id=x', '-c', 'c.yml'], reg, {cwd: dir});
      expect(cli.items.filter((i) => i.key === 'node').map((i) => i.values.id)).to.deep.equal(['other']);
    });
    it('--config without a file name', () => {
      expect(() => loadConfig(['--config'], reg, {cwd: dir})).to.throw('error in --config: required parameter missing: filename');
    });
    it('a missing file', () => {
      expect(() => loadConfig(['-c', 'nope.yml'], reg, {cwd: dir})).to.throw(/error loading config file: open .*nope.yml: no such file or directory/);
    });
    it('--config-v2 is accepted and ignored (files are recognised by content)', () => {
      expect(loadConfig(['--config-v2', '-c', 'b.yml'], reg, {cwd: dir}).items[0].key).to.equal('tcp-peer');
    });
  });
});

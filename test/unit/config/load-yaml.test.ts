/** config.md §2–§3: v1 YAML files, conversion, defaults, required fields, singletons. */
import {expect} from 'chai';
import {loadConfig} from '../../../src/core/config/load.js';
import {ConfigError} from '../../../src/core/errors.js';
import {fixtureRegistry, tempFiles} from '../../support/config-fixtures.js';

const reg = fixtureRegistry();

function loadYaml(text: string) {
  const dir = tempFiles({'r.yml': text});
  return loadConfig(['-c', 'r.yml'], reg, {cwd: dir});
}

function yamlFails(text: string, reason: string, prefix = 'error loading config file: '): ConfigError {
  let err: unknown;
  try {
    loadYaml(text);
  } catch (e) {
    err = e;
  }
  expect(err, `expected failure for:\n${text}`).to.be.instanceOf(ConfigError);
  expect((err as ConfigError).message).to.include(`${prefix}${reason}`);
  return err as ConfigError;
}

describe('config: v1 YAML files (config.md §2)', () => {
  it('reads every element form: plain string, null, bare string, map', () => {
    const r = loadYaml('---\n- node:\n    id: foo\n- log-level: debug\n- trace\n- local-only:\n- tcp-listener:\n    port: 2222\n');
    expect(r.items.map((i) => i.key)).to.deep.equal(['node', 'log-level', 'trace', 'local-only', 'tcp-listener']);
    expect(r.items[1].values.level).to.equal('debug');
    expect(r.items[4].values.port).to.equal(2222);
  });

  it('an empty file is an empty list (only the implicit node)', () => {
    expect(loadYaml('').items.map((i) => i.key)).to.deep.equal(['node']);
    expect(loadYaml('---\n').items.map((i) => i.key)).to.deep.equal(['node']);
  });

  it('field names are case-insensitive', () => {
    const r = loadYaml('- node:\n    ID: a\n    DataDir: /x\n- log-level:\n    Level: info\n');
    expect(r.items[0].values).to.include({id: 'a', datadir: '/x'});
    expect(r.items[1].values.level).to.equal('info');
  });

  it('action names must be lower-case', () => {
    yamlFails('- Node:\n    id: a\n', 'could not get config type for command Node: unknown config type Node');
    yamlFails('- TCP-Listener:\n    port: 1\n', 'could not get config type for command TCP-Listener: unknown config type TCP-Listener');
  });

  it('unknown item', () => yamlFails('- bogus:\n', 'could not get config type for command bogus: unknown config type bogus'));
  it('unknown field', () => yamlFails('- node:\n    bogus: 1\n', 'field bogus not defined for command node: unknown field name bogus'));
  it('missing field', () => yamlFails('- tcp-listener:\n    bindaddr: 127.0.0.1\n', 'error in tcp-listener: required parameter missing: port'));
  it('bad int', () => yamlFails('- tcp-listener:\n    port: abc\n', 'error setting field port in command tcp-listener: strconv.ParseInt: parsing "abc": invalid syntax'));
  it('bad bool', () => yamlFails('- tcp-peer:\n    address: a:1\n    redial: maybe\n', 'error setting field redial in command tcp-peer: could not parse maybe as boolean'));
  it('a singleton twice in one file', () => yamlFails('- node:\n    id: a\n- node:\n    id: b\n', 'only one node directive is allowed'));
  it('a bare value must be a YAML string', () => {
    yamlFails('- tcp-listener: 29398\n', 'invalid config format for tcp-listener');
    yamlFails('- node: [1,2]\n', 'invalid config format for node');
    expect(loadYaml('- tcp-listener: "29397"\n').items[0].values.port).to.equal(29397);
  });
  it('bare value where none is allowed', () => yamlFails('- control-service: foo\n', 'could not get barevalue for command control-service: command does not allow bare values'));
  it('two keys in one item', () => yamlFails('- node:\n    id: a\n  log-level: debug\n', 'config format invalid: item has multiple names'));
  it('a number as an item', () => yamlFails('- 5\n', 'unknown config file format'));
  it('a top-level map without version 2', () => yamlFails('node:\n  id: a\n', 'yaml: unmarshal errors:\n  line 1: cannot unmarshal !!map into []interface {}'));
  it('malformed YAML', () => yamlFails('- node:\n    id: [a\n', 'yaml: '));

  it('errors name the file, the 1-based item index, the key, the field and the value', () => {
    const e = yamlFails('- node:\n    id: a\n- local-only:\n- tcp-listener:\n    port: notanint\n', 'error setting field port');
    expect(e.message).to.match(/r\.yml, item 3, key tcp-listener, field port, value "notanint"\)$/);
    expect(e.detail.source).to.deep.include({kind: 'file', index: 3});
  });
});

describe('config: value conversion (config.md §3.4, YAML 1.1 scalars)', () => {
  const id = (yaml: string) => loadYaml(`- node:\n    id: ${yaml}\n`).items[0].values.id;
  const perm = (yaml: string) => loadYaml(`- control-service:\n    permissions: ${yaml}\n`).items[0].values.permissions;

  it('string fields: yes → "true", 0660 → "432", 1.5 → "1.500000", 0x10 → "16"', () => {
    expect(id('yes')).to.equal('true');
    expect(id('0660')).to.equal('432');
    expect(id('1.5')).to.equal('1.500000');
    expect(id('0x10')).to.equal('16');
    expect(id('"0660"')).to.equal('0660');
    expect(id('1_000')).to.equal('1000');
  });

  it('int fields: 0660 is octal, "0660" too, 660 is decimal, 0o660 and "0x1b6" work', () => {
    expect(perm('0660')).to.equal(0o660);
    expect(perm("'0660'")).to.equal(0o660);
    expect(perm('660')).to.equal(660);
    expect(perm('0o660')).to.equal(0o660);
    expect(perm("'0x1b6'")).to.equal(0o666);
    expect(perm('2.9')).to.equal(2); // floats are truncated
  });

  it('bool fields take YAML booleans (yes/no/on/off) and Go words', () => {
    const redial = (y: string) => loadYaml(`- tcp-peer:\n    address: a:1\n    redial: ${y}\n`).items[0].values.redial;
    expect(redial('no')).to.equal(false);
    expect(redial('off')).to.equal(false);
    expect(redial('yes')).to.equal(true);
    expect(redial('"F"')).to.equal(false);
  });

  it('float, list and map fields; null empties a list or map', () => {
    const r = loadYaml('- tcp-listener:\n    port: 1\n    cost: 2\n    nodecost:\n      a: 1.5\n      b: 2\n    allowedpeers:\n      - x\n      - z\n      - y\n');
    // YAML 1.1 (as yaml.v2): a plain `y` is the boolean true, so it becomes "true".
    expect(r.items[0].values).to.deep.include({cost: 2, nodecost: {a: 1.5, b: 2}, allowedpeers: ['x', 'z', 'true']});
    const n = loadYaml('- tcp-listener:\n    port: 1\n    allowedpeers: ~\n    nodecost: null\n');
    expect(n.items[0].values).to.deep.include({allowedpeers: [], nodecost: {}});
    const j = loadYaml('- tcp-listener:\n    port: 1\n    nodecost: \'{"a": 1.3}\'\n');
    expect(j.items[0].values.nodecost).to.deep.equal({a: 1.3});
  });

  it('a wrong shape is a type error', () => {
    yamlFails('- tcp-listener:\n    port: [1]\n', 'error setting field port in command tcp-listener: type error (expected int)');
    yamlFails('- tcp-listener:\n    port: 1\n    nodecost: [1]\n', 'error setting field nodecost in command tcp-listener: type error (expected map[string]float64)');
    yamlFails('- tcp-peer:\n    address: a\n    redial: 1\n', 'error setting field redial in command tcp-peer: type error (expected bool)');
  });

  it('timestamps stay strings (yaml.v2 has no timestamp type here)', () => {
    const r = loadYaml('- cert-init:\n    commonname: ca\n    bits: 2048\n    notbefore: 2024-01-01T00:00:00Z\n    outcert: c\n    outkey: k\n');
    expect(r.items[0].values.notbefore).to.equal('2024-01-01T00:00:00Z');
  });
});

describe('config: defaults, zero values, implicit node (config.md §3.3)', () => {
  it('fills defaults converted like command-line strings, zero values otherwise, and records what was explicit', () => {
    const r = loadYaml('- control-service:\n    filename: /tmp/x.sock\n');
    const cs = r.items[0];
    expect(cs.values).to.deep.equal({service: 'control', filename: '/tmp/x.sock', permissions: 0o600, tls: '', tcplisten: '', tcptls: '', idletimeout: '', maxsessions: 0});
    expect([...cs.explicit]).to.deep.equal(['filename']);
  });

  it('the implicit node has all defaults and comes last', () => {
    const r = loadYaml('- local-only\n');
    const node = r.items.at(-1)!;
    expect(node.key).to.equal('node');
    expect(node.implicit).to.equal(true);
    expect(node.values.datadir).to.equal('/tmp/receptor');
  });
});

describe('config: item validation at load time', () => {
  it('node ID localhost is reserved (any case)', () => yamlFails('- node:\n    id: LocalHost\n', 'node ID "localhost" is reserved', ''));
  it('maxidleconnectiontimeout must parse and be at least 21s', () => {
    yamlFails(
      '- node:\n    id: a\n    maxidleconnectiontimeout: 5s\n',
      'user defined maxIdleConnectionTimeout [5000000000] is less than the default default timeout [21000000000]',
      '',
    );
    yamlFails(
      '- node:\n    id: a\n    maxidleconnectiontimeout: soon\n',
      "failed to parse MaxIdleConnectionTimeout from configuration file -- valid examples include '1.5h', '30m', '30m10s'",
      '',
    );
    expect(loadYaml('- node:\n    id: a\n    maxidleconnectiontimeout: 1m\n').items[0].values.maxidleconnectiontimeout).to.equal('1m');
  });
  it('log-level must be a known level (case-insensitive)', () => {
    yamlFails('- log-level: loud\n', 'loud is not a valid log level name', '');
    expect(loadYaml('- log-level: DEBUG\n').items[0].values.level).to.equal('DEBUG');
  });

  // Found by the fuzz suite: an alias without its anchor escaped as a ReferenceError.
  it('an alias to an unknown anchor is a ConfigError with yaml.v2 text, not a ReferenceError', () => {
    const err = yamlFails('- node:\n    id: *nope\n', "yaml: unknown anchor 'nope' referenced");
    expect(err.code).to.equal('E_CONFIG_FILE');
    expect(err.detail.source).to.deep.include({kind: 'file'});
    yamlFails('- node:\n    id: {a: [{a: {a: *b}}]}\n', "yaml: unknown anchor 'b' referenced");
  });
  it('an alias bomb is refused as excessive aliasing', () => {
    const rows = ['- node:', '    id: x', '- local-only:', '    a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 6; i++)
      rows.push(
        `    ${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
          .fill('*' + String.fromCharCode(97 + i))
          .join(', ')}]`,
      );
    yamlFails(rows.join('\n') + '\n', 'yaml: document contains excessive aliasing');
  });
});

/** Every kind of configuration error carries its own catalogue code and names where it is. */
import {expect} from 'chai';
import {loadConfig} from '../../../src/core/config/load.js';
import {ActionRegistry} from '../../../src/core/config/registry.js';
import {instantiate, runPhase} from '../../../src/core/config/lifecycle.js';
import type {Runtime} from '../../../src/core/config/types.js';
import {checkField, ConfigError, fieldError, ReceptorError, type ErrorCode} from '../../../src/core/errors.js';
import {fixtureRegistry, tempFiles} from '../../support/config-fixtures.js';

const reg = fixtureRegistry();

function failure(run: () => unknown): ConfigError {
  let err: unknown;
  try {
    run();
  } catch (e) {
    err = e;
  }
  expect(err).to.be.instanceOf(ConfigError);
  return err as ConfigError;
}

const cli = (...argv: string[]) => failure(() => loadConfig(argv, reg, {cwd: '/'}));
const yaml = (text: string) => failure(() => loadConfig(['-c', 'r.yml'], reg, {cwd: tempFiles({'r.yml': text})}));

describe('config: error codes', () => {
  const cases: Array<[string, () => ConfigError, ErrorCode, Partial<{key: string; field: string}>]> = [
    ['unknown command-line action', () => cli('--bogus'), 'E_CONFIG_UNKNOWN_KEY', {}],
    ['unknown YAML key', () => yaml('- bogus:\n'), 'E_CONFIG_UNKNOWN_KEY', {key: 'bogus'}],
    ['unknown v2 section', () => yaml('version: 2\nbogus: {}\n'), 'E_CONFIG_UNKNOWN_KEY', {key: 'bogus'}],
    ['unknown field', () => yaml('- node:\n    bogus: 1\n'), 'E_CONFIG_UNKNOWN_FIELD', {key: 'node', field: 'bogus'}],
    ['bare value where none is allowed', () => cli('--local-only', 'x'), 'E_CONFIG_UNKNOWN_FIELD', {key: 'local-only'}],
    ['bad int', () => yaml('- tcp-listener:\n    port: abc\n'), 'E_CONFIG_FIELD_INVALID', {key: 'tcp-listener', field: 'port'}],
    ['wrong type', () => yaml('- tcp-peer:\n    address: a\n    redial: 1\n'), 'E_CONFIG_FIELD_INVALID', {key: 'tcp-peer', field: 'redial'}],
    ['missing field', () => yaml('- tcp-listener:\n    bindaddr: 127.0.0.1\n'), 'E_CONFIG_FIELD_MISSING', {key: 'tcp-listener', field: 'port'}],
    ["an item's check of one field", () => yaml('- node:\n    id: localhost\n'), 'E_CONFIG_FIELD_INVALID', {key: 'node', field: 'id'}],
    ["an item's check of the whole item", () => yaml('- control-service:\n    service: ""\n'), 'E_CONFIG_ITEM_INVALID', {key: 'control-service'}],
    ['a singleton twice in one file', () => yaml('- node:\n    id: a\n- node:\n    id: b\n'), 'E_CONFIG_DUPLICATE', {key: 'node'}],
    ['a singleton twice on the command line', () => cli('--node', 'a', '--node', 'b'), 'E_CONFIG_DUPLICATE', {key: 'node'}],
    ['an exclusive action with others', () => cli('--version', '--node', 'id=a'), 'E_CONFIG_EXCLUSIVE', {key: 'version'}],
    ['parameter before any action', () => cli('id=foo'), 'E_CONFIG_ARGUMENT', {}],
    ['--config without a file', () => cli('--config'), 'E_CONFIG_ARGUMENT', {}],
    ['two keys in one item', () => yaml('- node:\n    id: a\n  log-level: debug\n'), 'E_CONFIG_ITEM_FORMAT', {}],
    ['a scalar body', () => yaml('- tcp-listener: [1]\n'), 'E_CONFIG_ITEM_FORMAT', {key: 'tcp-listener'}],
    ['malformed YAML', () => yaml('- node:\n    id: [a\n'), 'E_CONFIG_FILE', {}],
    ['a map without version 2', () => yaml('node:\n  id: a\n'), 'E_CONFIG_FILE', {}],
    ['a missing file', () => failure(() => loadConfig(['-c', '/nonexistent/receptor.yml'], reg)), 'E_CONFIG_FILE', {}],
  ];
  for (const [what, run, code, where] of cases) {
    it(`${what}: ${code}`, () => {
      const err = run();
      expect(err.code).to.equal(code);
      expect(err.exitCode).to.equal(1);
      expect(err.detail).to.include(where);
    });
  }

  it('names the file and item index of a v1 item', () => {
    const err = yaml('- node:\n    id: a\n- tcp-listener:\n    port: abc\n');
    expect(err.detail.source).to.deep.equal({kind: 'file', file: 'r.yml', index: 2});
    expect(err.message).to.match(/\(r\.yml, item 2, key tcp-listener, field port, value "abc"\)$/);
  });

  it('a required action that is missing: E_CONFIG_ITEM_MISSING', () => {
    const r = new ActionRegistry();
    r.add({key: 'must', description: 'm', required: true, fields: [{name: 'x', type: 'string', required: true, description: 'x'}], create: () => ({})}, 'test');
    const err = failure(() => loadConfig([], r));
    expect(err.code).to.equal('E_CONFIG_ITEM_MISSING');
    expect(err.detail.key).to.equal('must');
  });

  it("a plugin's default that does not convert is the plugin's fault: E_PLUGIN", () => {
    const r = new ActionRegistry();
    r.add({key: 'thing', description: 't', fields: [{name: 'n', type: 'int', default: 'many', description: 'n'}], create: () => ({})}, 'test');
    const err = failure(() => loadConfig(['--thing'], r));
    expect(err.code).to.equal('E_PLUGIN');
    expect(err.detail).to.include({key: 'thing', field: 'n'});
  });
});

describe("config: a plugin's validate() may throw a ConfigError naming the field", () => {
  it('the loader adds the file, item and key; the code and field stay', () => {
    const r = new ActionRegistry();
    r.add(
      {
        key: 'ticker',
        description: 't',
        fields: [{name: 'interval', type: 'int', description: 'i'}],
        validate(v) {
          if ((v.interval as number) <= 0) throw new ConfigError('interval must be positive', {field: 'interval', value: v.interval}, 'E_CONFIG_FIELD_INVALID');
        },
        create: () => ({}),
      },
      'test',
    );
    const err = failure(() => loadConfig(['-c', 'r.yml'], r, {cwd: tempFiles({'r.yml': '- ticker:\n    interval: 0\n'})}));
    expect(err.code).to.equal('E_CONFIG_FIELD_INVALID');
    expect(err.message).to.equal('interval must be positive (r.yml, item 1, key ticker, field interval, value 0)');
  });
});

describe('config: fieldError and checkField', () => {
  it('fieldError names the field, and the value only when the reason does not show it', () => {
    const a = fieldError('connection cost must be positive', 'cost', 0);
    expect(a).to.be.instanceOf(ConfigError).and.include({code: 'E_CONFIG_FIELD_INVALID', message: 'connection cost must be positive (field cost, value 0)'});
    expect(a.detail).to.deep.equal({field: 'cost', value: 0});
    const b = fieldError('loud is not a valid log level name', 'level', 'loud');
    expect(b.message).to.equal('loud is not a valid log level name (field level)');
    // Only a whole token counts: 5 inside 65535 is not the value shown.
    expect(fieldError('must be 0-65535', 'port', 5).message).to.equal('must be 0-65535 (field port, value 5)');
    expect(fieldError('address -1: invalid port', 'port', -1).message).to.equal('address -1: invalid port (field port)');
    expect(fieldError('must not be empty', 'path').detail).to.deep.equal({field: 'path'});
  });

  it('checkField turns a ReceptorError into a field error; other errors pass through', () => {
    const err = failure(() =>
      checkField('address', 'h', () => {
        throw new ReceptorError('E_ADDRESS', 'address h: missing port in address');
      }),
    );
    expect(err).to.include({code: 'E_CONFIG_FIELD_INVALID', message: 'address h: missing port in address (field address)'});
    expect(checkField('x', 1, () => 42)).to.equal(42);
    const bug = new TypeError('a bug');
    expect(() =>
      checkField('x', 1, () => {
        throw bug;
      }),
    ).to.throw(bug);
  });

  it('a peer address through the loader: field, code and place', () => {
    const err = yaml('- tcp-peer:\n    address: nocolon\n');
    expect(err.code).to.equal('E_CONFIG_FIELD_INVALID');
    expect(err.message).to.equal('address nocolon: missing port in address (r.yml, item 1, key tcp-peer, field address)');
  });

  it('a ConfigError thrown at Prepare gets the item place, as at load time', async () => {
    const r = new ActionRegistry();
    r.add(
      {
        key: 'late',
        description: 'l',
        fields: [{name: 'name', type: 'string', description: 'n'}],
        create: (v) => ({
          prepare() {
            throw fieldError('must provide a name', 'name', v.name);
          },
        }),
      },
      'test',
    );
    const items = loadConfig(['-c', 'r.yml'], r, {cwd: tempFiles({'r.yml': '- late:\n    name: ""\n'})}).items;
    const err = await runPhase('prepare', instantiate(items), {} as Runtime).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ConfigError).and.include({code: 'E_CONFIG_FIELD_INVALID', message: 'must provide a name (r.yml, item 1, key late, field name, value "")'});
  });
});

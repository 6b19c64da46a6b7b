/** config.md §9: the v2 map format, loaded into the same item list. */
import {expect} from 'chai';
import {loadConfig} from '../../../src/core/config/load.js';
import {fixtureRegistry, tempFiles} from '../../support/config-fixtures.js';

const reg = fixtureRegistry();
const loadYaml = (text: string) => loadConfig(['-c', 'v2.yml'], reg, {cwd: tempFiles({'v2.yml': text})});

describe('config: v2 map format (config.md §9)', () => {
  it('maps plural keys to items and orders them node/services first, backends last', () => {
    const r = loadYaml(`version: 2
tcp-listeners:
  - port: 2222
  - port: 2223
local-only:
  local: true
control-services:
  - service: control
    filename: /tmp/a.sock
node:
  id: foo
log-level:
  level: debug
`);
    expect(r.items.map((i) => i.key)).to.deep.equal(['node', 'log-level', 'control-service', 'tcp-listener', 'tcp-listener', 'local-only']);
    expect(r.items[0].values.id).to.equal('foo');
    expect(r.items[3].values.port).to.equal(2222);
    expect(r.items[4].values.port).to.equal(2223);
    expect(r.items[3].source).to.deep.include({path: 'tcp-listeners[0]'});
  });

  it('local-only takes effect only when non-empty', () => {
    const r = loadYaml('version: 2\nnode:\n  id: a\nlocal-only: {}\n');
    expect(r.items.map((i) => i.key)).to.deep.equal(['node']);
  });

  it('keys are case-insensitive and an implicit node is added when absent', () => {
    const r = loadYaml('version: 2\nTCP-Peers:\n  - address: localhost:1\n');
    expect(r.items.map((i) => i.key)).to.deep.equal(['tcp-peer', 'node']);
  });

  it('field errors name the v2 path', () => {
    expect(() => loadYaml('version: 2\ntcp-listeners:\n  - port: x\n')).to.throw(
      /strconv.ParseInt: parsing "x": invalid syntax \(v2\.yml, tcp-listeners\[0\], key tcp-listener, field port, value "x"\)/,
    );
  });

  it('unknown keys are refused', () => {
    expect(() => loadYaml('version: 2\nwidgets: []\n')).to.throw('error loading config file: unknown v2 config key widgets');
  });

  it('a map without version 2 is still refused as in Go v1', () => {
    expect(() => loadYaml('node:\n  id: a\n')).to.throw('cannot unmarshal !!map into []interface {}');
  });
});

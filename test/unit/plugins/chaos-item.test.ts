/** The `chaos` item (ours): fields, defaults, refused values with file/item/field, and Prepare wrapping every backend. */
import {expect} from 'chai';
import {pino} from 'pino';
import {Writable} from 'node:stream';
import {loadConfig} from '../../../src/core/config/load.js';
import {ActionRegistry} from '../../../src/core/config/registry.js';
import {ConfigError} from '../../../src/core/errors.js';
import type {MeshBackend} from '../../../src/core/netceptor/backend.js';
import {NodeRuntime} from '../../../src/core/runtime.js';
import {chaosOptions, type ChaosValues} from '../../../src/plugins/chaos/index.js';
import {builtinTypes} from '../../../src/plugins/register.js';
import {tempFiles} from '../../support/config-fixtures.js';
import {makeNode, RecordingSession} from '../../support/mesh.js';

const reg = new ActionRegistry();
for (const t of builtinTypes()) reg.add(t, 'receptor-mesh');
const load = (...argv: string[]) => loadConfig(argv, reg, {cwd: '/'});

function failsWith(argv: string[], cwd = '/'): ConfigError {
  try {
    loadConfig(argv, reg, {cwd});
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error(`expected ${argv.join(' ')} to fail`);
}

describe('chaos item (ours)', () => {
  it('has its fields and defaults; Go-style CLI and YAML load it', () => {
    const it0 = load('--chaos', 'seed=5', 'drop=0.05', 'cutevery=10s', 'cutfor=1s', 'backends=udp').items[0]!;
    expect(it0.key).to.equal('chaos');
    expect(it0.values).to.deep.equal({
      seed: 5,
      drop: 0.05,
      duplicate: 0,
      reorder: 0,
      corrupt: 0,
      delaymin: '',
      delaymax: '',
      cutevery: '10s',
      cutfor: '1s',
      cutmode: 'drop',
      peers: [],
      backends: ['udp'],
    });
    expect(chaosOptions(it0.values as ChaosValues)).to.include({seed: 5, drop: 0.05, cutEveryMs: 10_000, cutForMs: 1000, cutMode: 'drop'});
    const dir = tempFiles({
      'c.yml': ['- node:', '    id: a', '- chaos:', '    seed: 9', '    delaymin: 5ms', '    delaymax: 20ms', '    peers: [b]', '    cutmode: close'].join('\n'),
    });
    const items = loadConfig(['-c', 'c.yml'], reg, {cwd: dir}).items;
    expect(chaosOptions(items[1]!.values as ChaosValues)).to.deep.include({seed: 9, delayMinMs: 5, delayMaxMs: 20, peers: ['b'], cutMode: 'close'});
  });

  it('refuses bad values with E_CONFIG_FIELD_INVALID naming file, item and field', () => {
    const dir = tempFiles({'bad.yml': ['- node:', '    id: a', '- chaos:', '    drop: 1.5'].join('\n')});
    const e = failsWith(['-c', 'bad.yml'], dir);
    expect(e.code).to.equal('E_CONFIG_FIELD_INVALID');
    expect(e.message).to.match(/drop is a fraction of messages and must be between 0 and 1 \(bad\.yml, item 2, key chaos, field drop, value 1\.5\)$/);
  });

  const cases: Array<[string[], string, string]> = [
    [['duplicate=-0.1'], 'duplicate', 'between 0 and 1'],
    [['corrupt=2'], 'corrupt', 'between 0 and 1'],
    [['delaymin=abc'], 'delaymin', 'time: invalid duration "abc"'],
    [['delaymin=50ms', 'delaymax=10ms'], 'delaymax', 'delaymax must not be less than delaymin'],
    [['delaymin=-5ms'], 'delaymin', 'must not be negative'],
    [['cutfor=1s'], 'cutfor', 'cutfor needs cutevery'],
    [['cutevery=1s'], 'cutevery', 'cutevery needs cutfor'],
    [['cutevery=1s', 'cutfor=1s'], 'cutfor', 'cutfor must be shorter than cutevery'],
    [['cutmode=sometimes'], 'cutmode', 'sometimes is not a cut mode (use drop, close)'],
  ];
  for (const [args, field, text] of cases) {
    it(`refuses ${args.join(' ')} (field ${field})`, () => {
      const e = failsWith(['--chaos', ...args]);
      expect(e.code).to.equal('E_CONFIG_FIELD_INVALID');
      expect(e.message).to.include(text);
      expect(e.message).to.include(`key chaos, field ${field}`);
    });
  }

  it('Prepare wraps every backend the node starts afterwards and warns loudly', async () => {
    const lines: string[] = [];
    const logger = pino(
      {level: 'info'},
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          lines.push(chunk.toString());
          cb();
        },
      }),
    );
    const rt = new NodeRuntime(logger, {configFiles: [], argv: [], selfCommand: []});
    const node = makeNode('a');
    rt.setNode(node);
    const values = load('--chaos', 'drop=1').items[0]!.values as ChaosValues;
    const item = reg.get('chaos')!.def.create(values, {key: 'chaos', plugin: 'receptor-mesh', source: {kind: 'cli', token: '--chaos', position: 1}, explicit: new Set(['drop'])});
    await item.prepare!(rt);
    expect(lines.join('')).to.include('CHAOS LAYER ACTIVE');
    const session = new RecordingSession('tcp');
    const backend: MeshBackend = {kind: 'tcp', description: 'fake', start: async (sink) => (sink(session), {stop: async () => {}})};
    await node.addMeshBackend(backend, {cost: 1});
    expect(node.backends).to.include(backend); // the original stays listed (reload stops it by identity)
    expect(session.sent).to.have.length(0); // the handshake went into the chaos layer and was dropped
    await node.shutdown();
    await rt.shutdown();
    expect(lines.join('')).to.include('chaos: fault counts');

    // without the item the same backend sends its handshake
    const plain = makeNode('b');
    const s2 = new RecordingSession('tcp');
    await plain.addMeshBackend({kind: 'tcp', description: 'fake', start: async (sink) => (sink(s2), {stop: async () => {}})}, {cost: 1});
    expect(s2.sent.length).to.be.greaterThan(0);
    await plain.shutdown();
  });
});

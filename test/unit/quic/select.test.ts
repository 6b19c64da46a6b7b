/** QUIC engine selection: precedence (option > environment > node item > auto), bad values, auto's fallback. */
import {expect} from 'chai';
import {execFileSync} from 'node:child_process';
import {ReceptorError} from '../../../src/core/errors.js';
import type {QuicEngine} from '../../../src/core/netceptor/quic/engine.js';
import {loadQuicheFrom, quicheAvailable, quicheEngine} from '../../../src/core/netceptor/quic/quiche.js';
import {
  configureQuicEngine,
  loadTsEngine,
  quicEngine,
  quicEngineSelection,
  resetQuicEngineSelection,
  resolveQuicEngineChoice,
  selectQuicEngine,
  takeQuicEngineFlag,
} from '../../../src/core/netceptor/quic/select.js';
import {TsQuicEngine} from '../../../src/core/netceptor/quic/ts/engine.js';
import {settingsFromEnv} from '../../../src/core/settings.js';
import {nodeType} from '../../../src/plugins/node/index.js';

function thrown(fn: () => unknown): ReceptorError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(ReceptorError);
    return e as ReceptorError;
  }
  throw new Error('expected an error');
}

/** A quiche loader whose native package is missing, as on a platform without the binding. */
const missingQuiche = (): QuicEngine => {
  loadQuicheFrom('@matrixai/quic-nonexistent');
  throw new Error('unreachable: the package does not exist');
};

describe('QUIC engine selection', () => {
  const saved = process.env.RECEPTOR_QUIC_ENGINE;
  before(() => loadTsEngine());
  beforeEach(() => {
    delete process.env.RECEPTOR_QUIC_ENGINE;
    resetQuicEngineSelection();
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.RECEPTOR_QUIC_ENGINE;
    else process.env.RECEPTOR_QUIC_ENGINE = saved;
    resetQuicEngineSelection();
  });

  describe('TS engine key updates (RECEPTOR_QUIC_KEY_UPDATE_PACKETS)', () => {
    afterEach(() => delete process.env.RECEPTOR_QUIC_KEY_UPDATE_PACKETS);

    it('a positive integer reaches the TS engine; anything else leaves the default (updates near the AEAD limit)', () => {
      expect(settingsFromEnv({RECEPTOR_QUIC_KEY_UPDATE_PACKETS: '1000'}).quicKeyUpdatePackets).to.equal(1000);
      for (const bad of ['', '0', '-5', '1.5', 'many']) expect(settingsFromEnv({RECEPTOR_QUIC_KEY_UPDATE_PACKETS: bad}).quicKeyUpdatePackets, bad).to.equal(undefined);
      process.env.RECEPTOR_QUIC_KEY_UPDATE_PACKETS = '300';
      const sel = selectQuicEngine('ts', 'environment');
      expect((sel.engine as TsQuicEngine).opts.keyUpdatePackets).to.equal(300);
      resetQuicEngineSelection();
      delete process.env.RECEPTOR_QUIC_KEY_UPDATE_PACKETS;
      expect((selectQuicEngine('ts', 'environment').engine as TsQuicEngine).opts.keyUpdatePackets).to.equal(undefined);
    });
  });

  describe('precedence', () => {
    it('option > environment > node item > default auto; empty values count as unset; case-insensitive', () => {
      expect(resolveQuicEngineChoice({})).to.deep.equal({choice: 'auto', source: 'default'});
      expect(resolveQuicEngineChoice({config: 'ts'})).to.deep.equal({choice: 'ts', source: 'config'});
      expect(resolveQuicEngineChoice({env: 'quiche', config: 'ts'})).to.deep.equal({choice: 'quiche', source: 'environment'});
      expect(resolveQuicEngineChoice({flag: 'TS', env: 'quiche', config: 'quiche'})).to.deep.equal({choice: 'ts', source: 'flag'});
      expect(resolveQuicEngineChoice({flag: '', env: '', config: 'quiche'})).to.deep.equal({choice: 'quiche', source: 'config'});
    });

    it('the environment overrides the node item when the process configures its engine', async () => {
      process.env.RECEPTOR_QUIC_ENGINE = 'ts';
      const sel = await configureQuicEngine('quiche', {quiche: missingQuiche});
      expect(sel).to.include({name: 'ts', choice: 'ts', source: 'environment'});
      expect(sel.engine).to.be.instanceOf(TsQuicEngine);
      expect(quicEngine()).to.equal(sel.engine);
      expect(quicEngineSelection()).to.equal(sel);
    });

    it('--quic-engine (both spellings) is taken out of the node arguments and beats the environment', async () => {
      process.env.RECEPTOR_QUIC_ENGINE = 'quiche';
      expect(takeQuicEngineFlag(['-c', 'x.yml', '--quic-engine', 'ts', '--log-level', 'debug'])).to.deep.equal(['-c', 'x.yml', '--log-level', 'debug']);
      expect(await configureQuicEngine('quiche')).to.include({name: 'ts', source: 'flag'});
      resetQuicEngineSelection();
      expect(takeQuicEngineFlag(['--node', 'id=a', '--quic-engine=auto'])).to.deep.equal(['--node', 'id=a']);
      expect(await configureQuicEngine(undefined, {quiche: missingQuiche})).to.include({name: 'ts', choice: 'auto', source: 'flag'});
    });

    it('without a configured selection, quicEngine() selects from the environment once per process', () => {
      process.env.RECEPTOR_QUIC_ENGINE = 'ts';
      const e = quicEngine();
      expect(e).to.be.instanceOf(TsQuicEngine);
      expect(quicEngine()).to.equal(e); // one instance for the process
      expect(quicEngineSelection()).to.include({name: 'ts', source: 'environment'});
    });
  });

  describe('bad values', () => {
    it('a bad option or environment value is E_USAGE naming the value and where it came from', () => {
      const a = thrown(() => resolveQuicEngineChoice({flag: 'fast'}));
      expect(a.code).to.equal('E_USAGE');
      expect(a.message).to.equal('"fast" is not a QUIC engine (use auto, quiche, ts) in the --quic-engine option');
      const b = thrown(() => resolveQuicEngineChoice({env: 'go'}));
      expect(b.code).to.equal('E_USAGE');
      expect(b.message).to.equal('"go" is not a QUIC engine (use auto, quiche, ts) in RECEPTOR_QUIC_ENGINE');
      expect(thrown(() => takeQuicEngineFlag(['--quic-engine=fast'])).code).to.equal('E_USAGE');
      expect(thrown(() => takeQuicEngineFlag(['--quic-engine'])).message).to.equal('--quic-engine needs a value (auto, quiche, ts)');
      expect(thrown(() => takeQuicEngineFlag(['--quic-engine', '--node'])).code).to.equal('E_USAGE');
    });

    it('a bad environment value is refused when the node arguments are read, even under the option', () => {
      process.env.RECEPTOR_QUIC_ENGINE = 'nope';
      expect(thrown(() => takeQuicEngineFlag(['--node', 'id=a'])).message).to.include('RECEPTOR_QUIC_ENGINE');
      expect(thrown(() => takeQuicEngineFlag(['--quic-engine', 'ts'])).code).to.equal('E_USAGE');
    });

    it("the node item's quicengine field is checked like other fields (E_CONFIG_FIELD_INVALID)", () => {
      const base = {id: 'a', datadir: '/tmp/x', firewallrules: [], maxidleconnectiontimeout: '', reportedversion: ''};
      for (const ok of ['', 'auto', 'quiche', 'ts', 'TS']) expect(() => nodeType.validate!({...base, quicengine: ok})).not.to.throw();
      let err: unknown;
      try {
        nodeType.validate!({...base, quicengine: 'native'});
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(ReceptorError);
      expect((err as ReceptorError).code).to.equal('E_CONFIG_FIELD_INVALID');
      expect((err as Error).message).to.include('native is not a QUIC engine');
    });
  });

  describe('auto', () => {
    it('falls back to the TS engine when the native binding does not load, saying why', () => {
      const sel = selectQuicEngine('auto', 'default', {quiche: missingQuiche});
      expect(sel.name).to.equal('ts');
      expect(sel.engine).to.be.instanceOf(TsQuicEngine);
      expect(sel.reason).to.match(/^auto \(default\): native binding unavailable: QUIC streams are not available on this platform .*@matrixai\/quic-nonexistent/);
    });

    it('uses quiche when its binding loads', function () {
      if (!quicheAvailable()) this.skip(); // the native binding exists for linux-x64 (glibc >= 2.34) only
      const sel = selectQuicEngine('auto', 'default');
      expect(sel).to.include({name: 'quiche', reason: 'auto (default): native binding loaded'});
      expect(sel.engine).to.equal(quicheEngine());
    });

    it('a forced quiche without its binding is the existing E_QUIC_UNAVAILABLE error, not a fallback', () => {
      const err = thrown(() => selectQuicEngine('quiche', 'environment', {quiche: missingQuiche}));
      expect(err.code).to.equal('E_QUIC_UNAVAILABLE');
      expect(err.message).to.include('@matrixai/quic-nonexistent');
    });

    it('a process loads the TS engine only when its choice needs it (or RECEPTOR_QUIC_ENGINE=ts at import)', () => {
      // A fresh process: the module graph of this one already holds the TS engine.
      const probe = [
        `const s = await import(${JSON.stringify(new URL('../../../src/core/netceptor/quic/select.ts', import.meta.url).href)});`,
        `let before = 'loaded';`,
        `try { s.selectQuicEngine('ts', 'flag'); } catch (e) { before = e.code + ': ' + e.message; }`,
        `const sel = await s.configureQuicEngine('ts');`,
        `console.log(JSON.stringify({before, after: sel.name, ctor: sel.engine.constructor.name}));`,
      ].join('\n');
      const run = (env: Record<string, string>): {before: string; after: string; ctor: string} => {
        const {RECEPTOR_QUIC_ENGINE: _drop, ...rest} = process.env;
        void _drop;
        const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], {encoding: 'utf8', env: {...rest, ...env}});
        return JSON.parse(out.trim().split('\n').pop()!) as {before: string; after: string; ctor: string};
      };
      expect(run({})).to.deep.equal({
        before: 'E_QUIC_UNAVAILABLE: the TypeScript QUIC engine is not loaded (configureQuicEngine or loadTsEngine loads it)',
        after: 'ts',
        ctor: 'TsQuicEngine',
      });
      expect(run({RECEPTOR_QUIC_ENGINE: 'ts'})).to.deep.equal({before: 'loaded', after: 'ts', ctor: 'TsQuicEngine'});
    });

    it('ts is the TS engine whatever the platform', () => {
      const sel = selectQuicEngine('ts', 'config', {quiche: missingQuiche});
      expect(sel).to.include({name: 'ts', reason: 'ts chosen by config'});
    });
  });
});

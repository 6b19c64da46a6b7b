/** config.md §5.6: the six mesh-backend items — fields, defaults, bare values, validation, Run. */
import {expect} from 'chai';
import {pino} from 'pino';
import {loadConfig} from '../../../src/core/config/load.js';
import {ActionRegistry} from '../../../src/core/config/registry.js';
import type {ActionTypeDef, BackendHandle, ItemContext} from '../../../src/core/config/types.js';
import {ConfigError} from '../../../src/core/errors.js';
import type {LinkOptions, MeshBackend, MeshNodeHandle} from '../../../src/core/netceptor/backend.js';
import {BasicNode, NodeRuntime} from '../../../src/core/runtime.js';
import {tcpBackendTypes} from '../../../src/plugins/backend-tcp/index.js';
import {TcpDialerBackend, TcpListenerBackend} from '../../../src/plugins/backend-tcp/backend.js';
import {udpBackendTypes} from '../../../src/plugins/backend-udp/index.js';
import {UdpDialerBackend, UdpListenerBackend} from '../../../src/plugins/backend-udp/backend.js';
import {wsBackendTypes} from '../../../src/plugins/backend-ws/index.js';
import {WsDialerBackend, WsListenerBackend} from '../../../src/plugins/backend-ws/backend.js';
import {builtinTypes} from '../../../src/plugins/register.js';
import {tempFiles} from '../../support/config-fixtures.js';

const ours: ActionTypeDef[] = [...tcpBackendTypes, ...udpBackendTypes, ...wsBackendTypes];

function registry(): ActionRegistry {
  const r = new ActionRegistry();
  for (const t of builtinTypes()) r.add(t, 'receptor-mesh');
  // once the lead adds the backends to the built-in hook they are already there
  for (const t of ours) if (!r.get(t.key)) r.add(t, 'receptor-mesh');
  return r;
}

const reg = registry();
const load = (...argv: string[]) => loadConfig(argv, reg, {cwd: '/'});
const item = (...argv: string[]) => load(...argv).items[0];

function fails(argv: string[], text: string): ConfigError {
  let err: unknown;
  try {
    load(...argv);
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${argv.join(' ')} to fail`).to.be.instanceOf(ConfigError);
  expect((err as Error).message).to.include(text);
  return err as ConfigError;
}

describe('backend config items (config.md §5.6)', () => {
  it('registers six reloadable, non-singleton items', () => {
    expect(ours.map((t) => t.key)).to.deep.equal(['tcp-listener', 'tcp-peer', 'udp-listener', 'udp-peer', 'ws-listener', 'ws-peer']);
    for (const t of ours) {
      expect(t.reloadable, t.key).to.equal(true);
      expect(t.singleton ?? false, t.key).to.equal(false);
    }
  });

  it('field sets match the reference', () => {
    const names = (key: string) =>
      ours
        .find((t) => t.key === key)!
        .fields.map((f) => f.name)
        .sort();
    expect(names('tcp-listener')).to.deep.equal(['allowedpeers', 'bindaddr', 'cost', 'nodecost', 'port', 'tls']);
    expect(names('tcp-peer')).to.deep.equal(['address', 'allowedpeers', 'cost', 'redial', 'tls']);
    expect(names('udp-listener')).to.deep.equal(['allowedpeers', 'bindaddr', 'cost', 'nodecost', 'port']);
    expect(names('udp-peer')).to.deep.equal(['address', 'allowedpeers', 'cost', 'redial']);
    expect(names('ws-listener')).to.deep.equal(['allowedpeers', 'bindaddr', 'cost', 'nodecost', 'path', 'port', 'tls']);
    expect(names('ws-peer')).to.deep.equal(['address', 'allowedpeers', 'cost', 'extraheader', 'redial', 'tls']);
  });

  describe('bare values and defaults', () => {
    it('tcp-listener', () => {
      const it0 = item('--tcp-listener', '2222');
      expect(it0.values).to.deep.equal({port: 2222, bindaddr: '0.0.0.0', tls: '', cost: 1, nodecost: {}, allowedpeers: []});
    });
    it('tcp-peer', () => {
      expect(item('--tcp-peer', 'localhost:2222').values).to.deep.equal({address: 'localhost:2222', redial: true, tls: '', cost: 1, allowedpeers: []});
    });
    it('udp-listener', () => {
      expect(item('--udp-listener', '2223').values).to.deep.equal({port: 2223, bindaddr: '0.0.0.0', cost: 1, nodecost: {}, allowedpeers: []});
    });
    it('udp-peer', () => {
      expect(item('--udp-peer', '10.0.0.1:2223').values).to.deep.equal({address: '10.0.0.1:2223', redial: true, cost: 1, allowedpeers: []});
    });
    it('ws-listener', () => {
      expect(item('--ws-listener', '8080').values).to.deep.equal({
        port: 8080,
        bindaddr: '0.0.0.0',
        path: '/',
        tls: '',
        cost: 1,
        nodecost: {},
        allowedpeers: [],
      });
    });
    it('ws-peer', () => {
      expect(item('--ws-peer', 'ws://h:8080/x').values).to.deep.equal({
        address: 'ws://h:8080/x',
        redial: true,
        extraheader: '',
        tls: '',
        cost: 1,
        allowedpeers: [],
      });
    });
  });

  it('converts named fields like Go (float cost, JSON nodecost, repeated allowedpeers, bool redial)', () => {
    const l = item('--tcp-listener', 'port=0x10', 'cost=2.5', 'nodecost={"a":1.3,"b":2}', 'allowedpeers=a', 'allowedpeers=b', 'tls=srv');
    expect(l.values).to.deep.include({port: 16, cost: 2.5, nodecost: {a: 1.3, b: 2}, allowedpeers: ['a', 'b'], tls: 'srv'});
    const p = item('--udp-peer', 'address=h:1', 'redial=false', 'allowedpeers=["x","y"]');
    expect(p.values).to.deep.include({redial: false, allowedpeers: ['x', 'y']});
  });

  it('reads v1 YAML', () => {
    const dir = tempFiles({
      'r.yml': [
        '- tcp-listener:',
        '    port: 2222',
        '    nodecost: {bar: 1.5}',
        '    allowedpeers: [bar, baz]',
        '- tcp-peer: 127.0.0.1:2222',
        '- ws-peer:',
        '    address: wss://example.com/mesh',
        '    extraheader: "Authorization: Bearer x"',
        '    redial: no',
        "- udp-listener: '2223'", // a YAML bare value must be a string
        '- ws-listener:',
        '    port: 8080',
        '    path: /ws/',
        '',
      ].join('\n'),
    });
    const items = loadConfig(['-c', 'r.yml'], reg, {cwd: dir}).items;
    expect(items.map((i) => i.key)).to.deep.equal(['tcp-listener', 'tcp-peer', 'ws-peer', 'udp-listener', 'ws-listener', 'node']);
    expect(items[0].values).to.deep.include({port: 2222, nodecost: {bar: 1.5}, allowedpeers: ['bar', 'baz']});
    expect(items[1].values.address).to.equal('127.0.0.1:2222');
    expect(items[2].values).to.deep.include({address: 'wss://example.com/mesh', extraheader: 'Authorization: Bearer x', redial: false});
    expect(items[3].values.port).to.equal(2223);
    expect(items[4].values.path).to.equal('/ws/');
  });

  describe('errors', () => {
    for (const key of ['tcp-listener', 'udp-listener', 'ws-listener']) {
      it(`${key}: port required, must be an int in 0-65535`, () => {
        fails([`--${key}`], `error in --${key}: required parameter missing: port`);
        fails([`--${key}`, 'port=abc'], 'strconv.ParseInt: parsing "abc": invalid syntax');
        // Go's words (net.Listen / net.ResolveUDPAddr), checked against the Go binary.
        const listen = key === 'udp-listener' ? '' : 'listen tcp: ';
        fails([`--${key}`, '70000'], `${listen}address 70000: invalid port`);
        fails([`--${key}`, 'port=-1'], `${listen}address -1: invalid port`);
      });
      it(`${key}: cost and every nodecost must be positive`, () => {
        fails([`--${key}`, '1', 'cost=0'], 'connection cost must be positive');
        fails([`--${key}`, '1', 'cost=-1'], 'connection cost must be positive');
        fails([`--${key}`, '1', 'nodecost={"good":1,"bad":0}'], 'connection cost must be positive for bad');
        fails([`--${key}`, '1', 'nodecost={"neg":-2.5}'], 'connection cost must be positive for neg');
      });
    }
    for (const key of ['tcp-peer', 'udp-peer', 'ws-peer']) {
      it(`${key}: address required; cost positive; redial a Go bool`, () => {
        const addr = key === 'ws-peer' ? 'ws://h:1/' : 'h:1';
        fails([`--${key}`], `error in --${key}: required parameter missing: address`);
        fails([`--${key}`, addr, 'cost=0'], 'connection cost must be positive');
        fails([`--${key}`, addr, 'redial=maybe'], 'could not parse maybe as boolean');
        fails([`--${key}`, addr, 'nodecost={"a":1}'], 'unknown field name nodecost');
      });
    }
    it('tcp-peer / udp-peer: address must be host:port', () => {
      fails(['--tcp-peer', 'nocolon'], 'missing port in address');
      fails(['--udp-peer', 'h:port'], 'invalid port');
      fails(['--tcp-peer', '::1:80'], 'too many colons');
      expect(item('--tcp-peer', '[::1]:80').values.address).to.equal('[::1]:80');
    });
    it('ws-peer: address must be a ws:// or wss:// URL', () => {
      fails(['--ws-peer', 'not a url'], 'address not a url is not a valid URL');
      fails(['--ws-peer', 'http://h/'], 'the scheme must be ws or wss');
      // (a bare value containing '=' would be split as field=value, as in Go)
      expect(item('--ws-peer', 'address=wss://h/p?q=1').values.address).to.equal('wss://h/p?q=1');
    });
    it('ws-peer: extraheader must contain a colon', () => {
      fails(['--ws-peer', 'ws://h/', 'extraheader=NoColonHere'], 'extra header must be in the form key:value');
      expect(item('--ws-peer', 'ws://h/', 'extraheader=X-A:b').values.extraheader).to.equal('X-A:b');
    });
    it('ws-listener: path must start with /', () => {
      fails(['--ws-listener', '1', 'path=ws'], 'must start with /');
      fails(['--ws-listener', '1', 'path='], 'must start with /');
    });
    it('udp items have no tls field', () => {
      fails(['--udp-listener', '1', 'tls=x'], 'unknown field name tls');
    });
  });
});

describe('backend items at Run', () => {
  const logger = pino({level: 'silent'});
  const ctx = (key: string): ItemContext => ({key, plugin: 'test', source: {kind: 'implicit'}, explicit: new Set()});

  class FakeMeshNode extends BasicNode implements MeshNodeHandle {
    calls: Array<{backend: MeshBackend; opts: LinkOptions}> = [];
    constructor() {
      super('foo', '/tmp/x');
    }
    async addMeshBackend(backend: MeshBackend, opts: LinkOptions) {
      this.addBackend(backend as BackendHandle);
      this.calls.push({backend, opts});
      return {localAddress: backend.kind.endsWith('listener') ? '127.0.0.1:4242' : undefined, stop: async () => undefined};
    }
  }

  function runtime(node: BasicNode) {
    const rt = new NodeRuntime(logger, {configFiles: [], argv: [], selfCommand: []}, () => undefined);
    rt.setNode(node);
    return rt;
  }

  const valuesOf = (...argv: string[]) => item(...argv).values;
  const def = (key: string) => ours.find((t) => t.key === key)!;

  it('refuses to run without a mesh node', async () => {
    const rt = runtime(new BasicNode('foo', '/tmp/x'));
    let err: unknown;
    try {
      await def('tcp-listener').create(valuesOf('--tcp-listener', '1'), ctx('tcp-listener')).run!(rt);
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).to.include('needs a mesh node');
  });

  const cases: Array<{argv: string[]; cls: unknown; kind: string}> = [
    {argv: ['--tcp-listener', '2222', 'bindaddr=127.0.0.1'], cls: TcpListenerBackend, kind: 'tcp-listener'},
    {argv: ['--tcp-peer', 'h:1'], cls: TcpDialerBackend, kind: 'tcp-peer'},
    {argv: ['--udp-listener', '2223'], cls: UdpListenerBackend, kind: 'udp-listener'},
    {argv: ['--udp-peer', 'h:1'], cls: UdpDialerBackend, kind: 'udp-peer'},
    {argv: ['--ws-listener', '8080', 'path=/ws'], cls: WsListenerBackend, kind: 'ws-listener'},
    {argv: ['--ws-peer', 'ws://h:1/', 'extraheader=X-T: v'], cls: WsDialerBackend, kind: 'ws-peer'},
  ];
  for (const c of cases) {
    it(`${c.kind}: Run and Reload add the backend with its link options`, async () => {
      const node = new FakeMeshNode();
      const rt = runtime(node);
      const key = c.argv[0].slice(2);
      const extra = key.endsWith('listener') ? ['nodecost={"bar":2}'] : [];
      const it0 = def(key).create(valuesOf(...c.argv, 'cost=1.5', 'allowedpeers=bar', ...extra), ctx(key));
      await it0.run!(rt);
      await it0.preReload!(rt);
      await it0.reload!(rt);
      expect(node.calls).to.have.length(2);
      const {backend, opts} = node.calls[0];
      // The item loads its backend module lazily (under tsx that is a second module instance), so compare class names.
      expect(backend.constructor.name).to.equal((c.cls as {name: string}).name);
      expect(backend.kind).to.equal(c.kind);
      expect(backend.description).to.be.a('string').that.is.not.empty;
      expect(opts).to.deep.equal(key.endsWith('listener') ? {cost: 1.5, nodeCost: {bar: 2}, allowedPeers: ['bar']} : {cost: 1.5, allowedPeers: ['bar']});
    });
  }

  it('defaults give plain link options (no empty nodeCost / allowedPeers)', async () => {
    const node = new FakeMeshNode();
    await def('tcp-listener').create(valuesOf('--tcp-listener', '1'), ctx('tcp-listener')).run!(runtime(node));
    expect(node.calls[0].opts).to.deep.equal({cost: 1});
  });

  for (const [key, arg, kind] of [
    ['tcp-listener', '1', 'tls-server'],
    ['tcp-peer', 'h:1', 'tls-client'],
    ['ws-listener', '1', 'tls-server'],
    ['ws-peer', 'wss://h:1/', 'tls-client'],
  ] as const) {
    it(`${key}: tls names a ${kind} config (unknown → error; known → handed to the backend)`, async () => {
      const node = new FakeMeshNode();
      const rt = runtime(node);
      const item0 = def(key).create(valuesOf(`--${key}`, arg, 'tls=mine'), ctx(key));
      let err: unknown;
      try {
        await item0.run!(rt);
      } catch (e) {
        err = e;
      }
      expect((err as Error)?.message).to.equal('unknown TLS config mine');
      const tlsOpts = {rejectUnauthorized: true, marker: kind};
      rt.registry(kind).register('mine', tlsOpts);
      await item0.run!(rt);
      const backend = node.calls[0].backend as unknown as {options: {tls?: unknown}};
      expect(backend.options.tls).to.equal(tlsOpts);
    });
  }
});

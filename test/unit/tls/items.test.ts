/**
 * `tls-server` / `tls-client` items (config.md §5.4, §5.5, Corrections 8–10): fields and
 * defaults, every Prepare error text, the node-ID start-up check, registration.
 */
import {expect} from 'chai';
import {createHash} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {pino} from 'pino';
import {loadConfig} from '../../../src/core/config/load.js';
import {ActionRegistry} from '../../../src/core/config/registry.js';
import {instantiate, runAllPhases} from '../../../src/core/config/lifecycle.js';
import type {ActionTypeDef, FieldValues, ItemContext} from '../../../src/core/config/types.js';
import {ConfigError} from '../../../src/core/errors.js';
import {createCa, createCsr, signCsr} from '../../../src/core/pki/x509.js';
import {BasicNode, NodeRuntime} from '../../../src/core/runtime.js';
import {tlsClientConfigOf, tlsServerConfigOf} from '../../../src/core/tls/config.js';
import {lookupTls} from '../../../src/plugins/backend-common/items.js';
import {builtinTypes} from '../../../src/plugins/register.js';
import {tlsClientType, tlsServerType, tlsTypes} from '../../../src/plugins/tls/index.js';
import {tempFiles} from '../../support/config-fixtures.js';

function registry(): ActionRegistry {
  const r = new ActionRegistry();
  for (const t of builtinTypes()) r.add(t, 'receptor-mesh');
  for (const t of tlsTypes) if (!r.get(t.key)) r.add(t, 'receptor-mesh');
  return r;
}
const reg = registry();
const load = (...argv: string[]) => loadConfig(argv, reg, {cwd: '/'});
const ctx = (key: string): ItemContext => ({key, plugin: 'test', source: {kind: 'implicit'}, explicit: new Set()});

function loadFails(argv: string[], text: string): void {
  let err: unknown;
  try {
    load(...argv);
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${argv.join(' ')} to fail`).to.be.instanceOf(ConfigError);
  expect((err as Error).message).to.include(text);
}

const SERVER_PREFIX = 'error preparing tls server config: ';
const CLIENT_PREFIX = 'error preparing tls client config: ';

describe('tls-server / tls-client items', function () {
  this.timeout(30_000);
  let dir: string;
  let f: Record<string, string>;
  let fpA: string;

  before(async () => {
    const ca = await createCa({commonName: 'items CA'});
    const csr = await createCsr({commonName: 'A', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], nodeIds: ['A']});
    // CSRs with the same key but other node IDs
    const csrX = await createCsr({commonName: 'X', key: csr.key, dnsNames: ['localhost'], nodeIds: ['X', 'Y']});
    const csrNone = await createCsr({commonName: 'none', key: csr.key, dnsNames: ['localhost']});
    const certA = signCsr({csrPem: csr.csrPem, caCertPem: ca.certPem, caKeyPem: ca.key});
    const certXY = signCsr({csrPem: csrX.csrPem, caCertPem: ca.certPem, caKeyPem: ca.key});
    const certNone = signCsr({csrPem: csrNone.csrPem, caCertPem: ca.certPem, caKeyPem: ca.key});
    const expired = signCsr({csrPem: csr.csrPem, caCertPem: ca.certPem, caKeyPem: ca.key, notBefore: new Date('2019-01-01T00:00:00Z'), notAfter: new Date('2020-01-01T00:00:00Z')});
    dir = tempFiles({
      'a.crt': certA.certPem,
      'xy.crt': certXY.certPem,
      'none.crt': certNone.certPem,
      'expired.crt': expired.certPem,
      'a.key': csr.keyPem,
      'ca.crt': ca.certPem,
      'ca.key': ca.keyPem,
      'garbage.txt': 'this is not PEM\n',
    });
    f = Object.fromEntries(['a.crt', 'xy.crt', 'none.crt', 'expired.crt', 'a.key', 'ca.crt', 'ca.key', 'garbage.txt'].map((n) => [n, join(dir, n)]));
    fpA = fingerprint(certA.certDer);
  });

  function runtime(nodeId = 'A') {
    const rt = new NodeRuntime(pino({level: 'silent'}), {configFiles: [], argv: [], selfCommand: []}, () => undefined);
    rt.setNode(new BasicNode(nodeId, '/tmp/x'));
    return rt;
  }

  /** Values as the loader hands them over (through the real loader, so defaults are the item's). */
  function values(key: 'tls-server' | 'tls-client', given: Record<string, string | string[] | boolean>): FieldValues {
    const argv = [`--${key}`];
    for (const [k, v] of Object.entries(given)) {
      if (Array.isArray(v)) for (const x of v) argv.push(`${k}=${x}`);
      else argv.push(`${k}=${String(v)}`);
    }
    return load(...argv).items[0]!.values;
  }

  async function prepare(def: ActionTypeDef, v: FieldValues, rt = runtime()): Promise<Error | undefined> {
    try {
      await def.create(v, ctx(def.key)).prepare!(rt);
      return undefined;
    } catch (err) {
      return err as Error;
    }
  }

  /** Prepare without the loader (so load-time validation does not get in the way). */
  function raw(def: ActionTypeDef, given: FieldValues): FieldValues {
    const out: FieldValues = {};
    for (const fs of def.fields) out[fs.name] = fs.name in given ? given[fs.name] : (fs.default ?? (fs.type === 'string-list' ? [] : fs.type === 'bool' ? false : ''));
    return out;
  }

  describe('definitions', () => {
    it('two non-singleton, non-reloadable items with the Go field sets, then our verifypeernodeid', () => {
      expect(tlsTypes.map((t) => t.key)).to.deep.equal(['tls-server', 'tls-client']);
      for (const t of tlsTypes) {
        expect(t.singleton ?? false).to.equal(false);
        expect(t.reloadable ?? false).to.equal(false);
      }
      expect(tlsServerType.fields.map((x) => x.name)).to.deep.equal([
        'name',
        'cert',
        'key',
        'requireclientcert',
        'clientcas',
        'pinnedclientcert',
        'skipreceptornamescheck',
        'mintls13',
        'verifypeernodeid',
      ]);
      expect(tlsClientType.fields.map((x) => x.name)).to.deep.equal([
        'name',
        'cert',
        'key',
        'rootcas',
        'insecureskipverify',
        'pinnedservercert',
        'skipreceptornamescheck',
        'mintls13',
        'verifypeernodeid',
      ]);
      expect(tlsServerType.fields.filter((x) => x.required).map((x) => x.name)).to.deep.equal(['name', 'cert', 'key']);
      expect(tlsClientType.fields.filter((x) => x.required).map((x) => x.name)).to.deep.equal(['name', 'cert', 'key']);
    });

    it('defaults', () => {
      expect(load('--tls-server', 'name=s', 'cert=c', 'key=k').items[0]!.values).to.deep.equal({
        name: 's',
        cert: 'c',
        key: 'k',
        requireclientcert: false,
        clientcas: '',
        pinnedclientcert: [],
        skipreceptornamescheck: false,
        mintls13: false,
        verifypeernodeid: false,
      });
      expect(load('--tls-client', 'name=c', 'cert=c', 'key=k').items[0]!.values).to.deep.equal({
        name: 'c',
        cert: 'c',
        key: 'k',
        rootcas: '',
        insecureskipverify: false,
        pinnedservercert: [],
        skipreceptornamescheck: false,
        mintls13: false,
        verifypeernodeid: false,
      });
    });

    it('cert and key are required (loader text)', () => {
      loadFails(['--tls-client', 'name=c'], 'error in --tls-client: required parameters missing: cert, key');
      loadFails(['--tls-server', 'cert=c', 'key=k'], 'required parameter missing: name');
    });

    it('pins are checked at load time with the Prepare text (config check catches them)', () => {
      loadFails(['--tls-server', 'name=s', 'cert=c', 'key=k', 'pinnedclientcert=xyz'], `${SERVER_PREFIX}error decoding fingerprints: error decoding fingerprint`);
      loadFails(
        ['--tls-client', 'name=c', 'cert=c', 'key=k', 'pinnedservercert=abcd'],
        `${CLIENT_PREFIX}error decoding fingerprints: fingerprints must be 32 or 64 bytes for sha256 or sha512`,
      );
      expect(load('--tls-client', 'name=c', 'cert=c', 'key=k', `pinnedservercert=${fpA}`).items[0]!.values.pinnedservercert).to.deep.equal([fpA]);
    });

    it('the item module does not load the TLS / PKI code statically', () => {
      const src = readFileSync(new URL('../../../src/plugins/tls/index.ts', import.meta.url), 'utf8');
      const staticImports = [...src.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'([^']+)'/gm)].map((m) => m[1]);
      expect(staticImports).to.deep.equal(['node:fs/promises', '../../core/errors.js']); // the error catalogue is small
      expect(src).to.include("import('../../core/tls/config.js')");
    });
  });

  describe('Prepare', () => {
    it('tls-server: registers Node server options carrying the config', async () => {
      const rt = runtime();
      const v = values('tls-server', {name: 'srv', cert: f['a.crt']!, key: f['a.key']!, clientcas: f['ca.crt']!, requireclientcert: true, pinnedclientcert: [fpA]});
      expect(await prepare(tlsServerType, v, rt)).to.equal(undefined);
      const opts = lookupTls(rt, 'tls-server', 'srv')!;
      expect(opts.requestCert).to.equal(true);
      const cfg = tlsServerConfigOf(opts)!;
      expect(cfg).to.deep.include({name: 'srv', certPath: f['a.crt'], keyPath: f['a.key'], clientCasPath: f['ca.crt'], requireClientCert: true, requestClientCert: true});
      expect(cfg.clientCas).to.have.length(1);
      expect(cfg.pins).to.have.length(1);
      expect(cfg.nodeOptions).to.equal(opts);
    });

    it('tls-client: registers Node client options carrying the config', async () => {
      const rt = runtime();
      const v = values('tls-client', {name: 'cli', cert: f['a.crt']!, key: f['a.key']!, rootcas: f['ca.crt']!, insecureskipverify: true, mintls13: true});
      expect(await prepare(tlsClientType, v, rt)).to.equal(undefined);
      const opts = lookupTls(rt, 'tls-client', 'cli')!;
      expect(opts.rejectUnauthorized).to.equal(false);
      expect(opts.minVersion).to.equal('TLSv1.3');
      expect(tlsClientConfigOf(opts)).to.deep.include({name: 'cli', insecureSkipVerify: true, minTls13: true, rootCasPath: f['ca.crt']});
    });

    describe('node-ID start-up check', () => {
      it('passes when the certificate carries the node ID', async () => {
        expect(await prepare(tlsServerType, values('tls-server', {name: 's', cert: f['a.crt']!, key: f['a.key']!}), runtime('A'))).to.equal(undefined);
        expect(await prepare(tlsClientType, values('tls-client', {name: 'c', cert: f['a.crt']!, key: f['a.key']!}), runtime('A'))).to.equal(undefined);
      });
      it("fails with Go's text (tls-server)", async () => {
        const err = await prepare(tlsServerType, values('tls-server', {name: 's', cert: f['xy.crt']!, key: f['a.key']!}), runtime('B'));
        expect(err?.message).to.equal(`${SERVER_PREFIX}nodeID=B not found in certificate name(s); names found=[X Y]; cfg section=s; server cert=${f['xy.crt']}`);
      });
      it("fails with Go's text (tls-client, which also says server cert=)", async () => {
        const err = await prepare(tlsClientType, values('tls-client', {name: 'cl', cert: f['a.crt']!, key: f['a.key']!}), runtime('B'));
        expect(err?.message).to.equal(`${CLIENT_PREFIX}nodeID=B not found in certificate name(s); names found=[A]; cfg section=cl; server cert=${f['a.crt']}`);
      });
      it('names found=[] for a certificate without node IDs', async () => {
        const err = await prepare(tlsServerType, values('tls-server', {name: 's', cert: f['none.crt']!, key: f['a.key']!}), runtime('A'));
        expect(err?.message).to.equal(`${SERVER_PREFIX}nodeID=A not found in certificate name(s); names found=[]; cfg section=s; server cert=${f['none.crt']}`);
      });
      it('skipreceptornamescheck skips it (both items)', async () => {
        expect(await prepare(tlsServerType, values('tls-server', {name: 's', cert: f['none.crt']!, key: f['a.key']!, skipreceptornamescheck: true}), runtime('A'))).to.equal(
          undefined,
        );
        expect(await prepare(tlsClientType, values('tls-client', {name: 'c', cert: f['xy.crt']!, key: f['a.key']!, skipreceptornamescheck: true}), runtime('A'))).to.equal(
          undefined,
        );
      });
      it('an expired own certificate is accepted', async () => {
        expect(await prepare(tlsServerType, values('tls-server', {name: 's', cert: f['expired.crt']!, key: f['a.key']!}), runtime('A'))).to.equal(undefined);
      });
    });

    describe('file and PEM errors', () => {
      const cases: Array<{what: string; def: () => ActionTypeDef; given: () => FieldValues; text: () => string}> = [
        {
          what: 'missing cert',
          def: () => tlsServerType,
          given: () => ({name: 's', cert: join(dir, 'nope.crt'), key: f['a.key']}),
          text: () => `${SERVER_PREFIX}open ${join(dir, 'nope.crt')}: no such file or directory`,
        },
        {
          what: 'missing key',
          def: () => tlsClientType,
          given: () => ({name: 'c', cert: f['a.crt'], key: join(dir, 'nope.key')}),
          text: () => `${CLIENT_PREFIX}open ${join(dir, 'nope.key')}: no such file or directory`,
        },
        {
          what: 'a directory as cert',
          def: () => tlsServerType,
          given: () => ({name: 's', cert: dir, key: f['a.key']}),
          text: () => `${SERVER_PREFIX}read ${dir}: is a directory`,
        },
        {
          what: 'cert not PEM',
          def: () => tlsServerType,
          given: () => ({name: 's', cert: f['garbage.txt'], key: f['a.key']}),
          text: () => `${SERVER_PREFIX}tls: failed to find any PEM data in certificate input (cert file ${f['garbage.txt']})`,
        },
        {
          what: 'key not PEM',
          def: () => tlsClientType,
          given: () => ({name: 'c', cert: f['a.crt'], key: f['garbage.txt']}),
          text: () => `${CLIENT_PREFIX}tls: failed to find any PEM data in key input (key file ${f['garbage.txt']})`,
        },
        {
          what: 'cert and key swapped',
          def: () => tlsServerType,
          given: () => ({name: 's', cert: f['a.key'], key: f['a.crt']}),
          text: () =>
            `${SERVER_PREFIX}tls: failed to find certificate PEM data in certificate input, but did find a private key; PEM inputs may have been switched (cert file ${f['a.key']})`,
        },
        {
          what: 'key of another certificate',
          def: () => tlsServerType,
          given: () => ({name: 's', cert: f['a.crt'], key: f['ca.key']}),
          text: () => `${SERVER_PREFIX}tls: private key does not match public key`,
        },
        {
          what: 'key mismatch (client)',
          def: () => tlsClientType,
          given: () => ({name: 'c', cert: f['a.crt'], key: f['ca.key']}),
          text: () => `${CLIENT_PREFIX}tls: private key does not match public key`,
        },
        {
          what: 'missing clientcas',
          def: () => tlsServerType,
          given: () => ({name: 's', cert: f['a.crt'], key: f['a.key'], clientcas: join(dir, 'nope-ca.crt')}),
          text: () => `${SERVER_PREFIX}error reading client CAs file: open ${join(dir, 'nope-ca.crt')}: no such file or directory`,
        },
        {
          what: 'missing rootcas',
          def: () => tlsClientType,
          given: () => ({name: 'c', cert: f['a.crt'], key: f['a.key'], rootcas: join(dir, 'nope-ca.crt')}),
          text: () => `${CLIENT_PREFIX}error reading root CAs file: open ${join(dir, 'nope-ca.crt')}: no such file or directory`,
        },
        {
          what: 'non-hex pin (server, at Prepare)',
          def: () => tlsServerType,
          given: () => ({name: 's', cert: f['a.crt'], key: f['a.key'], pinnedclientcert: ['not:hex']}),
          text: () => `${SERVER_PREFIX}error decoding fingerprints: error decoding fingerprint`,
        },
        {
          what: 'short pin (client, at Prepare)',
          def: () => tlsClientType,
          given: () => ({name: 'c', cert: f['a.crt'], key: f['a.key'], pinnedservercert: [fpA.replaceAll(':', '').slice(0, 40)]}),
          text: () => `${CLIENT_PREFIX}error decoding fingerprints: fingerprints must be 32 or 64 bytes for sha256 or sha512`,
        },
        {
          what: 'empty name (after everything else, unprefixed, as in Go)',
          def: () => tlsServerType,
          given: () => ({name: '', cert: f['a.crt'], key: f['a.key']}),
          text: () => 'must provide a name (field name)',
        },
      ];
      for (const c of cases) {
        it(c.what, async () => {
          const err = await prepare(c.def(), raw(c.def(), c.given()));
          expect(err?.message).to.equal(c.text());
        });
      }

      it('the file errors come in Go order: cert before the node-ID check before clientcas before pins', async () => {
        const v = raw(tlsServerType, {name: 's', cert: f['xy.crt'], key: f['a.key'], clientcas: join(dir, 'nope'), pinnedclientcert: ['zz']});
        expect((await prepare(tlsServerType, v))?.message).to.match(/^error preparing tls server config: nodeID=A not found/);
        const v2 = raw(tlsServerType, {name: 's', cert: f['a.crt'], key: f['a.key'], clientcas: join(dir, 'nope'), pinnedclientcert: ['zz']});
        expect((await prepare(tlsServerType, v2))?.message).to.match(/^error preparing tls server config: error reading client CAs file/);
      });

      it('a clientcas / rootcas file without certificates is an empty pool, not an error (like Go)', async () => {
        const rt = runtime();
        expect(await prepare(tlsServerType, values('tls-server', {name: 's', cert: f['a.crt']!, key: f['a.key']!, clientcas: f['garbage.txt']!}), rt)).to.equal(undefined);
        expect(tlsServerConfigOf(rt.registry('tls-server').get('s'))!.clientCas).to.deep.equal([]);
      });
    });

    describe('names', () => {
      it('a duplicate name is an error', async () => {
        const rt = runtime();
        const v = values('tls-server', {name: 'dup', cert: f['a.crt']!, key: f['a.key']!});
        expect(await prepare(tlsServerType, v, rt)).to.equal(undefined);
        const err = await prepare(tlsServerType, v, rt);
        expect(err?.message).to.equal('duplicate tls-server name "dup": another tls-server item already defines it (field name)');
        expect(err).to.be.instanceOf(ConfigError).and.include({code: 'E_CONFIG_FIELD_INVALID'});
        const vc = values('tls-client', {name: 'dup', cert: f['a.crt']!, key: f['a.key']!});
        expect(await prepare(tlsClientType, vc, rt), 'server and client namespaces are separate').to.equal(undefined);
        expect((await prepare(tlsClientType, vc, rt))?.message).to.equal('duplicate tls-client name "dup": another tls-client item already defines it (field name)');
      });
    });
  });

  it('runs through the real lifecycle: the config exists before any Run, whatever the item order', async () => {
    const yml = [
      '- tcp-listener:',
      '    port: 0',
      '    bindaddr: 127.0.0.1',
      '    tls: srv',
      '- tls-server:',
      '    name: srv',
      `    cert: ${f['a.crt']}`,
      `    key: ${f['a.key']}`,
      '- node:',
      '    id: A',
      '',
    ].join('\n');
    const d = tempFiles({'r.yml': yml});
    const items = loadConfig(['-c', 'r.yml'], reg, {cwd: d}).items;
    const rt = new NodeRuntime(pino({level: 'silent'}), {configFiles: [], argv: [], selfCommand: []}, () => undefined);
    try {
      await runAllPhases(instantiate(items), rt);
      expect(rt.node.backends.map((b) => b.description)).to.satisfy((l: Array<string | undefined>) => l.some((x) => x?.startsWith('TLS TCP listener on 127.0.0.1:')));
    } finally {
      await rt.shutdown();
    }
  });
});

function fingerprint(der: Buffer): string {
  return [...createHash('sha256').update(der).digest()].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

import {expect} from 'chai';
import {Config} from '@oclif/core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {PassThrough} from 'node:stream';
import {fileURLToPath} from 'node:url';
import CertInit from '../../../src/commands/cert/init.js';
import CertMakeReq from '../../../src/commands/cert/makereq.js';
import CertSignReq from '../../../src/commands/cert/signreq.js';
import type {ActionTypeDef, FieldValues, Runtime} from '../../../src/core/config/types.js';
import {ReceptorError} from '../../../src/core/errors.js';
import {instantiate, runAllPhases} from '../../../src/core/config/lifecycle.js';
import {loadConfig} from '../../../src/core/config/load.js';
import {ActionRegistry} from '../../../src/core/config/registry.js';
import {builtinTypes} from '../../../src/plugins/register.js';
import {pemDecodeAll} from '../../../src/core/go/pem.js';
import {certificateNames} from '../../../src/core/pki/names.js';
import {createCsr, decodeCertificate, loadRsaPrivateKey, parseCsr, rsaKeyBits} from '../../../src/core/pki/x509.js';
import {certificateTypes, makeCertificateTypes} from '../../../src/plugins/certificates/index.js';
import {checkConfirmation, CertToolError, formatRequestSummary, readLineFrom, toReceptorError} from '../../../src/core/pki/tools.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Field values as the loader would hand them over: given values, else defaults, else zero values. */
function valuesFor(def: ActionTypeDef, given: FieldValues): FieldValues {
  const out: FieldValues = {};
  for (const f of def.fields) {
    if (f.name in given) out[f.name] = given[f.name];
    else if (f.default !== undefined) out[f.name] = f.default;
    else out[f.name] = f.type === 'string-list' ? [] : f.type === 'int' ? 0 : f.type === 'bool' ? false : '';
  }
  return out;
}

interface Harness {
  printed: string;
  answers: Array<string | null>;
  types: ActionTypeDef[];
  rt: Runtime;
}

function harness(answers: Array<string | null> = []): Harness {
  const h: Harness = {printed: '', answers, types: [], rt: undefined as unknown as Runtime};
  h.types = makeCertificateTypes({readLine: async () => (h.answers.length ? h.answers.shift()! : null)});
  h.rt = {print: (t: string) => (h.printed += t)} as unknown as Runtime;
  return h;
}

/** Runs an item like the lifecycle does: validate (load time), then prepare and run. */
async function runItem(h: Harness, key: string, given: FieldValues): Promise<void> {
  const def = h.types.find((t) => t.key === key)!;
  const values = valuesFor(def, given);
  def.validate?.(values);
  const item = def.create(values, {key, plugin: 'test', source: {kind: 'implicit'}, explicit: new Set(Object.keys(given))});
  await item.init?.(h.rt);
  await item.prepare?.(h.rt);
  await item.run?.(h.rt);
}

async function rejectsWith(p: Promise<unknown>, message: string): Promise<void> {
  await p.then(
    () => expect.fail(`expected rejection with "${message}"`),
    (err: Error) => expect(err.message).to.equal(message),
  );
}

const mode = (p: string) => fs.statSync(p).mode & 0o777;
const blockTypes = (p: string) => pemDecodeAll(fs.readFileSync(p, 'utf8')).map((b) => b.type);

const SUMMARY = `Requested certificate:
  Subject: CN=foo
  Encryption Algorithm: RSA (2048 bits)
  Signature Algorithm: SHA256-RSA
  Names:
    DNS Name: localhost
    IP Address: 127.0.0.1
    Receptor Node ID: foo
Sign certificate (yes/no)? `;

describe('certificate action items (cert-init, cert-makereq, cert-signreq)', function () {
  this.timeout(60_000);
  let dir: string;
  const p = (name: string) => path.join(dir, name);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'receptor-cert-items-'));
    // shared fixtures: a 1024-bit CA, and a 2048-bit node request (the summary shows 2048 bits)
    await runItem(harness(), 'cert-init', {commonname: 'Items CA', bits: 1024, outcert: p('ca.crt'), outkey: p('ca.key')});
    await runItem(harness(), 'cert-makereq', {
      commonname: 'foo',
      bits: 2048,
      dnsname: ['localhost'],
      ipaddress: ['127.0.0.1'],
      nodeid: ['foo'],
      outreq: p('foo.csr'),
      outkey: p('foo.key'),
    });
  });

  after(() => {
    if (dir) fs.rmSync(dir, {recursive: true, force: true});
  });

  describe('definitions', () => {
    const shape = (key: string) => certificateTypes.find((t) => t.key === key)!.fields.map((f) => [f.name, f.type, f.required === true, f.default]);

    it('exports exactly the three exclusive types', () => {
      expect(certificateTypes.map((t) => [t.key, t.exclusive])).to.deep.equal([
        ['cert-init', true],
        ['cert-makereq', true],
        ['cert-signreq', true],
      ]);
      expect(certificateTypes.map((t) => t.description)).to.deep.equal(['Initialize PKI CA', 'Create certificate request', 'Sign request and produce certificate']);
    });
    it('cert-init fields', () => {
      expect(shape('cert-init')).to.deep.equal([
        ['commonname', 'string', true, undefined],
        ['bits', 'int', true, undefined],
        ['notbefore', 'string', false, undefined],
        ['notafter', 'string', false, undefined],
        ['outcert', 'string', true, undefined],
        ['outkey', 'string', true, undefined],
      ]);
    });
    it('cert-makereq fields', () => {
      expect(shape('cert-makereq')).to.deep.equal([
        ['commonname', 'string', true, undefined],
        ['bits', 'int', false, undefined],
        ['dnsname', 'string-list', false, undefined],
        ['ipaddress', 'string-list', false, undefined],
        ['nodeid', 'string-list', false, undefined],
        ['outreq', 'string', true, undefined],
        ['inkey', 'string', false, undefined],
        ['outkey', 'string', false, undefined],
      ]);
    });
    it('cert-signreq fields', () => {
      expect(shape('cert-signreq')).to.deep.equal([
        ['req', 'string', true, undefined],
        ['cacert', 'string', true, undefined],
        ['cakey', 'string', true, undefined],
        ['notbefore', 'string', false, undefined],
        ['notafter', 'string', false, undefined],
        ['outcert', 'string', true, undefined],
        ['verify', 'bool', false, false],
      ]);
    });
  });

  describe('cert-init', () => {
    it('wrote a CA certificate and a PKCS#1 key, both mode 0600, and printed nothing', () => {
      expect(blockTypes(p('ca.crt'))).to.deep.equal(['CERTIFICATE']);
      expect(blockTypes(p('ca.key'))).to.deep.equal(['RSA PRIVATE KEY']);
      expect(mode(p('ca.crt'))).to.equal(0o600);
      expect(mode(p('ca.key'))).to.equal(0o600);
      const c = decodeCertificate(pemDecodeAll(fs.readFileSync(p('ca.crt')))[0]!.der);
      expect(c.notAfter.getUTCFullYear() - c.notBefore.getUTCFullYear()).to.equal(10);
    });

    it('bits=0 gives 2048 bits; existing files are overwritten and get mode 0600; dates are RFC 3339', async () => {
      fs.writeFileSync(p('old.crt'), 'old', {mode: 0o644});
      fs.chmodSync(p('old.crt'), 0o644);
      const h = harness();
      await runItem(h, 'cert-init', {
        commonname: 'Zero',
        bits: 0,
        notbefore: '2024-01-02T03:04:05Z',
        notafter: '2034-01-02T03:04:05+02:00',
        outcert: p('old.crt'),
        outkey: p('zero.key'),
      });
      expect(h.printed).to.equal('');
      expect(mode(p('old.crt'))).to.equal(0o600);
      expect(blockTypes(p('old.crt'))).to.deep.equal(['CERTIFICATE']);
      expect(rsaKeyBits(loadRsaPrivateKey(fs.readFileSync(p('zero.key'), 'utf8')))).to.equal(2048);
      const c = decodeCertificate(pemDecodeAll(fs.readFileSync(p('old.crt')))[0]!.der);
      expect(c.notBefore.toISOString()).to.equal('2024-01-02T03:04:05.000Z');
      expect(c.notAfter.toISOString()).to.equal('2034-01-02T01:04:05.000Z');
    });

    it("reports Go's errors", async () => {
      await rejectsWith(
        runItem(harness(), 'cert-init', {commonname: 'x', bits: 1024, notbefore: 'yesterday', outcert: p('e.crt'), outkey: p('e.key')}),
        'parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"',
      );
      await rejectsWith(runItem(harness(), 'cert-init', {commonname: '', bits: 1024, outcert: p('e.crt'), outkey: p('e.key')}), 'must provide CommonName');
      await rejectsWith(
        runItem(harness(), 'cert-init', {commonname: 'x', bits: 1024, outcert: p('nodir/e.crt'), outkey: p('e.key')}),
        `open ${p('nodir/e.crt')}: no such file or directory`,
      );
      expect(fs.existsSync(p('e.key'))).to.equal(false);
    });
  });

  describe('cert-makereq', () => {
    it('wrote a CSR and a new key (mode 0600) with the requested names', () => {
      expect(blockTypes(p('foo.csr'))).to.deep.equal(['CERTIFICATE REQUEST']);
      expect(blockTypes(p('foo.key'))).to.deep.equal(['RSA PRIVATE KEY']);
      expect(mode(p('foo.csr'))).to.equal(0o600);
      expect(mode(p('foo.key'))).to.equal(0o600);
      const csr = parseCsr(fs.readFileSync(p('foo.csr'), 'utf8'));
      expect(csr.names).to.deep.equal({dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], nodeIds: ['foo']});
      expect(csr.publicKeyBits).to.equal(2048);
    });

    it('uses an existing key with inkey', async () => {
      await runItem(harness(), 'cert-makereq', {commonname: 'foo', nodeid: ['foo', 'bar'], outreq: p('again.csr'), inkey: p('foo.key')});
      const a = parseCsr(fs.readFileSync(p('again.csr'), 'utf8'));
      const b = parseCsr(fs.readFileSync(p('foo.csr'), 'utf8'));
      expect(a.spki.equals(b.spki)).to.equal(true);
      expect(a.names.nodeIds).to.deep.equal(['foo', 'bar']);
    });

    const keyErrors: Array<[FieldValues, string]> = [
      [{}, 'must provide either InKey or OutKey'],
      [{inkey: 'a.key', outkey: 'b.key'}, 'cannot use both InKey and OutKey'],
      [{inkey: 'a.key', bits: 2048}, 'cannot specify key bits when reading an already-existing key'],
      [{outkey: 'b.key'}, 'must specify key bits when creating a new key'],
      [{outkey: 'b.key', bits: 0}, 'must specify key bits when creating a new key'],
    ];
    for (const [given, msg] of keyErrors) {
      it(`${JSON.stringify(given)} → ${msg} (at load time and in Prepare)`, async () => {
        const h = harness();
        const def = h.types.find((t) => t.key === 'cert-makereq')!;
        const values = valuesFor(def, {commonname: 'x', outreq: p('never.csr'), ...given});
        expect(() => def.validate!(values)).to.throw(msg);
        const item = def.create(values, {key: 'cert-makereq', plugin: 'test', source: {kind: 'implicit'}, explicit: new Set()});
        await Promise.resolve()
          .then(() => item.prepare!(h.rt))
          .then(
            () => expect.fail('prepare should throw'),
            (err: Error) => expect(err.message).to.equal(msg),
          );
        expect(fs.existsSync(p('never.csr'))).to.equal(false);
      });
    }

    it("reports bad IPs and unusable key files with Go's texts", async () => {
      await rejectsWith(runItem(harness(), 'cert-makereq', {commonname: 'x', ipaddress: ['bogus'], outreq: p('x.csr'), inkey: p('missing.key')}), 'invalid IP address: bogus');
      await rejectsWith(runItem(harness(), 'cert-makereq', {commonname: 'x', outreq: p('x.csr'), inkey: p('missing.key')}), `open ${p('missing.key')}: no such file or directory`);
      await rejectsWith(runItem(harness(), 'cert-makereq', {commonname: 'x', outreq: p('x.csr'), inkey: p('ca.crt')}), `no private keys in file ${p('ca.crt')}`);
      fs.writeFileSync(p('junk.key'), 'junk');
      await rejectsWith(runItem(harness(), 'cert-makereq', {commonname: 'x', outreq: p('x.csr'), inkey: p('junk.key')}), 'failed to decode PEM block');
      expect(fs.existsSync(p('x.csr'))).to.equal(false);
    });
  });

  describe('cert-signreq', () => {
    const sign = (h: Harness, extra: FieldValues = {}) => runItem(h, 'cert-signreq', {req: p('foo.csr'), cacert: p('ca.crt'), cakey: p('ca.key'), outcert: p('foo.crt'), ...extra});

    beforeEach(() => fs.rmSync(p('foo.crt'), {force: true}));

    it('verify=true signs without asking', async () => {
      const h = harness();
      await sign(h, {verify: true});
      expect(h.printed).to.equal('');
      expect(mode(p('foo.crt'))).to.equal(0o600);
      expect(blockTypes(p('foo.crt'))).to.deep.equal(['CERTIFICATE']);
      expect(certificateNames(fs.readFileSync(p('foo.crt'), 'utf8'))).to.deep.equal({dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], nodeIds: ['foo']});
      const c = decodeCertificate(pemDecodeAll(fs.readFileSync(p('foo.crt')))[0]!.der);
      expect(c.notAfter.getUTCFullYear() - c.notBefore.getUTCFullYear()).to.equal(1);
    });

    for (const answer of ['yes', 'y', 'YES', 'Yes', '  y  ', 'yes\r']) {
      it(`prints the summary exactly, asks, and signs on ${JSON.stringify(answer)}`, async () => {
        const h = harness([answer]);
        await sign(h);
        expect(h.printed).to.equal(SUMMARY);
        expect(fs.existsSync(p('foo.crt'))).to.equal(true);
      });
    }

    const refusals: Array<[string | null, string]> = [
      ['no', 'user declined'],
      ['n', 'user declined'],
      ['sure', 'user declined'],
      ['', 'unexpected newline'],
      ['yes please', 'expected newline'],
      [null, 'EOF'],
    ];
    for (const [answer, msg] of refusals) {
      it(`answer ${JSON.stringify(answer)} → ${msg}, nothing written`, async () => {
        const h = harness([answer]);
        await rejectsWith(sign(h), msg);
        expect(h.printed).to.equal(SUMMARY);
        expect(fs.existsSync(p('foo.crt'))).to.equal(false);
      });
    }

    it('takes notbefore/notafter', async () => {
      await sign(harness(), {verify: true, notbefore: '2025-01-01T00:00:00Z', notafter: '2025-12-31T23:59:59.5Z'});
      const c = decodeCertificate(pemDecodeAll(fs.readFileSync(p('foo.crt')))[0]!.der);
      expect(c.notBefore.toISOString()).to.equal('2025-01-01T00:00:00.000Z');
      expect(c.notAfter.toISOString()).to.equal('2025-12-31T23:59:59.000Z');
    });

    it('refuses a request without names, before asking', async () => {
      const key = loadRsaPrivateKey(fs.readFileSync(p('foo.key'), 'utf8'));
      fs.writeFileSync(p('bare.csr'), (await createCsr({commonName: 'bare', key})).csrPem);
      const h = harness(['yes']);
      await rejectsWith(sign(h, {req: p('bare.csr')}), 'cannot sign: no names found in certificate');
      expect(h.printed).to.equal('');
    });

    it('refuses a CA key that does not belong to the CA certificate, before asking', async () => {
      const h = harness(['yes']);
      await rejectsWith(sign(h, {cakey: p('foo.key')}), "x509: provided PrivateKey doesn't match parent's PublicKey");
      expect(h.printed).to.equal('');
    });

    it("reports missing and wrong input files with Go's texts", async () => {
      await rejectsWith(sign(harness(), {verify: true, req: p('none.csr')}), `open ${p('none.csr')}: no such file or directory`);
      await rejectsWith(sign(harness(), {verify: true, cacert: p('foo.csr')}), 'certificate file does not contain certificate data');
      await rejectsWith(sign(harness(), {verify: true, cakey: p('ca.crt')}), 'private key file does not contain private key data');
      await rejectsWith(sign(harness(), {verify: true, req: p('ca.crt')}), 'certificate request file does not contain certificate request data');
      await rejectsWith(sign(harness(), {verify: true, notafter: '2025-13-01T00:00:00Z'}), 'parsing time "2025-13-01T00:00:00Z": month out of range');
      expect(fs.existsSync(p('foo.crt'))).to.equal(false);
    });
  });

  describe('helpers', () => {
    it('checkConfirmation follows fmt.Scanln', () => {
      expect(() => checkConfirmation('y')).not.to.throw();
      expect(() => checkConfirmation('YeS')).not.to.throw();
      expect(() => checkConfirmation('yess')).to.throw('user declined');
      expect(() => checkConfirmation(' ')).to.throw('unexpected newline');
    });

    it('readLineFrom reads one line, or the rest at end of input, or null', async () => {
      const s1 = new PassThrough();
      const first = readLineFrom(s1);
      s1.write('ye');
      s1.write('s\nmore\n');
      expect(await first).to.equal('yes');
      const s2 = new PassThrough();
      const second = readLineFrom(s2);
      s2.end('no newline');
      expect(await second).to.equal('no newline');
      const s3 = new PassThrough();
      const third = readLineFrom(s3);
      s3.end();
      expect(await third).to.equal(null);
    });

    it('formatRequestSummary shows non-RSA keys by algorithm name only', () => {
      const csr = parseCsr(fs.readFileSync(p('foo.csr'), 'utf8'));
      expect(formatRequestSummary({...csr, publicKeyAlgorithm: 'ECDSA', publicKeyBits: undefined})).to.include('  Encryption Algorithm: ECDSA\n');
    });

    it('toReceptorError maps option mistakes to E_USAGE and the rest to E_CERT', () => {
      expect(toReceptorError(new CertToolError('user declined', true)).code).to.equal('E_USAGE');
      expect(toReceptorError(new CertToolError('open x: no such file or directory')).code).to.equal('E_CERT');
      expect(toReceptorError(new Error('boom')).code).to.equal('E_CERT');
      const re = new ReceptorError('E_REMOTE', 'kept');
      expect(toReceptorError(re)).to.equal(re);
    });
  });

  describe('through the Go-style config loader', () => {
    let registry: ActionRegistry;
    before(() => {
      registry = new ActionRegistry();
      for (const def of builtinTypes()) if (!def.key.startsWith('cert-')) registry.add(def, 'builtin');
      for (const def of certificateTypes) registry.add(def, 'builtin');
    });

    it('checks required fields, exclusivity and the makereq key options at load time', () => {
      expect(() => loadConfig(['--cert-init', 'commonname=test CA'], registry)).to.throw('required parameters missing: bits, outcert, outkey');
      expect(() => loadConfig(['--cert-init', 'commonname=x', 'bits=0', 'outcert=a', 'outkey=b', '--node', 'id=a'], registry)).to.throw(
        'cannot specify any other options with cert-init',
      );
      expect(() => loadConfig(['--cert-makereq', 'commonname=x', 'outreq=a'], registry)).to.throw('must provide either InKey or OutKey');
      const ok = loadConfig(['--cert-makereq', 'commonname=x', 'outreq=a', 'outkey=b', 'bits=2048', 'nodeid=a', 'nodeid=b', 'dnsname=["x","y"]'], registry);
      expect(ok.items.map((i) => i.key)).to.deep.equal(['cert-makereq']);
      expect(ok.items[0]!.values).to.deep.include({nodeid: ['a', 'b'], dnsname: ['x', 'y'], bits: 2048, inkey: ''});
      expect(loadConfig(['--cert-signreq', 'req=r', 'cacert=c', 'cakey=k', 'outcert=o', 'verify=yes'], registry).items[0]!.values.verify).to.equal(true);
    });

    it('runs cert-init end to end through the phases', async () => {
      const loaded = loadConfig(['--CERT-INIT', 'commonname=Loader CA', 'bits=1024', `outcert=${p('loader.crt')}`, `outkey=${p('loader.key')}`], registry);
      await runAllPhases(instantiate(loaded.items), harness().rt);
      expect(blockTypes(p('loader.crt'))).to.deep.equal(['CERTIFICATE']);
      expect(mode(p('loader.key'))).to.equal(0o600);
    });
  });

  describe('oclif commands (in-process)', () => {
    let config: Config;
    let out: string;

    /** Runs `fn` with stdout captured into `out` (restored before the reporter prints the result). */
    async function captured<T>(fn: () => Promise<T>): Promise<T> {
      out = '';
      const realWrite = process.stdout.write;
      process.stdout.write = ((chunk: string | Uint8Array) => {
        out += chunk.toString();
        return true;
      }) as typeof process.stdout.write;
      try {
        return await fn();
      } finally {
        process.stdout.write = realWrite;
      }
    }

    before(async () => {
      config = await Config.load(REPO_ROOT);
    });

    it('cert init / makereq / signreq --json return typed results', async () => {
      const init = await captured(() => CertInit.run(['--commonname', 'Cmd CA', '--bits', '1024', '--out-cert', p('cmd-ca.crt'), '--out-key', p('cmd-ca.key'), '--json'], config));
      expect(init).to.include({outCert: p('cmd-ca.crt'), outKey: p('cmd-ca.key'), keyBits: 1024});
      expect(init.certificate).to.include({subject: 'CN=Cmd CA', issuer: 'CN=Cmd CA', isCa: true});
      expect(JSON.parse(out)).to.deep.equal(JSON.parse(JSON.stringify(init)));
      const req = await captured(() =>
        CertMakeReq.run(
          [
            '--common-name',
            'cmd',
            '--node-id',
            'cmd',
            '--dns-name',
            'a.example',
            '--dns-name',
            'b.example',
            '--ip-address',
            '::1',
            '--in-key',
            p('foo.key'),
            '--out-req',
            p('cmd.csr'),
            '--json',
          ],
          config,
        ),
      );
      expect(req).to.deep.equal({
        outReq: p('cmd.csr'),
        inKey: p('foo.key'),
        subject: 'CN=cmd',
        keyBits: 2048,
        names: {dnsNames: ['a.example', 'b.example'], ipAddresses: ['::1'], nodeIds: ['cmd']},
      });
      const signed = await captured(() =>
        CertSignReq.run(['--req', p('cmd.csr'), '--ca-cert', p('cmd-ca.crt'), '--ca-key', p('cmd-ca.key'), '--out-cert', p('cmd.crt'), '--verify', '--json'], config),
      );
      expect(signed.request).to.deep.equal({subject: 'CN=cmd', publicKeyAlgorithm: 'RSA', publicKeyBits: 2048, signatureAlgorithm: 'SHA256-RSA'});
      expect(signed.certificate.names.nodeIds).to.deep.equal(['cmd']);
      expect(signed.certificate.fingerprintSha256).to.match(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      expect(mode(p('cmd.crt'))).to.equal(0o600);
    });

    it('errors come out as {error: {code, message}} with exit 1', async () => {
      const expectExit = async (run: () => Promise<unknown>) => {
        await captured(run).then(
          () => expect.fail('should exit'),
          (err: {oclif?: {exit?: number}}) => expect(err.oclif?.exit).to.equal(1),
        );
      };
      await expectExit(() => CertMakeReq.run(['--common-name', 'x', '--out-req', p('n.csr'), '--json'], config));
      expect(JSON.parse(out)).to.deep.equal({error: {code: 'E_USAGE', message: 'must provide either InKey or OutKey'}});
      await expectExit(() => CertSignReq.run(['--req', p('foo.csr'), '--ca-cert', p('ca.crt'), '--ca-key', p('ca.key'), '--out-cert', p('j.crt'), '--json'], config));
      expect(JSON.parse(out).error.code).to.equal('E_USAGE');
      expect(JSON.parse(out).error.message).to.include('--verify');
      await expectExit(() => CertSignReq.run(['--req', p('nope.csr'), '--ca-cert', p('ca.crt'), '--ca-key', p('ca.key'), '--out-cert', p('j.crt'), '--verify', '--json'], config));
      expect(JSON.parse(out)).to.deep.equal({error: {code: 'E_CERT', message: `open ${p('nope.csr')}: no such file or directory`}});
      expect(fs.existsSync(p('j.crt'))).to.equal(false);
    });

    it('without --json, init prints a short report', async () => {
      await captured(() => CertInit.run(['--common-name', 'Plain CA', '--bits', '1024', '--out-cert', p('plain.crt'), '--out-key', p('plain.key')], config));
      expect(out).to.include(`Wrote CA certificate ${p('plain.crt')} and 1024-bit key ${p('plain.key')}`);
      expect(out).to.include('Subject: CN=Plain CA');
    });
  });
});

/**
 * Work signing and verification (workceptor.md §9; config.md §5.12, §5.13): the token format
 * of Go nodes, interop with openssl, every reply of the §9.3 table, golang-jwt v4's error
 * texts, Go's key-file rules, and the `work-signing` / `work-verification` items.
 */
import {expect} from 'chai';
import {execFileSync} from 'node:child_process';
import {constants, generateKeyPairSync, type KeyObject, sign} from 'node:crypto';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {pino} from 'pino';
import {instantiate, runAllPhases} from '../../../src/core/config/lifecycle.js';
import {loadConfig} from '../../../src/core/config/load.js';
import {ActionRegistry} from '../../../src/core/config/registry.js';
import type {ActionTypeDef, FieldValues, ItemContext} from '../../../src/core/config/types.js';
import {ConfigError} from '../../../src/core/errors.js';
import {BasicNode, NodeRuntime} from '../../../src/core/runtime.js';
import {checkWorkSignature, DEFAULT_TOKEN_LIFETIME_MS, signWork, verifyWorkSignature} from '../../../src/core/work/signing.js';
import {nodeType} from '../../../src/plugins/node/index.js';
import {parseTokenExpiration, workSigningOf, workSigningType, workSigningTypes, workVerificationOf, workVerificationType} from '../../../src/plugins/work-signing/index.js';

const NOW = new Date('2026-11-25T12:00:00.000Z');
const NOW_S = NOW.getTime() / 1000;

function b64(s: string | Buffer): string {
  return Buffer.from(s).toString('base64url');
}

function keyPair(bits = 2048) {
  return generateKeyPairSync('rsa', {modulusLength: bits});
}

/** A token with arbitrary header and claims, signed the way `alg` says (RSxxx or PSxxx). */
function craft(header: unknown, claims: unknown, key: KeyObject, alg = 'RS512'): string {
  const h = typeof header === 'string' ? header : JSON.stringify(header);
  const c = typeof claims === 'string' ? claims : JSON.stringify(claims);
  const input = `${b64(h)}.${b64(c)}`;
  const hash = `sha${alg.slice(2)}`;
  const pss = alg.startsWith('PS');
  const sig = sign(
    hash,
    Buffer.from(input),
    pss ? {key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8} : {key, padding: constants.RSA_PKCS1_PADDING},
  );
  return `${input}.${b64(sig)}`;
}

function errorOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    expect(err).to.be.instanceOf(Error);
    return (err as Error).message;
  }
}

describe('work signing (JWT)', function () {
  this.timeout(60_000);
  let dir: string;
  let main: ReturnType<typeof keyPair>;
  let other: ReturnType<typeof keyPair>;
  const f: Record<string, string> = {};
  const write = (name: string, text: string | Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    f[name] = p;
    return p;
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'receptor-signing-'));
    main = keyPair();
    other = keyPair();
    write('pkcs8.pem', main.privateKey.export({type: 'pkcs8', format: 'pem'}));
    write('pkcs1.pem', main.privateKey.export({type: 'pkcs1', format: 'pem'}));
    write('pub.pem', main.publicKey.export({type: 'spki', format: 'pem'}));
    write('pub-pkcs1.pem', main.publicKey.export({type: 'pkcs1', format: 'pem'}));
    write('other-priv.pem', other.privateKey.export({type: 'pkcs8', format: 'pem'}));
    write('other-pub.pem', other.publicKey.export({type: 'spki', format: 'pem'}));
    const ec = generateKeyPairSync('ec', {namedCurve: 'P-256'});
    write('ec-pub.pem', ec.publicKey.export({type: 'spki', format: 'pem'}));
    write('ec-priv8.pem', ec.privateKey.export({type: 'pkcs8', format: 'pem'}));
    write('ec-sec1.pem', ec.privateKey.export({type: 'sec1', format: 'pem'}));
    const pub = readFileSync(f['pub.pem']!, 'utf8');
    const priv = readFileSync(f['pkcs8.pem']!, 'utf8');
    write('two-pubs.pem', pub + pub);
    write('two-privs.pem', priv + readFileSync(f['pkcs1.pem']!, 'utf8'));
    write('priv-and-pub.pem', priv + pub);
    write('garbage.pem', 'this is not PEM\n');
    write('empty.pem', '');
    write('blank-line-after.pem', `${pub}\n`);
    write('text-before.pem', `a comment line\n${pub}`);
    write('crlf.pem', pub.replace(/\n/g, '\r\n'));
    write('bad-base64.pem', '-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n');
    write('bad-der.pem', `-----BEGIN PUBLIC KEY-----\n${Buffer.from('not a key').toString('base64')}\n-----END PUBLIC KEY-----\n`);
  });

  after(() => rmSync(dir, {recursive: true, force: true}));

  const signing = (path = f['pkcs8.pem']!, lifetimeMs = DEFAULT_TOKEN_LIFETIME_MS) => ({privateKeyPath: path, lifetimeMs});
  const verifying = (path = f['pub.pem']!) => ({publicKeyPath: path});
  const verifyErr = (token: string, nodeId = 'foo', cfg = verifying(), now = NOW) => errorOf(() => verifyWorkSignature(token, cfg, nodeId, now));

  describe('token format (§9.2)', () => {
    it("reproduces the header and claims segments of the spec's real token", () => {
      // sent to spy with tokenexpiration 10m; exp = 1795598658
      const token = signWork(signing(f['pkcs8.pem'], 10 * 60_000), 'spy', new Date((1795598658 - 600) * 1000 + 123));
      const [h, c, s] = token.split('.');
      expect(`${h}.${c}`).to.equal('eyJhbGciOiJSUzUxMiIsInR5cCI6IkpXVCJ9.eyJhdWQiOlsic3B5Il0sImV4cCI6MTc5NTU5ODY1OH0');
      expect(Buffer.from(h!, 'base64url').toString()).to.equal('{"alg":"RS512","typ":"JWT"}');
      expect(Buffer.from(c!, 'base64url').toString()).to.equal('{"aud":["spy"],"exp":1795598658}');
      expect(Buffer.from(s!, 'base64url')).to.have.length(256);
      expect(token).to.match(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/); // no padding
    });

    it('exp is now + lifetime, truncated to whole seconds; default lifetime is 5 minutes', () => {
      expect(DEFAULT_TOKEN_LIFETIME_MS).to.equal(300_000);
      const claims = (t: string) => JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString());
      expect(claims(signWork(signing(), 'foo', new Date(NOW.getTime() + 999)))).to.deep.equal({aud: ['foo'], exp: NOW_S + 300});
      expect(claims(signWork(signing(f['pkcs8.pem'], 1500), 'foo', NOW)).exp).to.equal(NOW_S + 1);
    });

    it("writes the audience with Go's JSON escaping", () => {
      const t = signWork(signing(), 'a<b>&"c', NOW);
      expect(Buffer.from(t.split('.')[1]!, 'base64url').toString()).to.equal(`{"aud":["a\\u003cb\\u003e\\u0026\\"c"],"exp":${NOW_S + 300}}`);
      expect(verifyErr(t, 'a<b>&"c')).to.equal(undefined);
    });

    it('signs with PKCS#1 (RSA PRIVATE KEY) and PKCS#8 (PRIVATE KEY) keys alike', () => {
      expect(readFileSync(f['pkcs1.pem']!, 'utf8')).to.match(/^-----BEGIN RSA PRIVATE KEY-----/);
      expect(readFileSync(f['pkcs8.pem']!, 'utf8')).to.match(/^-----BEGIN PRIVATE KEY-----/);
      const a = signWork(signing(f['pkcs1.pem']), 'foo', NOW);
      const b = signWork(signing(f['pkcs8.pem']), 'foo', NOW);
      expect(a).to.equal(b); // PKCS#1 v1.5 signatures are deterministic
      expect(verifyErr(a)).to.equal(undefined);
    });

    it('mints a new token on every call (the key file is read each time)', () => {
      const path = join(dir, 'swap.pem');
      writeFileSync(path, readFileSync(f['pkcs8.pem']!));
      const a = signWork(signing(path), 'foo', NOW);
      writeFileSync(path, readFileSync(f['other-priv.pem']!));
      const b = signWork(signing(path), 'foo', NOW);
      expect(a).to.not.equal(b);
      expect(verifyErr(b, 'foo', verifying(f['other-pub.pem']))).to.equal(undefined);
    });

    it("signing errors carry Go's texts", () => {
      expect(errorOf(() => signWork(undefined, 'foo'))).to.equal('cannot sign work: signing key is empty');
      expect(errorOf(() => signWork(signing(''), 'foo'))).to.equal('cannot sign work: signing key is empty');
      const missing = join(dir, 'nofile.pem');
      expect(errorOf(() => signWork(signing(missing), 'foo'))).to.equal(`could not load signing key file: open ${missing}: no such file or directory`);
      expect(errorOf(() => signWork(signing(f['pub.pem']), 'foo'))).to.equal('could not load signing key file: private key file does not contain private key data');
      expect(errorOf(() => signWork(signing(f['two-privs.pem']), 'foo'))).to.equal('could not load signing key file: private key file should contain exactly one item');
      expect(errorOf(() => signWork(signing(f['ec-priv8.pem']), 'foo'))).to.equal('could not load signing key file: private key file does not contain private key data');
      expect(errorOf(() => signWork(signing(f['ec-sec1.pem']), 'foo'))).to.equal('could not load signing key file: unknown block type EC PRIVATE KEY');
      expect(errorOf(() => signWork(signing(f['garbage.pem']), 'foo'))).to.equal('could not load signing key file: failed to decode PEM block');
      expect(errorOf(() => signWork(signing(dir), 'foo'))).to.equal(`could not load signing key file: read ${dir}: is a directory`);
    });

    it('a key too small for an RS512 signature fails like Go', () => {
      const small = generateKeyPairSync('rsa', {modulusLength: 512});
      const p = write('small.pem', small.privateKey.export({type: 'pkcs1', format: 'pem'}));
      expect(errorOf(() => signWork(signing(p), 'foo'))).to.equal('crypto/rsa: message too long for RSA key size');
    });
  });

  describe('interop with openssl', () => {
    it('openssl dgst -sha512 -verify accepts the signature of a minted token', () => {
      const token = signWork(signing(), 'spy', NOW);
      const [h, c, s] = token.split('.');
      const data = write('data.txt', `${h}.${c}`);
      const sig = write('sig.bin', Buffer.from(s!, 'base64url'));
      const out = execFileSync('openssl', ['dgst', '-sha512', '-verify', f['pub.pem']!, '-signature', sig, data], {encoding: 'utf8'});
      expect(out.trim()).to.equal('Verified OK');
    });

    it('a token signed by openssl dgst -sha512 -sign is accepted', () => {
      const input = `${b64('{"alg":"RS512","typ":"JWT"}')}.${b64(`{"aud":["foo"],"exp":${NOW_S + 60}}`)}`;
      const data = write('data2.txt', input);
      const sig = join(dir, 'sig2.bin');
      execFileSync('openssl', ['dgst', '-sha512', '-sign', f['pkcs1.pem']!, '-out', sig, data]);
      const token = `${input}.${b64(readFileSync(sig))}`;
      expect(verifyErr(token)).to.equal(undefined);
      expect(verifyErr(token, 'bar')).to.equal('token audience did not match node ID');
    });

    it('keys made by openssl genrsa / rsa -pubout work on both sides', () => {
      const priv = join(dir, 'ossl-priv.pem');
      const pub = join(dir, 'ossl-pub.pem');
      execFileSync('openssl', ['genrsa', '-out', priv, '2048'], {stdio: 'ignore'});
      execFileSync('openssl', ['rsa', '-in', priv, '-pubout', '-out', pub], {stdio: 'ignore'});
      expect(verifyErr(signWork(signing(priv), 'foo', NOW), 'foo', verifying(pub))).to.equal(undefined);
    });
  });

  describe('verification replies (§9.3 table)', () => {
    const claims = (extra: Record<string, unknown> = {}) => ({aud: ['foo'], exp: NOW_S + 300, ...extra});
    const hdr = (alg = 'RS512') => ({alg, typ: 'JWT'});
    const shouldVerify = (signature: string, isUnix = false) =>
      errorOf(() => checkWorkSignature({shouldVerify: true, isUnix, signature, cfg: verifying(), nodeId: 'foo', now: NOW}));
    const nonVerifying = (signature: string, isUnix = false) =>
      errorOf(() => checkWorkSignature({shouldVerify: false, isUnix, signature, cfg: verifying(), nodeId: 'foo', now: NOW}));

    it('none', () => {
      expect(shouldVerify('')).to.equal('could not verify signature: signature is empty');
    });
    it('garbage', () => {
      expect(shouldVerify('garbage')).to.equal('could not verify signature: token contains an invalid number of segments');
    });
    it('signed with another key', () => {
      expect(shouldVerify(craft(hdr(), claims(), other.privateKey))).to.equal('could not verify signature: crypto/rsa: verification error');
    });
    it('aud ["bar"] sent to foo', () => {
      expect(shouldVerify(craft(hdr(), claims({aud: ['bar']}), main.privateKey))).to.equal('token audience did not match node ID');
    });
    it('exp 100 s in the past: token is expired by <Go duration>', () => {
      const token = craft(hdr(), claims({exp: NOW_S - 100}), main.privateKey);
      expect(shouldVerify(token)).to.equal('could not verify signature: token is expired by 1m40s');
      expect(verifyErr(token, 'foo', verifying(), new Date(NOW.getTime() + 4695))).to.equal('could not verify signature: token is expired by 1m44.695s');
      expect(verifyErr(token, 'foo', verifying(), new Date((NOW_S - 100) * 1000))).to.equal('could not verify signature: token is expired by 0s');
      expect(verifyErr(token, 'foo', verifying(), new Date((NOW_S - 100) * 1000 - 1))).to.equal(undefined);
    });
    it('nbf in the future', () => {
      expect(shouldVerify(craft(hdr(), claims({nbf: NOW_S + 10}), main.privateKey))).to.equal('could not verify signature: token is not valid yet');
      expect(shouldVerify(craft(hdr(), claims({nbf: NOW_S}), main.privateKey))).to.equal(undefined);
    });
    it('valid RS512', () => {
      expect(shouldVerify(signWork(signing(), 'foo', NOW))).to.equal(undefined);
      expect(shouldVerify(craft(hdr(), claims(), main.privateKey))).to.equal(undefined);
    });
    it('valid RS256 (and RS384, PS256, PS384, PS512: the algorithm is not pinned)', () => {
      for (const alg of ['RS256', 'RS384', 'PS256', 'PS384', 'PS512']) {
        expect(shouldVerify(craft(hdr(alg), claims(), main.privateKey, alg)), alg).to.equal(undefined);
      }
      // PSS signatures with any salt length are accepted (golang-jwt verifies with PSSSaltLengthAuto)
      const input = `${b64(JSON.stringify(hdr('PS512')))}.${b64(JSON.stringify(claims()))}`;
      const sig = sign('sha512', Buffer.from(input), {key: main.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 7});
      expect(shouldVerify(`${input}.${b64(sig)}`)).to.equal(undefined);
      // a PKCS#1 v1.5 signature does not pass as PSS
      expect(shouldVerify(craft(hdr('PS512'), claims(), main.privateKey, 'RS512'))).to.equal('could not verify signature: crypto/rsa: verification error');
    });
    it('aud "foo" as a plain string', () => {
      expect(shouldVerify(craft(hdr(), {aud: 'foo', exp: NOW_S + 60}, main.privateKey))).to.equal(undefined);
    });
    it('no exp', () => {
      expect(shouldVerify(craft(hdr(), {aud: ['foo']}, main.privateKey))).to.equal(undefined);
    });
    it('any signature to a non-verifying type, on TCP and on the unix socket', () => {
      expect(nonVerifying(signWork(signing(), 'foo', NOW))).to.equal('work type did not expect a signature');
      expect(nonVerifying('garbage')).to.equal('work type did not expect a signature');
      expect(nonVerifying('garbage', true)).to.equal('work type did not expect a signature');
    });
    it('an empty signature to a non-verifying type counts as none', () => {
      expect(nonVerifying('')).to.equal(undefined);
      expect(nonVerifying('', true)).to.equal(undefined);
    });
    it('the unix socket skips verification for a verifying type', () => {
      expect(shouldVerify('', true)).to.equal(undefined);
      expect(shouldVerify('garbage', true)).to.equal(undefined);
      expect(errorOf(() => checkWorkSignature({shouldVerify: true, isUnix: true, signature: 'x', cfg: undefined, nodeId: 'foo'}))).to.equal(undefined);
    });
  });

  describe('verification: more golang-jwt v4 behaviour', () => {
    const hdr = {alg: 'RS512', typ: 'JWT'};
    const good = (c: unknown) => craft(hdr, c, main.privateKey);
    const withSegments = (h: string, c: string, s = 'AAAA') => `${b64(h)}.${b64(c)}.${s}`;

    it('iat in the future: token used before issued; nbf wins over iat and exp', () => {
      expect(verifyErr(good({aud: ['foo'], iat: NOW_S + 5}))).to.equal('could not verify signature: token used before issued');
      expect(verifyErr(good({aud: ['foo'], exp: NOW_S - 5, iat: NOW_S + 5}))).to.equal('could not verify signature: token used before issued');
      expect(verifyErr(good({aud: ['foo'], exp: NOW_S - 5, iat: NOW_S + 5, nbf: NOW_S + 5}))).to.equal('could not verify signature: token is not valid yet');
    });

    it('a bad signature hides a claims error', () => {
      expect(verifyErr(craft(hdr, {aud: ['foo'], exp: NOW_S - 5}, other.privateKey))).to.equal('could not verify signature: crypto/rsa: verification error');
    });

    it('times may be fractional or strings holding numbers; they are truncated to seconds', () => {
      expect(verifyErr(good({aud: ['foo'], exp: NOW_S + 0.9}))).to.equal('could not verify signature: token is expired by 0s');
      expect(verifyErr(good({aud: ['foo'], exp: NOW_S + 1.9}))).to.equal(undefined);
      expect(verifyErr(good({aud: ['foo'], exp: NOW_S + 1.9}), 'foo', verifying(), new Date(NOW.getTime() + 1001))).to.equal('could not verify signature: token is expired by 1ms');
      expect(verifyErr(good({aud: ['foo'], exp: String(NOW_S + 60)}))).to.equal(undefined);
      expect(verifyErr(good({aud: ['foo'], exp: null}))).to.equal(undefined);
      expect(verifyErr(good({aud: ['foo'], exp: -1}))).to.match(/^could not verify signature: token is expired by 49\d{4}h\d+m[\d.]+s$/);
    });

    it('claim names match case-insensitively; unknown claims are ignored', () => {
      expect(verifyErr(good({AUD: ['foo'], Exp: NOW_S + 60, custom: {x: 1}}))).to.equal(undefined);
      expect(verifyErr(good({aud: ['foo'], EXP: NOW_S - 1}))).to.equal('could not verify signature: token is expired by 1s');
    });

    it('audience rules: one of several; empty or all-empty never matches', () => {
      expect(verifyErr(good({aud: ['x', 'foo']}))).to.equal(undefined);
      expect(verifyErr(good({aud: []}))).to.equal('token audience did not match node ID');
      expect(verifyErr(good({aud: ''}), '')).to.equal('token audience did not match node ID');
      expect(verifyErr(good({aud: ['', '']}), '')).to.equal('token audience did not match node ID');
      expect(verifyErr(good({exp: NOW_S + 60}))).to.equal('token audience did not match node ID');
      expect(verifyErr(good(null))).to.equal('token audience did not match node ID');
      expect(verifyErr(good({aud: ['Foo']}))).to.equal('token audience did not match node ID');
    });

    it('malformed base64 segments', () => {
      expect(verifyErr('a.b.c')).to.equal('could not verify signature: illegal base64 data at input byte 0');
      expect(verifyErr('eyJhbGciOiJSUzUxMiJ9=.e30.')).to.equal('could not verify signature: illegal base64 data at input byte 20');
      expect(verifyErr('Bearer eyJ.e30.x')).to.equal("could not verify signature: tokenstring should not contain 'bearer '");
      expect(verifyErr(`${b64('{"alg":"RS512"}')}.e3=.x`)).to.equal('could not verify signature: illegal base64 data at input byte 2');
      const token = good({aud: ['foo']});
      expect(verifyErr(`${token}=`)).to.match(/^could not verify signature: illegal base64 data at input byte \d+$/);
      expect(verifyErr(`${token.slice(0, token.lastIndexOf('.'))}.`)).to.equal('could not verify signature: crypto/rsa: verification error');
      expect(verifyErr('a.b')).to.equal('could not verify signature: token contains an invalid number of segments');
      expect(verifyErr('a.b.c.d')).to.equal('could not verify signature: token contains an invalid number of segments');
    });

    it('malformed JSON in the header (json.Unmarshal) and the claims (json.Decoder)', () => {
      expect(verifyErr(withSegments('{"alg":', '{}'))).to.equal('could not verify signature: unexpected end of JSON input');
      expect(verifyErr(withSegments('{"alg":"RS512"}x', '{}'))).to.equal("could not verify signature: invalid character 'x' after top-level value");
      expect(verifyErr(withSegments('"RS512"', '{}'))).to.equal('could not verify signature: json: cannot unmarshal string into Go value of type map[string]interface {}');
      expect(verifyErr(withSegments('{"alg":"RS512"}', ''))).to.equal('could not verify signature: EOF');
      expect(verifyErr(withSegments('{"alg":"RS512"}', '{"aud":'))).to.equal('could not verify signature: unexpected EOF');
      expect(verifyErr(withSegments('{"alg":"RS512"}', '{"aud" 1}'))).to.equal("could not verify signature: invalid character '1' after object key");
      expect(verifyErr(withSegments('{"alg":"RS512"}', '[1]'))).to.equal('could not verify signature: json: cannot unmarshal array into Go value of type jwt.RegisteredClaims');
      // the decoder stops after the first value, so trailing bytes are ignored
      expect(verifyErr(good('{"aud":["foo"]}trailing'))).to.equal(undefined);
    });

    it('malformed claim values', () => {
      const h = '{"alg":"RS512"}';
      expect(verifyErr(withSegments(h, '{"aud":1}'))).to.equal('could not verify signature: json: unsupported type: float64');
      expect(verifyErr(withSegments(h, '{"aud":["foo",true]}'))).to.equal('could not verify signature: json: unsupported type: bool');
      expect(verifyErr(withSegments(h, '{"aud":{"a":1}}'))).to.equal('could not verify signature: json: unsupported type: map[string]interface {}');
      expect(verifyErr(withSegments(h, '{"iss":5,"aud":["foo"]}'))).to.equal(
        'could not verify signature: json: cannot unmarshal number into Go struct field RegisteredClaims.iss of type string',
      );
      expect(verifyErr(withSegments(h, '{"exp":"soon"}'))).to.equal(
        'could not verify signature: could not parse NumericData: json: invalid number literal, trying to unmarshal "\\"soon\\"" into Number',
      );
      expect(verifyErr(withSegments(h, '{"exp":true}'))).to.equal(
        'could not verify signature: could not parse NumericData: json: cannot unmarshal bool into Go value of type json.Number',
      );
      expect(verifyErr(withSegments(h, '{"exp":1e400}'))).to.equal(
        'could not verify signature: could not convert json number value to float: strconv.ParseFloat: parsing "1e400": value out of range',
      );
      // a custom decoder error stops decoding and wins over an earlier type mismatch
      expect(verifyErr(withSegments(h, '{"iss":5,"exp":true}'))).to.equal(
        'could not verify signature: could not parse NumericData: json: cannot unmarshal bool into Go value of type json.Number',
      );
    });

    it('alg: missing, unknown, or a non-RSA method', () => {
      const c = '{"aud":["foo"]}';
      expect(verifyErr(withSegments('{"typ":"JWT"}', c))).to.equal('could not verify signature: signing method (alg) is unspecified.');
      expect(verifyErr(withSegments('{"alg":5}', c))).to.equal('could not verify signature: signing method (alg) is unspecified.');
      expect(verifyErr(withSegments('null', c))).to.equal('could not verify signature: signing method (alg) is unspecified.');
      expect(verifyErr(withSegments('{"alg":"RS1024"}', c))).to.equal('could not verify signature: signing method (alg) is unavailable.');
      expect(verifyErr(withSegments('{"alg":"HS256"}', c))).to.equal('could not verify signature: key is of invalid type');
      expect(verifyErr(withSegments('{"alg":"EdDSA"}', c))).to.equal('could not verify signature: key is of invalid type');
      expect(verifyErr(withSegments('{"alg":"ES256"}', c))).to.equal('could not verify signature: key is of invalid type');
      expect(verifyErr(withSegments('{"alg":"ES256"}', c, '!'))).to.equal('could not verify signature: illegal base64 data at input byte 0');
      expect(verifyErr(withSegments('{"alg":"none"}', c, ''))).to.equal("could not verify signature: 'none' signature type is not allowed");
    });

    it("verifying-key errors carry Go's texts", () => {
      const token = signWork(signing(), 'foo', NOW);
      expect(errorOf(() => verifyWorkSignature(token, undefined, 'foo', NOW))).to.equal('could not verify signature: verifying key not specified');
      expect(verifyErr(token, 'foo', verifying(''))).to.equal('could not verify signature: verifying key not specified');
      // an empty signature is reported before a missing key
      expect(errorOf(() => verifyWorkSignature('', undefined, 'foo', NOW))).to.equal('could not verify signature: signature is empty');
      const missing = join(dir, 'nofile.pem');
      expect(verifyErr(token, 'foo', verifying(missing))).to.equal(`could not load verifying key file: open ${missing}: no such file or directory`);
      expect(verifyErr(token, 'foo', verifying(f['pub-pkcs1.pem']))).to.equal('could not load verifying key file: unknown block type RSA PUBLIC KEY');
      expect(verifyErr(token, 'foo', verifying(f['pkcs8.pem']))).to.equal('could not load verifying key file: public key file does not contain public key data');
      expect(verifyErr(token, 'foo', verifying(f['ec-pub.pem']))).to.equal('could not load verifying key file: public key file does not contain public key data');
      expect(verifyErr(token, 'foo', verifying(f['two-pubs.pem']))).to.equal('could not load verifying key file: public key file should contain exactly one item');
      expect(verifyErr(token, 'foo', verifying(f['priv-and-pub.pem']))).to.equal('could not load verifying key file: public key file should contain exactly one item');
      expect(verifyErr(token, 'foo', verifying(f['garbage.pem']))).to.equal('could not load verifying key file: failed to decode PEM block');
      expect(verifyErr(token, 'foo', verifying(f['bad-base64.pem']))).to.equal('could not load verifying key file: failed to decode PEM block');
      expect(verifyErr(token, 'foo', verifying(f['bad-der.pem']))).to.match(/^could not load verifying key file: x509: /);
      expect(verifyErr(token, 'foo', verifying(f['empty.pem']))).to.equal('could not load verifying key file: public key file should contain exactly one item');
    });

    it("key files follow Go's pem.Decode: text before a block is skipped, anything after the last one is an error", () => {
      const token = signWork(signing(), 'foo', NOW);
      expect(verifyErr(token, 'foo', verifying(f['text-before.pem']))).to.equal(undefined);
      expect(verifyErr(token, 'foo', verifying(f['crlf.pem']))).to.equal(undefined);
      expect(verifyErr(token, 'foo', verifying(f['blank-line-after.pem']))).to.equal('could not load verifying key file: failed to decode PEM block');
    });
  });

  describe('work-signing / work-verification items (config.md §5.12, §5.13)', () => {
    function registry(): ActionRegistry {
      const r = new ActionRegistry();
      r.add(nodeType as ActionTypeDef, 'receptor-mesh');
      for (const t of workSigningTypes) r.add(t, 'receptor-mesh');
      return r;
    }
    const reg = registry();
    const load = (...argv: string[]) => loadConfig(argv, reg, {cwd: dir});
    const ctx = (key: string): ItemContext => ({key, plugin: 'test', source: {kind: 'implicit'}, explicit: new Set()});
    const runtime = () => {
      const rt = new NodeRuntime(pino({level: 'silent'}), {configFiles: [], argv: [], selfCommand: []}, () => undefined);
      rt.setNode(new BasicNode('foo', dir));
      return rt;
    };
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any item type of the plugin
    const prepareErr = async (def: ActionTypeDef<any>, v: FieldValues, rt = runtime()) => {
      try {
        await def.create(v, ctx(def.key)).prepare!(rt);
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    };

    it('definitions: two singletons with bare key-path fields', () => {
      expect(workSigningTypes.map((t) => t.key)).to.deep.equal(['work-signing', 'work-verification']);
      for (const t of workSigningTypes) expect(t.singleton).to.equal(true);
      expect(workSigningType.fields.map((x) => [x.name, x.type, x.bare ?? false])).to.deep.equal([
        ['privatekey', 'string', true],
        ['tokenexpiration', 'string', false],
      ]);
      expect(workVerificationType.fields.map((x) => [x.name, x.type, x.bare ?? false])).to.deep.equal([['publickey', 'string', true]]);
    });

    it('bare values and named fields load from the command line and YAML', () => {
      expect(load('--work-signing', 'priv.pem', 'tokenexpiration=1m').items.find((i) => i.key === 'work-signing')!.values).to.deep.equal({
        privatekey: 'priv.pem',
        tokenexpiration: '1m',
      });
      expect(load('--work-verification', 'publickey=pub.pem').items.find((i) => i.key === 'work-verification')!.values).to.deep.equal({publickey: 'pub.pem'});
      const yml = write(
        'signing.yml',
        `- node:\n    id: foo\n- work-signing:\n    privatekey: ${f['pkcs8.pem']}\n    tokenexpiration: 10m\n- work-verification: ${f['pub.pem']}\n`,
      );
      const items = load('-c', yml).items;
      expect(items.find((i) => i.key === 'work-signing')!.values).to.deep.equal({privatekey: f['pkcs8.pem'], tokenexpiration: '10m'});
      expect(items.find((i) => i.key === 'work-verification')!.values).to.deep.equal({publickey: f['pub.pem']});
    });

    it("tokenexpiration is checked at load time with Go's text", () => {
      let err: unknown;
      try {
        load('--work-signing', 'privatekey=priv.pem', 'tokenexpiration=xx');
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(ConfigError);
      expect((err as Error).message).to.include("failed to parse TokenExpiration -- valid examples include '1.5h', '30m', '30m10s'");
      expect(parseTokenExpiration('')).to.equal(300_000);
      expect(parseTokenExpiration('1h30m')).to.equal(5_400_000);
      expect(() => parseTokenExpiration('30')).to.throw("failed to parse TokenExpiration -- valid examples include '1.5h', '30m', '30m10s'");
    });

    it('Prepare: the key file must exist', async () => {
      const missing = join(dir, 'nofile.pem');
      expect(await prepareErr(workSigningType, {privatekey: missing, tokenexpiration: '1m'})).to.equal(`${missing} does not exist`);
      expect(await prepareErr(workVerificationType, {publickey: missing})).to.equal(`${missing} does not exist`);
      expect(await prepareErr(workVerificationType, {publickey: ''})).to.equal(' does not exist');
      const notDir = join(f['pub.pem']!, 'x');
      expect(await prepareErr(workVerificationType, {publickey: notDir})).to.equal(`stat ${notDir}: not a directory`);
    });

    it('Prepare registers the configuration (default lifetime 5m instead of a panic)', async () => {
      const rt = runtime();
      expect(workSigningOf(rt)).to.equal(undefined);
      expect(workVerificationOf(rt)).to.equal(undefined);
      expect(await prepareErr(workSigningType, {privatekey: f['pkcs8.pem']!, tokenexpiration: ''}, rt)).to.equal(undefined);
      expect(await prepareErr(workVerificationType, {publickey: f['pub.pem']!}, rt)).to.equal(undefined);
      expect(workSigningOf(rt)).to.deep.equal({privateKeyPath: f['pkcs8.pem'], lifetimeMs: 300_000});
      expect(workVerificationOf(rt)).to.deep.equal({publicKeyPath: f['pub.pem']});
      expect(rt.registry('work-signing').get('default')).to.equal(workSigningOf(rt));
      // the registered configs drive signing and verification
      expect(errorOf(() => verifyWorkSignature(signWork(workSigningOf(rt), 'foo'), workVerificationOf(rt), 'foo'))).to.equal(undefined);
    });

    it('a later item replaces an earlier one', async () => {
      const rt = runtime();
      await prepareErr(workSigningType, {privatekey: f['pkcs8.pem']!, tokenexpiration: '1m'}, rt);
      await prepareErr(workSigningType, {privatekey: f['pkcs1.pem']!, tokenexpiration: '10m'}, rt);
      expect(workSigningOf(rt)).to.deep.equal({privateKeyPath: f['pkcs1.pem'], lifetimeMs: 600_000});
      await prepareErr(workVerificationType, {publickey: f['pub.pem']!}, rt);
      await prepareErr(workVerificationType, {publickey: f['other-pub.pem']!}, rt);
      expect(workVerificationOf(rt)).to.deep.equal({publicKeyPath: f['other-pub.pem']});
    });

    it('full lifecycle from a config: node Init, then Prepare registers both', async () => {
      const yml = write(
        'life.yml',
        `- node:\n    id: foo\n    datadir: ${dir}\n- work-signing:\n    privatekey: ${f['pkcs1.pem']}\n    tokenexpiration: 90s\n- work-verification:\n    publickey: ${f['pub.pem']}\n`,
      );
      const rt = new NodeRuntime(pino({level: 'silent'}), {configFiles: [yml], argv: [], selfCommand: []}, () => undefined);
      const live = instantiate(load('-c', yml).items);
      try {
        await runAllPhases(live, rt);
        expect(workSigningOf(rt)).to.deep.equal({privateKeyPath: f['pkcs1.pem'], lifetimeMs: 90_000});
        expect(workVerificationOf(rt)).to.deep.equal({publicKeyPath: f['pub.pem']});
      } finally {
        await rt.shutdown();
      }
    });

    it('a missing file aborts startup in Prepare', async () => {
      const yml = write('bad.yml', `- node:\n    id: foo\n    datadir: ${dir}\n- work-verification: nofile.pem\n`);
      const rt = new NodeRuntime(pino({level: 'silent'}), {configFiles: [yml], argv: [], selfCommand: []}, () => undefined);
      let err: unknown;
      try {
        await runAllPhases(instantiate(load('-c', yml).items), rt);
      } catch (e) {
        err = e;
      } finally {
        await rt.shutdown();
      }
      expect((err as Error)?.message).to.match(/^nofile\.pem does not exist/);
    });
  });
});

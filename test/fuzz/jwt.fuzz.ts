/**
 * Fuzz target 6: work-signing JWTs (src/core/work/signing.ts). Random strings, tokens of ours
 * tampered with, and tokens crafted with random headers and claims (signed with our key, with
 * another key, `alg: none`, HMAC keyed with the public key) never verify unless they are what
 * a Go node would accept, and never throw anything but an Error with Go's prefixes.
 */
import {expect} from 'chai';
import fc from 'fast-check';
import {constants, createHmac, generateKeyPairSync, sign, type KeyObject} from 'node:crypto';
import {mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {base64Decode} from '../../src/core/go/base64.js';
import {signWork, verifyWorkSignature} from '../../src/core/work/signing.js';
import {fuzz, fuzzSettings} from '../support/fuzz.js';
import {tally} from '../support/tally.js';

const NODE = 'foo';
const NOW = new Date('2026-12-07T12:00:00Z');
const NOW_S = NOW.getTime() / 1000;
const ERROR = /^(could not verify signature: \S|token audience did not match node ID$)/;

const dir = mkdtempSync(join(tmpdir(), 'receptor-fuzz-jwt-'));
const ours = generateKeyPairSync('rsa', {modulusLength: 2048});
const theirs = generateKeyPairSync('rsa', {modulusLength: 2048});
writeFileSync(join(dir, 'ours.priv'), ours.privateKey.export({type: 'pkcs1', format: 'pem'}));
const pubPem = ours.publicKey.export({type: 'spki', format: 'pem'});
writeFileSync(join(dir, 'ours.pub'), pubPem);
const verifyCfg = {publicKeyPath: join(dir, 'ours.pub')};
const valid = signWork({privateKeyPath: join(dir, 'ours.priv'), lifetimeMs: 60_000}, NODE, NOW);

const b64 = (b: string | Buffer): string => Buffer.from(b).toString('base64url');

/** Returns the error message, or undefined when the token verified. Anything but an Error fails. */
function verify(token: string): string | undefined {
  try {
    verifyWorkSignature(token, verifyCfg, NODE, NOW);
    return undefined;
  } catch (err) {
    expect(err, String(err)).to.be.instanceOf(Error);
    expect((err as Error).constructor, (err as Error).stack).to.equal(Error);
    expect((err as Error).message).to.match(ERROR);
    return (err as Error).message;
  }
}

/** Go-strict decoded segments, or undefined when one does not decode. */
function segments(token: string): Buffer[] | undefined {
  try {
    return token.split('.').map((p) => base64Decode(Buffer.from(p, 'latin1'), 'rawurl'));
  } catch {
    return undefined;
  }
}

function signed(alg: string, input: string, key: KeyObject | 'none' | 'hmac-pub'): string {
  if (key === 'none') return '';
  const bits = alg.slice(2);
  const hash = ['256', '384', '512'].includes(bits) ? `sha${bits}` : 'sha512';
  if (key === 'hmac-pub') return b64(createHmac(hash, pubPem).update(input).digest());
  const pss = alg.startsWith('PS');
  return b64(
    sign(hash, Buffer.from(input), pss ? {key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(bits) / 8 || 32} : {key, padding: constants.RSA_PKCS1_PADDING}),
  );
}

const claimValue = fc.oneof(fc.jsonValue({maxDepth: 1}), fc.constantFrom<unknown>(NODE, [NODE], [], [''], ['', NODE], NOW_S + 60, NOW_S - 60, String(NOW_S + 60), 1e300, -1, null));

describe('fuzz: work-signing JWTs', function () {
  this.timeout(0);
  before(() => {
    tally('targets');
    expect(verify(valid)).to.equal(undefined);
  });

  it('random strings and tampered tokens never verify (unless they decode to the same token)', () => {
    const edit = fc.record({pos: fc.nat(), kind: fc.constantFrom('set', 'insert', 'delete'), ch: fc.constantFrom(...'AZaz09-_.=+/ !\u00e9'.split(''))});
    const token = fc.oneof(
      {weight: 1, arbitrary: fc.string({maxLength: 80}).map((s) => ({s, edits: []}))},
      {weight: 4, arbitrary: fc.array(edit, {minLength: 1, maxLength: 4}).map((edits) => ({s: valid, edits}))},
      {
        weight: 1,
        arbitrary: fc.tuple(fc.nat(2), fc.string({maxLength: 40})).map(([i, seg]) => ({
          s: valid
            .split('.')
            .map((p, j) => (j === i ? seg : p))
            .join('.'),
          edits: [],
        })),
      },
    );
    fuzz(fuzzSettings('jwt-tampered', 0x17a1, 1000), token, ({s, edits}) => {
      let t = s;
      for (const e of edits) {
        const p = e.pos % (t.length + 1);
        t = e.kind === 'set' ? t.slice(0, p) + e.ch + t.slice(p + 1) : e.kind === 'insert' ? t.slice(0, p) + e.ch + t.slice(p) : t.slice(0, p) + t.slice(p + 1);
      }
      if (verify(t) === undefined) {
        const a = segments(t);
        const b = segments(valid)!;
        expect(a, `${t} verified`).to.not.equal(undefined);
        expect(a!.length).to.equal(3);
        for (let i = 0; i < 3; i++) expect(Buffer.compare(a![i]!, b[i]!), `${t} verified with a different segment ${i}`).to.equal(0);
      }
    });
  });

  it('crafted headers and claims verify only when RS/PS-signed by our key, unexpired, for this node', () => {
    const crafted = fc.record({
      alg: fc.constantFrom('RS256', 'RS384', 'RS512', 'PS256', 'PS512', 'none', 'None', 'HS256', 'HS512', 'ES256', '', 'rs512'),
      key: fc.constantFrom<'ours' | 'theirs' | 'none' | 'hmac-pub'>('ours', 'ours', 'theirs', 'none', 'hmac-pub'),
      header: fc.array(fc.tuple(fc.constantFrom('typ', 'kid', 'crit', 'jku', 'x'), fc.jsonValue({maxDepth: 1})), {maxLength: 2}),
      claims: fc.oneof(
        {weight: 3, arbitrary: fc.array(fc.tuple(fc.constantFrom('aud', 'exp', 'nbf', 'iat', 'sub', 'iss', 'x'), claimValue), {maxLength: 4})},
        // Claims a node accepts, so both outcomes occur whatever the seed.
        {
          weight: 1,
          arbitrary: fc.constant<Array<[string, unknown]>>([
            ['aud', [NODE]],
            ['exp', NOW_S + 60],
          ]),
        },
      ),
    });
    let accepted = 0;
    fuzz(fuzzSettings('jwt-crafted', 0x17a2, 1000), crafted, ({alg, key, header, claims}) => {
      const h = Object.fromEntries([['alg', alg], ...header]);
      const c = Object.fromEntries(claims);
      const input = `${b64(JSON.stringify(h))}.${b64(JSON.stringify(c))}`;
      const k = key === 'ours' ? ours.privateKey : key === 'theirs' ? theirs.privateKey : key;
      const token = `${input}.${signed(alg, input, k)}`;
      if (verify(token) !== undefined) return;
      accepted++;
      expect(key, `${JSON.stringify(h)} ${JSON.stringify(c)} verified`).to.equal('ours');
      expect(alg).to.match(/^(RS|PS)(256|384|512)$/);
      const aud = c.aud;
      expect(aud === NODE || (Array.isArray(aud) && aud.includes(NODE)), 'audience').to.equal(true);
      expect(typeof c.exp === 'number' ? c.exp > NOW_S - 1 : true, 'expiry').to.equal(true);
    });
    // Both outcomes occur, so the property is not vacuous.
    expect(accepted, 'crafted tokens accepted').to.be.greaterThan(0);
  });
});

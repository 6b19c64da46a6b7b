/**
 * Work tokens cross-checked against jose, a well-kept JWT library: jose accepts the tokens
 * signWork mints, and verifyWorkSignature accepts the tokens jose mints. jose stays a test
 * oracle: its API is asynchronous, it refuses RSA keys under 2048 bits (Go accepts them), and
 * its errors are not golang-jwt's texts, which peers read.
 */
import {expect} from 'chai';
import {compactVerify, decodeProtectedHeader, jwtVerify, SignJWT} from 'jose';
import {generateKeyPairSync} from 'node:crypto';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {signWork, verifyWorkSignature} from '../../../src/core/work/signing.js';

describe('work signing against jose', function () {
  this.timeout(30_000);
  const {privateKey, publicKey} = generateKeyPairSync('rsa', {modulusLength: 2048});
  let dir: string;
  let privPath: string;
  let pubPath: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'receptor-jose-'));
    privPath = join(dir, 'priv.pem');
    pubPath = join(dir, 'pub.pem');
    writeFileSync(privPath, privateKey.export({type: 'pkcs1', format: 'pem'}));
    writeFileSync(pubPath, publicKey.export({type: 'spki', format: 'pem'}));
  });
  after(() => rmSync(dir, {recursive: true, force: true}));

  it('jose verifies a minted token: RS512, typ JWT, aud [node], exp = now + lifetime (whole seconds)', async () => {
    const now = new Date();
    const token = signWork({privateKeyPath: privPath, lifetimeMs: 60_000}, 'node2', now);
    expect(decodeProtectedHeader(token)).to.deep.equal({alg: 'RS512', typ: 'JWT'});
    const {payload} = await jwtVerify(token, publicKey, {audience: 'node2', algorithms: ['RS512']});
    expect(payload).to.deep.equal({aud: ['node2'], exp: Math.floor((now.getTime() + 60_000) / 1000)});
    await compactVerify(token, publicKey);
  });

  it('a token jose mints verifies here, and one for another audience does not', async () => {
    const exp = Math.floor(Date.now() / 1000) + 300;
    const mint = (aud: string) => new SignJWT({aud: [aud], exp}).setProtectedHeader({alg: 'RS512', typ: 'JWT'}).sign(privateKey);
    const tokenOk = await mint('node2');
    const tokenOther = await mint('node3');
    expect(() => verifyWorkSignature(tokenOk, {publicKeyPath: pubPath}, 'node2')).to.not.throw();
    expect(() => verifyWorkSignature(tokenOther, {publicKeyPath: pubPath}, 'node2')).to.throw('token audience did not match node ID');
  });
});

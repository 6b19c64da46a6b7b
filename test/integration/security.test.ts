/**
 * Security checks of remote work between in-process nodes (issue 16 part 6): an executor that
 * verifies signed work runs nothing for a submitter with another key, an expired token or no
 * token; a hostile executor that names its unit with a path gets refused by the submitter,
 * which writes nothing outside its datadir.
 */
import {expect} from 'chai';
import {generateKeyPairSync} from 'node:crypto';
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, relative} from 'node:path';
import {link, until} from '../support/mesh.js';
import {ask, commandType, startWorkNode, submitWork, type WorkNode} from '../support/work.js';

/** Every path under `root`, relative to it. */
function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      out.push(relative(root, p));
      if (statSync(p).isDirectory()) walk(p);
    }
  };
  walk(root);
  return out.sort();
}

describe('security of remote work (integration)', function () {
  this.timeout(60_000);
  const nodes: WorkNode[] = [];
  let dir: string;
  const marker = () => join(dir, 'marker');
  const runs = () => (existsSync(marker()) ? readFileSync(marker(), 'utf8').split('\n').filter(Boolean).length : 0);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'receptor-sec-int-'));
    for (const name of ['good', 'wrong']) {
      const {privateKey, publicKey} = generateKeyPairSync('rsa', {modulusLength: 2048});
      writeFileSync(join(dir, `${name}.priv`), privateKey.export({type: 'pkcs8', format: 'pem'}), {mode: 0o600});
      writeFileSync(join(dir, `${name}.pub`), publicKey.export({type: 'spki', format: 'pem'}));
    }
    writeFileSync(join(dir, 'mark.sh'), `#!/bin/sh\necho ran >> '${marker()}'\n`);
    chmodSync(join(dir, 'mark.sh'), 0o755);
  });

  afterEach(async () => {
    for (const n of nodes.splice(0)) await n.close();
  });

  async function linked(a: WorkNode, b: WorkNode): Promise<void> {
    link(a.node, b.node);
    await until(() => a.node.statusAdvertisements().some((x) => x.NodeID === b.id && x.Service === 'control'), `${a.id} sees ${b.id}'s control service`);
  }

  /** A submitter whose work-signing key is `key` and whose tokens live `lifetimeMs`. */
  async function submitter(id: string, key: string | undefined, lifetimeMs = 60_000): Promise<WorkNode> {
    const n = await startWorkNode(id, {
      prepare: (rt) => {
        if (key) rt.registry('work-signing').register('default', {privateKeyPath: join(dir, `${key}.priv`), lifetimeMs});
      },
    });
    nodes.push(n);
    return n;
  }

  it('signed remote work: another key, an expired token or no token is refused by the executor, which runs nothing', async () => {
    const exec = await startWorkNode('exec', {
      types: [commandType('marker', join(dir, 'mark.sh'), '', {verifySignature: true})],
      prepare: (rt) => rt.registry('work-verification').register('default', {publicKeyPath: join(dir, 'good.pub')}),
    });
    nodes.push(exec);
    const execUnits = () => (existsSync(join(exec.dataDir, 'exec')) ? readdirSync(join(exec.dataDir, 'exec')) : []);
    const cases: Array<[string, WorkNode, Record<string, string>, RegExp]> = [
      ['another key', await submitter('subwrong', 'wrong'), {signwork: 'true'}, /could not verify signature: crypto\/rsa: verification error$/],
      ['an expired token', await submitter('subold', 'good', -60_000), {signwork: 'true'}, /could not verify signature: token is expired by 1m[\d.]*s$/],
      ['no token (signwork off)', await submitter('subnone', 'good'), {}, /could not verify signature: signature is empty$/],
    ];
    for (const [what, sub, extra, error] of cases) {
      await linked(sub, exec);
      const r = await submitWork(sub.sock, {node: 'exec', worktype: 'marker', ...extra}, 'payload');
      expect(r.reply, what).to.match(/^ERROR: could not parse response: ERROR: /);
      expect(r.reply, what).to.match(error);
      expect(execUnits(), what).to.deep.equal([]);
      expect(runs(), what).to.equal(0);
    }
    // the same executor runs work signed with the right key (the refusals are not vacuous)
    const good = await submitter('subgood', 'good');
    await linked(good, exec);
    const ok = await submitWork(good.sock, {node: 'exec', worktype: 'marker', signwork: 'true'}, 'payload');
    expect(ok.reply).to.equal(`{"result":"Job Started","unitid":"${ok.id}"}`);
    await until(() => runs() === 1 || undefined, 'the signed unit ran', 20_000);
  });

  it('a hostile executor naming its unit "../../escape": the submitter refuses the ID and writes nothing outside its datadir', async () => {
    const evilRoot = mkdtempSync(join(tmpdir(), 'receptor-evil-'));
    const evil = await startWorkNode('evil', {dataDir: join(evilRoot, 'x', 'y'), types: [commandType('echo', 'cat')]});
    nodes.push(evil);
    // the executor's own IDs become paths (on its side, inside its temporary folder)
    (evil.wc as unknown as {newUnitId: () => string}).newUnitId = () => '../../escape';
    const subRoot = mkdtempSync(join(tmpdir(), 'receptor-sub-'));
    mkdirSync(join(subRoot, 'x', 'y'), {recursive: true});
    const sub = await startWorkNode('sub', {dataDir: join(subRoot, 'x', 'y')});
    nodes.push(sub);
    await linked(sub, evil);
    const r = await submitWork(sub.sock, {node: 'evil', worktype: 'echo'}, 'hello');
    expect(r.reply).to.equal('ERROR: could not parse response: Work unit created with ID ../../escape. Send stdin data and EOF.');
    // the local unit is Failed with that detail and no remote unit ID (as in Go)
    const list = JSON.parse(await ask(sub.sock, 'work list')) as Record<string, {StateName: string; Detail: string; ExtraData: {RemoteUnitID: string}}>;
    expect(Object.values(list).map((u) => [u.StateName, u.Detail, u.ExtraData.RemoteUnitID])).to.deep.equal([
      ['Failed', `Error starting worker: ${r.reply.slice('ERROR: '.length)}`, ''],
    ]);
    for (const p of listTree(subRoot)) expect(['x', join('x', 'y'), join('x', 'y', 'sub')].includes(p) || p.startsWith(join('x', 'y', 'sub') + '/'), p).to.equal(true);
    expect(existsSync(join(subRoot, 'x', 'escape')) || existsSync(join(subRoot, 'escape'))).to.equal(false);
  });
});

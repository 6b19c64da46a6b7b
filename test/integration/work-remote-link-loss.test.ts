/**
 * Remote work whose start is cut short by the link (found by test/chaos/links.chaos.ts: units
 * submitted through a flapping hop stayed Pending `Starting Worker` for ever, Go's quirk W3).
 * The link is closed by the chaos layer while the payload streams to the executor; after it
 * comes back the submitter must start the unit again, run it once and deliver exact results.
 */
import {expect} from 'chai';
import {createHash, randomBytes} from 'node:crypto';
import {ChaosLink} from '../../src/core/netceptor/chaos.js';
import {isLinkLoss} from '../../src/core/work/remote-unit.js';
import {remoteTimings} from '../../src/core/work/remote.js';
import {STATE_SUCCEEDED} from '../../src/core/work/status.js';
import {waitFor} from '../support/cli.js';
import {link, memPair, until} from '../support/mesh.js';
import {ask, commandType, readResults, startWorkNode, submitWork, type WorkNode} from '../support/work.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('integration: a remote start cut short by the link is started again', function () {
  this.timeout(120_000);
  const saved = {...remoteTimings};
  let a: WorkNode;
  let b: WorkNode;
  const logs: string[] = [];

  before(async () => {
    remoteTimings.retryFirstMs = 50;
    remoteTimings.retryMaxMs = 400;
    a = await startWorkNode('a', {logLines: logs});
    b = await startWorkNode('b', {types: [commandType('cat', 'cat')]});
  });
  after(async () => {
    Object.assign(remoteTimings, saved);
    for (const n of [a, b]) await n?.close().catch(() => {});
  });

  it('tells a link loss from a refusal', () => {
    expect(isLinkLoss(new Error('write error sending to b: stream reset'))).to.equal(true);
    expect(isLinkLoss(new Error('read error reading from b: no route'))).to.equal(true);
    expect(isLinkLoss(new Error('error sending stdin file: stream closed'))).to.equal(true);
    expect(isLinkLoss(new Error('error from remote: unknown work type'))).to.equal(false);
    expect(isLinkLoss(new Error('could not parse response: ERROR: x'))).to.equal(false);
  });

  it('runs once on the executor and delivers exact results', async () => {
    const chaos = new ChaosLink({seed: 3, cutMode: 'close'});
    const [sa, sb] = memPair();
    a.node.attachSession(chaos.wrap(sa), {cost: 1});
    b.node.attachSession(chaos.wrap(sb), {cost: 1});
    await until(() => a.node.statusAdvertisements().some((x) => x.NodeID === 'b' && x.Service === 'control'), "b's control service on a");
    const payload = randomBytes(24 << 20);
    const submitted = submitWork(a.sock, {node: 'b', worktype: 'cat'}, payload);
    // Cut once b has created the remote unit, i.e. while the payload streams to it.
    await waitFor(
      async () => Object.keys(JSON.parse(await ask(b.sock, 'work list')) as object).length > 0,
      30_000,
      () => 'the remote unit on b',
    );
    chaos.cutNow();
    const r = await submitted;
    expect(r.id).to.match(/^\w+$/);
    await until(
      () => logs.some((l) => l.includes('Remote start interrupted by the link')),
      `the interrupted start logged (reply ${r.reply}) ${logs.length} ${logs.slice(-6).join('')}`,
      30_000,
    );
    chaos.restore();
    link(a.node, b.node); // in-memory links do not redial
    const unit = a.wc.unit(r.id);
    await until(
      () => unit.status().State === STATE_SUCCEEDED && unit.status().StdoutSize === payload.length,
      `unit ${r.id} Succeeded: ${JSON.stringify(unit.status())} ${logs.slice(-10).join('')}`,
      60_000,
    );
    const out = await readResults(a.sock, r.id);
    expect(out.length).to.equal(payload.length);
    expect(sha(out)).to.equal(sha(payload));
    // The interrupted remote unit was released on b: one unit there, the one that ran.
    const remoteId = (unit.status().ExtraData as {RemoteUnitID: string}).RemoteUnitID;
    await waitFor(
      async () => {
        const ids = Object.keys(JSON.parse(await ask(b.sock, 'work list')) as object);
        return ids.length === 1 && ids[0] === remoteId;
      },
      10_000,
      () => 'only the unit that ran left on b',
    );
  });
});

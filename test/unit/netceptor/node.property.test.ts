/** Random and mutated frames from a peer never crash the node or break its links. */
import {expect} from 'chai';
import fc from 'fast-check';
import {encodeData, encodeRoutingUpdate, encodeServiceAdvertisement, goTimeNow} from '../../../src/core/netceptor/codec.js';
import {nameHash} from '../../../src/core/netceptor/name-hash.js';
import {ping} from '../../../src/core/netceptor/ping.js';
import {FAST, link, makeNode, memPair, until} from '../../support/mesh.js';

describe('netceptor node: hostile input (property)', function () {
  this.timeout(60_000);

  it('survives random and mutated frames on an established link', async () => {
    const n = makeNode('foo', {timings: FAST});
    const friend = makeNode('friend', {timings: FAST});
    link(n, friend);
    const [ours, theirs] = memPair();
    theirs.start({onMessage: () => {}, onClose: () => {}});
    n.attachSession(ours, {cost: 1});
    ours.receive(
      encodeRoutingUpdate({
        nodeId: 'evil',
        updateId: 'aaaaaaaa',
        updateEpoch: 1n << 60n,
        updateSequence: 1n,
        connections: new Map(),
        forwardingNode: 'evil',
        suspectedDuplicate: 0n,
      }),
    );
    await until(() => n.connectedPeers().includes('evil') && n.statusRoutingTable().friend === 'friend', 'links up');

    const seeds = [
      encodeRoutingUpdate({
        nodeId: 'evil',
        updateId: 'bbbbbbbb',
        updateEpoch: 1n << 60n,
        updateSequence: 2n,
        connections: new Map([['foo', 1]]),
        forwardingNode: 'evil',
        suspectedDuplicate: 0n,
      }),
      encodeData({hopsToLive: 5, fromHash: nameHash('evil'), toHash: nameHash('friend'), fromService: 'x', toService: 'ping', payload: Buffer.from('hi')}),
      encodeData({hopsToLive: 0, fromHash: nameHash('evil'), toHash: nameHash('foo'), fromService: 'x', toService: 'unreach', payload: Buffer.from('{"FromNode":"foo"}')}),
      encodeServiceAdvertisement({nodeId: 'evil', service: 'svc', time: goTimeNow(), connType: 1, tags: new Map([['a', 'b']]), workCommands: null, cancel: false}),
    ];
    const frame = fc.oneof(
      fc.uint8Array({minLength: 1, maxLength: 200}),
      fc.tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({min: 0, max: 255})), {maxLength: 6}), fc.nat(300)).map(([seed, edits, cut]) => {
        const b = Buffer.from(seed);
        for (const [pos, val] of edits) b[pos % b.length] = val;
        return b.subarray(0, Math.max(1, b.length - (cut % b.length)));
      }),
    );
    fc.assert(
      fc.property(frame, (f) => {
        expect(() => ours.receive(Buffer.from(f))).not.to.throw();
      }),
      {numRuns: 3000},
    );
    // Whatever the peer sent, the node still works: the honest link still carries pings.
    const r = await ping(n, 'friend');
    expect(r.error).to.equal(undefined);
    expect(n.isShutdown).to.equal(false);
    await n.shutdown();
    await friend.shutdown();
  });
});

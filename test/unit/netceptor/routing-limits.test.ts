/**
 * Bounds against a routing-update flood (issue 16): remembered UpdateIDs and known nodes are
 * capped, and the per-update and route-computation cost no longer grows with n² (52,000
 * made-up nodes stalled a node for 30 s+).
 */
import {expect} from 'chai';
import {pino} from 'pino';
import {ManualClock} from '../../../src/core/clock.js';
import {encodeRoutingUpdate} from '../../../src/core/netceptor/codec.js';
import type {Netceptor} from '../../../src/core/netceptor/node.js';
import {MAX_KNOWN_NODES, MAX_SEEN_UPDATES, RoutingState, SEEN_UPDATE_MEMORY_MS, type RouteUpdateInput} from '../../../src/core/netceptor/routing.js';
import {FAST, makeNode, memPair, until} from '../../support/mesh.js';

function upd(nodeId: string, id: string, seq: bigint, connections: Record<string, number> = {}): RouteUpdateInput {
  return {nodeId, updateId: id, updateEpoch: 1000n, updateSequence: seq, connections: new Map(Object.entries(connections)), suspectedDuplicate: 0n};
}

describe('netceptor routing limits', () => {
  it('remembers at most MAX_SEEN_UPDATES UpdateIDs, forgetting the oldest; recent duplicates are still recognised', () => {
    const clock = new ManualClock();
    const s = new RoutingState({nodeId: 'me', clock});
    const N = 100_000;
    for (let i = 0; i < N; i++) expect(s.handleUpdate(upd('x', `id${i}`, BigInt(i + 1))).outcome).to.equal('accepted');
    expect(MAX_SEEN_UPDATES).to.equal(65_536);
    expect(s.seenCount).to.equal(MAX_SEEN_UPDATES);
    // the newest ones are duplicates still (even with a higher sequence)...
    expect(s.handleUpdate(upd('x', `id${N - 1}`, BigInt(N + 1))).outcome).to.equal('seen');
    expect(s.handleUpdate(upd('x', `id${N - MAX_SEEN_UPDATES}`, BigInt(N + 1))).outcome).to.equal('seen');
    // ...the oldest ones were forgotten: they reach the sequence check
    expect(s.handleUpdate(upd('x', `id${N - MAX_SEEN_UPDATES - 1}`, 1n)).outcome).to.equal('stale');
    expect(s.handleUpdate(upd('x', 'id0', 1n)).outcome).to.equal('stale');
    expect(s.seenCount).to.equal(MAX_SEEN_UPDATES);
  });

  it('below the cap keeps Go’s rule: an UpdateID is a duplicate for an hour, then forgotten', () => {
    const clock = new ManualClock();
    const s = new RoutingState({nodeId: 'me', clock, maxSeenUpdates: 3});
    expect(s.handleUpdate(upd('x', 'a', 1n)).outcome).to.equal('accepted');
    clock.advance(SEEN_UPDATE_MEMORY_MS);
    expect(s.handleUpdate(upd('x', 'a', 2n)).outcome).to.equal('seen');
    clock.advance(1);
    // expired: accepted again, and it now counts as the newest entry
    expect(s.handleUpdate(upd('x', 'a', 2n)).outcome).to.equal('accepted');
    for (const id of ['b', 'c']) s.handleUpdate(upd('y', id, id === 'b' ? 1n : 2n));
    expect(s.seenCount).to.equal(3);
    expect(s.handleUpdate(upd('x', 'a', 3n)).outcome).to.equal('seen');
  });

  it('accepts at most MAX_KNOWN_NODES nodes; known nodes and direct peers still update', () => {
    const s = new RoutingState({nodeId: 'me', clock: new ManualClock()});
    s.addConnection('peer', 1);
    expect(MAX_KNOWN_NODES).to.equal(10_000);
    for (let i = 0; i < MAX_KNOWN_NODES; i++) expect(s.handleUpdate(upd(`f${i}`, `u${i}`, 1n, {peer: 1})).outcome).to.equal('accepted');
    expect(s.handleUpdate(upd('one-too-many', 'v1', 1n, {peer: 1}))).to.include({outcome: 'node-limit', flood: false, recompute: false});
    expect(s.knownNodes()).to.have.length(MAX_KNOWN_NODES);
    expect(s.topologyNodes()).to.not.include('one-too-many');
    // a known node's newer update is processed as before
    expect(s.handleUpdate(upd('f7', 'v2', 2n, {peer: 2})).outcome).to.equal('accepted');
    // our own neighbour is never locked out by made-up nodes
    expect(s.handleUpdate(upd('peer', 'v3', 1n, {me: 1, f7: 2})).outcome).to.equal('accepted');
    expect(s.computeRoutes().get('f7')).to.equal('peer');
  });

  it('drops an update listing more than MAX_KNOWN_NODES connections', () => {
    const s = new RoutingState({nodeId: 'me', clock: new ManualClock()});
    const conns: Record<string, number> = {};
    for (let i = 0; i <= MAX_KNOWN_NODES; i++) conns[`c${i}`] = 1;
    expect(s.handleUpdate(upd('x', 'u1', 1n, conns)).outcome).to.equal('connection-limit');
    expect(s.topologyNodes()).to.deep.equal([]);
    delete conns.c0;
    expect(s.handleUpdate(upd('x', 'u2', 1n, conns)).outcome).to.equal('accepted');
  });

  it('20,000 nodes (cap raised) are stored and routed (the heap-based route computation picks the cheapest path)', () => {
    // Cost figures (8.8 s + 23 s before the fix, about 0.3 s after) are for a benchmark, not asserted here.
    const s = new RoutingState({nodeId: 'me', clock: new ManualClock(), maxKnownNodes: 1_000_000});
    s.addConnection('peer', 1);
    const N = 20_000;
    const all = new Map([['me', 1]]);
    for (let i = 0; i < N; i++) {
      s.handleUpdate(upd(`f${i}`, `u${i}`, 1n, {peer: 1}));
      all.set(`f${i}`, 1);
    }
    s.handleUpdate({...upd('peer', 'p', 1n), connections: all});
    const routes = s.computeRoutes();
    expect(routes.size).to.equal(N + 1);
    expect(routes.get(`f${N - 1}`)).to.equal('peer');
    expect(s.pathCost(`f${N - 1}`)).to.equal(2);
  });
});

describe('netceptor node under a routing-update flood', () => {
  let n: Netceptor | undefined;
  afterEach(async () => {
    await n?.shutdown();
    n = undefined;
  });

  it('drops updates for nodes past the cap, logging the cause once at warn and the repeats at debug', async function () {
    this.timeout(60_000); // 10,050 updates through the real node
    const lines: Array<{level: string; msg: string}> = [];
    const logger = pino({level: 'debug', formatters: {level: (label) => ({level: label})}}, {write: (s: string) => lines.push(JSON.parse(s) as {level: string; msg: string})});
    n = makeNode('foo', {timings: FAST, logger});
    const [ours, theirs] = memPair();
    theirs.start({onMessage: () => {}, onClose: () => {}});
    n.attachSession(ours, {cost: 1});
    const base = {updateEpoch: 1n, updateSequence: 1n, suspectedDuplicate: 0n, forwardingNode: 'bar'};
    theirs.send(encodeRoutingUpdate({...base, updateId: 'hello', nodeId: 'bar', connections: new Map([['foo', 1]])}));
    await until(() => n!.connectedPeers().includes('bar'), 'bar linked');
    const extra = 50;
    for (let i = 0; i < MAX_KNOWN_NODES + extra; i++) {
      theirs.send(encodeRoutingUpdate({...base, updateId: `u${i}`, nodeId: `fake${i}`, connections: new Map([['bar', 1]])}));
    }
    const dropped = (level: string) => lines.filter((l) => l.level === level && l.msg.startsWith('Dropping routing updates for new nodes'));
    await until(() => dropped('warn').length + dropped('debug').length === extra, 'all extra updates dropped', 30_000);
    expect(dropped('warn')).to.have.length(1);
    expect(dropped('warn')[0]!.msg).to.equal(`Dropping routing updates for new nodes: ${MAX_KNOWN_NODES} nodes are known already`);
    const known = Object.keys(n.knownConnectionCosts());
    expect(known).to.include('fake0').and.not.include(`fake${MAX_KNOWN_NODES}`);
    expect(known.length).to.be.at.most(MAX_KNOWN_NODES + 2);
  });
});

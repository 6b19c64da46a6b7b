import {expect} from 'chai';
import {ManualClock} from '../../../src/core/clock.js';
import {
  makeEpoch,
  RoutingState,
  SEEN_UPDATE_MEMORY_MS,
  SEEN_UPDATE_PURGE_INTERVAL_MS,
  shortestPaths,
  type OwnRouteUpdate,
  type RouteUpdateInput,
} from '../../../src/core/netceptor/routing.js';

/** The codec's RoutingUpdate shape; both directions must type-check. */
interface CodecLikeRoutingUpdate {
  nodeId: string;
  updateId: string;
  updateEpoch: bigint;
  updateSequence: bigint;
  connections: Map<string, number>;
  forwardingNode: string;
  suspectedDuplicate: bigint;
}

const EPOCH = 29021228238034567n;
let nextId = 0;

function update(nodeId: string, connections: Record<string, number>, opts: {epoch?: bigint; seq?: bigint; id?: string; suspected?: bigint} = {}): CodecLikeRoutingUpdate {
  return {
    nodeId,
    updateId: opts.id ?? `u${++nextId}`,
    updateEpoch: opts.epoch ?? 1000n,
    updateSequence: opts.seq ?? 1n,
    connections: new Map(Object.entries(connections)),
    forwardingNode: nodeId,
    suspectedDuplicate: opts.suspected ?? 0n,
  };
}

function node(id = 'a', clock = new ManualClock()): RoutingState {
  let n = 0;
  return new RoutingState({nodeId: id, clock, epoch: EPOCH, newUpdateId: () => `id${++n}`.padEnd(8, 'x')});
}

/** Feeds updates with fresh sequence numbers per node. */
function feed(s: RoutingState, graph: Record<string, Record<string, number>>): void {
  for (const [id, conns] of Object.entries(graph)) {
    const seq = (s.nodeRecord(id)?.sequence ?? 0n) + 1n;
    expect(s.handleUpdate(update(id, conns, {seq})).outcome).to.equal('accepted');
  }
}

describe('netceptor routing', () => {
  describe('epoch and sequence', () => {
    it('epoch is unix seconds × 2^24 plus the random part', () => {
      expect(makeEpoch(1_729_785_000_999, 0)).to.equal(1_729_785_000n * 16_777_216n);
      expect(makeEpoch(1_729_785_000_000, 0xffffff)).to.equal(1_729_785_000n * 16_777_216n + 16_777_215n);
    });

    it('draws the random part in [0, 2^24) and rejects bad ones', () => {
      const base = 1_700_000_000n << 24n;
      for (let i = 0; i < 50; i++) {
        const e = makeEpoch(1_700_000_000_500);
        expect(e >= base && e < base + (1n << 24n)).to.equal(true);
      }
      expect(() => makeEpoch(0, 1 << 24)).to.throw(RangeError);
      expect(() => makeEpoch(0, -1)).to.throw(RangeError);
      expect(() => makeEpoch(0, 1.5)).to.throw(RangeError);
    });

    it('defaults the epoch from the clock', () => {
      const clock = new ManualClock(1_800_000_000_250);
      const e = new RoutingState({nodeId: 'a', clock}).epoch;
      expect(e >> 24n).to.equal(1_800_000_000n);
    });

    it('starts the sequence at 0 and increments before every update', () => {
      const s = node('foo');
      expect(s.sequence).to.equal(0n);
      expect(s.buildUpdate().updateSequence).to.equal(1n);
      expect(s.nextSequence()).to.equal(2n);
      expect(s.buildUpdate(5n).updateSequence).to.equal(3n);
      expect(s.sequence).to.equal(3n);
    });

    it('builds own updates with sorted connections, own ForwardingNode and fresh UpdateIDs', () => {
      const s = node('foo');
      s.addConnection('baz', 2.5);
      s.addConnection('bar', 1);
      const u1: OwnRouteUpdate = s.buildUpdate();
      expect(u1).to.deep.equal({
        nodeId: 'foo',
        updateId: 'id1xxxxx',
        updateEpoch: EPOCH,
        updateSequence: 1n,
        connections: new Map([
          ['bar', 1],
          ['baz', 2.5],
        ]),
        forwardingNode: 'foo',
        suspectedDuplicate: 0n,
      });
      expect([...u1.connections.keys()]).to.deep.equal(['bar', 'baz']);
      const u2 = s.buildUpdate(77n);
      expect(u2.updateId).to.equal('id2xxxxx');
      expect(u2.suspectedDuplicate).to.equal(77n);
      const codec: CodecLikeRoutingUpdate = u2; // assignment-compatible with the codec shape
      const input: RouteUpdateInput = codec;
      expect(input.nodeId).to.equal('foo');
    });

    it('uses 8-character random UpdateIDs by default', () => {
      const s = new RoutingState({nodeId: 'a', clock: new ManualClock()});
      const ids = new Set([s.buildUpdate().updateId, s.buildUpdate().updateId]);
      expect(ids.size).to.equal(2);
      for (const id of ids) expect(id).to.match(/^[0-9a-zA-Z]{8}$/);
    });
  });

  describe('own connections', () => {
    it('adds edges in both directions and matches the status shapes of a real capture', () => {
      const s = node('foo');
      s.addConnection('bar', 1);
      expect(s.handleUpdate(update('bar', {foo: 1})).outcome).to.equal('accepted');
      s.computeRoutes();
      // control.sessions.json: "KnownConnectionCosts":{"bar":{"foo":1},"foo":{"bar":1}} … "RoutingTable":{"bar":"bar"}
      expect(JSON.stringify(s.knownConnectionCosts())).to.equal('{"bar":{"foo":1},"foo":{"bar":1}}');
      expect(JSON.stringify(s.statusRoutingTable())).to.equal('{"bar":"bar"}');
      expect(s.statusConnections()).to.deep.equal([{NodeID: 'bar', Cost: 1}]);
      expect(s.hasConnection('bar')).to.equal(true);
      expect(s.connectionCost('bar')).to.equal(1);
    });

    it('removes both direct edges but keeps the nodes', () => {
      const s = node('foo');
      s.addConnection('bar', 1);
      s.addConnection('baz', 3);
      expect(s.removeConnection('bar')).to.equal(true);
      expect(s.removeConnection('bar')).to.equal(false);
      expect(s.knownConnectionCosts()).to.deep.equal({bar: {}, baz: {foo: 3}, foo: {baz: 3}});
      expect(s.computeRoutes()).to.deep.equal(new Map([['baz', 'baz']]));
      expect(s.statusConnections()).to.deep.equal([{NodeID: 'baz', Cost: 3}]);
    });

    it('is empty for an isolated node', () => {
      const s = node('foo');
      expect(s.knownConnectionCosts()).to.deep.equal({});
      expect(s.computeRoutes().size).to.equal(0);
      expect(s.statusRoutingTable()).to.deep.equal({});
      expect(s.statusConnections()).to.deep.equal([]);
    });

    it('keys KnownConnectionCosts safely even for odd node IDs', () => {
      const s = node('foo');
      s.addConnection('__proto__', 1);
      const kcc = s.knownConnectionCosts();
      expect(Object.keys(kcc)).to.deep.equal(['__proto__', 'foo']);
      expect(JSON.stringify(kcc)).to.equal('{"__proto__":{"foo":1},"foo":{"__proto__":1}}');
    });
  });

  describe('processing received updates (§6.5)', () => {
    it('step 1: ignores an empty NodeID entirely', () => {
      const s = node();
      const r = s.handleUpdate(update('', {a: 1}));
      expect(r).to.deep.equal({outcome: 'empty-node-id', flood: false, sendOwnUpdateSoon: false, recompute: false, learnNames: []});
      expect(s.seenCount).to.equal(0);
      expect(s.knownNodes()).to.deep.equal([]);
    });

    it('step 5: a new node is stored, re-flooded, learned, and triggers an own update and a recompute', () => {
      const s = node();
      s.addConnection('b', 1);
      const r = s.handleUpdate(update('b', {a: 1, c: 2}, {epoch: 5n, seq: 9n}));
      expect(r).to.deep.equal({outcome: 'accepted', flood: true, sendOwnUpdateSoon: true, recompute: true, learnNames: ['b']});
      expect(s.nodeRecord('b')).to.deep.equal({epoch: 5n, sequence: 9n});
      expect(s.knownNodes()).to.deep.equal(['b']);
      expect(s.knownConnectionCosts()).to.deep.equal({a: {b: 1}, b: {a: 1, c: 2}});
    });

    it('step 5: a known node with unchanged connections is re-flooded without recompute', () => {
      const s = node();
      s.addConnection('b', 1);
      s.handleUpdate(update('b', {a: 1}, {seq: 1n}));
      const r = s.handleUpdate(update('b', {a: 1}, {seq: 2n}));
      expect(r).to.deep.equal({outcome: 'accepted', flood: true, sendOwnUpdateSoon: false, recompute: false, learnNames: []});
      expect(s.nodeRecord('b')?.sequence).to.equal(2n);
    });

    it('a direct peer whose first update equals the handshake edge is still a new node', () => {
      const s = node();
      s.addConnection('b', 1);
      const r = s.handleUpdate(update('b', {a: 1}));
      expect(r.sendOwnUpdateSoon).to.equal(true);
      expect(r.recompute).to.equal(false);
    });

    it('an empty Connections from a new node creates its (empty) edge set', () => {
      const s = node();
      const r = s.handleUpdate(update('z', {}));
      expect(r.recompute).to.equal(true);
      expect(s.knownConnectionCosts()).to.deep.equal({z: {}});
      expect(s.topologyNodes()).to.deep.equal(['z']);
    });

    it('drops stale sequences silently', () => {
      const s = node();
      s.handleUpdate(update('b', {a: 1, c: 1}, {seq: 5n}));
      for (const seq of [5n, 4n, 1n]) {
        const r = s.handleUpdate(update('b', {a: 1}, {seq}));
        expect(r).to.deep.equal({outcome: 'stale', flood: false, sendOwnUpdateSoon: false, recompute: false, learnNames: []});
      }
      expect(s.knownConnectionCosts().b).to.deep.equal({a: 1, c: 1});
      expect(s.nodeRecord('b')?.sequence).to.equal(5n);
    });

    it('drops an older epoch even with a higher sequence', () => {
      const s = node();
      s.handleUpdate(update('b', {c: 1}, {epoch: 2000n, seq: 5n}));
      expect(s.handleUpdate(update('b', {}, {epoch: 1999n, seq: 99n})).outcome).to.equal('stale');
      expect(s.nodeRecord('b')).to.deep.equal({epoch: 2000n, sequence: 5n});
    });

    it('accepts a restarted node (larger epoch) whose sequence starts over, and answers with our own update (it forgot us)', () => {
      const s = node();
      s.handleUpdate(update('b', {c: 1}, {epoch: 2000n, seq: 50n}));
      expect(s.handleUpdate(update('b', {c: 1}, {epoch: 2000n, seq: 51n})).sendOwnUpdateSoon).to.equal(false);
      const r = s.handleUpdate(update('b', {d: 1}, {epoch: 2001n, seq: 1n}));
      expect(r.outcome).to.equal('accepted');
      expect(r.sendOwnUpdateSoon).to.equal(true);
      expect(r.recompute).to.equal(true);
      expect(s.nodeRecord('b')).to.deep.equal({epoch: 2001n, sequence: 1n});
      expect(s.knownConnectionCosts().b).to.deep.equal({d: 1});
    });

    it('compares epochs beyond 2^53 exactly', () => {
      const s = node();
      s.handleUpdate(update('b', {}, {epoch: 2n ** 60n + 1n, seq: 3n}));
      expect(s.handleUpdate(update('b', {}, {epoch: 2n ** 60n, seq: 4n})).outcome).to.equal('stale');
      expect(s.handleUpdate(update('b', {}, {epoch: 2n ** 60n + 2n, seq: 1n})).outcome).to.equal('accepted');
    });

    it('replaces the edge set and deletes edges into the node from nodes it no longer lists', () => {
      const s = node();
      feed(s, {b: {c: 1, d: 2}, c: {b: 1}, d: {b: 2}});
      const r = s.handleUpdate(update('b', {c: 1}, {seq: 2n}));
      expect(r.recompute).to.equal(true);
      expect(s.knownConnectionCosts()).to.deep.equal({b: {c: 1}, c: {b: 1}, d: {}});
    });

    it('never deletes this node’s own edges when another node stops listing it', () => {
      const s = node();
      s.addConnection('b', 1);
      s.handleUpdate(update('b', {c: 1}));
      expect(s.knownConnectionCosts()).to.deep.equal({a: {b: 1}, b: {c: 1}});
    });
  });

  describe('UpdateID de-duplication', () => {
    it('drops a repeated UpdateID even with a higher sequence', () => {
      const s = node();
      expect(s.handleUpdate(update('b', {c: 1}, {id: 'k2Pq8WnR', seq: 1n})).outcome).to.equal('accepted');
      const r = s.handleUpdate(update('b', {}, {id: 'k2Pq8WnR', seq: 2n}));
      expect(r).to.deep.equal({outcome: 'seen', flood: false, sendOwnUpdateSoon: false, recompute: false, learnNames: []});
      expect(s.knownConnectionCosts().b).to.deep.equal({c: 1});
    });

    it('remembers an UpdateID for one hour, then forgets it', () => {
      const clock = new ManualClock();
      const s = node('a', clock);
      s.handleUpdate(update('b', {}, {id: 'X', seq: 1n}));
      clock.advance(SEEN_UPDATE_MEMORY_MS);
      expect(s.handleUpdate(update('b', {}, {id: 'X', seq: 2n})).outcome).to.equal('seen');
      clock.advance(1);
      expect(s.handleUpdate(update('b', {}, {id: 'X', seq: 2n})).outcome).to.equal('accepted');
      // seen again from now on
      expect(s.handleUpdate(update('b', {}, {id: 'X', seq: 3n})).outcome).to.equal('seen');
    });

    it('purges old UpdateIDs explicitly and lazily every 30 minutes', () => {
      const clock = new ManualClock();
      const s = node('a', clock);
      s.handleUpdate(update('b', {}, {seq: 1n}));
      s.handleUpdate(update('c', {}, {seq: 1n}));
      clock.advance(40 * 60_000);
      s.handleUpdate(update('b', {}, {seq: 2n}));
      expect(s.seenCount).to.equal(3);
      expect(s.purgeSeen(clock.now())).to.equal(0);
      clock.advance(SEEN_UPDATE_MEMORY_MS - 40 * 60_000 + 1);
      expect(s.purgeSeen()).to.equal(2);
      expect(s.seenCount).to.equal(1);
      // lazy: the next update after a purge interval triggers one
      clock.advance(SEEN_UPDATE_PURGE_INTERVAL_MS + SEEN_UPDATE_MEMORY_MS);
      s.handleUpdate(update('d', {}, {seq: 1n}));
      expect(s.seenCount).to.equal(1);
    });

    it('does not remember UpdateIDs of ignored (empty or own NodeID) updates', () => {
      const s = node('a');
      s.handleUpdate(update('', {}, {id: 'Q'}));
      s.handleUpdate(update('a', {}, {id: 'R', epoch: EPOCH}));
      expect(s.seenCount).to.equal(0);
      expect(s.handleUpdate(update('b', {}, {id: 'Q'})).outcome).to.equal('accepted');
      expect(s.handleUpdate(update('c', {}, {id: 'R'})).outcome).to.equal('accepted');
    });
  });

  describe('duplicate node IDs (§6.7)', () => {
    const own = (opts: {epoch: bigint; suspected?: bigint}) => update('a', {x: 1}, {...opts, seq: 99n});
    const base = {outcome: 'own-node-id', flood: false, sendOwnUpdateSoon: false, recompute: false, learnNames: []};

    it('row 1: our own update came back (same epoch) → ignore', () => {
      const s = node('a');
      expect(s.handleUpdate(own({epoch: EPOCH, suspected: EPOCH}))).to.deep.equal({
        ...base,
        duplicate: {action: 'ignore', reason: 'own-update'},
      });
    });

    it('row 2: SuspectedDuplicate equals our epoch → we are the duplicate, shut down', () => {
      const s = node('a');
      expect(s.handleUpdate(own({epoch: EPOCH - 10n, suspected: EPOCH})).duplicate).to.deep.equal({action: 'shutdown'});
      expect(s.handleUpdate(own({epoch: EPOCH + 10n, suspected: EPOCH})).duplicate).to.deep.equal({action: 'shutdown'});
    });

    it('row 3: a newer epoch with our ID → notify with SuspectedDuplicate = their epoch', () => {
      const s = node('a');
      s.addConnection('b', 1);
      const r = s.handleUpdate(own({epoch: EPOCH + 1n}));
      expect(r).to.deep.equal({...base, duplicate: {action: 'notify', suspectedDuplicate: EPOCH + 1n}});
      const seqBefore = s.sequence;
      const note = s.buildUpdate(r.duplicate?.action === 'notify' ? r.duplicate.suspectedDuplicate : 0n);
      expect(note.suspectedDuplicate).to.equal(EPOCH + 1n);
      expect(note.updateEpoch).to.equal(EPOCH);
      expect(note.updateSequence).to.equal(seqBefore + 1n);
      expect(note.connections).to.deep.equal(new Map([['b', 1]]));
    });

    it('row 4: an older epoch (not suspecting us) → ignore', () => {
      const s = node('a');
      expect(s.handleUpdate(own({epoch: EPOCH - 1n})).duplicate).to.deep.equal({action: 'ignore', reason: 'older-epoch'});
      expect(s.handleUpdate(own({epoch: EPOCH - 1n, suspected: 123n})).duplicate).to.deep.equal({
        action: 'ignore',
        reason: 'older-epoch',
      });
    });

    it('never stores or re-floods an update carrying our own ID', () => {
      const s = node('a');
      s.handleUpdate(own({epoch: EPOCH + 1n}));
      expect(s.knownNodes()).to.deep.equal([]);
      expect(s.knownConnectionCosts()).to.deep.equal({});
    });
  });

  describe('SuspectedDuplicate on a third node (§6.5 step 4)', () => {
    const ORIGINAL = 1000n;
    const DUPLICATE = 2000n;

    it('restores the original holder’s epoch and sequence without touching the topology', () => {
      const s = node('c');
      s.handleUpdate(update('x', {p: 1}, {epoch: ORIGINAL, seq: 7n}));
      // the later-started duplicate's update wins first
      expect(s.handleUpdate(update('x', {q: 1}, {epoch: DUPLICATE, seq: 3n})).outcome).to.equal('accepted');
      const r = s.handleUpdate(update('x', {z: 5}, {epoch: ORIGINAL, seq: 8n, suspected: DUPLICATE}));
      expect(r).to.deep.equal({outcome: 'duplicate-notice', flood: true, sendOwnUpdateSoon: false, recompute: false, learnNames: []});
      expect(s.nodeRecord('x')).to.deep.equal({epoch: ORIGINAL, sequence: 8n});
      expect(s.knownConnectionCosts().x).to.deep.equal({q: 1});
      // the original's next normal update is accepted again
      expect(s.handleUpdate(update('x', {p: 1}, {epoch: ORIGINAL, seq: 9n})).outcome).to.equal('accepted');
      expect(s.knownConnectionCosts().x).to.deep.equal({p: 1});
    });

    it('overwrites even with a lower sequence (no sequence check)', () => {
      const s = node('c');
      s.handleUpdate(update('x', {}, {epoch: DUPLICATE, seq: 40n}));
      s.handleUpdate(update('x', {}, {epoch: ORIGINAL, seq: 2n, suspected: DUPLICATE}));
      expect(s.nodeRecord('x')).to.deep.equal({epoch: ORIGINAL, sequence: 2n});
    });

    it('leaves the record alone when the suspected epoch is not the stored one, but still floods', () => {
      const s = node('c');
      s.handleUpdate(update('x', {}, {epoch: ORIGINAL, seq: 7n}));
      const r = s.handleUpdate(update('x', {}, {epoch: 3000n, seq: 1n, suspected: DUPLICATE}));
      expect(r.outcome).to.equal('duplicate-notice');
      expect(r.flood).to.equal(true);
      expect(s.nodeRecord('x')).to.deep.equal({epoch: ORIGINAL, sequence: 7n});
    });

    it('does not create a record (or learn the name) for an unknown node', () => {
      const s = node('c');
      const r = s.handleUpdate(update('y', {c: 1}, {epoch: ORIGINAL, seq: 1n, suspected: DUPLICATE}));
      expect(r.flood).to.equal(true);
      expect(r.learnNames).to.deep.equal([]);
      expect(s.knownNodes()).to.deep.equal([]);
      expect(s.knownConnectionCosts()).to.deep.equal({});
    });

    it('is de-duplicated by UpdateID like any update', () => {
      const s = node('c');
      s.handleUpdate(update('x', {}, {epoch: ORIGINAL, seq: 1n, suspected: DUPLICATE, id: 'N1'}));
      expect(s.handleUpdate(update('x', {}, {epoch: ORIGINAL, seq: 2n, suspected: DUPLICATE, id: 'N1'})).outcome).to.equal('seen');
    });
  });

  describe('route computation (§6.6)', () => {
    it('line a–b–c–d: everything goes through b', () => {
      const s = node('a');
      s.addConnection('b', 1);
      feed(s, {b: {a: 1, c: 1}, c: {b: 1, d: 1}, d: {c: 1}});
      expect(s.computeRoutes()).to.deep.equal(
        new Map([
          ['b', 'b'],
          ['c', 'b'],
          ['d', 'b'],
        ]),
      );
      expect([s.pathCost('b'), s.pathCost('c'), s.pathCost('d')]).to.deep.equal([1, 2, 3]);
      expect(s.pathCost('a')).to.equal(undefined);
    });

    it('line seen from the middle', () => {
      const s = node('c');
      s.addConnection('b', 1);
      s.addConnection('d', 1);
      feed(s, {a: {b: 1}, b: {a: 1, c: 1}, d: {c: 1}});
      expect(s.computeRoutes()).to.deep.equal(
        new Map([
          ['a', 'b'],
          ['b', 'b'],
          ['d', 'd'],
        ]),
      );
    });

    it('tree: routes follow the branches', () => {
      //        a
      //      /   \
      //     b     c
      //    / \     \
      //   d   e     f
      const graph = {a: {b: 1, c: 2}, b: {a: 1, d: 1, e: 3}, c: {a: 2, f: 1}, d: {b: 1}, e: {b: 3}, f: {c: 1}};
      const fromA = node('a');
      fromA.addConnection('b', 1);
      fromA.addConnection('c', 2);
      const {a: _a, ...rest} = graph;
      feed(fromA, rest);
      expect(fromA.computeRoutes()).to.deep.equal(
        new Map([
          ['b', 'b'],
          ['c', 'c'],
          ['d', 'b'],
          ['e', 'b'],
          ['f', 'c'],
        ]),
      );
      expect(fromA.pathCost('e')).to.equal(4);
      expect(fromA.pathCost('f')).to.equal(3);

      const fromD = node('d');
      fromD.addConnection('b', 1);
      const {d: _d, ...others} = graph;
      feed(fromD, others);
      const routes = fromD.computeRoutes();
      expect([...routes.keys()]).to.deep.equal(['a', 'b', 'c', 'e', 'f']);
      expect([...routes.values()].every((h) => h === 'b')).to.equal(true);
      expect(fromD.pathCost('f')).to.equal(5);
    });

    it('withdraws routes when a neighbour’s update stops listing a node', () => {
      const s = node('a');
      s.addConnection('b', 1);
      feed(s, {b: {a: 1, c: 1}, c: {b: 1, d: 1}, d: {c: 1}});
      s.computeRoutes();
      const r = s.handleUpdate(update('b', {a: 1}, {seq: 2n}));
      expect(r.recompute).to.equal(true);
      expect(s.computeRoutes()).to.deep.equal(new Map([['b', 'b']]));
      expect(s.knownConnectionCosts()).to.deep.equal({a: {b: 1}, b: {a: 1}, c: {d: 1}, d: {c: 1}});
      // c and d stay known (no expiry), just unreachable
      expect(s.knownNodes()).to.deep.equal(['b', 'c', 'd']);
    });

    it('drops routes through a connection that ended', () => {
      const s = node('a');
      s.addConnection('b', 1);
      feed(s, {b: {a: 1, c: 1}, c: {b: 1}});
      s.removeConnection('b');
      expect(s.computeRoutes().size).to.equal(0);
    });

    it('prefers the cheaper multi-hop path over an expensive direct link', () => {
      const s = node('a');
      s.addConnection('b', 10);
      s.addConnection('c', 1);
      feed(s, {b: {a: 10, c: 1}, c: {a: 1, b: 1}});
      expect(s.computeRoutes()).to.deep.equal(
        new Map([
          ['b', 'c'],
          ['c', 'c'],
        ]),
      );
      expect(s.pathCost('b')).to.equal(2);
    });

    it('uses fractional costs', () => {
      const s = node('a');
      s.addConnection('b', 2.5);
      s.addConnection('c', 0.5);
      feed(s, {b: {a: 2.5, c: 1.25}, c: {a: 0.5, b: 1.25}});
      s.computeRoutes();
      expect(s.routes().get('b')).to.equal('c');
      expect(s.pathCost('b')).to.equal(1.75);
    });

    it('breaks ties towards the lexicographically smallest next hop, whatever the insertion order', () => {
      for (const order of [
        ['b', 'c'],
        ['c', 'b'],
      ]) {
        const s = node('a');
        for (const p of order) s.addConnection(p, 1);
        const graph: Record<string, Record<string, number>> = {c: {a: 1, d: 1}, b: {a: 1, d: 1}, d: {b: 1, c: 1}};
        feed(s, Object.fromEntries(order.map((p) => [p, graph[p]]).concat([['d', graph.d]])));
        expect(s.computeRoutes().get('d')).to.equal('b');
      }
    });

    it('does not route to nodes that only appear inside someone’s Connections', () => {
      const s = node('a');
      s.addConnection('b', 1);
      feed(s, {b: {a: 1, ghost: 1}});
      expect(s.computeRoutes()).to.deep.equal(new Map([['b', 'b']]));
      expect(s.topologyNodes()).to.deep.equal(['a', 'b']);
    });

    it('treats the graph as directed', () => {
      const s = node('a');
      s.addConnection('b', 1);
      // c lists b, but b does not list c: there is no edge b → c
      feed(s, {b: {a: 1}, c: {b: 1}});
      expect(s.computeRoutes().has('c')).to.equal(false);
      s.handleUpdate(update('b', {a: 1, c: 1}, {seq: 2n}));
      expect(s.computeRoutes().get('c')).to.equal('b');
    });

    it('routes() returns the last computed table until recomputed', () => {
      const s = node('a');
      s.addConnection('b', 1);
      expect(s.routes().size).to.equal(0);
      s.computeRoutes();
      expect(s.statusRoutingTable()).to.deep.equal({b: 'b'});
    });

    it('shortestPaths works on a bare topology and terminates on non-positive costs', () => {
      const topo = new Map([
        [
          's',
          new Map([
            ['x', 0],
            ['y', -1],
          ]),
        ],
        [
          'x',
          new Map([
            ['s', 0],
            ['y', 0],
          ]),
        ],
        ['y', new Map([['x', -5]])],
      ]);
      const r = shortestPaths('s', topo);
      expect([...r.keys()]).to.deep.equal(['x', 'y']);
      expect(shortestPaths('nobody', topo).size).to.equal(0);
    });
  });
});

/** The stateful mesh node over in-memory sessions (real protocol, no sockets). */
import {expect} from 'chai';
import {readFileSync} from 'node:fs';
import {ManualClock} from '../../../src/core/clock.js';
import {decodeMessage, encodeData, encodeRoutingUpdate, MSG_TYPE_REJECT, MSG_TYPE_ROUTING_UPDATE, type RoutingUpdate} from '../../../src/core/netceptor/codec.js';
import {parseFirewallRules} from '../../../src/core/netceptor/firewall.js';
import {nameHash} from '../../../src/core/netceptor/name-hash.js';
import type {Netceptor} from '../../../src/core/netceptor/node.js';
import {ping, traceroute} from '../../../src/core/netceptor/ping.js';
import {FAST, link, makeNode, memPair, until} from '../../support/mesh.js';

const nodes: Netceptor[] = [];
function node(id: string, opts: Parameters<typeof makeNode>[1] = {}): Netceptor {
  const n = makeNode(id, {timings: FAST, ...opts});
  nodes.push(n);
  return n;
}
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.shutdown()));
});

function update(over: Partial<RoutingUpdate> & {nodeId: string}): Buffer {
  return encodeRoutingUpdate({
    updateId: Math.random().toString(36).slice(2, 10),
    updateEpoch: 30125087533541300n,
    updateSequence: 1n,
    connections: new Map(),
    forwardingNode: over.nodeId,
    suspectedDuplicate: 0n,
    ...over,
  });
}

/** A scripted peer on the far end of a session attached to `n`. */
function scripted(n: Netceptor, opts: {cost?: number; allowedPeers?: string[]; nodeCost?: Record<string, number>} = {}) {
  const [ours, theirs] = memPair();
  const got: Buffer[] = [];
  let closed = false;
  theirs.start({onMessage: (m) => got.push(m), onClose: () => (closed = true)});
  n.attachSession(ours, {cost: opts.cost ?? 1, allowedPeers: opts.allowedPeers, nodeCost: opts.nodeCost});
  return {
    theirs,
    ours,
    got,
    isClosed: () => closed,
    updates: () => got.filter((m) => m[0] === MSG_TYPE_ROUTING_UPDATE).map((m) => decodeMessage(m) as RoutingUpdate & {type: 1}),
  };
}

describe('netceptor node', () => {
  describe('handshake (§4.2–§4.4)', () => {
    it('sends an initial update at once, establishes on the peer update and then lists the peer with its cost', async () => {
      const n = node('foo');
      const p = scripted(n, {cost: 2.5});
      await until(() => p.updates().length >= 1, 'initial update');
      const first = p.updates()[0];
      expect(first).to.deep.include({nodeId: 'foo', forwardingNode: 'foo', suspectedDuplicate: 0n});
      expect([...first.connections]).to.deep.equal([]);
      expect(first.updateEpoch).to.equal(n.epoch);
      p.theirs.send(update({nodeId: 'bar'}));
      await until(() => n.connectedPeers().includes('bar'), 'established');
      await until(() => p.updates().some((u) => u.connections.get('bar') === 2.5), 'update listing bar at cost 2.5');
      expect(n.statusConnections()).to.deep.equal([{NodeID: 'bar', Cost: 2.5}]);
    });

    it('repeats the handshake every interval with fresh IDs and rising sequence, then gives up', async () => {
      const clock = new ManualClock();
      const n = node('foo', {clock, timings: {handshakeIntervalMs: 1000, handshakeAttempts: 10}});
      const p = scripted(n);
      await until(() => p.updates().length === 1, 'first');
      for (let i = 0; i < 9; i++) clock.advance(1000);
      await until(() => p.updates().length === 10, '10 handshake messages');
      const u = p.updates();
      expect(new Set(u.map((x) => x.updateId)).size).to.equal(10);
      expect(u.map((x) => x.updateSequence)).to.deep.equal([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n]);
      expect(p.isClosed()).to.equal(false);
      clock.advance(1000);
      await until(() => p.isClosed(), 'give up at t=10s');
      expect(p.updates()).to.have.length(10);
    });

    it('stops handshaking as soon as the peer update arrives', async () => {
      const clock = new ManualClock();
      const n = node('foo', {clock, timings: {handshakeIntervalMs: 1000}});
      const p = scripted(n);
      p.theirs.send(update({nodeId: 'bar'}));
      await until(() => n.connectedPeers().includes('bar'), 'established');
      const before = p.updates().filter((u) => u.connections.size === 0).length;
      clock.advance(5000);
      await new Promise((r) => setImmediate(r));
      expect(p.updates().filter((u) => u.connections.size === 0).length).to.equal(before);
    });

    const rejectCases: Array<[string, (n: Netceptor) => ReturnType<typeof scripted>, string, string]> = [
      ['the peer uses our own node ID', (n) => scripted(n), 'foo', 'foo was dialled by a node with the same node ID foo (two nodes with one ID?)'],
      ['the peer is not in allowedpeers', (n) => scripted(n, {allowedPeers: ['baz']}), 'bar', 'bar is not in the allowed peers list of foo'],
    ];
    for (const [what, make, peerId, reason] of rejectCases) {
      it(`rejects when ${what} (sends a reject carrying the reason, 03 ["…"], and closes)`, async () => {
        const n = node('foo');
        const p = make(n);
        p.theirs.send(update({nodeId: peerId}));
        await until(() => p.isClosed(), 'closed');
        const rej = p.got.find((m) => m[0] === MSG_TYPE_REJECT)!;
        expect(rej.subarray(1).toString()).to.equal(JSON.stringify([reason]));
        expect(decodeMessage(rej)).to.deep.equal({type: MSG_TYPE_REJECT, reason});
        expect(n.connectedPeers()).to.deep.equal([]);
      });
    }

    it('rejects a second connection from an already connected node ID', async () => {
      const n = node('foo');
      const a = scripted(n);
      a.theirs.send(update({nodeId: 'bar'}));
      await until(() => n.connectedPeers().includes('bar'), 'first');
      const b = scripted(n);
      b.theirs.send(update({nodeId: 'bar'}));
      await until(() => b.isClosed(), 'second rejected');
      expect(a.isClosed()).to.equal(false);
    });

    it('applies nodecost for the peer and rejects a peer that disagrees about the cost', async () => {
      const n = node('foo');
      const p = scripted(n, {cost: 1, nodeCost: {bar: 3}});
      p.theirs.send(update({nodeId: 'bar'}));
      await until(() => n.statusConnections()[0]?.Cost === 3, 'cost 3');
      p.theirs.send(update({nodeId: 'bar', updateSequence: 2n, connections: new Map([['foo', 1]])}));
      await until(() => p.isClosed(), 'cost disagreement');
      expect(p.got.at(-1)![0]).to.equal(MSG_TYPE_REJECT);
    });

    it('rejects when ForwardingNode changes, and when the peer stops listing us after it did', async () => {
      const n = node('foo');
      const p = scripted(n);
      p.theirs.send(update({nodeId: 'bar'}));
      await until(() => n.connectedPeers().includes('bar'), 'established');
      p.theirs.send(update({nodeId: 'bar', updateSequence: 2n, connections: new Map([['foo', 1]])}));
      p.theirs.send(update({nodeId: 'bar', updateSequence: 3n}));
      await until(() => p.isClosed(), 'no longer lists us');
      const q = scripted(n);
      q.theirs.send(update({nodeId: 'baz'}));
      await until(() => n.connectedPeers().includes('baz'), 'baz');
      q.theirs.send(update({nodeId: 'baz', forwardingNode: 'other'}));
      await until(() => q.isClosed(), 'forwarding node changed');
    });

    it('ignores an own update that does not list us before the peer ever did (late handshake)', async () => {
      const n = node('foo');
      const p = scripted(n);
      p.theirs.send(update({nodeId: 'bar'}));
      await until(() => n.connectedPeers().includes('bar'), 'established');
      p.theirs.send(update({nodeId: 'bar', updateSequence: 2n}));
      // Sessions deliver in order: once the next update (listing us) is applied, the one above was too.
      p.theirs.send(update({nodeId: 'bar', updateSequence: 3n, connections: new Map([['foo', 1]])}));
      await until(() => n.knownConnectionCosts().bar?.foo === 1, 'the later update applied');
      expect(p.isClosed()).to.equal(false);
      expect(n.connectedPeers()).to.deep.equal(['bar']);
    });

    it('drops an idle connection after maxidle, checked periodically', async () => {
      const clock = new ManualClock();
      const n = node('foo', {clock, maxIdleMs: 21_000, timings: {idleCheckMs: 5000, routeUpdatePeriodMs: 10_000}});
      const p = scripted(n);
      p.theirs.send(update({nodeId: 'bar'}));
      await until(() => n.connectedPeers().includes('bar'), 'established');
      clock.advance(20_000);
      expect(p.isClosed()).to.equal(false);
      clock.advance(6000);
      await until(() => p.isClosed(), 'idle timeout');
      expect(n.connectedPeers()).to.deep.equal([]);
    });

    it('survives malformed messages from a peer and keeps working', async () => {
      const n = node('foo');
      const p = scripted(n);
      p.theirs.send(update({nodeId: 'bar'}));
      await until(() => n.connectedPeers().includes('bar'), 'established');
      for (const junk of [[0], [1, 0x7b], [2, 0x5b], [7, 1, 2], [0, 1, 2, 3], [1, ...Buffer.from('{"UpdateEpoch":3.0e16}')]]) p.theirs.send(Buffer.from(junk));
      p.theirs.send(update({nodeId: 'bar', updateSequence: 2n, connections: new Map([['foo', 1]])}));
      await until(() => n.statusRoutingTable().bar === 'bar', 'still routing');
      expect(p.isClosed()).to.equal(false);
    });
  });

  describe('routing, ping and traceroute', () => {
    async function line(ids: string[]): Promise<Netceptor[]> {
      const ns = ids.map((id) => node(id));
      for (let i = 0; i + 1 < ns.length; i++) link(ns[i], ns[i + 1]);
      const last = ids.at(-1)!;
      await until(() => ns[0].statusRoutingTable()[last] === ids[1] && ns.at(-1)!.statusRoutingTable()[ids[0]] === ids.at(-2), 'line converged');
      return ns;
    }

    it('converges a line and reports KnownConnectionCosts like Go', async () => {
      const [a] = await line(['a', 'b', 'c', 'd']);
      expect(a.statusRoutingTable()).to.deep.equal({b: 'b', c: 'b', d: 'b'});
      await until(() => Object.keys(a.knownConnectionCosts()).length === 4, 'all costs');
      expect(a.knownConnectionCosts()).to.deep.equal({a: {b: 1}, b: {a: 1, c: 1}, c: {b: 1, d: 1}, d: {c: 1}});
    });

    it('pings across 3 hops and traces the path hop by hop', async () => {
      const [a] = await line(['a', 'b', 'c', 'd']);
      const r = await ping(a, 'd');
      expect(r.error).to.equal(undefined);
      expect(r.from).to.equal('d');
      expect(r.timeNs > 0n).to.equal(true);
      const seen: string[] = [];
      const hops = await traceroute(a, 'd', {onHop: (i, h) => seen.push(`${i}:${h.from}`)});
      expect(hops.map((h) => h.from)).to.deep.equal(['a', 'b', 'c', 'd']);
      expect(hops.every((h) => h.error === undefined)).to.equal(true);
      expect(seen).to.deep.equal(['0:a', '1:b', '2:c', '3:d']);
      expect((await traceroute(a, 'localhost')).map((h) => h.from)).to.deep.equal(['a']);
    });

    it('reports no route, message expired and service unknown', async () => {
      const [a, b] = await line(['a', 'b', 'c']);
      expect(await ping(a, 'nosuch')).to.deep.include({error: 'no route to node', from: 'a'});
      expect(await ping(a, 'c', {hopsToLive: 1})).to.deep.include({error: 'message expired', from: 'b'});
      const pc = a.listenPacket();
      const unreachable = new Promise((r) => pc.onUnreachable(r));
      pc.writeTo(Buffer.from('x'), 'c', 'nosvc');
      expect(await unreachable).to.deep.include({reporter: 'c', problem: 'service unknown', toNode: 'c', toService: 'nosvc'});
      pc.close();
      void b;
    });

    it('withdraws routes when the middle node goes away and restores them when it comes back', async () => {
      const [a, b, c] = await line(['a', 'b', 'c']);
      await b.shutdown();
      await until(() => a.statusRoutingTable().c === undefined && c.statusRoutingTable().a === undefined, 'routes withdrawn');
      expect((await ping(a, 'c')).error).to.equal('no route to node');
      const b2 = node('b', {epoch: b.epoch + (1n << 24n)}); // a restart must bring a larger epoch
      link(a, b2);
      link(b2, c);
      await until(() => a.statusRoutingTable().c === 'b', 'route restored');
      expect((await ping(a, 'c')).from).to.equal('c');
    });

    it("emits 'restarted' when a known node's update carries a newer epoch (a new process of it)", async () => {
      const n = node('foo');
      const seen: string[] = [];
      n.on('restarted', (id: string) => seen.push(id));
      const p = scripted(n);
      const lists = new Map([['foo', 1]]);
      p.theirs.send(update({nodeId: 'bar', updateEpoch: 5n << 24n, connections: lists}));
      await until(() => n.connectedPeers().includes('bar'), 'established');
      p.theirs.send(update({nodeId: 'bar', updateEpoch: 5n << 24n, updateSequence: 2n, connections: lists})); // same process
      p.theirs.send(update({nodeId: 'bar', updateEpoch: 4n << 24n, updateSequence: 9n, connections: lists})); // older: stale
      p.theirs.send(update({nodeId: 'bar', updateEpoch: 6n << 24n, updateSequence: 1n, connections: lists})); // restarted
      p.theirs.send(update({nodeId: 'bar', updateEpoch: 6n << 24n, updateSequence: 2n, connections: lists}));
      await until(() => n.routing.nodeRecord('bar')?.sequence === 2n && n.routing.nodeRecord('bar')?.epoch === 6n << 24n, 'all updates handled');
      expect(seen).to.deep.equal(['bar']);
    });

    it('prefers the cheaper path', async () => {
      const [a, b, c] = ['a', 'b', 'c'].map((id) => node(id));
      link(a, c, 5);
      link(a, b, 1);
      link(b, c, 1);
      await until(() => a.statusRoutingTable().c === 'b', 'cheap route via b');
    });

    it('delivers datagrams between services and learns names from routing updates', async () => {
      const [a, , c] = await line(['a', 'b', 'c']);
      const server = c.listenPacket('echo');
      server.setHandler((d) => server.writeTo(Buffer.concat([Buffer.from('echo:'), d.data]), d.node, d.service));
      const client = a.listenPacket();
      client.writeTo(Buffer.from('hello'), 'c', 'echo');
      const reply = await client.readFrom();
      expect(reply).to.deep.include({node: 'c', service: 'echo'});
      expect(reply.data.toString()).to.equal('echo:hello');
      expect(() => a.listenPacket('ping')).to.throw('service ping is already listening');
      expect(() => a.listenPacket('waytoolongname')).to.throw('service name waytoolongname too long');
      // sending to one: Go's text does not name it (a dial to it ends with this text on the wire)
      expect(() => client.writeTo(Buffer.from('x'), 'c', 'waytoolongname')).to.throw(/^service name too long$/);
    });

    it('forwards with HopsToLive decremented and reserved bytes zeroed', async () => {
      const n = node('mid');
      const left = scripted(n);
      const right = scripted(n);
      left.theirs.send(update({nodeId: 'l'}));
      right.theirs.send(update({nodeId: 'r'}));
      await until(() => n.connectedPeers().length === 2, 'two peers');
      left.theirs.send(update({nodeId: 'l', updateSequence: 2n, connections: new Map([['mid', 1]])}));
      right.theirs.send(update({nodeId: 'r', updateSequence: 2n, connections: new Map([['mid', 1]])}));
      await until(() => n.statusRoutingTable().r === 'r', 'route to r');
      const msg = encodeData({hopsToLive: 5, fromHash: nameHash('l'), toHash: nameHash('r'), fromService: 'a', toService: 'b', payload: Buffer.from('xyz')});
      msg[2] = 0xab;
      msg[3] = 0xcd;
      left.theirs.send(msg);
      const fwd = await until(() => right.got.find((m) => m[0] === 0), 'forwarded');
      expect(fwd[1]).to.equal(4);
      expect(fwd.subarray(2, 4)).to.deep.equal(Buffer.from([0, 0]));
      expect(fwd.subarray(4)).to.deep.equal(msg.subarray(4));
    });
  });

  describe('firewall (§10)', () => {
    it('reject answers "blocked by firewall"; drop is silent', async () => {
      const rules = parseFirewallRules([
        {action: 'reject', toservice: 'secret'},
        {action: 'drop', toservice: '/hid.*/'},
      ]);
      const a = node('a');
      const b = node('b', {firewallRules: rules});
      link(a, b);
      await until(() => a.statusRoutingTable().b === 'b', 'linked');
      b.listenPacket('secret');
      b.listenPacket('hidden');
      const pc = a.listenPacket();
      const un = new Promise((r) => pc.onUnreachable(r));
      pc.writeTo(Buffer.from('x'), 'b', 'secret');
      expect(await un).to.deep.include({reporter: 'b', problem: 'blocked by firewall'});
      let any = false;
      pc.onUnreachable(() => (any = true));
      pc.writeTo(Buffer.from('x'), 'b', 'hidden');
      expect((await ping(a, 'b')).from).to.equal('b'); // the link still works afterwards
      expect(any).to.equal(false);
    });
  });

  describe('service advertisements (§7)', () => {
    it('advertises services to peers, forwards them, and cancels on close', async () => {
      const [a, b, c] = ['a', 'b', 'c'].map((id) => node(id));
      link(a, b);
      link(b, c);
      const pc = a.listenPacketAndAdvertise('control', 1, {type: 'Control Service'});
      a.setWorkCommands([{workType: 'echo', secure: false}]);
      await until(() => c.statusAdvertisements().find((x) => x.NodeID === 'a' && x.Service === 'control'), 'ad reached c');
      const seen = c.statusAdvertisements().find((x) => x.NodeID === 'a')!;
      expect(seen).to.deep.include({ConnType: 1, Tags: {type: 'Control Service'}, WorkCommands: [{WorkType: 'echo', Secure: false}]});
      expect(a.statusAdvertisements()[0]).to.deep.include({NodeID: 'a', Service: 'control'});
      pc.close();
      await until(() => !c.statusAdvertisements().some((x) => x.NodeID === 'a'), 'cancel reached c');
    });
  });

  describe('duplicate node IDs (§6.7)', () => {
    it('the later-started node with a clashing ID shuts down', async () => {
      let fatal = '';
      const old = node('dup', {epoch: 1000n << 24n});
      const hub = node('hub');
      const young = node('dup', {epoch: 2000n << 24n, onFatal: (r) => (fatal = r)});
      link(old, hub);
      await until(() => hub.statusRoutingTable().dup === 'dup', 'old joined');
      link(young, node('other'));
      // Connect the young duplicate to the mesh through another node.
      const bridge = nodes.at(-1)!;
      link(bridge, hub);
      await until(() => fatal !== '', 'young node told it is a duplicate', 15_000);
      expect(fatal).to.equal('duplicate node ID');
    });
  });

  it('handshakes with a Go node byte-for-byte (captured foo/bar updates from tcp.frames.jsonl)', async () => {
    // Both ends of the tcp capture are Go nodes: we replay bar's first update to a node with
    // Go foo's epoch and check our two replies against Go foo's bytes. Only UpdateID is random
    // (8 characters), so it is copied from ours into the captured frame before comparing.
    const frames = readFileSync(new URL('../../vectors/captures/tcp.frames.jsonl', import.meta.url), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as {conn: number; dir: string; n?: number; type?: number; msg_hex?: string; json?: {UpdateID: string}});
    const route = (dir: string, k: number) => frames.find((f) => f.conn === 1 && f.dir === dir && f.n === k && f.type === 1)!;
    const [barFirst, fooFirst, fooListing] = [route('bar->foo', 1), route('foo->bar', 1), route('foo->bar', 2)];
    const goFoo = (f: typeof fooFirst, id: string) => Buffer.from(f.msg_hex!.replace(Buffer.from(f.json!.UpdateID).toString('hex'), Buffer.from(id).toString('hex')), 'hex');
    const clock = new ManualClock();
    // The epoch is above 2^53: read it from the text, not from the parsed JSON number.
    const epoch = BigInt(/"UpdateEpoch":(\d+)/.exec(Buffer.from(fooFirst.msg_hex!, 'hex').toString())![1]);
    const n = node('foo', {clock, epoch});
    const p = scripted(n);
    await until(() => p.got.length === 1, 'initial update');
    const ours1 = p.got[0];
    expect(ours1.toString('hex')).to.equal(goFoo(fooFirst, (decodeMessage(ours1) as RoutingUpdate).updateId).toString('hex'));
    p.theirs.send(Buffer.from(barFirst.msg_hex!, 'hex'));
    await until(() => n.connectedPeers().includes('bar'), 'established with Go bytes');
    clock.advance(FAST.triggerDelayMs);
    await until(() => p.got.length === 2, 'update listing bar');
    const ours2 = p.got[1];
    expect(ours2.toString('hex')).to.equal(goFoo(fooListing, (decodeMessage(ours2) as RoutingUpdate).updateId).toString('hex'));
  });
});

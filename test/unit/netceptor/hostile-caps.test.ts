/**
 * Caps against hostile peers (issue 16 part 5): the node-name table, stored service ads and
 * tombstones, links in the handshake, edges over all nodes, and the send backlog of a peer
 * that does not read. The end-to-end attacks are in test/chaos/hostile.chaos.ts.
 */
import {expect} from 'chai';
import net from 'node:net';
import {ping} from '../../../src/core/netceptor/ping.js';
import {RoutingState, type RouteUpdateInput} from '../../../src/core/netceptor/routing.js';
import {MAX_SEND_BACKLOG} from '../../../src/core/netceptor/session-base.js';
import {ServiceAdStore} from '../../../src/core/netceptor/service-ads.js';
import {TcpSession} from '../../../src/plugins/backend-tcp/backend.js';
import {ManualClock} from '../../../src/core/clock.js';
import {nodeLimits, nodeType} from '../../../src/plugins/node/index.js';
import {FAST, link, makeNode, memPair, until} from '../../support/mesh.js';

function upd(nodeId: string, id: string, connections: Record<string, number>): RouteUpdateInput {
  return {nodeId, updateId: id, updateEpoch: 1n, updateSequence: 1n, connections: new Map(Object.entries(connections)), suspectedDuplicate: 0n};
}

describe('netceptor caps against hostile peers', () => {
  it('the node-name table forgets names without a route, keeps peers and routable nodes', async () => {
    const a = makeNode('a', {timings: FAST, limits: {maxKnownNodes: 100}});
    const b = makeNode('b', {timings: FAST});
    const c = makeNode('c', {timings: FAST});
    try {
      link(a, b);
      link(b, c);
      await until(() => a.reachable('c'), 'a routes to c');
      for (let i = 0; i < 10_000; i++) {
        try {
          a.sendFrom('x', `ghost${i}`, 'svc', Buffer.alloc(1));
        } catch {
          // no route: the name was learned all the same
        }
      }
      // bounded: twice the known-node cap plus one prune step at most
      expect(a.knownNameCount).to.be.at.most(2 * 100 + 50);
      // a peer and a node two hops away still reach a: their names were kept
      for (const from of [b, c]) {
        const r = await ping(from, 'a', {timeoutMs: 5000});
        expect(r.error, `ping from ${from.id}`).to.equal(undefined);
        expect(r.from).to.equal('a');
      }
    } finally {
      await Promise.all([a, b, c].map((n) => n.shutdown()));
    }
  });

  it('stores at most maxEntries ads; updates and cancels still apply; tombstones are bounded too', () => {
    const s = new ServiceAdStore({maxEntries: 3});
    const ad = (nodeId: string, service: string, timeNs: bigint, cancel = false) => ({nodeId, service, timeNs, cancel});
    for (const n of ['n1', 'n2', 'n3']) expect(s.receive(ad(n, 'svc', 1n)).outcome).to.equal('added');
    expect(s.receive(ad('n4', 'svc', 1n))).to.deep.equal({outcome: 'limit', flood: false});
    expect(s.receive(ad('n1', 'svc', 2n)).outcome).to.equal('updated');
    expect(s.receive(ad('n1', 'svc', 3n, true)).outcome).to.equal('cancelled');
    expect(s.receive(ad('n4', 'svc', 1n)).outcome).to.equal('added');
    expect(s.size).to.equal(3);
    for (let i = 0; i < 20; i++) s.receive(ad(`gone${i}`, 'svc', 5n, true));
    expect(s.tombstoneCount).to.be.at.most(3);
  });

  it('closes a new session at once while maxPendingLinks are in the handshake', async () => {
    const a = makeNode('a', {limits: {maxPendingLinks: 2}});
    try {
      const pairs = [memPair(), memPair(), memPair()];
      for (const [s] of pairs) a.attachSession(s, {cost: 1});
      await pairs[2]![0].closed; // the third was closed
      let open = 0;
      await Promise.race([Promise.all(pairs.slice(0, 2).map(([s]) => s.closed)).then(() => (open = -1)), new Promise((r) => setTimeout(r, 100))]);
      expect(open, 'the first two are still in the handshake').to.equal(0);
    } finally {
      await a.shutdown();
    }
  });

  it('refuses updates that would store more than maxKnownEdges edges in all', () => {
    const s = new RoutingState({nodeId: 'me', clock: new ManualClock(), maxKnownEdges: 6});
    s.addConnection('peer', 1); // two own edges
    expect(s.handleUpdate(upd('x', 'u1', {peer: 1, y: 1})).outcome).to.equal('accepted');
    expect(s.edgeCount).to.equal(4);
    expect(s.handleUpdate(upd('z', 'u2', {peer: 1, a: 1, b: 1})).outcome).to.equal('edge-limit');
    expect(s.handleUpdate(upd('z', 'u3', {peer: 1, a: 1})).outcome).to.equal('accepted');
    expect(s.edgeCount).to.equal(6);
    // a known node may replace its edges with as many
    expect(s.handleUpdate({...upd('x', 'u4', {peer: 2, q: 1}), updateSequence: 2n}).outcome).to.equal('accepted');
    expect(s.edgeCount).to.equal(6);
  });

  it('drops messages for a TCP peer that does not read once the backlog passes MAX_SEND_BACKLOG', async () => {
    let server: net.Socket | undefined;
    const srv = net.createServer((s) => {
      server = s;
      s.pause(); // never reads
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const sock = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', r));
    const session = new TcpSession(sock, true);
    session.start({onMessage: () => {}, onClose: () => {}});
    try {
      const msg = Buffer.alloc(60_000, 1);
      for (let i = 0; i < 400; i++) session.send(msg); // 24 MB
      expect(session.droppedForBacklog).to.be.greaterThan(0);
      expect(sock.writableLength).to.be.at.most(MAX_SEND_BACKLOG + 2 * msg.length);
    } finally {
      session.close();
      sock.destroy();
      server?.destroy();
      srv.close();
    }
  });

  it('the node item sets the caps from its fields (0 = default) and refuses negative ones', () => {
    const caps = {maxknownnodes: 5, maxknownedges: 0, maxserviceads: 7, maxpendinglinks: 0, maxstreamconnections: 9, maxstreamconnectionspernode: 3};
    expect(nodeLimits(caps)).to.deep.equal({maxKnownNodes: 5, maxServiceAds: 7, maxStreamConnections: 9, maxStreamConnectionsPerNode: 3});
    const base = {id: 'a', datadir: '/tmp/x', firewallrules: [], maxidleconnectiontimeout: '', reportedversion: '', quicengine: '', ...caps};
    expect(() => nodeType.validate!(base)).not.to.throw();
    expect(() => nodeType.validate!({...base, maxserviceads: -1})).to.throw(/maxserviceads must be a whole number/);
  });
});

/**
 * Fuzz target 2: routing updates and service advertisements fed by a hostile peer into a real
 * node (in-memory session). Nothing throws out of the node, its tables stay within their caps
 * (known nodes, remembered UpdateIDs, names, ads), and it still routes pings for an honest peer.
 */
import {expect} from 'chai';
import {MAX_SERVICE_ADS} from '../../src/core/netceptor/service-ads.js';
import fc from 'fast-check';
import {encodeRoutingUpdate, encodeServiceAdvertisement, type RoutingUpdate, type ServiceAdvertisement} from '../../src/core/netceptor/codec.js';
import type {Netceptor} from '../../src/core/netceptor/node.js';
import {ping} from '../../src/core/netceptor/ping.js';
import {MAX_KNOWN_NODES, MAX_SEEN_UPDATES} from '../../src/core/netceptor/routing.js';
import {goTime, mutate, mutation, nodeName, text, uint64, type Mutation} from '../support/arbitraries.js';
import {fuzzAsync, fuzzSettings} from '../support/fuzz.js';
import {FAST, link, makeNode, memPair, until, type MemSession} from '../support/mesh.js';
import {tally} from '../support/tally.js';

const PEER = 'evil';

/** Node IDs: a small reused pool (updates to known nodes), valid fresh ones and arbitrary text. */
const nodeId = fc.oneof(
  {weight: 3, arbitrary: fc.integer({min: 0, max: 40}).map((i) => `n${i}`)},
  {weight: 3, arbitrary: fc.stringMatching(/^[a-z][a-z0-9.-]{0,20}$/)},
  {weight: 1, arbitrary: nodeName},
  {weight: 1, arbitrary: fc.constantFrom(PEER, '', 'localhost', 'a'.repeat(300))},
);

/** A connection list: a few arbitrary names, or a bulk of made-up ones (a flood in one update). */
type Conns = {few: Array<[string, number]>} | {bulk: [string, number]};
const connections: fc.Arbitrary<Conns> = fc.oneof(
  {weight: 4, arbitrary: fc.record({few: fc.array(fc.tuple(nodeId, fc.double({noNaN: true, noDefaultInfinity: true})), {maxLength: 6})})},
  {weight: 1, arbitrary: fc.record({bulk: fc.tuple(fc.stringMatching(/^[a-z]{1,6}$/), fc.integer({min: 1, max: 2000}))})},
);

/** Built inside the case, so a failing case prints as its short description. */
function connectionMap(c: Conns): Map<string, number> {
  if ('few' in c) return new Map(c.few);
  const [prefix, n] = c.bulk;
  return new Map(Array.from({length: n}, (_, i) => [`${prefix}${i}`, 1]));
}

const update: fc.Arbitrary<UpdateSpec> = fc.record({
  nodeId,
  updateId: fc.oneof(text, fc.uuid()),
  updateEpoch: uint64,
  updateSequence: uint64,
  connections,
  forwardingNode: fc.oneof({weight: 9, arbitrary: fc.constant(PEER)}, {weight: 1, arbitrary: nodeId}),
  suspectedDuplicate: fc.oneof(fc.constant(0n), uint64),
});

const ad: fc.Arbitrary<ServiceAdvertisement> = fc.record({
  nodeId,
  service: fc.oneof(fc.constantFrom('control', 'ping', 'svc'), text),
  time: goTime,
  connType: fc.integer({min: 0, max: 255}),
  tags: fc.option(fc.array(fc.tuple(text, text), {maxLength: 4}).map((e) => new Map(e))),
  workCommands: fc.option(fc.array(fc.record({workType: text, secure: fc.boolean()}), {maxLength: 3})),
  cancel: fc.boolean(),
});

type UpdateSpec = Omit<RoutingUpdate, 'connections'> & {connections: Conns};
type FrameSpec = {update: UpdateSpec} | {ad: ServiceAdvertisement};
interface Frame {
  spec: FrameSpec;
  mutations: Mutation[];
}
const frameSpec: fc.Arbitrary<FrameSpec> = fc.oneof({weight: 4, arbitrary: fc.record({update})}, {weight: 3, arbitrary: fc.record({ad})});
const frame: fc.Arbitrary<Frame> = fc.record({
  spec: frameSpec,
  mutations: fc.oneof({weight: 3, arbitrary: fc.constant<Mutation[]>([])}, {weight: 1, arbitrary: fc.array(mutation, {minLength: 1, maxLength: 4})}),
});

function encodeFrame({spec, mutations}: Frame): Buffer {
  const bytes =
    'ad' in spec ? encodeServiceAdvertisement(spec.ad) : encodeRoutingUpdate({...spec.update, connections: connectionMap(spec.update.connections)} satisfies RoutingUpdate);
  return mutations.length > 0 ? mutate(bytes, mutations) : bytes;
}

/** Private tables of the node, read for their sizes only. */
function sizes(n: Netceptor): {names: number; ads: number; tombstones: number} {
  const inner = n as unknown as {names: Map<unknown, unknown>; ads: {size: number; tombstones: Map<string, Map<string, unknown>>}};
  let tombstones = 0;
  for (const m of inner.ads.tombstones.values()) tombstones += m.size;
  return {names: inner.names.size, ads: inner.ads.size, tombstones};
}

describe('fuzz: routing updates and service advertisements into a node', function () {
  this.timeout(0);
  before(() => tally('targets'));

  it('a hostile peer never breaks the node; routing, name and ad tables stay within their caps', async () => {
    const n = makeNode('foo', {timings: FAST});
    const friend = makeNode('friend', {timings: FAST});
    link(n, friend);
    let session: MemSession | undefined;
    let reconnects = 0;
    let reconnectMs = 0;
    /** (Re)establishes the hostile link: the node drops it when the peer misbehaves. */
    const connect = async (): Promise<MemSession> => {
      if (session && !session.isClosedNow && n.connectedPeers().includes(PEER)) return session;
      if (session) reconnects++;
      const t0 = performance.now();
      const [ours, theirs] = memPair();
      theirs.start({onMessage: () => {}, onClose: () => {}});
      n.attachSession(ours, {cost: 1});
      ours.receive(
        encodeRoutingUpdate({
          nodeId: PEER,
          updateId: `hello${reconnects}`,
          updateEpoch: 1n << 60n,
          updateSequence: BigInt(reconnects + 1),
          connections: new Map(),
          forwardingNode: PEER,
          suspectedDuplicate: 0n,
        }),
      );
      await until(() => n.connectedPeers().includes(PEER), 'hostile link up');
      session = ours;
      reconnectMs += performance.now() - t0;
      return ours;
    };
    await until(() => n.statusRoutingTable().friend === 'friend', 'honest link up');
    const max = {names: 0, ads: 0, tombstones: 0, known: 0, seen: 0};
    try {
      await fuzzAsync(fuzzSettings('routing', 0x40ade, 300), fc.array(frame, {minLength: 1, maxLength: 3}), async (frames) => {
        const s = await connect();
        for (const f of frames) {
          const bytes = encodeFrame(f);
          expect(() => s.receive(bytes)).not.to.throw();
        }
        expect(n.isShutdown).to.equal(false);
        const known = n.routing.knownNodes().length;
        const seen = n.routing.seenCount;
        expect(known, 'known nodes').to.be.at.most(MAX_KNOWN_NODES);
        expect(seen, 'remembered UpdateIDs').to.be.at.most(MAX_SEEN_UPDATES);
        const z = sizes(n);
        // The name table is pruned to routable names past 2 × the node cap (a few peers' names over).
        expect(z.names, 'node-name table').to.be.at.most(2 * MAX_KNOWN_NODES + 16);
        expect(z.ads, 'service ads').to.be.at.most(MAX_SERVICE_ADS);
        expect(z.tombstones, 'ad cancel tombstones').to.be.at.most(MAX_SERVICE_ADS);
        for (const [k, v] of Object.entries({...z, known, seen}) as Array<[keyof typeof max, number]>) max[k] = Math.max(max[k], v);
      });
    } finally {
      console.log(`  routing: largest tables ${JSON.stringify(max)}, ${reconnects} reconnects (${Math.round(reconnectMs)} ms)`);
    }
    // Routing updates are not authenticated (as in Go): the peer may route traffic for friend
    // through itself. Once it is gone, the honest route returns and pings are answered.
    session?.close();
    await until(() => !n.connectedPeers().includes(PEER) && n.statusRoutingTable().friend === 'friend', 'honest route back');
    // The floods relayed to friend may still queue ahead of the first ping on a loaded machine.
    let r = await ping(n, 'friend');
    for (let i = 0; i < 5 && r.error === 'timeout'; i++) r = await ping(n, 'friend');
    const state = () =>
      JSON.stringify({peers: n.connectedPeers(), friendPeers: friend.connectedPeers(), route: n.statusRoutingTable().friend, back: friend.statusRoutingTable().foo});
    expect(r.error, state()).to.equal(undefined);
    await n.shutdown();
    await friend.shutdown();
  });
});

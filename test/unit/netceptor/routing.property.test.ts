import {expect} from 'chai';
import fc from 'fast-check';
import {ManualClock} from '../../../src/core/clock.js';
import {RoutingState, shortestPaths} from '../../../src/core/netceptor/routing.js';

/**
 * Random connected meshes with symmetric link costs (multiples of 1/4, so sums are exact).
 * Some nodes never send an update ("silent"): they are routable only as direct peers, and
 * nothing is routed through them. Some "ghost" names appear only inside Connections.
 */
interface Mesh {
  self: string;
  adj: Map<string, Map<string, number>>;
  silent: Set<string>;
}

const cost = fc.integer({min: 1, max: 40}).map((k) => k / 4);

const meshArb: fc.Arbitrary<Mesh> = fc.integer({min: 2, max: 9}).chain((n) =>
  fc
    .record({
      tree: fc.array(fc.tuple(fc.nat(), cost), {minLength: n - 1, maxLength: n - 1}),
      extra: fc.array(fc.tuple(fc.nat({max: n - 1}), fc.nat({max: n - 1}), cost), {maxLength: 2 * n}),
      silent: fc.array(fc.boolean(), {minLength: n, maxLength: n}),
      ghosts: fc.array(fc.tuple(fc.nat({max: n - 1}), cost), {maxLength: 3}),
      self: fc.nat({max: n - 1}),
      names: fc.shuffledSubarray(['ant', 'bee', 'cat', 'dog', 'eel', 'fox', 'gnu', 'hen', 'ibis', 'jay'], {
        minLength: n,
        maxLength: n,
      }),
    })
    .map(({tree, extra, silent, ghosts, self, names}) => {
      const adj = new Map(names.map((name) => [name, new Map<string, number>()]));
      const link = (u: string, v: string, c: number): void => {
        adj.get(u)!.set(v, c);
        adj.get(v)!.set(u, c);
      };
      tree.forEach(([p, c], i) => link(names[i + 1], names[p % (i + 1)], c));
      for (const [u, v, c] of extra) if (u !== v) link(names[u], names[v], c);
      ghosts.forEach(([v, c], i) => {
        if (v !== self) adj.get(names[v])!.set(`ghost${i}`, c);
      });
      return {
        self: names[self],
        adj,
        silent: new Set(names.filter((name, i) => silent[i] && i !== self)),
      };
    }),
);

/** Builds the node's state the way the node would: own connections, then received updates. */
function build(mesh: Mesh): RoutingState {
  const s = new RoutingState({nodeId: mesh.self, clock: new ManualClock(), epoch: 1n});
  for (const [peer, c] of mesh.adj.get(mesh.self)!) s.addConnection(peer, c);
  let id = 0;
  for (const [name, edges] of mesh.adj) {
    if (name === mesh.self || mesh.silent.has(name)) continue;
    const r = s.handleUpdate({
      nodeId: name,
      updateId: `id${++id}`,
      updateEpoch: 7n,
      updateSequence: 1n,
      connections: new Map(edges),
      suspectedDuplicate: 0n,
    });
    expect(r.outcome).to.equal('accepted');
  }
  return s;
}

/** The directed graph the mesh should produce, built independently of RoutingState. */
function expectedGraph(mesh: Mesh): Map<string, Map<string, number>> {
  const g = new Map<string, Map<string, number>>();
  const own = mesh.adj.get(mesh.self)!;
  if (own.size > 0) g.set(mesh.self, new Map(own));
  for (const [peer, c] of own) g.set(peer, new Map([[mesh.self, c]]));
  for (const [name, edges] of mesh.adj) {
    if (name !== mesh.self && !mesh.silent.has(name)) g.set(name, new Map(edges));
  }
  return g;
}

/** Bellman-Ford over edges whose both ends are graph keys. */
function bellmanFord(g: Map<string, Map<string, number>>, from: string): Map<string, number> {
  const dist = new Map<string, number>([[from, 0]]);
  for (let round = 0; round < g.size; round++) {
    for (const [u, edges] of g) {
      const du = dist.get(u);
      if (du === undefined) continue;
      for (const [v, w] of edges) {
        if (!g.has(v)) continue;
        const dv = dist.get(v);
        if (dv === undefined || du + w < dv) dist.set(v, du + w);
      }
    }
  }
  return dist;
}

describe('netceptor routing (property)', () => {
  it('builds exactly the expected link-state graph', () => {
    fc.assert(
      fc.property(meshArb, (mesh) => {
        const s = build(mesh);
        expect(s.topologySnapshot()).to.deep.equal(expectedGraph(mesh));
      }),
      {numRuns: 300},
    );
  });

  it('routes with Bellman-Ford costs via direct neighbours on a shortest path (smallest such hop)', () => {
    fc.assert(
      fc.property(meshArb, (mesh) => {
        const s = build(mesh);
        const routes = s.computeRoutes();
        const g = expectedGraph(mesh);
        const dist = bellmanFord(g, mesh.self);
        const own = mesh.adj.get(mesh.self)!;

        const reachable = [...dist.keys()].filter((n) => n !== mesh.self).sort();
        expect([...routes.keys()].sort()).to.deep.equal(reachable);

        for (const [dest, hop] of routes) {
          expect(s.pathCost(dest)).to.equal(dist.get(dest));
          expect(own.has(hop), `next hop ${hop} is a neighbour`).to.equal(true);
          // candidates: neighbours through which a shortest path to dest exists
          const viaCost = (h: string): number | undefined => {
            const rest = bellmanFord(g, h).get(dest);
            return rest === undefined ? undefined : own.get(h)! + rest;
          };
          expect(viaCost(hop)).to.equal(dist.get(dest));
          const candidates = [...own.keys()].filter((h) => viaCost(h) === dist.get(dest)).sort();
          expect(hop).to.equal(candidates[0]);
        }
        for (const n of routes.keys()) expect(n.startsWith('ghost')).to.equal(false);
      }),
      {numRuns: 300},
    );
  });

  it('is deterministic and independent of the order updates arrive in', () => {
    fc.assert(
      fc.property(meshArb, fc.nat(), (mesh, seed) => {
        const a = build(mesh);
        const entries = [...mesh.adj];
        const k = seed % entries.length;
        const b = build({...mesh, adj: new Map([...entries.slice(k), ...entries.slice(0, k)])});
        expect([...b.computeRoutes()]).to.deep.equal([...a.computeRoutes()]);
        const paths = (s: RoutingState) => shortestPaths(mesh.self, s.topologySnapshot());
        expect(paths(b)).to.deep.equal(paths(a));
      }),
      {numRuns: 200},
    );
  });
});

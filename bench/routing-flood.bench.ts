/**
 * Routing under a flood of made-up nodes (issue: one peer announcing tens of thousands of
 * nodes): the cost of storing N routing updates, of one route computation and of building the
 * status routing table, in process. The known-node cap is raised (--cap, default 1,000,000) so
 * that the algorithmic cost shows; with the default cap (10,000) the rest is dropped.
 * Prints JSON.
 *
 *   node --import tsx bench/routing-flood.bench.ts [--nodes=1000,5000,20000,52000] [--cap=1000000]
 */
import {ManualClock} from '../src/core/clock.js';
import {RoutingState} from '../src/core/netceptor/routing.js';

function arg(name: string, dflt: string): string {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : dflt;
}

const sizes = arg('nodes', '1000,5000,20000,52000').split(',').map(Number);
const cap = Number(arg('cap', '1000000'));
const ms = (t0: number) => Math.round((performance.now() - t0) * 10) / 10;

const runs = sizes.map((n) => {
  const r = new RoutingState({nodeId: 'me', clock: new ManualClock(), maxKnownNodes: cap});
  r.addConnection('peer', 1);
  let t0 = performance.now();
  let dropped = 0;
  for (let i = 0; i < n; i++) {
    const res = r.handleUpdate({nodeId: `fake${i}`, updateId: `id${i}`, updateEpoch: 1n, updateSequence: 1n, connections: new Map([['peer', 1]]), suspectedDuplicate: 0n});
    if (res.outcome !== 'accepted') dropped++;
  }
  const peerConns = new Map([['me', 1]]);
  for (let i = 0; i < n; i++) peerConns.set(`fake${i}`, 1);
  r.handleUpdate({nodeId: 'peer', updateId: 'peer-id', updateEpoch: 1n, updateSequence: 1n, connections: peerConns, suspectedDuplicate: 0n});
  const storeMs = ms(t0);
  t0 = performance.now();
  r.computeRoutes();
  const routesMs = ms(t0);
  t0 = performance.now();
  JSON.stringify({routes: r.statusRoutingTable(), known: r.knownConnectionCosts()});
  const statusMs = ms(t0);
  return {nodes: n, storeUpdatesMs: storeMs, computeRoutesMs: routesMs, statusTableMs: statusMs, routes: r.routes().size, dropped};
});

console.log(JSON.stringify({benchmark: 'routing-flood', knownNodeCap: cap, runs}, null, 2));

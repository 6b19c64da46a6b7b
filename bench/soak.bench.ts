/**
 * Soak bench: the soak of test/soak/mesh.soak.ts (a 4-node diamond of real daemons under
 * pings, proxied streams and remote work), shortened, recording per node the least-squares
 * slope per minute of RSS, heap, external memory, open fds, handles and timers after the
 * warm-up, and what was carried. Prints JSON.
 *
 *   node --import tsx bench/soak.bench.ts [--quick] [--seconds=N]
 *
 * Default 180 s (60 s warm-up); --quick is the CI soak's 75 s. `npm run soak` is the full
 * 10-minute run with pass/fail tolerances.
 */
import {METRICS, runSoak, SOAK_PLAN, SOAK_TOLERANCE} from '../test/support/soak.js';

const quick = process.argv.includes('--quick');
const seconds = Number(process.argv.find((a) => a.startsWith('--seconds='))?.slice(10) ?? 0);
const plan = quick
  ? SOAK_PLAN.short
  : seconds > 0
    ? {durationMs: seconds * 1000, warmupMs: Math.round(seconds * 333), sampleMs: 2000}
    : {durationMs: 180_000, warmupMs: 60_000, sampleMs: 2000};
const r = await runSoak(plan);
const round = (x: number) => Math.round(x * 1000) / 1000;
const nodes = Object.fromEntries(
  Object.entries(r.nodes).map(([n, x]) => [
    n,
    {
      slopePerMinute: Object.fromEntries(METRICS.map((m) => [m, round(x.slopes[m])])),
      last: Object.fromEntries(METRICS.map((m) => [m, round(x.last[m])])),
      samples: x.samples.length,
    },
  ]),
);
const result = {
  benchmark: 'soak',
  quick,
  seconds: Math.round(r.seconds),
  warmupSeconds: r.warmupSeconds,
  machine: {cpus: (await import('node:os')).availableParallelism(), node: process.version},
  nodes,
  // The full soak's bounds, for reading the slopes (a shorter run is noisier).
  fullTolerancePerMinute: SOAK_TOLERANCE.full,
  counts: r.counts,
  errors: r.errors,
};
console.log(JSON.stringify(result, null, 2));

/**
 * Soak: a 4-node diamond of real daemons under continuous pings, proxied streams (checked by
 * SHA-256) and remote work (results checked, units released) for 10 minutes (short: 75 s).
 * Every daemon's RSS, heap, open fds, active handles and timers must stay flat after the
 * warm-up: the least-squares slope of each stays under the tolerance in SOAK_TOLERANCE, and
 * nothing was lost, failed or left behind. See test/support/soak.ts for the mesh.
 */
import {expect} from 'chai';
import {METRICS, runSoak, SOAK_PLAN, SOAK_TOLERANCE, type SoakResult} from '../support/soak.js';
import {suiteScale, tally} from '../support/tally.js';

describe('soak: 4-node mesh under pings, streams and remote work', function () {
  const scale = suiteScale();
  const plan = SOAK_PLAN[scale];
  const tolerance = SOAK_TOLERANCE[scale];
  let result: SoakResult;

  before(async function () {
    this.timeout(plan.durationMs + 300_000);
    result = await runSoak({...plan, log: (l) => process.stderr.write(`${l}\n`)});
    const c = result.counts;
    tally('pings', c.pings);
    tally('stream bytes checked', c.streamBytesChecked);
    tally('units', c.units);
    tally('lost bytes', c.lostBytes);
    tally('stuck units', c.stuckUnits);
    for (const [n, r] of Object.entries(result.nodes))
      process.stderr.write(
        `soak slopes per minute, node ${n} (${r.samples.length} samples after ${result.warmupSeconds} s): ${METRICS.map((m) => `${m} ${r.slopes[m].toFixed(3)}`).join(', ')}\n`,
      );
  });

  it('keeps every ping, stream byte and unit', () => {
    const c = result.counts;
    expect(result.errors, 'failures').to.deep.equal([]);
    expect(c.pingFailures + c.unitFailures + c.lostBytes + c.stuckUnits).to.equal(0);
    // A run that carried nothing proves nothing.
    expect(c.pings).to.be.greaterThan(plan.durationMs / 1000);
    expect(c.units).to.be.greaterThan(plan.durationMs / 10_000);
    expect(c.streamBytesChecked).to.be.greaterThan(plan.durationMs * 20);
  });

  for (const m of METRICS)
    it(`keeps ${m} flat on every node (slope under ${SOAK_TOLERANCE[scale][m]} per minute)`, () => {
      for (const [n, r] of Object.entries(result.nodes)) {
        expect(r.samples.length, `samples of ${n}`).to.be.at.least(10);
        expect(r.slopes[m], `${n}: ${m} from ${r.first[m]} to ${r.last[m]} (min ${r.min[m]}, max ${r.max[m]})`).to.be.below(tolerance[m]);
      }
    });
});

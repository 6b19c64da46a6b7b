/**
 * Settings shared by the fuzz targets (test/fuzz/*.fuzz.ts): a fixed seed per target
 * (RECEPTOR_FUZZ_SEED replays one), the case count from suiteScale(), and the per-case
 * time limit: a case that uses more than 1 s of this process's CPU fails (CPU, not wall
 * time, because the suite shares its machine; the busiest helper must not fail it), and an
 * asynchronous case that has not settled after 5 s of wall time fails as a hang.
 */
import fc from 'fast-check';
import {suiteScale, tally} from './tally.js';

/** A case using more CPU time than this fails the target. */
export const CASE_LIMIT_MS = 1000;
/** An asynchronous case not settled after this much wall time fails as a hang. */
export const HANG_LIMIT_MS = 5000;

/** Slowest case seen so far (wall ms) of the running target, for the report. */
export const slowest = {wallMs: 0, cpuMs: 0};

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export interface FuzzSettings {
  seed: number;
  numRuns: number;
}

/**
 * The seed and case count of one target. `fixedSeed` keeps runs reproducible; `short` is the
 * CI case count (the full run is 10^5 cases per target).
 */
export function fuzzSettings(target: string, fixedSeed: number, short: number): FuzzSettings {
  const env = process.env.RECEPTOR_FUZZ_SEED;
  const seed = env !== undefined && env !== '' ? Number(env) : fixedSeed;
  if (!Number.isInteger(seed)) throw new Error(`RECEPTOR_FUZZ_SEED must be an integer, not ${JSON.stringify(env)}`);
  const numRuns = suiteScale() === 'full' ? 100_000 : short;
  console.log(`  fuzz ${target}: seed ${seed} (replay: RECEPTOR_FUZZ_SEED=${seed}), ${numRuns} cases`);
  slowest.wallMs = 0;
  slowest.cpuMs = 0;
  return {seed, numRuns};
}

/** Fails when one case used more than CASE_LIMIT_MS of CPU. */
function checkTime(wall0: number, cpu0: number): void {
  const wall = performance.now() - wall0;
  const cpu = cpuMs() - cpu0;
  slowest.wallMs = Math.max(slowest.wallMs, wall);
  slowest.cpuMs = Math.max(slowest.cpuMs, cpu);
  if (cpu > CASE_LIMIT_MS) throw new Error(`case used ${Math.round(cpu)} ms of CPU (${Math.round(wall)} ms wall; limit ${CASE_LIMIT_MS} ms)`);
}

/** Counts the cases `run` executes (shrinking included) into the tally, whatever the outcome. */
function counted<R>(run: (count: () => void) => R): R {
  let cases = 0;
  const report = () => {
    tally('cases', cases);
    console.log(`  ${cases} cases run; slowest: ${Math.round(slowest.cpuMs)} ms CPU, ${Math.round(slowest.wallMs)} ms wall`);
  };
  try {
    const r = run(() => cases++);
    if (r instanceof Promise) return r.finally(report) as R;
    report();
    return r;
  } catch (err) {
    report();
    throw err;
  }
}

/** Runs a synchronous property with the target's settings (shrinking on), timing each case. */
export function fuzz<T>(settings: FuzzSettings, arb: fc.Arbitrary<T>, check: (value: T) => void): void {
  counted((count) =>
    fc.assert(
      fc.property(arb, (v) => {
        count();
        const wall0 = performance.now();
        const cpu0 = cpuMs();
        check(v);
        checkTime(wall0, cpu0);
      }),
      {seed: settings.seed, numRuns: settings.numRuns},
    ),
  );
}

/** The asynchronous form of {@link fuzz}; a case that has not settled after HANG_LIMIT_MS fails. */
export function fuzzAsync<T>(settings: FuzzSettings, arb: fc.Arbitrary<T>, check: (value: T) => Promise<void>): Promise<void> {
  return counted((count) =>
    fc.assert(
      fc.asyncProperty(arb, async (v) => {
        count();
        const wall0 = performance.now();
        const cpu0 = cpuMs();
        let timer: NodeJS.Timeout | undefined;
        const hang = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`case did not settle within ${HANG_LIMIT_MS} ms`)), HANG_LIMIT_MS);
        });
        try {
          await Promise.race([check(v), hang]);
        } finally {
          clearTimeout(timer);
        }
        checkTime(wall0, cpu0);
      }),
      {seed: settings.seed, numRuns: settings.numRuns},
    ),
  );
}

/**
 * Settings shared by the fuzz targets (test/fuzz/*.fuzz.ts): a fixed seed per target
 * (RECEPTOR_FUZZ_SEED replays one), the case count from suiteScale(), and the per-case
 * time limit (a case slower than 1 s is a failure, counted as a hang).
 */
import fc from 'fast-check';
import {suiteScale, tally} from './tally.js';

/** A case slower than this fails the target. */
export const CASE_LIMIT_MS = 1000;

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
  return {seed, numRuns};
}

/** Fails when one case took longer than CASE_LIMIT_MS. */
function checkTime(started: number, what: () => string): void {
  const ms = performance.now() - started;
  if (ms > CASE_LIMIT_MS) throw new Error(`case took ${Math.round(ms)} ms (limit ${CASE_LIMIT_MS} ms): ${what()}`);
}

/** Runs a synchronous property with the target's settings, timing each case; tallies the cases. */
export function fuzz<T>(settings: FuzzSettings, arb: fc.Arbitrary<T>, check: (value: T) => void): void {
  let cases = 0;
  try {
    fc.assert(
      fc.property(arb, (v) => {
        cases++;
        const t0 = performance.now();
        check(v);
        checkTime(t0, () => fc.stringify(v).slice(0, 200));
      }),
      {seed: settings.seed, numRuns: settings.numRuns, endOnFailure: false},
    );
  } finally {
    tally('cases', cases);
  }
}

/** The asynchronous form of {@link fuzz}; a case that never settles fails after the limit too. */
export async function fuzzAsync<T>(settings: FuzzSettings, arb: fc.Arbitrary<T>, check: (value: T) => Promise<void>): Promise<void> {
  let cases = 0;
  try {
    await fc.assert(
      fc.asyncProperty(arb, async (v) => {
        cases++;
        const t0 = performance.now();
        let timer: NodeJS.Timeout | undefined;
        const hang = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`case did not finish within ${CASE_LIMIT_MS} ms`)), CASE_LIMIT_MS * 2);
        });
        try {
          await Promise.race([check(v), hang]);
        } finally {
          clearTimeout(timer);
        }
        checkTime(t0, () => fc.stringify(v).slice(0, 200));
      }),
      {seed: settings.seed, numRuns: settings.numRuns, endOnFailure: false},
    );
  } finally {
    tally('cases', cases);
  }
}

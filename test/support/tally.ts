// Counts for the reliability suites (chaos, fuzz, soak): scenario files add what they checked
// (cases, kills, bytes checked, lost bytes, stuck units, ...) and scripts/suite.js prints the
// totals as the run's last line. Outside a suite run (no RECEPTOR_SUITE_TALLY) counts stay in
// memory only.
import {writeFileSync} from 'node:fs';

// One table per process, even when this module is loaded twice (a test file with top-level
// await is loaded as ESM, the others as CommonJS: two module instances, one set of counts).
interface Table {
  counts: Map<string, number>;
  hooked: boolean;
}
const KEY = Symbol.for('receptor-mesh.tally');
const table: Table = ((globalThis as Record<symbol, unknown>)[KEY] as Table | undefined) ?? {counts: new Map(), hooked: false};
(globalThis as Record<symbol, unknown>)[KEY] = table;
const counts = table.counts;

/** Adds `n` to the count named `name` (e.g. 'cases', 'kills', 'bytes checked', 'lost bytes'). */
export function tally(name: string, n = 1): void {
  counts.set(name, (counts.get(name) ?? 0) + n);
  const file = process.env.RECEPTOR_SUITE_TALLY;
  if (file && !table.hooked) {
    table.hooked = true;
    // mocha runs with exit: true, so the 'exit' event is the last moment the counts are final.
    process.on('exit', () => writeFileSync(file, JSON.stringify(Object.fromEntries(counts))));
  }
}

/** The current value of one count (for assertions in the suites themselves). */
export function tallied(name: string): number {
  return counts.get(name) ?? 0;
}

/** 'short' in CI (`npm run <suite> -- --short`), 'full' on demand; 'short' outside a suite run. */
export function suiteScale(): 'short' | 'full' {
  return process.env.RECEPTOR_SUITE_SCALE === 'full' ? 'full' : 'short';
}

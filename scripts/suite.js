#!/usr/bin/env node
// Runs one reliability suite (chaos, fuzz or soak) under mocha and prints its counts as the
// last line of output. `--short` is the bounded CI version (RECEPTOR_SUITE_SCALE=short); the
// default is the full run. Scenario files are test/<suite>/**/*.<suite>.ts, so `npm test` does
// not pick them up; they add to the counts through test/support/tally.ts. Exit status: mocha's,
// or 1 when the counts report lost bytes or stuck units.
import {spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SUITES = ['chaos', 'fuzz', 'soak'];
const args = process.argv.slice(2);
const suite = args[0];
if (!SUITES.includes(suite)) {
  console.error(`usage: node scripts/suite.js <${SUITES.join('|')}> [--short] [mocha args...]`);
  process.exit(2);
}
const short = args.includes('--short');
const extra = args.slice(1).filter((a) => a !== '--short');
const dir = mkdtempSync(join(tmpdir(), `receptor-${suite}-`));
const tallyFile = join(dir, 'tally.json');
const started = Date.now();
const run = spawnSync('npx', ['mocha', '--timeout', '0', `test/${suite}/**/*.${suite}.ts`, ...extra], {
  cwd: root,
  stdio: 'inherit',
  env: {
    ...process.env,
    RECEPTOR_SUITE: suite,
    RECEPTOR_SUITE_SCALE: short ? 'short' : 'full',
    RECEPTOR_SUITE_TALLY: tallyFile,
  },
});
let counts = {};
if (existsSync(tallyFile)) counts = JSON.parse(readFileSync(tallyFile, 'utf8'));
rmSync(dir, {recursive: true, force: true});
const bad = (counts['lost bytes'] ?? 0) > 0 || (counts['stuck units'] ?? 0) > 0;
const code = run.status ?? 1;
const ok = code === 0 && !bad;
const seconds = Math.round((Date.now() - started) / 1000);
const parts = Object.entries(counts).map(([k, v]) => `${k} ${v}`);
console.log(`${suite} (${short ? 'short' : 'full'}): ${ok ? 'green' : 'RED'} in ${seconds} s; ${parts.join(', ') || 'no counts'}`);
process.exit(ok ? 0 : code || 1);

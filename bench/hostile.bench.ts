/**
 * Hostile peers and clients: runs test/chaos/hostile.chaos.ts against a built daemon and prints
 * its figures as JSON (per attack: ping RTT median and max from the well-behaved node, the time
 * of a small remote unit, the victim's RSS and fds afterwards, and the attack's own counts).
 *
 *   node --import tsx bench/hostile.bench.ts [--full]   (short scale by default; needs `npm run build`)
 */
import {spawnSync} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'receptor-bench-hostile-'));
const out = join(dir, 'figures.json');
const run = spawnSync('npx', ['mocha', '--timeout', '0', 'test/chaos/hostile.chaos.ts'], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit'],
  env: {...process.env, RECEPTOR_SUITE_SCALE: process.argv.includes('--full') ? 'full' : 'short', RECEPTOR_HOSTILE_JSON: out},
});
let report: unknown = {benchmark: 'hostile', error: `scenario exited ${run.status ?? run.signal}`};
try {
  report = {...JSON.parse(readFileSync(out, 'utf8')), passed: run.status === 0};
} catch {
  // no figures: the error above stands
}
rmSync(dir, {recursive: true, force: true});
console.log(JSON.stringify(report, null, 2));
process.exit(run.status ?? 1);

#!/usr/bin/env node
// Runs every bench/*.bench.ts (or those named on the command line) with tsx against the
// built CLI, and prints their JSON results as one JSON array. `--quick` shortens them.
//
// `--impl go` (or `--impl go=LABEL`) runs the benches that start node processes twice in the
// same run, once with our nodes and once with the Go receptor of the interop reference install
// (`npm run interop:setup`; LABEL picks one of its Go binaries), and prints for every metric
// {ours, go, ratio} (ratio = ours / go), plus a table on stderr.
import {execFileSync} from 'node:child_process';
import {existsSync, readFileSync, readdirSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
let impl;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--impl') impl = args.splice(i, 2)[1];
  else if (args[i].startsWith('--impl=')) impl = args.splice(i, 1)[0].slice(7);
}
const flags = args.filter((a) => a.startsWith('--'));
const names = args.filter((a) => !a.startsWith('--'));
/** Benches that start node processes (and so can run against Go too). */
const PROCESS_BENCHES = ['mesh', 'work', 'proxy-procs', 'startup', 'kube'];
const files = readdirSync(join(root, 'bench'))
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => names.length === 0 || names.some((n) => f.startsWith(n)))
  .filter((f) => !impl || PROCESS_BENCHES.includes(f.replace(/\.bench\.ts$/, '')));

function runBench(f, env = {}) {
  const out = execFileSync(process.execPath, ['--import', 'tsx', join(root, 'bench', f), ...flags], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 << 20,
    env: {...process.env, ...env},
  });
  return JSON.parse(out);
}

function goBinary(spec) {
  const label = spec.includes('=') ? spec.slice(spec.indexOf('=') + 1) : undefined;
  const file = join(root, '.interop', 'manifest.json');
  const fromEnv = (process.env.RECEPTOR_INTEROP_GO ?? '')
    .split(',')
    .filter(Boolean)
    .map((e) => ({label: e.split('=')[0], bin: e.slice(e.indexOf('=') + 1)}));
  const go = [...(existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).go : []), ...fromEnv].filter((g) => g.bin && existsSync(g.bin));
  const pick = label ? go.find((g) => g.label === label) : go[0];
  if (!pick) {
    const why = existsSync(file)
      ? JSON.parse(readFileSync(file, 'utf8'))
          .go.filter((g) => g.unavailable)
          .map((g) => `${g.label}: ${g.unavailable}`)
          .join('; ')
      : 'no .interop/manifest.json';
    console.error(`bench --impl ${spec}: no Go receptor binary${label ? ` labelled ${label}` : ''} in the interop reference install (${why || 'run npm run interop:setup'})`);
    process.exit(2);
  }
  return pick;
}

/** Pairs two result trees: every numeric leaf becomes {ours, go, ratio}. */
function pair(a, b) {
  if (typeof a === 'number' && typeof b === 'number') return {ours: a, go: b, ratio: b === 0 ? null : Math.round((a / b) * 100) / 100};
  if (Array.isArray(a) && Array.isArray(b)) return a.map((x, i) => pair(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const o = {};
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) o[k] = k in a && k in b ? pair(a[k], b[k]) : (a[k] ?? b[k]);
    return o;
  }
  return a === b ? a : {ours: a, go: b};
}

function rows(tree, path = []) {
  if (tree && typeof tree === 'object' && 'ours' in tree && 'go' in tree && typeof tree.ours === 'number') return [[path.join('.'), tree.ours, tree.go, tree.ratio]];
  if (tree && typeof tree === 'object') return Object.entries(tree).flatMap(([k, v]) => rows(v, [...path, k]));
  return [];
}

const results = [];
if (impl) {
  if (!impl.startsWith('go')) {
    console.error(`bench: --impl takes go or go=LABEL, not ${impl}`);
    process.exit(2);
  }
  const go = goBinary(impl);
  for (const f of files) {
    process.stderr.write(`running bench/${f} (ours) ...\n`);
    const ours = runBench(f);
    process.stderr.write(`running bench/${f} (Go ${go.label}) ...\n`);
    const theirs = runBench(f, {BENCH_IMPL_BIN: go.bin});
    const merged = pair(ours, theirs);
    merged.benchmark = ours.benchmark;
    merged.go = {label: go.label, bin: go.bin};
    results.push(merged);
    for (const [metric, o, g, r] of rows(merged))
      process.stderr.write(`  ${(merged.benchmark + '.' + metric).padEnd(58)} ours ${String(o).padStart(9)}  go ${String(g).padStart(9)}  ratio ${r}\n`);
  }
} else {
  for (const f of files) {
    process.stderr.write(`running bench/${f} ...\n`);
    results.push(runBench(f));
  }
}
console.log(JSON.stringify(results, null, 2));

#!/usr/bin/env node
// Runs every bench/*.bench.ts (or those named on the command line) with tsx against the
// built CLI, and prints their JSON results as one JSON array. `--quick` shortens them.
import {execFileSync} from 'node:child_process';
import {readdirSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
const names = args.filter((a) => !a.startsWith('--'));
const files = readdirSync(join(root, 'bench'))
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => names.length === 0 || names.some((n) => f.startsWith(n)));
const results = [];
for (const f of files) {
  process.stderr.write(`running bench/${f} ...\n`);
  const out = execFileSync(process.execPath, ['--import', 'tsx', join(root, 'bench', f), ...flags], {cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20});
  results.push(JSON.parse(out));
}
console.log(JSON.stringify(results, null, 2));

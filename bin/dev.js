#!/usr/bin/env -S node --import tsx
// Development entry point: runs the TypeScript sources directly (no build needed).
import {main} from '../src/core/cli/main.ts';
const args = process.argv.slice(2);
// Command runners spawned by a node started from here run the TypeScript runner too.
if (args.some((a) => /^--?command-runner$/i.test(a))) {
  const {main} = await import('../src/work-runner-main.ts');
  await main(args);
}
const first = args[0];
if (first !== undefined && first.startsWith('-') && first !== '--help' && first !== '-h') {
  if ((first.toLowerCase() === '--version' || first === '-v') && args.slice(1).every((a) => a === '--json')) args.splice(0, 1, 'version');
  else args.unshift('node', 'start');
}
await main(args, import.meta.url, true);

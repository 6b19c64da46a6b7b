#!/usr/bin/env node
// receptor CLI entry point. Go receptor's invocations (`receptor -c file`, `receptor --node
// id=foo ...`) are routed to `receptor node start`.
import {execute} from '@oclif/core';

const args = process.argv.slice(2);
const first = args[0];
if (first !== undefined && first.startsWith('-') && first !== '--help' && first !== '-h') {
  if (args.length === 1 && first.toLowerCase() === '--version') args.splice(0, 1, 'version');
  else args.unshift('node', 'start');
}
await execute({args, dir: import.meta.url});

#!/usr/bin/env node
// receptor CLI entry point. Go receptor's invocations (`receptor -c file`, `receptor --node
// id=foo ...`) mean `receptor node start`; running a node skips the oclif framework (less
// memory for a long-running process); everything else is an oclif command.
const args = process.argv.slice(2);
const first = args[0];
const isHelp = (a) => a === '--help' || a === '-h';
if (first !== undefined && first.startsWith('-') && !isHelp(first)) {
  if (args.length === 1 && first.toLowerCase() === '--version') args.splice(0, 1, 'version');
  else args.unshift('node', 'start');
}
if (args[0] === 'node' && args[1] === 'start' && !args.some(isHelp)) {
  const {main} = await import('../dist/daemon-main.js');
  await main(args.slice(2));
} else {
  const {execute} = await import('@oclif/core');
  await execute({args, dir: import.meta.url});
}

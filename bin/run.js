#!/usr/bin/env node
// receptor CLI entry point. Go receptor's invocations (`receptor -c file`, `receptor --node
// id=foo ...`) mean `receptor node start`; running a node skips the oclif framework (less
// memory for a long-running process); everything else is an oclif command.
const args = process.argv.slice(2);
// A command runner (one per running work unit, spawned by the node) loads only what it needs.
if (args.some((a) => /^--?command-runner$/i.test(a))) {
  const {main} = await import('../dist/work-runner-main.js');
  await main(args);
}
const isHelp = (a) => a === '--help' || a === '-h';
const isVersion = (a) => a.toLowerCase() === '--version' || a === '-v';
// receptorctl's order (`receptor --socket S status`): options first, then the command.
const CLIENT_FLAGS = new Set(['--socket', '-s', '--rootcas', '--cert', '--key', '--insecureskipverify', '--tls-client']);
const CLIENT_COMMANDS = new Set(['status', 'ping', 'traceroute', 'reload', 'connect', 'version', 'work']);
if (args.length > 0 && CLIENT_FLAGS.has(args[0].split('=')[0])) {
  const i = args.findIndex((a) => CLIENT_COMMANDS.has(a));
  // `work` moves together with its sub-command (`work list`).
  if (i > 0) args.unshift(...args.splice(i, args[i] === 'work' ? 2 : 1));
}
const first = args[0];
if (first !== undefined && first.startsWith('-') && !isHelp(first)) {
  // `receptor -v`, `receptor --version [--json]`: the version command; any other option: a node.
  if (isVersion(first) && args.slice(1).every((a) => a === '--json')) args.splice(0, 1, 'version');
  else args.unshift('node', 'start');
}
if (args[0] === 'node' && args[1] === 'start' && !args.some(isHelp)) {
  const {main} = await import('../dist/daemon-main.js');
  await main(args.slice(2));
} else {
  const {main} = await import('../dist/core/cli/main.js');
  await main(args, import.meta.url);
}

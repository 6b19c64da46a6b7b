/**
 * Lean entry point for running a node (`receptor node start …`, `receptor -c …`,
 * `receptor --node …`): bin/run.js hands daemon invocations here so the long-running
 * process does not load the oclif command framework. Everything else goes through oclif.
 */
import {runDaemon} from './core/daemon.js';
import {ReceptorError} from './core/errors.js';
import {initSettings} from './core/settings.js';

export async function main(argv: string[]): Promise<void> {
  initSettings(process.env);
  try {
    const code = await runDaemon({
      argv,
      bin: 'receptor',
      progress: process.stdout.isTTY === true,
      selfCommand: [process.execPath, ...process.execArgv, process.argv[1]!], // node runs a script
    });
    process.exitCode = code;
  } catch (err) {
    if (err instanceof ReceptorError) {
      process.stderr.write(`Error: ${err.message}\n`);
      process.exitCode = err.exitCode;
    } else {
      process.stderr.write(`Error: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  }
  // Whatever handle a plugin may have leaked, a stopped node exits (after output is flushed).
  await new Promise<void>((r) => process.stdout.write('', () => r()));
  await new Promise<void>((r) => process.stderr.write('', () => r()));
  process.exit();
}

/**
 * The oclif side of bin/run.js (everything but a running node and the work runner): runs the
 * command and sends every error that reaches the top through one report, so `--json` gives
 * the `{"error":{"code","message"}}` envelope and the exit code does not depend on it.
 */
import {Command, Errors, flush, handle, run, settings} from '@oclif/core';
import {reportCommandError} from './base.js';
import {describeError, isReceptorError, printError, wantsJson} from './errors.js';
import {initSettings} from '../settings.js';

let patched = false;

/**
 * Commands from oclif plugins (plugins install, autocomplete, …) report their errors through
 * Command.prototype.catch, which with --json prints the whole error object; route them through
 * the same report as ours.
 */
function patchForeignCommands(): void {
  if (patched) return;
  patched = true;
  const proto = Command.prototype as unknown as {catch(err: Error): Promise<unknown>};
  const original = proto.catch;
  proto.catch = function (this: Command, err: Error) {
    return reportCommandError(this, err, (e) => original.call(this, e));
  };
}

/** Runs the oclif command in `args`; `development`: TypeScript sources, debug output (bin/dev.js). */
export async function main(args: string[], dir: string, development = false): Promise<void> {
  initSettings(process.env); // eslint-disable-line no-restricted-properties -- the entry point that reads the environment once
  if (development) {
    process.env.NODE_ENV = 'development'; // eslint-disable-line no-restricted-properties -- oclif's development mode reads it
    settings.debug = true;
  }
  patchForeignCommands();
  try {
    await run(args, dir);
    await flush();
  } catch (err) {
    if (err instanceof Errors.ExitError) return handle(err);
    const json = wantsJson(args);
    // Unknown commands (our command_not_found hook) and other errors outside any command.
    if (json || isReceptorError(err)) {
      const report = describeError(err);
      printError(report, json);
      await flush();
      process.exitCode = report.exitCode;
      return;
    }
    return handle(err as Error);
  }
}

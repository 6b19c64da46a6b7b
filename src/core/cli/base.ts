/** Shared behaviour of receptor commands: --json, and clean errors without stack traces. */
import {Command, Errors} from '@oclif/core';
import {describeError, isParseError, isReceptorError, printError, wantsJson} from './errors.js';

/**
 * A command's error, reported the receptor way: with --json always the envelope
 * `{"error":{"code","message"}}` on stdout; without it ReceptorErrors and parse errors as
 * `Error: <message>` on stderr; anything else is left to `fallback` (oclif's own report).
 * The exit code is the same with and without --json (2 for parse errors).
 */
export async function reportCommandError(cmd: Command, err: Error, fallback: (err: Error) => Promise<unknown>): Promise<unknown> {
  if (err instanceof Errors.ExitError) throw err;
  // --json on the command line asks for the envelope even from a command without the flag.
  const json = cmd.jsonEnabled() || wantsJson(cmd.argv);
  const duringParse = !cmd.parsed;
  if (json || isReceptorError(err) || isParseError(err) || duringParse) {
    const report = describeError(err, duringParse);
    printError(report, json);
    cmd.exit(report.exitCode);
  }
  return fallback(err);
}

export abstract class ReceptorCommand extends Command {
  static override enableJsonFlag = true;

  /** Writes an error the user can act on; stack traces only for real bugs (or DEBUG=*). */
  protected override async catch(err: Error & {exitCode?: number}): Promise<unknown> {
    return reportCommandError(this, err, (e) => super.catch(e));
  }
}

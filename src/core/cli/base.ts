/** Shared behaviour of receptor commands: --json, and clean errors without stack traces. */
import {Command, Errors} from '@oclif/core';
import {ReceptorError} from '../errors.js';

export abstract class ReceptorCommand extends Command {
  static override enableJsonFlag = true;

  /** Writes an error the user can act on; stack traces only for real bugs (or DEBUG=*). */
  protected override async catch(err: Error & {exitCode?: number}): Promise<unknown> {
    if (err instanceof Errors.ExitError) throw err;
    if (err instanceof ReceptorError) {
      if (this.jsonEnabled()) {
        process.stdout.write(JSON.stringify({error: {code: err.code, message: err.message}}) + '\n');
      } else {
        process.stderr.write(`Error: ${err.message}\n`);
      }
      this.exit(err.exitCode);
    }
    return super.catch(err);
  }
}

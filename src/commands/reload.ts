import {ControlCommand} from '../core/cli/control-command.js';

/** The reply of the `reload` control command (control-service.md §4.5). */
export interface ReloadReply {
  Success?: boolean;
  Error?: string;
  [key: string]: unknown;
}

/** receptorctl's exit code for a failed reload: 3 / 4 by the ERRORCODE in the message, else 5. */
export function reloadExitCode(error: string): number {
  if (error.includes('ERRORCODE 3')) return 3;
  if (error.includes('ERRORCODE 4')) return 4;
  return 5;
}

export default class Reload extends ControlCommand {
  static override summary = "Reload the node's configuration file.";
  static override description = `Asks the node to re-read the configuration file it was started with and apply the reloadable items (backends and local-only): backends whose configuration changed or was removed are stopped, new or changed ones started, unchanged ones keep running with their links. Prints "Reload successful", or "ERROR: <message>" on stderr with exit code 3 (a non-reloadable item changed: restart the node), 4 (the file could not be loaded, or the node was started without one) or 5 (any other failure).

With --json: the node's reply, {"Success": true} or {"Success": false, "Error": "<message> ERRORCODE <n>"}; the exit code is the same as without --json.`;
  static override examples = ['<%= config.bin %> reload --socket /tmp/foo.sock'];

  async run(): Promise<ReloadReply> {
    const {flags} = await this.parse(Reload);
    const client = await this.openClient(flags);
    let reply: ReloadReply;
    try {
      reply = (await client.command('reload')) as ReloadReply;
    } finally {
      client.close();
    }
    if (reply.Success === true) {
      this.log('Reload successful');
      return reply;
    }
    const error = typeof reply.Error === 'string' ? reply.Error : JSON.stringify(reply);
    if (this.jsonEnabled()) this.logJson(reply);
    else this.logToStderr(`ERROR: ${error}`);
    this.exit(reloadExitCode(error));
  }
}

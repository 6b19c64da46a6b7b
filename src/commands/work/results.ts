import {Args, Flags} from '@oclif/core';
import {ControlCommand} from '../../core/cli/control-command.js';
import {followToOutput, nodeFlags, workOpener, type FollowJson} from '../../core/cli/work.js';

export default class WorkResults extends ControlCommand {
  static override summary = 'Print the output of a unit of work.';
  static override description = `Sends "work results UNITID STARTPOS" and copies the unit's output (from byte STARTPOS) to standard output as it is produced, until the unit is complete. Then, on a new connection, asks for the unit's status: if it Failed, prints "ERROR: Remote unit failed: <detail>" on stderr and exits 1 (like receptorctl).

A Canceled unit's results stream never ends on the node's side, so while streaming a second connection polls "work status" every 0.5 s; once the unit is Canceled (and its output was copied) the stream is stopped, "ERROR: Remote unit was canceled: <detail>" is printed on stderr and the exit code is 1.

--node N reads from node N through "connect N control" (see "work list").

With --json the output is collected into {"unitid", "state", "stateName", "detail", "stdoutSize", "bytes", "output"} (exit code as above).`;
  static override examples = ['<%= config.bin %> work results AbC123xy --socket /tmp/foo.sock', '<%= config.bin %> work results AbC123xy --startpos 1024 --socket /tmp/foo.sock'];
  static override args = {
    unitid: Args.string({required: true, description: 'Unit ID.', ignoreStdin: true}),
  };
  static override flags = {
    ...nodeFlags,
    startpos: Flags.integer({default: 0, summary: 'Byte offset in the output to start from.'}),
  };

  async run(): Promise<FollowJson & {unitid: string}> {
    const {args, flags} = await this.parse(WorkResults);
    const {json, error} = await followToOutput(workOpener(flags), args.unitid, flags.startpos, this.jsonEnabled());
    const result = {unitid: args.unitid, ...json};
    if (error) {
      if (this.jsonEnabled()) this.logJson(result);
      else process.stderr.write(`ERROR: ${error}\n`);
      this.exit(1);
    }
    return result;
  }
}

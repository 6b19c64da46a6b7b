import {Args, Flags} from '@oclif/core';
import {ControlCommand} from '../../core/cli/control-command.js';
import {nodeFlags, runUnitOp, unitOpFailure, type UnitOpResult} from '../../core/cli/work.js';

export default class WorkCancel extends ControlCommand {
  static override summary = 'Cancel (stop) units of work.';
  static override description = `Sends "work cancel UNITID" for each unit over one connection and prints, like receptorctl, "Cancelled:" then "(<unitid>, cancelled)" per unit ("cancel pending" when a remote unit's node cannot be reached yet; the node retries). A unit that cannot be cancelled prints "Error: unit <unitid>: <problem>" (e.g. "unknown work unit") on stderr; the other units are still tried and the exit code is 1. A canceled unit keeps its output and stays until released. --all cancels every unit the node lists.

--node N cancels on node N through "connect N control" (see "work list").

With --json: [{"unitid", "result"}, ...]; when a unit failed, {"error": {"code", "message"}, "results": [{"unitid", "result"} | {"unitid", "error": {"code", "message"}}, ...]} (exit code as above).`;
  static override examples = ['<%= config.bin %> work cancel AbC123xy --socket /tmp/foo.sock', '<%= config.bin %> work cancel --all --socket /tmp/foo.sock'];
  static override args = {
    unitids: Args.string({multiple: true, description: 'Unit IDs.', ignoreStdin: true}),
  };
  static override flags = {
    ...nodeFlags,
    all: Flags.boolean({summary: 'Cancel every unit the node knows.'}),
  };

  async run(): Promise<UnitOpResult[]> {
    const {args, flags} = await this.parse(WorkCancel);
    const {results, failed} = await runUnitOp(this.jsonEnabled(), 'cancel', 'Cancelled:', args.unitids ?? [], flags);
    if (failed) {
      if (this.jsonEnabled()) this.logJson(unitOpFailure(results));
      this.exit(1);
    }
    return results;
  }
}

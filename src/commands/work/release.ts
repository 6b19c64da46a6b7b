import {Args, Flags} from '@oclif/core';
import {ControlCommand} from '../../core/cli/control-command.js';
import {nodeFlags, runUnitOp, unitOpFailure, type UnitOpResult} from '../../core/cli/work.js';

export default class WorkRelease extends ControlCommand {
  static override summary = 'Release (delete) units of work.';
  static override description = `Sends "work release UNITID" ("work force-release UNITID" with --force) for each unit over one connection: the unit is cancelled if still running, and its directory and output are deleted. Prints, like receptorctl, "Released:" then "(<unitid>, released)" per unit ("release pending" when a remote unit's node cannot be reached yet; the node retries). --force deletes the local record even if the remote node cannot be reached. A unit that cannot be released prints "Error: unit <unitid>: <problem>" (e.g. "unknown work unit") on stderr; the other units are still tried and the exit code is 1. --all releases every unit the node lists.

--node N releases on node N through "connect N control" (see "work list").

With --json: [{"unitid", "result"}, ...]; when a unit failed, {"error": {"code", "message"}, "results": [{"unitid", "result"} | {"unitid", "error": {"code", "message"}}, ...]} (exit code as above).`;
  static override examples = ['<%= config.bin %> work release AbC123xy --socket /tmp/foo.sock', '<%= config.bin %> work release --all --force --socket /tmp/foo.sock'];
  static override args = {
    unitids: Args.string({multiple: true, description: 'Unit IDs.', ignoreStdin: true}),
  };
  static override flags = {
    ...nodeFlags,
    force: Flags.boolean({summary: "Delete locally even if the remote node can't be reached (force-release)."}),
    all: Flags.boolean({summary: 'Release every unit the node knows.'}),
  };

  async run(): Promise<UnitOpResult[]> {
    const {args, flags} = await this.parse(WorkRelease);
    const {results, failed} = await runUnitOp(this.jsonEnabled(), flags.force ? 'force-release' : 'release', 'Released:', args.unitids ?? [], flags);
    if (failed) {
      if (this.jsonEnabled()) this.logJson(unitOpFailure(results));
      this.exit(1);
    }
    return results;
  }
}

import {Args, Flags} from '@oclif/core';
import {ControlCommand} from '../../core/cli/control-command.js';
import {nodeFlags, prettyJson, workOpener} from '../../core/cli/work.js';
import {workList, type WorkStatus} from '../../core/control/work-client.js';

export default class WorkList extends ControlCommand {
  static override summary = 'List the units of work a node knows.';
  static override description = `Sends "work list" (or "work list UNITID") and prints the reply like receptorctl: a JSON object mapping each unit ID to its status (State, StateName, Detail, StdoutSize, WorkType, ExtraData), keys sorted, indented. --quiet prints only the unit IDs, one per line.

--node N lists the units of node N: the node at --socket opens a mesh connection to N's "control" service ("connect N control"), optionally secured with the tls-client item named by --tls-client-name (receptorctl calls this "work list --tls-client"; here --tls-client is the control socket's own TLS setting).

With --json: the node's reply as is, {"<unitid>": {"State", "StateName", "Detail", "StdoutSize", "WorkType", "ExtraData"}, ...} ({} when there are no units). An unknown UNITID exits 1 with "unit <id>: unknown work unit".`;
  static override examples = ['<%= config.bin %> work list --socket /tmp/foo.sock', '<%= config.bin %> work list -q --node bar --socket /tmp/foo.sock'];
  static override args = {
    unitid: Args.string({description: 'Only this unit.', ignoreStdin: true}),
  };
  static override flags = {
    ...nodeFlags,
    quiet: Flags.boolean({char: 'q', summary: 'Only print the unit IDs.'}),
    unit_id: Flags.string({aliases: ['unit-id'], summary: 'Only this unit (receptorctl spelling; same as the UNITID argument).', hidden: true}),
  };

  async run(): Promise<Record<string, WorkStatus>> {
    const {args, flags} = await this.parse(WorkList);
    const unitid = args.unitid ?? (flags.unit_id || undefined);
    const client = await workOpener(flags)();
    let units: Record<string, WorkStatus>;
    try {
      units = await workList(client, unitid);
    } finally {
      client.close();
    }
    if (!this.jsonEnabled()) {
      if (flags.quiet) for (const id of Object.keys(units)) this.log(id);
      else this.log(prettyJson(units));
    }
    return units;
  }
}

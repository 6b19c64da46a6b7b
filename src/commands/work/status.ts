import {Args} from '@oclif/core';
import {ControlCommand} from '../../core/cli/control-command.js';
import {workStatus, type WorkStatus} from '../../core/control/work-client.js';
import {nodeFlags, workOpener} from '../../core/cli/work.js';

/** A readable report of one unit's status. */
export function formatWorkStatus(unitid: string, st: WorkStatus): string[] {
  const rest: Record<string, unknown> = {...st};
  for (const k of ['State', 'StateName', 'Detail', 'StdoutSize', 'WorkType', 'ExtraData']) delete rest[k];
  const extra = st.ExtraData === null || st.ExtraData === undefined ? '-' : typeof st.ExtraData === 'string' ? st.ExtraData : JSON.stringify(st.ExtraData);
  const out = [
    `Unit ID:      ${unitid}`,
    `Work type:    ${String(st.WorkType ?? '-')}`,
    `State:        ${String(st.StateName ?? '-')} (${String(st.State ?? '-')})`,
    `Detail:       ${String(st.Detail ?? '')}`,
    `Stdout size:  ${String(st.StdoutSize ?? 0)} bytes`,
    `Extra data:   ${extra}`,
  ];
  if (Object.keys(rest).length > 0) {
    out.push('Additional data returned by the node:');
    out.push(...JSON.stringify(rest, null, 2).split('\n'));
  }
  return out;
}

export default class WorkStatusCommand extends ControlCommand {
  static override summary = 'Show the status of a unit of work.';
  static override description = `Sends "work status UNITID" and prints the unit's work type, state (Pending, Running, Succeeded, Failed, Canceled), detail (e.g. "Running: PID 1234", "exit status 0"), the size of its output so far, and the type-specific extra data. An unknown unit exits 1 with "unit <id>: unknown work unit".

--node N asks node N through "connect N control" (see "work list").

With --json: the node's reply as is, {"State", "StateName", "Detail", "StdoutSize", "WorkType", "ExtraData"}.`;
  static override examples = ['<%= config.bin %> work status AbC123xy --socket /tmp/foo.sock'];
  static override args = {
    unitid: Args.string({required: true, description: 'Unit ID.', ignoreStdin: true}),
  };
  static override flags = {...nodeFlags};

  async run(): Promise<WorkStatus> {
    const {args, flags} = await this.parse(WorkStatusCommand);
    const client = await workOpener(flags)();
    let st: WorkStatus;
    try {
      st = await workStatus(client, args.unitid);
    } finally {
      client.close();
    }
    if (!this.jsonEnabled()) for (const line of formatWorkStatus(args.unitid, st)) this.log(line);
    return st;
  }
}

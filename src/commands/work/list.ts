import {Args, Flags} from '@oclif/core';
import {ControlCommand, openControlClient, type ControlFlagValues} from '../../core/cli/control-command.js';
import {throughNode, workList, type ClientOpener, type WorkStatus} from '../../core/control/work-client.js';

/** `--node` / `--tls-client-name` of the work commands that can ask another node (through `connect NODE control`). */
export const nodeFlags = {
  node: Flags.string({
    summary: 'Ask this node instead: the node at --socket connects to its "control" service over the mesh.',
  }),
  'tls-client-name': Flags.string({
    dependsOn: ['node'],
    summary: "tls-client item (in the configuration of the node at --socket) securing the mesh connection to --node.",
  }),
};

export interface NodeFlagValues extends ControlFlagValues {
  node?: string;
  'tls-client-name'?: string;
}

/** Opens clients of the node named by --node (or of the node at --socket). */
export function workOpener(flags: NodeFlagValues): ClientOpener {
  return throughNode(() => openControlClient(flags), flags.node, flags['tls-client-name'] ?? '');
}

/** Python's `json.dumps(v, indent=4, sort_keys=True)` layout (what receptorctl prints). */
export function prettyJson(v: unknown): string {
  const sort = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(sort);
    if (x !== null && typeof x === 'object') {
      return Object.fromEntries(
        Object.keys(x as Record<string, unknown>)
          .sort()
          .map((k) => [k, sort((x as Record<string, unknown>)[k])]),
      );
    }
    return x;
  };
  return JSON.stringify(sort(v), null, 4);
}

export default class WorkList extends ControlCommand {
  static override summary = 'List the units of work a node knows.';
  static override description = `Sends "work list" (or "work list UNITID") and prints the reply like receptorctl: a JSON object mapping each unit ID to its status (State, StateName, Detail, StdoutSize, WorkType, ExtraData), keys sorted, indented. --quiet prints only the unit IDs, one per line.

--node N lists the units of node N: the node at --socket opens a mesh connection to N's "control" service ("connect N control"), optionally secured with the tls-client item named by --tls-client-name (receptorctl calls this "work list --tls-client"; here --tls-client is the control socket's own TLS setting).

With --json: the node's reply as is, {"<unitid>": {"State", "StateName", "Detail", "StdoutSize", "WorkType", "ExtraData"}, ...} ({} when there are no units). An unknown UNITID exits 1 with "unit <id>: unknown work unit".`;
  static override examples = [
    '<%= config.bin %> work list --socket /tmp/foo.sock',
    '<%= config.bin %> work list -q --node bar --socket /tmp/foo.sock',
  ];
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

import {Args, Flags} from '@oclif/core';
import {ControlCommand} from '../../core/cli/control-command.js';
import {ControlRemoteError} from '../../core/control/client.js';
import {workCancel, workList, workRelease, type ClientOpener, type WorkOpReply} from '../../core/control/work-client.js';
import {errorMessage} from '../../core/errors.js';
import {nodeFlags, workOpener} from './list.js';

/** One unit's outcome in the --json output of cancel / release. */
export type UnitOpResult = {unitid: string; result: string} | {unitid: string; error: string};

export type UnitOp = 'cancel' | 'release' | 'force-release';

/**
 * Sends `work <op> <id>` for each unit over one connection (all units of `work list` with
 * `all`). Each outcome is reported as it comes: `(<id>, <key>)` through `line`, or
 * `<id>: ERROR: <message>` through `fail`. Every unit is tried even after a failure.
 */
export async function opOnUnits(
  open: ClientOpener,
  op: UnitOp,
  ids: string[],
  opts: {all?: boolean; line?: (s: string) => void; fail?: (s: string) => void} = {},
): Promise<UnitOpResult[]> {
  const results: UnitOpResult[] = [];
  const client = await open();
  try {
    const targets = opts.all ? Object.keys(await workList(client)) : ids;
    for (const unitid of targets) {
      let r: WorkOpReply;
      try {
        r = op === 'cancel' ? await workCancel(client, unitid) : await workRelease(client, unitid, op === 'force-release');
      } catch (err) {
        const msg = err instanceof ControlRemoteError ? err.remoteMessage : errorMessage(err);
        results.push({unitid, error: msg});
        opts.fail?.(`${unitid}: ERROR: ${msg}`);
        continue;
      }
      results.push({unitid, result: r.result});
      opts.line?.(`(${r.unitid}, ${r.result})`);
    }
  } finally {
    client.close();
  }
  return results;
}

export default class WorkCancel extends ControlCommand {
  static override summary = 'Cancel (stop) units of work.';
  static override description = `Sends "work cancel UNITID" for each unit over one connection and prints, like receptorctl, "Cancelled:" then "(<unitid>, cancelled)" per unit ("cancel pending" when a remote unit's node cannot be reached yet; the node retries). A unit that cannot be cancelled prints "ERROR: <unitid>: ERROR: <message>" on stderr; the other units are still tried and the exit code is 1. A canceled unit keeps its output and stays until released. --all cancels every unit the node lists.

--node N cancels on node N through "connect N control" (see "work list").

With --json: [{"unitid", "result"} | {"unitid", "error"}, ...] (exit code as above).`;
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
      if (this.jsonEnabled()) this.logJson(results);
      this.exit(1);
    }
    return results;
  }
}

/** The shared body of `work cancel` and `work release`: the per-unit outcomes, and whether any failed. */
export async function runUnitOp(
  json: boolean,
  op: UnitOp,
  header: string,
  ids: string[],
  flags: Parameters<typeof workOpener>[0] & {all?: boolean},
): Promise<{results: UnitOpResult[]; failed: boolean}> {
  if (ids.length === 0 && !flags.all) {
    if (!json) process.stderr.write('Warning: No unit IDs supplied: Not doing anything\n');
    return {results: [], failed: false};
  }
  if (!json) process.stdout.write(`${header}\n`);
  const results = await opOnUnits(workOpener(flags), op, ids, {
    all: flags.all,
    line: json ? undefined : (s) => process.stdout.write(`${s}\n`),
    fail: json ? undefined : (s) => process.stderr.write(`ERROR: ${s}\n`),
  });
  return {results, failed: results.some((r) => 'error' in r)};
}

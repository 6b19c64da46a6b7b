import {Args, Flags} from '@oclif/core';
import {ControlCommand} from '../../core/cli/control-command.js';
import {unitError, workCancel, workList, workRelease, type ClientOpener, type WorkOpReply} from '../../core/control/work-client.js';
import {errorCodeOf, errorMessage} from '../../core/errors.js';
import {nodeFlags, workOpener} from './list.js';

/** One unit's outcome in the --json output of cancel / release. */
export type UnitOpResult = {unitid: string; result: string} | {unitid: string; error: {code: string; message: string}};

export type UnitOp = 'cancel' | 'release' | 'force-release';

/** A failure about one unit as `{code, message}`, the message naming the unit (`unit <id>: …`). */
export function unitFailure(unitid: string, err: unknown): {code: string; message: string} {
  const e = unitError(unitid, err);
  const msg = errorMessage(e);
  return {code: errorCodeOf(e), message: msg.startsWith(`unit ${unitid}: `) ? msg : `unit ${unitid}: ${msg}`};
}

/**
 * Sends `work <op> <id>` for each unit over one connection (all units of `work list` with
 * `all`). Each outcome is reported as it comes: `(<id>, <key>)` through `line`, or
 * `unit <id>: <problem>` through `fail`. Every unit is tried even after a failure.
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
        const error = unitFailure(unitid, err);
        results.push({unitid, error});
        opts.fail?.(error.message);
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

/** The --json error envelope of cancel / release when a unit failed: the first failure (or a count), and every outcome. */
export function unitOpFailure(results: UnitOpResult[]): {error: {code: string; message: string}; results: UnitOpResult[]} {
  const failed = results.flatMap((r) => ('error' in r ? [r.error] : []));
  const message = failed.length === 1 ? failed[0].message : `${failed.length} of ${results.length} units failed: ${failed.map((f) => f.message).join('; ')}`;
  return {error: {code: failed[0]?.code ?? 'E_REMOTE', message}, results};
}

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
    fail: json ? undefined : (s) => process.stderr.write(`Error: ${s}\n`),
  });
  return {results, failed: results.some((r) => 'error' in r)};
}

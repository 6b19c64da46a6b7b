/**
 * What the `work` commands share: the --node flags and the client opener they select, the
 * receptorctl JSON layout, cancel/release over several units, following a unit's results.
 */
import {Flags} from '@oclif/core';
import {Writable} from 'node:stream';
import {openControlClient, type ControlFlagValues} from './control-command.js';
import {followResults, throughNode, unitError, workCancel, workList, workRelease, type ClientOpener, type WorkOpReply} from '../control/work-client.js';
import {errorCodeOf, errorMessage} from '../errors.js';
import {STATE_CANCELED, STATE_FAILED} from '../work/status.js';

/** `--node` / `--tls-client-name` of the work commands that can ask another node (through `connect NODE control`). */
export const nodeFlags = {
  node: Flags.string({
    summary: 'Ask this node instead: the node at --socket connects to its "control" service over the mesh.',
  }),
  'tls-client-name': Flags.string({
    dependsOn: ['node'],
    summary: 'tls-client item (in the configuration of the node at --socket) securing the mesh connection to --node.',
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
  const message = failed.length === 1 ? failed[0]!.message : `${failed.length} of ${results.length} units failed: ${failed.map((f) => f.message).join('; ')}`;
  return {error: {code: failed[0]?.code ?? 'E_REMOTE', message}, results};
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

/** How a followed unit ended (the --json shape shared by `work results` and `work submit -f`). */
export interface FollowJson {
  /** The unit's State after the stream ended (2 Succeeded, 3 Failed, 4 Canceled, ...). */
  state: number;
  stateName: string;
  detail: string;
  stdoutSize: number;
  /** Bytes of output received. */
  bytes: number;
  /** The output (UTF-8). */
  output: string;
}

export interface FollowOutcome {
  json: FollowJson;
  /** receptorctl's error text (printed after `ERROR: `) when the unit failed or was canceled. */
  error?: string;
}

/**
 * Copies a unit's results to standard output (or, with `collect`, into the returned JSON),
 * then reports how the unit ended. A Canceled unit's stream is stopped by the status poll.
 */
export async function followToOutput(open: ClientOpener, unitid: string, startpos: number, collect: boolean): Promise<FollowOutcome> {
  const chunks: Buffer[] = [];
  const out = collect
    ? new Writable({
        write(chunk: Buffer, _enc, cb) {
          chunks.push(chunk);
          cb();
        },
      })
    : process.stdout;
  const r = await followResults(open, unitid, out, {startpos});
  const st = r.status;
  const json: FollowJson = {
    state: st.State,
    stateName: st.StateName,
    detail: st.Detail,
    stdoutSize: st.StdoutSize,
    bytes: r.bytes,
    output: Buffer.concat(chunks).toString('utf8'),
  };
  let error: string | undefined;
  if (st.State === STATE_FAILED) error = `Remote unit failed: ${st.Detail ?? 'Unknown'}`;
  else if (r.canceled || st.State === STATE_CANCELED) error = `Remote unit was canceled: ${st.Detail ?? 'Unknown'}`;
  return {json, error};
}

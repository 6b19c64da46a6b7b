import {Args, Flags} from '@oclif/core';
import {Writable} from 'node:stream';
import {ControlCommand} from '../../core/cli/control-command.js';
import {followResults, type ClientOpener} from '../../core/control/work-client.js';
import {STATE_CANCELED, STATE_FAILED} from '../../core/work/status.js';
import {nodeFlags, workOpener} from './list.js';

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

export default class WorkResults extends ControlCommand {
  static override summary = 'Print the output of a unit of work.';
  static override description = `Sends "work results UNITID STARTPOS" and copies the unit's output (from byte STARTPOS) to standard output as it is produced, until the unit is complete. Then, on a new connection, asks for the unit's status: if it Failed, prints "ERROR: Remote unit failed: <detail>" on stderr and exits 1 (like receptorctl).

A Canceled unit's results stream never ends on the node's side, so while streaming a second connection polls "work status" every 0.5 s; once the unit is Canceled (and its output was copied) the stream is stopped, "ERROR: Remote unit was canceled: <detail>" is printed on stderr and the exit code is 1.

--node N reads from node N through "connect N control" (see "work list").

With --json the output is collected into {"unitid", "state", "stateName", "detail", "stdoutSize", "bytes", "output"} (exit code as above).`;
  static override examples = [
    '<%= config.bin %> work results AbC123xy --socket /tmp/foo.sock',
    '<%= config.bin %> work results AbC123xy --startpos 1024 --socket /tmp/foo.sock',
  ];
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

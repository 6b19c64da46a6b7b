import {Args, Flags} from '@oclif/core';
import {ControlCommand} from '../core/cli/control-command.js';
import {ReceptorError} from '../core/errors.js';

/** One reply of the `ping` control command (control-service.md §4.2). */
export interface PingReply {
  Success?: boolean;
  From?: string;
  Time?: number;
  TimeStr?: string;
  Error?: string;
  [key: string]: unknown;
}

/** receptorctl's line for one ping reply (naming `target` when the reply has no From); `error` says whether it goes to stderr. */
export function formatPingReply(r: PingReply, target: string): {error: boolean; line: string} {
  if (r.Success === true) return {error: false, line: `Reply from ${String(r.From)} in ${String(r.TimeStr)}`};
  const why = r.Error ?? 'unknown error';
  if (r.From !== undefined && r.TimeStr !== undefined) return {error: true, line: `ERROR: ${why} from ${r.From} in ${r.TimeStr}`};
  return {error: true, line: `ERROR: no reply from ${target}: ${why}`};
}

export default class Ping extends ControlCommand {
  static override summary = 'Ping a node of the mesh.';
  static override description = `Sends "ping NODE" COUNT times over one control connection, DELAY seconds apart, and prints "Reply from <node> in <time>" or "ERROR: <problem> from <node> in <time>" / "ERROR: no reply from NODE: <problem>" (e.g. "no route to node"; on stderr) for each. Exit code 2 if any ping failed. NODE "localhost" is the node itself.

With --json: the array of the node's replies, each {"Success": true, "From", "Time" (ns), "TimeStr"} or {"Success": false, "Error"}; the exit code is still 2 if any failed.`;
  static override examples = ['<%= config.bin %> ping bar --socket /tmp/foo.sock', '<%= config.bin %> ping bar --count 1 --json'];
  static override args = {
    node: Args.string({required: true, description: 'Node ID to ping.'}),
  };
  static override flags = {
    count: Flags.integer({min: 0, default: 4, summary: 'Number of pings to send.'}),
    delay: Flags.string({default: '1.0', summary: 'Seconds to wait between pings.'}),
  };

  async run(): Promise<PingReply[]> {
    const {args, flags} = await this.parse(Ping);
    const delay = Number(flags.delay);
    if (flags.delay.trim() === '' || !Number.isFinite(delay) || delay < 0) {
      throw new ReceptorError('E_USAGE', `--delay must be a non-negative number of seconds, not ${JSON.stringify(flags.delay)}`);
    }
    if (args.node.includes('\n')) throw new ReceptorError('E_USAGE', 'NODE must not contain a newline');
    const client = await this.openClient(flags);
    const replies: PingReply[] = [];
    let failed = false;
    try {
      for (let i = 0; i < flags.count; i++) {
        const r = (await client.command(`ping ${args.node}`)) as PingReply;
        replies.push(r);
        const {error, line} = formatPingReply(r, args.node);
        if (error) failed = true;
        if (!this.jsonEnabled()) {
          if (error) this.logToStderr(line);
          else this.log(line);
        }
        if (i < flags.count - 1) await this.sleep(delay * 1000);
      }
    } finally {
      client.close();
    }
    if (failed) {
      if (this.jsonEnabled()) this.logJson(replies);
      this.exit(2);
    }
    return replies;
  }
}

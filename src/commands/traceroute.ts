import {Args} from '@oclif/core';
import {ControlCommand} from '../core/cli/control-command.js';
import {ControlConnectError, parseReply} from '../core/control/client.js';
import {ReceptorError} from '../core/errors.js';

/** One hop of a traceroute reply (control-service.md §4.3). */
export interface TracerouteHop {
  From?: string;
  Time?: number;
  TimeStr?: string;
  Error?: string;
}

/** The full reply: hop index ("0", "1", …) → hop. */
export type TracerouteReply = Record<string, TracerouteHop>;

/** receptorctl's line for one hop; `error` says whether it goes to stderr. */
export function formatHop(n: string, h: TracerouteHop): {error: boolean; line: string} {
  if (h.Error !== undefined) return {error: true, line: `ERROR: ${n}: Error ${h.Error} from ${String(h.From)} in ${String(h.TimeStr)}`};
  return {error: false, line: `${n}: ${String(h.From)} in ${String(h.TimeStr)}`};
}

/** Hop keys in numeric order (non-numeric keys last, by text). */
export function hopOrder(keys: string[]): string[] {
  const num = (k: string) => (/^\d+$/.test(k) ? Number(k) : Number.POSITIVE_INFINITY);
  return [...keys].sort((a, b) => num(a) - num(b) || (a < b ? -1 : a > b ? 1 : 0));
}

export default class Traceroute extends ControlCommand {
  static override summary = 'Show the route to a node, hop by hop.';
  static override description = `Asks the node for a traceroute to NODE and prints "<n>: <node> in <time>" for each hop, or "ERROR: <n>: Error <problem> from <node> in <time>" (on stderr) for a failing hop, in hop order. Hops are printed as they are found when the node supports it (our nodes stream them; a Go node answers once, at the end).

With --json: the node's final reply, {"0": {"From", "Time" (ns), "TimeStr"[, "Error"]}, "1": {…}, …} (keys are hop numbers).`;
  static override examples = ['<%= config.bin %> traceroute baz --socket /tmp/foo.sock'];
  static override args = {
    node: Args.string({required: true, description: 'Node ID to trace the route to.'}),
  };

  async run(): Promise<TracerouteReply> {
    const {args, flags} = await this.parse(Traceroute);
    const json = this.jsonEnabled();
    const printed = new Set<string>();
    const show = (n: string, hop: TracerouteHop) => {
      if (printed.has(n)) return;
      printed.add(n);
      if (json) return;
      const {error, line} = formatHop(n, hop);
      if (error) this.logToStderr(line);
      else this.log(line);
    };
    const client = await this.openClient(flags);
    let final: TracerouteReply;
    try {
      // Extension: `streamhops` makes our node send {"Hop": n, ...} lines before the full reply;
      // a Go node ignores the key and sends the full reply only.
      await client.sendLine(JSON.stringify({command: 'traceroute', target: args.node, streamhops: true}));
      for (;;) {
        const line = await client.readLine();
        if (line === null) throw new ControlConnectError('The node closed the connection without replying');
        if (line.trim() === '') continue;
        const obj = parseReply(line);
        if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
          throw new ReceptorError('E_CONTROL_REPLY', `Unexpected traceroute reply from the node: ${line}`);
        }
        const rec = obj as Record<string, unknown>;
        if ('Hop' in rec && (typeof rec.Hop === 'string' || typeof rec.Hop === 'number')) {
          const {Hop, ...hop} = rec;
          show(String(Hop), hop as TracerouteHop);
          continue;
        }
        final = rec as TracerouteReply;
        break;
      }
    } finally {
      client.close();
    }
    for (const n of hopOrder(Object.keys(final))) show(n, final[n] ?? {});
    return final;
  }
}

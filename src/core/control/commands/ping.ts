/** `ping` and `traceroute` (control-service.md §4.2–§4.3). */
import {ping, traceroute, type PingResult} from '../../netceptor/ping.js';
import {asGoMap} from '../../go/json.js';
import {durationString} from '../../go/time.js';
import {ControlError} from '../protocol.js';
import type {CommandContext, ControlCommand} from '../server.js';
import type {Request} from '../protocol.js';
import {netceptorOf, stringArg} from './common.js';

function target(req: Request, what: 'ping' | 'traceroute'): string {
  if (req.form === 'text') {
    if (req.params === '') throw new ControlError(`no ${what} target`);
    return req.params;
  }
  return stringArg(req.args, 'target', `no ${what} target`, `${what} target must be string`);
}

export const pingCommand: ControlCommand = {
  name: 'ping',
  async execute(req, ctx) {
    const node = netceptorOf(ctx.rt);
    const r = await ping(node, target(req, 'ping'), {signal: ctx.signal});
    if (r.error !== undefined) return {Error: r.error, Success: false};
    return {From: r.from, Success: true, Time: r.timeNs, TimeStr: durationString(r.timeNs)};
  },
};

function hopReply(r: PingResult): Record<string, unknown> {
  const hop: Record<string, unknown> = {From: r.from, Time: r.timeNs, TimeStr: durationString(r.timeNs)};
  if (r.error !== undefined) hop.Error = r.error;
  return hop;
}

/**
 * Extension: with `"streamhops": true` in the JSON form, each hop is also written as its own
 * line `{"Hop":"<n>",…}` as it arrives, before the normal reply (Go ignores the key).
 */
export const tracerouteCommand: ControlCommand = {
  name: 'traceroute',
  async execute(req, ctx: CommandContext) {
    const node = netceptorOf(ctx.rt);
    const stream = req.form === 'json' && req.args.streamhops === true;
    const hops = await traceroute(node, target(req, 'traceroute'), {
      signal: ctx.signal,
      onHop: stream ? (i, r) => ctx.writeReply({Hop: String(i), ...hopReply(r)}) : undefined,
    });
    const reply: Record<string, unknown> = {};
    hops.forEach((h, i) => (reply[String(i)] = asGoMap(hopReply(h))));
    return reply;
  },
};

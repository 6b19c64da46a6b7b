/** `status` (control-service.md §4.1). */
import {availableParallelism, totalmem} from 'node:os';
import {implementationString, nodeReportedVersion} from '../../version.js';
import {asGoMap} from '../../go/json.js';
import {ControlError} from '../protocol.js';
import type {ControlCommand} from '../server.js';
import {netceptorOf} from './common.js';

export const statusCommand: ControlCommand = {
  name: 'status',
  execute(req, ctx) {
    let fields: string[] | undefined;
    if (req.form === 'text') {
      if (req.params !== '') throw new ControlError('status command does not take parameters');
    } else if ('requested_fields' in req.args) {
      const rf = req.args.requested_fields;
      // Go panics on a non-array (quirk Q2); answer with an error instead.
      if (!Array.isArray(rf) || rf.some((x) => typeof x !== 'string')) {
        throw new ControlError('each element of requested_fields must be a string');
      }
      fields = rf as string[];
    }
    const node = netceptorOf(ctx.rt);
    const all: Record<string, () => unknown> = {
      // What receptorctl compares with its own version (README, "Versions").
      Version: () => nodeReportedVersion(node),
      SystemCPUCount: () => availableParallelism(),
      SystemMemoryMiB: () => Math.floor(totalmem() / 1048576),
      NodeID: () => node.id,
      Connections: () => node.statusConnections(),
      RoutingTable: () => asGoMap(node.statusRoutingTable()),
      Advertisements: () => node.statusAdvertisements().map((a) => ({...a, Tags: a.Tags === null ? null : asGoMap(a.Tags)})),
      KnownConnectionCosts: () => asGoMap(Object.fromEntries(Object.entries(node.knownConnectionCosts()).map(([k, v]) => [k, asGoMap(v)]))),
    };
    const reply: Record<string, unknown> = {};
    for (const [k, get] of Object.entries(all)) if (!fields || fields.includes(k)) reply[k] = get();
    // Our own version, only when asked for by name: a plain `status` keeps Go's field set
    // (receptorctl prints any extra field of it as "Additional data").
    if (fields?.includes('Implementation')) reply.Implementation = implementationString();
    return reply;
  },
};

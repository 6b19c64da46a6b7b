import {ControlCommand} from '../core/cli/control-command.js';
import {ReceptorError} from '../core/errors.js';
import {formatStatus, type StatusReply} from '../core/cli/status-table.js';

export default class Status extends ControlCommand {
  static override summary = "Show a node's view of the mesh.";
  static override description = `Sends "status" to the node's control service and prints: node ID, version, CPU count and memory; the node's direct connections and their costs; the routing table (destination and next hop); the known connection costs of the whole mesh; every advertised service (node, service, type Datagram/Stream/StreamTLS, last advertisement time in UTC, tags); and the work types each node offers (secure = signature verified). Tables are sorted by node and service name.

With --json the node's reply is printed as is: {"NodeID", "Version", "SystemCPUCount", "SystemMemoryMiB", "Connections": [{"NodeID", "Cost"}], "RoutingTable": {destination: next hop}, "KnownConnectionCosts": {node: {peer: cost}}, "Advertisements": [{"NodeID", "Service", "Time", "ConnType", "Tags", "WorkCommands": [{"WorkType", "Secure"}] | null}]} (the order of Advertisements is not meaningful).`;
  static override examples = ['<%= config.bin %> status --socket /var/run/receptor/receptor.sock', 'RECEPTORCTL_SOCKET=tcp://127.0.0.1:2223 <%= config.bin %> status --json'];

  async run(): Promise<StatusReply> {
    const {flags} = await this.parse(Status);
    const client = await this.openClient(flags);
    let reply: unknown;
    try {
      reply = await client.command('status');
    } finally {
      client.close();
    }
    if (typeof reply !== 'object' || reply === null || Array.isArray(reply)) {
      throw new ReceptorError('E_CONTROL_REPLY', `Unexpected status reply from the node: ${JSON.stringify(reply)}`);
    }
    const status = reply as StatusReply;
    if (!this.jsonEnabled()) for (const line of formatStatus(status)) this.log(line);
    return status;
  }
}

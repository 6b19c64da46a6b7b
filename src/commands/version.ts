import {ControlCommand, optionalControlFlags} from '../core/cli/control-command.js';
import {ReceptorError} from '../core/errors.js';
import {receptorVersion} from '../core/version.js';

export interface VersionResult {
  /** This program's version. */
  version: string;
  /** The Node.js version running it. */
  node: string;
  platform: string;
  /** With --socket: the connected node's ID and its `Version` from `status`. */
  nodeId?: string;
  nodeVersion?: string;
}

export default class Version extends ControlCommand {
  static override summary = 'Show the receptor version (and a running node\'s, with --socket).';
  static override description = `Without --socket (or RECEPTORCTL_SOCKET) prints this program's version. With a socket it also asks the node for its version, like "receptorctl version", and prints both:

  receptor (this program)  0.1.0
  node foo                 v1.4.9+git52be4019

With --json: {"version", "node" (the Node.js version), "platform", "nodeId"?, "nodeVersion"?}.`;
  static override examples = ['<%= config.bin %> version', '<%= config.bin %> version --socket /tmp/foo.sock --json'];
  static override baseFlags = optionalControlFlags;

  async run(): Promise<VersionResult> {
    const {flags} = await this.parse(Version);
    const result: VersionResult = {version: receptorVersion(), node: process.version, platform: `${process.platform}-${process.arch}`};
    if (!flags.socket) {
      this.log(result.version);
      return result;
    }
    const client = await this.openClient(flags);
    let reply: unknown;
    try {
      reply = await client.jsonCommand({command: 'status', requested_fields: ['Version']});
    } finally {
      client.close();
    }
    const v = (reply as {Version?: unknown} | null)?.Version;
    if (typeof v !== 'string') throw new ReceptorError('E_REMOTE', `The node did not report its version (reply ${JSON.stringify(reply)})`);
    result.nodeId = client.nodeId;
    result.nodeVersion = v;
    const rows: Array<[string, string]> = [
      ['receptor (this program)', result.version],
      [`node ${client.nodeId}`, v === '' ? '(unknown)' : v],
    ];
    const w = Math.max(...rows.map(([label]) => label.length));
    for (const [label, value] of rows) this.log(`${label.padEnd(w)}  ${value}`);
    return result;
  }
}

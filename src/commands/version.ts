import {ControlCommand, optionalControlFlags} from '../core/cli/control-command.js';
import {ReceptorError} from '../core/errors.js';
import {alignRows, receptorVersion, reportedVersion, versionRows, type ReportedVersionSource} from '../core/version.js';

export interface VersionResult {
  /** This program's version (receptor-mesh). */
  version: string;
  /** The `Version` our nodes report in `status` when started from this environment (by default the receptor release of the newest receptorctl tested, or $RECEPTOR_REPORTED_VERSION). */
  reportedVersion: string;
  reportedVersionSource: ReportedVersionSource;
  /** The Node.js version running it. */
  node: string;
  platform: string;
  /** With --socket: the connected node's ID and its `Version` from `status`. */
  nodeId?: string;
  nodeVersion?: string;
  /** With --socket, when the node is one of ours: its `Implementation` (`receptor-mesh 0.1.0`). */
  nodeImplementation?: string;
}

/** The probe: receptorctl's `Version`, plus our own `Implementation` (a Go node leaves it out). */
const PROBE = {command: 'status', requested_fields: ['Version', 'Implementation']};

export default class Version extends ControlCommand {
  static override summary = "Show the receptor version (and a running node's, with --socket).";
  static override description = `Prints this program's version and the version our nodes report as "Version" in status (what receptorctl compares with its own version): by default the receptor release of the newest receptorctl we test with, else RECEPTOR_REPORTED_VERSION, or the node item's reportedversion. With --socket (or RECEPTORCTL_SOCKET) it also asks the node, like "receptorctl version", and prints its Version (and, for a node of ours, its implementation):

  receptor-mesh (this program)  0.1.0
  reported as Version           1.6.9 (default: the release of the newest receptorctl tested)
  node foo                      1.6.9 (receptor-mesh 0.1.0)

With --json: {"version", "reportedVersion", "reportedVersionSource" ("default" | "environment"), "node" (the Node.js version), "platform", "nodeId"?, "nodeVersion"?, "nodeImplementation"?}.`;
  static override examples = ['<%= config.bin %> version', '<%= config.bin %> version --socket /tmp/foo.sock --json'];
  static override baseFlags = optionalControlFlags;

  async run(): Promise<VersionResult> {
    const {flags} = await this.parse(Version);
    const reported = reportedVersion();
    const result: VersionResult = {
      version: receptorVersion(),
      reportedVersion: reported.version,
      reportedVersionSource: reported.source,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    };
    const rows = versionRows(result);
    if (flags.socket) {
      const client = await this.openClient(flags);
      let reply: unknown;
      try {
        reply = await client.jsonCommand(PROBE);
      } finally {
        client.close();
      }
      const {Version: v, Implementation: impl} = (reply ?? {}) as {Version?: unknown; Implementation?: unknown};
      if (typeof v !== 'string') throw new ReceptorError('E_CONTROL_REPLY', `Node ${client.nodeId} did not report its version (reply ${JSON.stringify(reply)})`);
      result.nodeId = client.nodeId;
      result.nodeVersion = v;
      if (typeof impl === 'string') result.nodeImplementation = impl;
      rows.push([`node ${client.nodeId}`, `${v === '' ? '(unknown)' : v}${typeof impl === 'string' ? ` (${impl})` : ''}`]);
    }
    for (const line of alignRows(rows)) this.log(line);
    return result;
  }
}

import {ReceptorCommand} from '../../core/cli/base.js';
import {runDaemon} from '../../core/daemon.js';

export default class NodeStart extends ReceptorCommand {
  static override summary = 'Run a receptor node.';
  static override description = `Takes Go receptor's action syntax: --config/-c FILE (repeatable, merged in order) and --<action> key=value ... items, e.g. --node id=foo --tcp-listener port=2222 --log-level debug. "receptor -c FILE" and "receptor --node ..." are the same as "receptor node start ...".

The daemon logs to stderr: text lines on a terminal, JSON lines (pino) otherwise; --log-format text|json|auto or RECEPTOR_LOG_FORMAT chooses. It stops cleanly on SIGINT/SIGTERM; a second signal forces exit.

--quic-engine auto|quiche|ts chooses the QUIC engine of mesh streams (above RECEPTOR_QUIC_ENGINE and the node item's quicengine field): auto uses the native quiche binding when it loads on this platform, else the TypeScript engine. The node logs its choice at start.`;
  static override examples = [
    '<%= config.bin %> node start -c /etc/receptor/receptor.conf',
    '<%= config.bin %> node start --node id=foo --tcp-listener port=2222 --log-level debug',
    '<%= config.bin %> -c receptor.conf',
    '<%= config.bin %> -c receptor.conf --log-format json',
    '<%= config.bin %> -c receptor.conf --quic-engine ts',
  ];
  static override strict = false;
  static override enableJsonFlag = false;

  async run(): Promise<void> {
    const code = await runDaemon({
      argv: this.argv,
      bin: this.config.bin,
      root: this.config.root,
      progress: process.stdout.isTTY === true,
      selfCommand: [process.execPath, ...process.execArgv, process.argv[1]!], // node runs a script
    });
    if (code !== 0) this.exit(code);
  }
}

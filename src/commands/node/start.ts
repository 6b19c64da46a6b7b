import {ReceptorCommand} from '../../core/cli/base.js';
import {runDaemon} from '../../core/daemon.js';

export default class NodeStart extends ReceptorCommand {
  static override summary = 'Run a receptor node.';
  static override description = `Takes Go receptor's action syntax: --config/-c FILE (repeatable, merged in order) and --<action> key=value ... items, e.g. --node id=foo --tcp-listener port=2222 --log-level debug. "receptor -c FILE" and "receptor --node ..." are the same as "receptor node start ...".

The daemon logs to stderr: text lines on a terminal, JSON lines (pino) otherwise; --log-format text|json|auto or RECEPTOR_LOG_FORMAT chooses. It stops cleanly on SIGINT/SIGTERM; a second signal forces exit.`;
  static override examples = [
    '<%= config.bin %> node start -c /etc/receptor/receptor.conf',
    '<%= config.bin %> node start --node id=foo --tcp-listener port=2222 --log-level debug',
    '<%= config.bin %> -c receptor.conf',
    '<%= config.bin %> -c receptor.conf --log-format json',
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

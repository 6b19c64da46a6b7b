import {Args, Flags} from '@oclif/core';
import {ControlCommand} from '../core/cli/control-command.js';
import {connectError} from '../core/control/work-client.js';
import {ReceptorError} from '../core/errors.js';

export default class Connect extends ControlCommand {
  static override summary = 'Connect the terminal to a service on a node of the mesh.';
  static override description = `Asks the node to open a stream to SERVICE on NODE ("connect NODE SERVICE [TLSNAME]") and then relays bytes: standard input to the service (end of input half-closes the connection, so the service sees EOF and can still answer) and the service's output to standard output, until the service closes the stream.

--tls-client-name names a tls-client item in the NODE's configuration that secures the mesh stream (receptorctl calls this "connect --tls-client"); here --tls-client selects the TLS settings of the control socket itself, like receptorctl's global option.

Connecting to another node's control service ("connect NODE control") lets you type control commands to that node. The relay is raw bytes, so --json is not supported.`;
  static override examples = [
    'echo status | <%= config.bin %> connect bar control --socket /tmp/foo.sock',
    '<%= config.bin %> connect bar ctltls --tls-client-name mesh-client --socket /tmp/foo.sock',
  ];
  static override args = {
    node: Args.string({required: true, description: 'Node to connect to ("localhost" = the node itself).'}),
    service: Args.string({required: true, description: 'Mesh service name on that node.'}),
  };
  static override flags = {
    'tls-client-name': Flags.string({
      default: '',
      summary: "Name of a tls-client item in the node's configuration used for the mesh stream.",
    }),
    raw: Flags.boolean({char: 'r', summary: 'Put the terminal in raw mode while connected.'}),
  };

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Connect);
    if (this.jsonEnabled()) throw new ReceptorError('E_USAGE', 'connect relays raw bytes; --json is not supported');
    for (const [what, v] of [
      ['NODE', args.node],
      ['SERVICE', args.service],
      ['--tls-client-name', flags['tls-client-name']],
    ] as const) {
      if (v.includes(' ') || v.includes('\n')) throw new ReceptorError('E_USAGE', `${what} must not contain spaces or newlines`);
    }
    const client = await this.openClient(flags);
    let reply: string;
    try {
      // Like receptorctl: always three words, so no TLS name leaves a trailing space.
      reply = (await client.request(`connect ${args.node} ${args.service} ${flags['tls-client-name']}`)).trim();
    } catch (err) {
      client.close();
      throw err;
    }
    if (!reply.startsWith('Connecting')) {
      client.close();
      throw connectError(args.node, args.service, reply);
    }
    const {socket, head, ended} = client.detach();
    await bridge(socket, head, ended, flags.raw);
  }
}

/** Relays stdin → socket (half-close at EOF) and socket → stdout until the socket's output ends. */
function bridge(socket: import('node:net').Socket, head: Buffer, ended: boolean, raw: boolean): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const stdin = process.stdin;
    const stdout = process.stdout;
    const rawMode = raw && stdin.isTTY === true;
    if (rawMode) stdin.setRawMode(true);
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      if (rawMode) stdin.setRawMode(false);
      stdin.unpipe(socket);
      stdin.pause();
      stdin.destroy();
      socket.destroy();
      if (err) reject(new ReceptorError('E_CONNECT', `The connection to the node was lost: ${err.message}`, {cause: err}));
      else resolve();
    };
    if (head.length > 0) stdout.write(head);
    if (ended) {
      stdout.write('', () => finish());
      return;
    }
    socket.on('error', (err) => finish(err));
    socket.on('end', () => {
      // Everything the service sent is written; stop reading stdin too (like receptorctl).
      stdout.write('', () => finish());
    });
    socket.pipe(stdout, {end: false});
    stdin.on('end', () => {
      if (!socket.destroyed) socket.end();
    });
    stdin.on('error', () => {
      if (!socket.destroyed) socket.end();
    });
    stdin.pipe(socket, {end: false});
  });
}

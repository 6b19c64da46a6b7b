/**
 * End-to-end: the real CLI (bin/run.js, built code) as a control-service client, against a
 * scripted server that answers like the Go node in test/vectors/captures/control.sessions.json.
 */
import {expect} from 'chai';
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import * as net from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {GO_RECEPTOR_VERSION} from '../../src/core/version.js';
import {Daemon, runCli, waitFor} from '../support/cli.js';

interface CapturedSession {
  conn: number;
  exchange: Array<{dir: string; data?: string; event?: string}>;
}
const SESSIONS = JSON.parse(readFileSync(new URL('../vectors/captures/control.sessions.json', import.meta.url), 'utf8')) as CapturedSession[];
/** The n-th reply line the node sent in captured connection `conn` (0 = greeting). */
function capturedReply(conn: number, n: number): string {
  const lines = SESSIONS.find((s) => s.conn === conn)!
    .exchange.filter((e) => e.dir === 'foo->receptorctl' && e.data)
    .flatMap((e) => e.data!.split('\n').slice(0, -1));
  return lines[n];
}
const STATUS = capturedReply(2, 2);
const PING_OK = capturedReply(4, 2);
const PING_FAIL = capturedReply(27, 2);
const TRACE = capturedReply(5, 2);

/** Reply for one request line: text to write (may hold several lines), or a function doing it. */
type Responder = (line: string, sock: net.Socket, conn: number) => string | undefined | Promise<string | undefined>;

/** A control server that greets, records every request line, and answers through `respond`. */
class FakeNode {
  readonly requests: string[][] = [];
  private readonly sockets = new Set<net.Socket>();
  private constructor(
    readonly server: net.Server,
    readonly socketPath: string,
  ) {}

  static async start(respond: Responder, nodeId = 'foo'): Promise<FakeNode> {
    const path = join(mkdtempSync(join(tmpdir(), 'ctl-e2e-')), 'foo.sock');
    let node: FakeNode | undefined;
    const server = net.createServer({allowHalfOpen: true}, (sock) => {
      const conn = node!.requests.length;
      node!.requests.push([]);
      node!.sockets.add(sock);
      sock.on('close', () => node!.sockets.delete(sock));
      sock.on('error', () => {});
      sock.write(`Receptor Control, node ${nodeId}\n`);
      let buf = '';
      let chain = Promise.resolve();
      sock.on('data', (d: Buffer) => {
        buf += d.toString('utf8');
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          node!.requests[conn].push(line);
          chain = chain.then(async () => {
            const out = await respond(line, sock, conn);
            if (out !== undefined && !sock.destroyed) sock.write(out);
          });
        }
      });
      sock.on('end', () => void chain.then(() => sock.end()));
    });
    await new Promise<void>((r) => server.listen(path, r));
    node = new FakeNode(server, path);
    return node;
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}

const VERSION_PROBE = '{"command":"status","requested_fields":["Version","Implementation"]}';

describe('e2e: control client commands', function () {
  this.timeout(60_000);
  let node: FakeNode | undefined;
  afterEach(async () => {
    await node?.close();
    node = undefined;
  });

  describe('status', () => {
    const respond: Responder = (line) => (line === 'status' ? STATUS + '\n' : 'ERROR: Unknown command\n');

    it('prints a sorted, readable summary', async () => {
      node = await FakeNode.start(respond);
      const res = await runCli(['status', '--socket', node.socketPath]);
      expect(res.stderr).to.equal('');
      expect(res.code).to.equal(0);
      expect(res.stdout).to.equal(
        [
          'Node ID:            foo',
          'Version:            v1.4.9+git52be4019',
          'System CPU count:   2',
          'System memory:      24105 MiB',
          '',
          'Connections (1)',
          '  Node  Cost',
          '  bar   1',
          '',
          'Routing table (1)',
          '  Destination  Next hop',
          '  bar          bar',
          '',
          'Known connection costs (2)',
          '  Node  Connections (peer: cost)',
          '  bar   foo: 1',
          '  foo   bar: 1',
          '',
          'Services (2)',
          '  Node  Service  Type    Last seen (UTC)      Tags',
          '  bar   control  Stream  2026-11-25 08:27:23  type=Control Service',
          '  foo   control  Stream  2026-11-25 08:27:25  type=Control Service',
          '',
          'Work types (2)',
          '  Node  Work types',
          '  bar   echo, sleep',
          '  foo   echo, sleep',
          '',
        ].join('\n'),
      );
      expect(res.stdout.split('\n').every((l) => l.length <= 80)).to.equal(true);
      expect(node.requests).to.deep.equal([['status']]);
    });

    it('--json prints the raw reply; RECEPTORCTL_SOCKET replaces --socket', async () => {
      node = await FakeNode.start(respond);
      const res = await runCli(['status', '--json'], {env: {RECEPTORCTL_SOCKET: `unix://${node.socketPath}`}});
      expect(res.code).to.equal(0);
      expect(JSON.parse(res.stdout)).to.deep.equal(JSON.parse(STATUS));
    });

    it('long tags wrap, unknown ConnType and extra keys are shown, empty sections say none', async () => {
      const reply = {
        NodeID: 'solo',
        Version: '',
        SystemCPUCount: 1,
        SystemMemoryMiB: 512,
        Connections: [],
        RoutingTable: {},
        KnownConnectionCosts: {},
        Advertisements: [
          {
            NodeID: 'solo',
            Service: 'iprouter',
            Time: '2026-11-25T08:27:25.122345915Z',
            ConnType: 0,
            Tags: {network: '10.0.0.0/24', route_local: '10.0.0.1/32', route_1: '192.168.100.0/24', route_2: '172.16.0.0/16'},
            WorkCommands: [
              {WorkType: 'signed', Secure: true},
              {WorkType: 'echo', Secure: false},
            ],
          },
          {NodeID: 'solo', Service: 'odd', Time: 'yesterday', ConnType: 7, Tags: null, WorkCommands: null},
        ],
        Extra: {x: 1},
      };
      node = await FakeNode.start(() => JSON.stringify(reply) + '\n');
      const res = await runCli(['status', '-s', node.socketPath]);
      expect(res.code).to.equal(0);
      const lines = res.stdout.split('\n');
      expect(lines.every((l) => l.length <= 80)).to.equal(true);
      expect(res.stdout).to.include('Version:            (unknown)\n');
      expect(res.stdout).to.include('Connections: none\n');
      expect(res.stdout).to.include('Routing table: none\n');
      expect(res.stdout).to.include('Known connection costs: none\n');
      const pad = ' '.repeat(52);
      expect(res.stdout).to.include(
        '  Node  Service   Type         Last seen (UTC)      Tags\n' +
          '  solo  iprouter  Datagram     2026-11-25 08:27:25  network=10.0.0.0/24,\n' +
          `${pad}route_1=192.168.100.0/24,\n${pad}route_2=172.16.0.0/16,\n${pad}route_local=10.0.0.1/32\n`,
      );
      expect(res.stdout).to.include('  solo  odd       Unknown (7)  yesterday            -\n');
      expect(res.stdout).to.include('  Node  Work types  Secure work types\n  solo  echo        signed\n');
      expect(res.stdout).to.include('Additional data returned by the node:\n{\n  "Extra": {\n    "x": 1\n  }\n}\n');
    });
  });

  describe('ping', () => {
    it('--count 2 on one connection; one failure gives exit code 2 and ERROR on stderr', async () => {
      let n = 0;
      node = await FakeNode.start((line) => (line === 'ping bar' ? (n++ === 0 ? PING_OK : PING_FAIL) + '\n' : 'ERROR: Unknown command\n'));
      const res = await runCli(['ping', 'bar', '--count', '2', '--delay', '0.05', '--socket', node.socketPath]);
      expect(res.code).to.equal(2);
      expect(res.stdout).to.equal('Reply from bar in 277.557µs\n');
      expect(res.stderr).to.equal('ERROR: no reply from bar: no route to node\n');
      expect(node.requests).to.deep.equal([['ping bar', 'ping bar']]);
    });

    it('all replies good: exit 0; --json gives the replies (and still exit 2 on failure)', async () => {
      node = await FakeNode.start((line) => (line === 'ping bar' ? PING_OK : PING_FAIL) + '\n');
      const ok = await runCli(['ping', 'bar', '--count', '3', '--delay', '0', '--socket', node.socketPath]);
      expect(ok.code).to.equal(0);
      expect(ok.stdout).to.equal('Reply from bar in 277.557µs\n'.repeat(3));
      const js = await runCli(['ping', 'nosuchnode', '--count', '1', '--json', '--socket', node.socketPath]);
      expect(js.code).to.equal(2);
      expect(JSON.parse(js.stdout)).to.deep.equal([{Error: 'no route to node', Success: false}]);
    });

    it('an ERROR line from the node is an error (exit 1)', async () => {
      node = await FakeNode.start(() => 'ERROR: no ping target\n');
      const res = await runCli(['ping', 'x', '--count', '1', '--socket', node.socketPath]);
      expect(res.code).to.equal(1);
      expect(res.stderr).to.equal('Error: no ping target\n');
      const js = await runCli(['ping', 'x', '--count', '1', '--json', '--socket', node.socketPath]);
      expect(js.code).to.equal(1);
      expect(JSON.parse(js.stdout)).to.deep.equal({error: {code: 'E_REMOTE', message: 'no ping target'}});
    });
  });

  describe('traceroute', () => {
    const request = '{"command":"traceroute","target":"baz","streamhops":true}';

    it('prints streamed hops as they arrive, then only the hops not printed yet', async () => {
      let cli: Daemon | undefined;
      node = await FakeNode.start(async (line, sock) => {
        if (line !== request) return 'ERROR: Unknown command\n';
        sock.write('{"Hop":"0","From":"foo","Time":51234,"TimeStr":"51.234µs"}\n');
        // The CLI must show hop 0 before anything else arrives.
        await waitFor(
          () => cli && cli.stdout.includes('0: foo in 51.234µs\n'),
          20_000,
          () => 'hop 0 on stdout',
        );
        sock.write('{"Hop":"1","From":"bar","Time":902113,"TimeStr":"902.113µs"}\n');
        await waitFor(
          () => cli && cli.stdout.includes('1: bar in 902.113µs\n'),
          20_000,
          () => 'hop 1 on stdout',
        );
        return (
          '{"0":{"From":"foo","Time":51234,"TimeStr":"51.234µs"},"1":{"From":"bar","Time":902113,"TimeStr":"902.113µs"},' +
          '"2":{"Error":"no route to node","From":"bar","Time":1131,"TimeStr":"1.131µs"}}\n'
        );
      });
      cli = new Daemon(['traceroute', 'baz', '--socket', node.socketPath]);
      const res = await cli.exited;
      expect(res.code).to.equal(0);
      expect(res.stdout).to.equal('0: foo in 51.234µs\n1: bar in 902.113µs\n');
      expect(res.stderr).to.equal('ERROR: 2: Error no route to node from bar in 1.131µs\n');
    });

    it('a Go node ignores streamhops and answers once: hops in numeric order', async () => {
      const hops: Record<string, unknown> = {};
      for (let i = 0; i <= 10; i++) hops[String(i)] = {From: `n${i}`, Time: 1000 * (i + 1), TimeStr: `${i + 1}µs`};
      const keys = Object.keys(hops).sort(); // Go's byte-wise order: 0, 1, 10, 2, …
      const goReply = '{' + keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(hops[k])}`).join(',') + '}';
      node = await FakeNode.start((line) => (JSON.parse(line).command === 'traceroute' ? goReply + '\n' : 'ERROR: Unknown command\n'));
      const res = await runCli(['traceroute', 'n10', '--socket', node.socketPath]);
      expect(res.code).to.equal(0);
      expect(res.stdout).to.equal(Array.from({length: 11}, (_, i) => `${i}: n${i} in ${i + 1}µs\n`).join(''));
    });

    it('the captured reply, and --json gives the final reply object', async () => {
      node = await FakeNode.start(() => TRACE + '\n');
      const res = await runCli(['traceroute', 'bar', '--socket', node.socketPath]);
      expect(res.stdout).to.equal('0: foo in 97.287µs\n1: bar in 264.367µs\n'); // receptorctl printed the same
      const js = await runCli(['traceroute', 'bar', '--json', '--socket', node.socketPath]);
      expect(js.code).to.equal(0);
      expect(JSON.parse(js.stdout)).to.deep.equal(JSON.parse(TRACE));
    });
  });

  describe('reload', () => {
    const cases: Array<[string, number, string]> = [
      ['{"Success":true}', 0, ''],
      [
        '{"Error":"a non-reloadable config action \'work-command\' was modified or added. Must restart receptor for these changes to take effect ERRORCODE 3","Success":false}',
        3,
        "ERROR: a non-reloadable config action 'work-command' was modified or added. Must restart receptor for these changes to take effect ERRORCODE 3\n",
      ],
      [
        '{"Error":"no configuration file was provided, reload function not set ERRORCODE 4","Success":false}',
        4,
        'ERROR: no configuration file was provided, reload function not set ERRORCODE 4\n',
      ],
      ['{"Error":"something else","Success":false}', 5, 'ERROR: something else\n'],
    ];
    for (const [reply, code, stderr] of cases) {
      it(`exit ${code} for ${reply.slice(0, 40)}…`, async () => {
        node = await FakeNode.start((line) => (line === 'reload' ? reply + '\n' : 'ERROR: Unknown command\n'));
        const res = await runCli(['reload', '--socket', node.socketPath]);
        expect(res.code).to.equal(code);
        expect(res.stdout).to.equal(code === 0 ? 'Reload successful\n' : '');
        expect(res.stderr).to.equal(stderr);
        const js = await runCli(['reload', '--json', '--socket', node.socketPath]);
        expect(js.code).to.equal(code);
        expect(JSON.parse(js.stdout)).to.deep.equal(JSON.parse(reply));
      });
    }
  });

  describe('version', () => {
    const ours = (): string => JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version as string;
    const head = () => `receptor-mesh (this program)  ${ours()}\nreported as Version           ${GO_RECEPTOR_VERSION} (default: the release of the newest receptorctl tested)\n`;

    it("with --socket also shows the node's version (receptorctl's probe plus Implementation)", async () => {
      node = await FakeNode.start((line) => (line === VERSION_PROBE ? '{"Version":"v1.4.9+git52be4019"}\n' : 'ERROR: Unknown command\n'));
      const res = await runCli(['version', '--socket', node.socketPath], {env: {RECEPTOR_REPORTED_VERSION: undefined}});
      expect(res.code).to.equal(0);
      expect(res.stdout).to.equal(`${head()}node foo                      v1.4.9+git52be4019\n`);
      expect(node.requests).to.deep.equal([[VERSION_PROBE]]);
      const js = await runCli(['version', '--json'], {env: {RECEPTORCTL_SOCKET: node.socketPath}});
      expect(JSON.parse(js.stdout)).to.deep.include({version: ours(), nodeId: 'foo', nodeVersion: 'v1.4.9+git52be4019'});
      expect(JSON.parse(js.stdout)).to.not.have.property('nodeImplementation');
    });

    it('a node of ours: its Implementation is shown next to its Version', async () => {
      node = await FakeNode.start((line) => (line === VERSION_PROBE ? '{"Implementation":"receptor-mesh 9.9.9","Version":"1.6.9"}\n' : 'ERROR: Unknown command\n'));
      const res = await runCli(['version', '--socket', node.socketPath], {env: {RECEPTOR_REPORTED_VERSION: undefined}});
      expect(res.stdout).to.equal(`${head()}node foo                      1.6.9 (receptor-mesh 9.9.9)\n`);
      const js = await runCli(['version', '--json', '--socket', node.socketPath]);
      expect(JSON.parse(js.stdout)).to.deep.include({nodeVersion: '1.6.9', nodeImplementation: 'receptor-mesh 9.9.9'});
    });

    it('a node that does not report a version: an error naming the node', async () => {
      node = await FakeNode.start(() => '{}\n');
      const res = await runCli(['version', '--socket', node.socketPath]);
      expect(res.code).to.equal(1);
      expect(res.stderr).to.equal('Error: Node foo did not report its version (reply {})\n');
    });

    it('without a socket prints our version and the one our nodes report', async () => {
      const res = await runCli(['version'], {env: {RECEPTORCTL_SOCKET: undefined, RECEPTOR_REPORTED_VERSION: undefined}});
      expect(res.code).to.equal(0);
      expect(res.stdout).to.equal(head());
    });
  });

  describe('connect', () => {
    it('relays stdin to the service and the service to stdout; stdin EOF half-closes', async () => {
      node = await FakeNode.start(() => undefined);
      // Replace the line responder: after "connect" the connection is raw.
      node.server.removeAllListeners('connection');
      const seen: string[] = [];
      node.server.on('connection', (sock: net.Socket) => {
        sock.write('Receptor Control, node foo\n');
        let buf = '';
        let raw = false;
        sock.on('data', (d: Buffer) => {
          if (raw) {
            sock.write(d.toString().toUpperCase());
            return;
          }
          buf += d.toString();
          const i = buf.indexOf('\n');
          if (i < 0) return;
          seen.push(buf.slice(0, i));
          raw = true;
          sock.write('Connecting\nhello from bar\n');
          const rest = buf.slice(i + 1);
          if (rest) sock.write(rest.toUpperCase());
        });
        sock.on('end', () => sock.end('bye\n'));
      });
      const res = await runCli(['connect', 'bar', 'echosvc', '--socket', node.socketPath], {input: 'ping\npong\n'});
      expect(res.code).to.equal(0);
      expect(res.stdout).to.equal('hello from bar\nPING\nPONG\nbye\n');
      expect(seen).to.deep.equal(['connect bar echosvc ']); // receptorctl's trailing space
    });

    it('an ERROR reply is an error; --json is refused', async () => {
      node = await FakeNode.start(() => 'ERROR: INTERNAL_ERROR (local): no route to node\n');
      const res = await runCli(['connect', 'nope', 'control', '--tls-client-name', 'tlsc', '--socket', node.socketPath]);
      expect(res.code).to.equal(1);
      expect(res.stderr).to.equal('Error: cannot reach node nope: no route to node\n');
      expect(node.requests).to.deep.equal([['connect nope control tlsc']]);
      const js = await runCli(['connect', 'bar', 'control', '--json', '--socket', node.socketPath]);
      expect(js.code).to.equal(1);
      expect(JSON.parse(js.stdout).error.code).to.equal('E_USAGE');
    });
  });

  describe('connection problems', () => {
    it('a --socket path that is a file, not a listening socket, is named once with the reason', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'receptor-ctl-'));
      const file = join(dir, 'not-a.sock');
      writeFileSync(file, 'x');
      const res = await runCli(['status', '--socket', file]);
      expect(res.code).to.equal(1);
      expect(res.stderr).to.equal(`Error: Could not connect to socket ${file}: connection refused (ECONNREFUSED): no node is listening on it\n`);
      const missing = await runCli(['status', '--socket', join(dir, 'gone.sock'), '--json']);
      expect(JSON.parse(missing.stdout)).to.deep.equal({error: {code: 'E_CONNECT', message: `Socket path does not exist: ${join(dir, 'gone.sock')}`}});
    });

    it('connection refused: exit 1 with receptorctl-like text, JSON error with --json', async () => {
      const probe = net.createServer();
      await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
      const port = (probe.address() as net.AddressInfo).port;
      await new Promise((r) => probe.close(r));
      const res = await runCli(['status', '--socket', `tcp://127.0.0.1:${port}`]);
      expect(res.code).to.equal(1);
      expect(res.stderr).to.equal(`Error: Could not connect to host 127.0.0.1 port ${port}: connection refused (ECONNREFUSED)\n`);
      expect(res.stdout).to.equal('');
      const js = await runCli(['ping', 'bar', '--json', '--socket', `tcp://127.0.0.1:${port}`]);
      expect(js.code).to.equal(1);
      expect(JSON.parse(js.stdout).error.code).to.equal('E_CONNECT');
    });

    it('usage errors: missing socket, bad address, --config without --tls-client', async () => {
      const none = await runCli(['status'], {env: {RECEPTORCTL_SOCKET: undefined}});
      expect(none.code).to.not.equal(0);
      expect(none.stderr).to.match(/socket/);
      const bad = await runCli(['status', '--socket', 'tcp://nohost']);
      expect(bad.code).to.equal(1);
      expect(bad.stderr).to.equal('Error: Invalid socket address tcp://nohost\n');
      const cfg = await runCli(['status', '--socket', 'tls://localhost:1', '--config', 'x.yml'], {env: {RECEPTORCTL_TLSCLIENT: undefined}});
      expect(cfg.code).to.equal(1);
      expect(cfg.stderr).to.equal('Error: --config x.yml needs --tls-client NAME (the tls-client item of that file to connect with)\n');
    });

    it('a server that is not a control service', async () => {
      node = await FakeNode.start(() => undefined, 'x');
      node.server.removeAllListeners('connection');
      node.server.on('connection', (sock: net.Socket) => sock.end('220 smtp.example.com ESMTP\n'));
      const res = await runCli(['status', '--socket', node.socketPath]);
      expect(res.code).to.equal(1);
      expect(res.stderr).to.equal('Error: Failed to connect to Receptor socket: unexpected greeting "220 smtp.example.com ESMTP"\n');
    });
  });
});

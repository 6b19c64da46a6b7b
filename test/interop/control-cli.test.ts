/**
 * Interop: our CLI's client commands (`receptor status|ping|traceroute|version|reload|connect|
 * work …`, text and --json) against a Go node, and against ours as the reference: after
 * normalising unit IDs, times, versions and PIDs, the output (and exit code) must be the same
 * whichever implementation answers. Skipped without Go (the e2e suites cover our CLI with our
 * node).
 */
import {createHash} from 'node:crypto';
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {waitFor} from '../support/cli.js';
import {WORLD_STATUS, World, compareAcross, makePki, primaryGo, type CompareOptions, type Expected, type Pki} from './control-world.js';
import {OURS, controlRequest, ours, requireGo} from './support.js';

const ID = /Unit ID: +([A-Za-z0-9]{8})/;
const JSON_ID = /"unitid": "([A-Za-z0-9]{8})"/;
const RELEASED_ID = /\(([A-Za-z0-9]{8}), released\)/;

/** Our CLI's own volatile parts: its version, Node's, the node's CPU/memory lines. */
function normCli(text: string): string {
  return (
    text
      .replace(/^(System CPU count: +)\d+$/gm, '$1<n>')
      .replace(/^(System memory: +)\d+ MiB$/gm, '$1<n> MiB')
      .replace(/^(receptor-mesh \(this program\) +)\S+$/gm, '$1<ours>')
      .replace(/^(reported as Version +)\S+ \(.*\)$/gm, '$1<reported>')
      // Our node adds its implementation (Go's does not): compared away, checked in receptorctl.test.ts.
      .replace(/^(node foo +)\S+( \(receptor-mesh \S+\))?$/gm, '$1<version>')
      .replace(/,\s*"nodeImplementation": "[^"]*"/g, '')
      .replace(/"(version|reportedVersion|node|platform|nodeVersion)": "[^"]*"/g, '"$1": "<$1>"')
  );
}

describe('interop: our CLI as a control-service client', function () {
  this.timeout(120_000);
  const worlds: World[] = [];
  let pki: Pki;

  before(async function () {
    requireGo(this);
    pki = await makePki();
    for (const impl of [OURS, ...primaryGo()]) worlds.push(new World(impl, pki));
    await Promise.all(worlds.map((w) => w.start()));
  });
  after(() => Promise.all(worlds.map((w) => w.stop())));

  /** Runs `receptor <args> --socket <foo>` against every world and checks the normalised outcome. */
  function check(args: string[] | ((w: World) => string[]), exp: Expected, opts: CompareOptions & {input?: string; socket?: (w: World) => string[]} = {}): Promise<void> {
    const argv = (w: World) => [...(typeof args === 'function' ? args(w) : args), ...(opts.socket?.(w) ?? ['--socket', w.foo.sock])];
    return compareAcross(worlds, `receptor ${argv(worlds[0]).join(' ')}`, (w) => ours(argv(w), {input: opts.input, timeoutMs: 60_000}), exp, {...opts, norm: normCli});
  }

  it('status, status --json, version, version --json', async () => {
    await check(['status'], {
      stdout: `Node ID:            foo
Version:            <version>
System CPU count:   <n>
System memory:      <n> MiB

Connections (1)
  Node  Cost
  bar   1

Routing table (1)
  Destination  Next hop
  bar          bar

Known connection costs (2)
  Node  Connections (peer: cost)
  bar   foo: 1
  foo   bar: 1

Services (4)
  Node  Service  Type    Last seen (UTC)      Tags
  bar   control  Stream  <time>  type=Control Service
  foo   control  Stream  <time>  type=Control Service
  foo   ctltcp   Stream  <time>  type=Control Service
  foo   ctltls   Stream  <time>  type=Control Service

Work types (2)
  Node  Work types                   Secure work types
  bar   echo, sleep                  secure
  foo   echo, echoargs, fail, sleep  -
`,
    });
    await check(['status', '--json'], {stdout: WORLD_STATUS});
    await check(['version'], {stdout: 'receptor-mesh (this program)  <ours>\nreported as Version           <reported>\nnode foo                      <version>\n'});
    await check(['version', '--json'], {
      stdout: {
        version: '<version>',
        reportedVersion: '<reportedVersion>',
        reportedVersionSource: 'default',
        node: '<node>',
        platform: '<platform>',
        nodeId: 'foo',
        nodeVersion: '<nodeVersion>',
      },
    });
  });

  it('ping and traceroute (text and --json), unknown nodes', async () => {
    await check(['ping', 'bar', '--count', '2', '--delay', '0'], {stdout: 'Reply from bar in <dur>\nReply from bar in <dur>\n'});
    await check(['ping', 'localhost', '--count', '1', '--json'], {stdout: [{From: 'foo', Success: true, Time: '<ns>', TimeStr: '<dur>'}]});
    await check(['ping', 'nosuch', '--count', '1'], {code: 2, stderr: 'ERROR: no reply from nosuch: no route to node\n'});
    await check(['ping', 'nosuch', '--count', '1', '--json'], {code: 2, stdout: [{Error: 'no route to node', Success: false}]});
    await check(['traceroute', 'bar'], {stdout: '0: foo in <dur>\n1: bar in <dur>\n'});
    await check(['traceroute', 'bar', '--json'], {stdout: {0: {From: 'foo', Time: '<ns>', TimeStr: '<dur>'}, 1: {From: 'bar', Time: '<ns>', TimeStr: '<dur>'}}});
    await check(['traceroute', 'nosuch'], {stdout: '0: foo in <dur>\n', stderr: 'ERROR: 1: Error no route to node from foo in <dur>\n'});
  });

  it('work submit (local): -l, -f, --rm, --payload FILE, --payload - (stdin), params; --json', async () => {
    await check(['work', 'submit', 'echo', '-l', 'hello'], {stdout: 'Result: Job Started\nUnit ID: <c1>\n'}, {learn: (w, r) => void w.learn(r.stdout, ID, 'c1')});
    await check(['work', 'submit', 'echo', '-l', 'hello', '--json'], {stdout: {result: 'Job Started', unitid: '<c2>'}}, {learn: (w, r) => void w.learn(r.stdout, JSON_ID, 'c2')});
    await check(
      ['work', 'submit', 'echo', '-l', 'followed', '-f', '--rm'],
      {stdout: 'followed\n', stderr: '(<f>, released)\n'},
      {learn: (w, r) => void w.learn(r.stderr, RELEASED_ID, 'f')},
    );
    await check(
      ['work', 'submit', 'echo', '-l', 'hi', '-f', '--rm', '--json'],
      {
        stdout: {result: 'Job Started', unitid: '<fj>', state: 2, stateName: 'Succeeded', detail: 'exit status 0', stdoutSize: 3, bytes: 3, output: 'hi\n', released: 'released'},
      },
      {learn: (w, r) => void w.learn(r.stdout, JSON_ID, 'fj')},
    );
    const file = join(worlds[0].dir, 'cli-payload.txt');
    const payload = Array.from({length: 3000}, (_, i) => `${i} ${createHash('sha1').update(String(i)).digest('hex')}`).join('\n') + '\n';
    writeFileSync(file, payload);
    await check(
      ['work', 'submit', 'echo', '--payload', file, '-f', '--rm'],
      {stdout: payload, stderr: '(<file>, released)\n'},
      {learn: (w, r) => void w.learn(r.stderr, RELEASED_ID, 'file')},
    );
    await check(
      ['work', 'submit', 'echo', '--payload', '-', '-f', '--rm'],
      {stdout: 'from stdin\n', stderr: '(<stdin>, released)\n'},
      {input: 'from stdin\n', learn: (w, r) => void w.learn(r.stderr, RELEASED_ID, 'stdin')},
    );
    await check(
      ['work', 'submit', 'echoargs', '-n', '-a', 'params=a b', '-f', '--rm'],
      {stdout: 'a b\n', stderr: '(<p1>, released)\n'},
      {learn: (w, r) => void w.learn(r.stderr, RELEASED_ID, 'p1')},
    );
    await check(
      ['work', 'submit', 'echoargs', '-n', '--params', 'p', 'x', 'y', '-f', '--rm'],
      {stdout: 'p x y\n', stderr: '(<p2>, released)\n'},
      {learn: (w, r) => void w.learn(r.stderr, RELEASED_ID, 'p2')},
    );
    await check(
      ['work', 'submit', 'fail', '-n', '-f', '--rm'],
      {code: 1, stdout: 'failing\n', stderr: '(<fail>, released)\nERROR: Remote unit failed: exit status 3\n'},
      {learn: (w, r) => void w.learn(r.stderr, RELEASED_ID, 'fail')},
    );
  });

  it('work results (--startpos), status, list (-q, --json), cancel, release', async () => {
    await check((w) => ['work', 'results', w.id('c1')], {stdout: 'hello\n'});
    await check((w) => ['work', 'results', w.id('c2'), '--startpos', '2'], {stdout: 'llo\n'});
    await check((w) => ['work', 'results', w.id('c2'), '--json'], {
      stdout: {unitid: '<c2>', state: 2, stateName: 'Succeeded', detail: 'exit status 0', stdoutSize: 6, bytes: 6, output: 'hello\n'},
    });
    await check((w) => ['work', 'status', w.id('c1')], {
      stdout: 'Unit ID:      <c1>\nWork type:    echo\nState:        Succeeded (2)\nDetail:       exit status 0\nStdout size:  6 bytes\nExtra data:   -\n',
    });
    await check((w) => ['work', 'status', w.id('c1'), '--json'], {
      stdout: {Detail: 'exit status 0', ExtraData: null, State: 2, StateName: 'Succeeded', StdoutSize: 6, WorkType: 'echo'},
    });
    const done = {Detail: 'exit status 0', ExtraData: null, State: 2, StateName: 'Succeeded', StdoutSize: 6, WorkType: 'echo'};
    await check(['work', 'list', '--json'], {stdout: {'<c1>': done, '<c2>': done}});
    await check(['work', 'list', '-q'], {stdout: '<c1>\n<c2>\n'}, {sortLines: true});
    await check(['work', 'submit', 'sleep', '-n', '-a', 'params=30'], {stdout: 'Result: Job Started\nUnit ID: <s>\n'}, {learn: (w, r) => void w.learn(r.stdout, ID, 's')});
    await check((w) => ['work', 'cancel', w.id('s')], {stdout: 'Cancelled:\n(<s>, cancelled)\n'});
    await check((w) => ['work', 'cancel', w.id('s'), '--json'], {stdout: [{unitid: '<s>', result: 'cancelled'}]});
    await check((w) => ['work', 'release', w.id('s'), '--json'], {stdout: [{unitid: '<s>', result: 'released'}]});
    await check((w) => ['work', 'release', w.id('s')], {code: 1, stdout: 'Released:\n', stderr: 'Error: unit <s>: unknown work unit\n'});
    await check((w) => ['work', 'release', w.id('s'), '--json'], {
      code: 1,
      stdout: {
        error: {code: 'E_UNKNOWN_UNIT', message: 'unit <s>: unknown work unit'},
        results: [{unitid: '<s>', error: {code: 'E_UNKNOWN_UNIT', message: 'unit <s>: unknown work unit'}}],
      },
    });
    await check((w) => ['work', 'release', '--force', w.id('c2')], {stdout: 'Released:\n(<c2>, released)\n'});
    await check(['work', 'release', '--all'], {stdout: 'Released:\n(<c1>, released)\n'});
    await check(['work', 'list', '--json'], {stdout: {}});
  });

  it('work errors: unknown unit, unknown work type, params not allowed (text and --json)', async () => {
    await check(['work', 'status', 'nosuch'], {code: 1, stderr: 'Error: unit nosuch: unknown work unit\n'});
    await check(['work', 'status', 'nosuch', '--json'], {code: 1, stdout: {error: {code: 'E_UNKNOWN_UNIT', message: 'unit nosuch: unknown work unit'}}});
    await check(['work', 'results', 'nosuch'], {code: 1, stderr: 'Error: unit nosuch: unknown work unit\n'});
    await check(['work', 'cancel', 'nosuch'], {code: 1, stdout: 'Cancelled:\n', stderr: 'Error: unit nosuch: unknown work unit\n'});
    await check(['work', 'submit', 'bogus', '-n'], {code: 101, stderr: 'Error: Failed to start work unit: unknown work type bogus\n'});
    await check(['work', 'submit', 'bogus', '-n', '--json'], {
      code: 101,
      stdout: {error: {code: 'E_UNKNOWN_WORK_TYPE', message: 'Failed to start work unit: unknown work type bogus'}},
    });
    await check(['work', 'submit', 'echo', '-n', '-a', 'params=x'], {code: 101, stderr: 'Error: Failed to start work unit: extra params provided but not allowed\n'});
  });

  it('remote work: --node, --signwork, --ttl; list/status/results --node', async () => {
    await check(['work', 'submit', 'echo', '--node', 'bar', '-l', 'remote'], {stdout: 'Result: Job Started\nUnit ID: <r>\n'}, {learn: (w, r) => void w.learn(r.stdout, ID, 'r')});
    await check((w) => ['work', 'results', w.id('r')], {stdout: 'remote\n'});
    await Promise.all(worlds.map((w) => w.nameRemote('r')));
    await check((w) => ['work', 'status', '--node', 'bar', w.id('r.remote'), '--json'], {
      stdout: {Detail: 'exit status 0', ExtraData: null, State: 2, StateName: 'Succeeded', StdoutSize: 7, WorkType: 'echo'},
    });
    await check((w) => ['work', 'results', '--node', 'bar', w.id('r.remote'), '--startpos', '3'], {stdout: 'ote\n'});
    await check(['work', 'list', '--node', 'bar', '-q'], {stdout: '<r.remote>\n'});
    await check((w) => ['work', 'release', w.id('r')], {stdout: 'Released:\n(<r>, released)\n'});
    await check(
      ['work', 'submit', 'secure', '--node', 'bar', '-l', 'signed', '--signwork', '--ttl', '1m', '-f', '--rm'],
      {stdout: 'signed\n', stderr: '(<sig>, released)\n'},
      {learn: (w, r) => void w.learn(r.stderr, RELEASED_ID, 'sig')},
    );
    // Unlike receptorctl, which never learns the unit ID when the start fails, --rm releases the failed unit.
    await check(
      ['work', 'submit', 'secure', '--node', 'bar', '-l', 'unsigned', '--rm'],
      {
        code: 101,
        stdout: '(<unsigned>, released)\n',
        stderr:
          'Warning: using --rm without --follow. Unit results will never be seen.\nError: unit <unsigned>: node bar refused it: could not verify signature: signature is empty\n',
      },
      {learn: (w, r) => void w.learn(r.stdout, RELEASED_ID, 'unsigned')},
    );
    await check(['work', 'list', '--node', 'nosuch'], {code: 1, stderr: 'Error: cannot reach node nosuch: no route to node\n'});
  });

  it('connect: standard input to a control service over the mesh and back; dial errors', async () => {
    await check(
      ['connect', 'localhost', 'control'],
      {stdout: 'Receptor Control, node foo\n{"From":"foo","Success":true,"Time":"<ns>","TimeStr":"<dur>"}\n'},
      {input: 'ping localhost\n'},
    );
    await check(['connect', 'bar', 'control'], {stdout: 'Receptor Control, node bar\n{"NodeID":"bar"}\n'}, {input: '{"command":"status","requested_fields":["NodeID"]}\n'});
    await check(['connect', 'nosuch', 'control'], {code: 1, stderr: 'Error: cannot reach node nosuch: no route to node\n'});
    await check(['connect', 'bar', 'nosvc'], {code: 1, stderr: 'Error: cannot connect to service nosvc on node bar: service unknown\n'});
    await check(['connect', 'localhost', 'nosvc'], {code: 1, stderr: 'Error: cannot connect to service nosvc on node localhost: service unknown\n'});
  });

  it('over tcp:// and tls:// (client certificate)', async () => {
    const tcp = (w: World) => ['--socket', `tcp://127.0.0.1:${w.tcpPort}`];
    const tls = (w: World) => ['--socket', `tls://localhost:${w.tlsPort}`, '--rootcas', pki.ca, '--cert', pki.clientCert, '--key', pki.clientKey];
    await check(
      ['work', 'submit', 'echo', '-l', 'over-tcp', '-f', '--rm'],
      {stdout: 'over-tcp\n', stderr: '(<tcp>, released)\n'},
      {socket: tcp, learn: (w, r) => void w.learn(r.stderr, RELEASED_ID, 'tcp')},
    );
    await check(
      ['work', 'submit', 'echo', '-l', 'over-tls', '-f', '--rm'],
      {stdout: 'over-tls\n', stderr: '(<tls>, released)\n'},
      {socket: tls, learn: (w, r) => void w.learn(r.stderr, RELEASED_ID, 'tls')},
    );
    await check(['ping', 'bar', '--count', '1'], {stdout: 'Reply from bar in <dur>\n'}, {socket: tls});
  });

  describe('reload', () => {
    // Last: a Go node's links drop and come back (ours restart only changed backends). On bar, whose only backend dials: Go's reload can fail to
    // re-listen on its own port (its listener goroutine reports done before closing the socket).
    it('reload and reload --json', async () => {
      const bar = (w: World) => ['--socket', w.bar.sock];
      await check(['reload'], {stdout: 'Reload successful\n'}, {socket: bar});
      await Promise.all(worlds.map((w) => w.converged()));
      await check(['reload', '--json'], {stdout: {Success: true}}, {socket: bar});
      // Every unit was released along the way.
      for (const w of worlds)
        await waitFor(
          async () => (await controlRequest(w.foo.sock, 'work list', {lines: 1})) === '{}\n',
          30_000,
          () => `${w.label}: no units left`,
        );
    });
  });
});

/**
 * Interop: the real receptorctl (every installed version) drives the control service of our
 * node and, when Go receptor is installed, of a Go node (v1.4.9, see primaryGo) of the same
 * configuration. Every
 * command, its error paths and exit codes; outputs are normalised (unit IDs, times,
 * durations, memory, versions, PIDs) and must equal the expectations below, which were
 * written from Go's behaviour (so with Go present, Go and ours are compared through them).
 */
import {expect} from 'chai';
import {createHash} from 'node:crypto';
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {stringify} from 'yaml';
import {GO_RECEPTOR_VERSION} from '../../src/core/version.js';
import {REPO_ROOT, waitFor} from '../support/cli.js';
import {WORLD_STATUS, World, compareAcross, makePki, primaryGo, receptorctl, type CompareOptions, type Expected, type Pki} from './control-world.js';
import {InteropNode, OURS, controlRequest, manifest, meshStatus, requireReceptorctl, tempDir, type NodeOptions} from './support.js';

interface Ctl {
  version: string;
  bin: string;
}

interface CaseOptions extends CompareOptions {
  input?: string;
  /** Standard input is a terminal holding this text (receptorctl `connect`). */
  tty?: (w: World) => string;
  /** --socket (default: foo's unix socket). */
  socket?: (w: World) => string;
  /** Global options before the command. */
  global?: (w: World) => string[];
}

const STATUS_TEXT = `Node ID: foo
Version: <version>
System CPU Count: <n>
System Memory MiB: <n>

Connection   Cost
bar          1

Known Node   Known Connections
bar          foo: 1 
foo          bar: 1 

Route        Via
bar          bar

Node         Service   Type       Last Seen             Tags
bar          control   Stream     <time>   {'type': 'Control Service'}
foo          control   Stream     <time>   {'type': 'Control Service'}
foo          ctltcp    Stream     <time>   {'type': 'Control Service'}
foo          ctltls    Stream     <time>   {'type': 'Control Service'}

Node         Work Types
bar          echo, sleep
foo          echo, sleep, echoargs, fail

Node         Secure Work Types
bar          secure
`;

/** receptorctl's `work list` printout of one local unit. */
function listed(label: string, detail: string, state: number, stateName: string, size: number, workType: string, extra = 'null'): string {
  return `{
    "<${label}>": {
        "Detail": "${detail}",
        "ExtraData": ${extra},
        "State": ${state},
        "StateName": "${stateName}",
        "StdoutSize": ${size},
        "WorkType": "${workType}"
    }
}
`;
}

const ID = /Unit ID: ([A-Za-z0-9]{8})/;
const RELEASED_ID = /\(([A-Za-z0-9]{8}), released\)/;

describe('interop: receptorctl drives the control service', function () {
  this.timeout(120_000);
  const ctls: Ctl[] = manifest().receptorctl;
  const worlds: World[] = [];
  let pki: Pki;
  /** "<receptorctl version> → <world>" → whether the version warning appeared. */
  const warnings = new Map<string, Set<boolean>>();

  before(async function () {
    requireReceptorctl(this);
    pki = await makePki();
    for (const impl of [OURS, ...primaryGo()]) worlds.push(new World(impl, pki));
    await Promise.all(worlds.map((w) => w.start()));
  });

  after(async () => {
    await Promise.all(worlds.map((w) => w.stop()));
    if (warnings.size > 0) {
      const seen = [...warnings].map(([k, v]) => `${k}: ${[...v].map((b) => (b ? 'yes' : 'no')).join('/')}`);
      console.log(`    receptorctl version warning ("different versions") — ${seen.join('; ')}`);
    }
  });

  /** Runs one receptorctl command against every world at once and checks the normalised outcome. */
  async function check(ctl: Ctl, args: string[] | ((w: World) => string[]), exp: Expected, opts: CaseOptions = {}): Promise<void> {
    const what = `receptorctl ${ctl.version} ${typeof args === 'function' ? args(worlds[0]).join(' ') : args.join(' ')}`;
    await compareAcross(
      worlds,
      what,
      async (w) => {
        const r = await receptorctl(ctl.bin, opts.socket?.(w) ?? w.foo.sock, typeof args === 'function' ? args(w) : args, {
          input: opts.input,
          tty: opts.tty?.(w),
          global: opts.global?.(w),
        });
        // Only a run that got through the version probe can show the warning.
        const key = `${ctl.version} → ${w.label}`;
        if (r.code === 0) warnings.set(key, (warnings.get(key) ?? new Set()).add(r.warned));
        return r;
      },
      exp,
      opts,
    );
  }

  /** Releases every unit of foo (and bar) through the raw protocol, so listings start empty. */
  async function clearUnits(): Promise<void> {
    for (const w of worlds) {
      for (const node of [w.foo, w.bar]) {
        if (!node.running) continue;
        const list = JSON.parse(await controlRequest(node.sock, 'work list', {lines: 1})) as Record<string, unknown>;
        for (const id of Object.keys(list)) await controlRequest(node.sock, `work force-release ${id}`, {lines: 1});
      }
    }
  }

  /** Runs `body` while foo's config file of every world is rewritten by `edit`. */
  async function withConfig(edit: (text: string, w: World) => string, body: () => Promise<void>): Promise<void> {
    const original = new Map(worlds.map((w) => [w, readFileSync(w.foo.config, 'utf8')]));
    try {
      for (const [w, text] of original) writeFileSync(w.foo.config, edit(text, w));
      await body();
    } finally {
      for (const [w, text] of original) writeFileSync(w.foo.config, text);
    }
  }

  for (const ctl of ctls) {
    describe(`receptorctl ${ctl.version}`, () => {
      before(clearUnits);

      it('version, status, status --json', async () => {
        await check(ctl, ['version'], {stdout: `receptorctl  ${ctl.version}\nreceptor     <version>\n`});
        await check(ctl, ['status'], {stdout: STATUS_TEXT}, {statusTable: true});
        await check(ctl, ['status', '--json'], {stdout: WORLD_STATUS});
      });

      it('ping and traceroute, found and unknown nodes', async () => {
        await check(ctl, ['ping', 'bar', '--count', '2', '--delay', '0'], {stdout: 'Reply from bar in <dur>\nReply from bar in <dur>\n'});
        await check(ctl, ['ping', 'localhost', '--count', '1'], {stdout: 'Reply from foo in <dur>\n'});
        await check(ctl, ['ping', 'nosuch', '--count', '2', '--delay', '0'], {code: 2, stderr: 'ERROR: no route to node\nERROR: no route to node\n'});
        await check(ctl, ['traceroute', 'bar'], {stdout: '0: foo in <dur>\n1: bar in <dur>\n'});
        await check(ctl, ['traceroute', 'localhost'], {stdout: '0: foo in <dur>\n'});
        await check(ctl, ['traceroute', 'nosuch'], {stdout: '0: foo in <dur>\n', stderr: 'ERROR: 1: Error no route to node from foo in <dur>\n'});
      });

      it('work submit (local): -l, -f, results, list, --payload FILE, -p - (stdin)', async () => {
        await check(
          ctl,
          ['work', 'submit', 'echo', '-l', 'hello', '-f', '--rm'],
          {stdout: 'hello\n(<hello>, released)\n'},
          {learn: (w, r) => void w.learn(r.stdout, RELEASED_ID, 'hello')},
        );
        await check(ctl, ['work', 'submit', 'echo', '-l', 'hello'], {stdout: 'Result: Job Started\nUnit ID: <u1>\n'}, {learn: (w, r) => void w.learn(r.stdout, ID, 'u1')});
        await check(ctl, (w) => ['work', 'results', w.id('u1')], {stdout: 'hello\n'});
        await check(ctl, (w) => ['work', 'list', '--unit_id', w.id('u1')], {stdout: listed('u1', 'exit status 0', 2, 'Succeeded', 6, 'echo')});
        await check(ctl, (_w) => ['work', 'list', '-q'], {stdout: '<u1>\n'});
        // A large payload from a file, byte for byte through submit and results.
        const file = join(worlds[0].dir, 'payload.txt');
        const lines: string[] = [];
        for (let i = 0; lines.length < 4000; i++) lines.push(`${i}: ${createHash('sha256').update(String(i)).digest('base64')}`);
        const payload = lines.join('\n') + '\n';
        writeFileSync(file, payload);
        await check(
          ctl,
          ['work', 'submit', 'echo', '--payload', file, '-f', '--rm'],
          {stdout: payload + '(<big>, released)\n'},
          {learn: (w, r) => void w.learn(r.stdout, RELEASED_ID, 'big')},
        );
        await check(
          ctl,
          ['work', 'submit', 'echo', '-p', '-', '-f', '--rm'],
          {stdout: 'from stdin\nline 2\n(<stdin>, released)\n'},
          {input: 'from stdin\nline 2\n', learn: (w, r) => void w.learn(r.stdout, RELEASED_ID, 'stdin')},
        );
      });

      it('work submit: runtime params (--param/-a, command-line params), --rm without -f', async () => {
        await check(ctl, ['work', 'submit', 'echoargs', '-n', '-a', 'params=a b', '-f'], {stdout: 'a b\n'});
        await check(ctl, ['work', 'submit', 'echoargs', '-n', 'x', 'y', '-f'], {stdout: 'x y\n'});
        await check(ctl, ['work', 'submit', 'echoargs', '-n', '--param', 'params=p1', 'x', 'y', '-f'], {stdout: 'p1 x y\n'});
        await check(
          ctl,
          ['work', 'submit', 'echo', '-l', 'x', '-a', 'other=1', '--rm'],
          {stdout: 'Result: Job Started\nUnit ID: <rm>\n(<rm>, released)\n', stderr: 'Warning: using --rm without --follow. Unit results will never be seen.\n'},
          {learn: (w, r) => void w.learn(r.stdout, ID, 'rm')},
        );
      });

      it('work submit errors: params not allowed, unknown work type, ttl on local work', async () => {
        await check(ctl, ['work', 'submit', 'echo', '-l', 'x', '-a', 'params=y'], {code: 101, stderr: 'ERROR: Failed to start work unit: extra params provided but not allowed\n'});
        await check(ctl, ['work', 'submit', 'echo', '-l', 'x', 'extra'], {code: 101, stderr: 'ERROR: Failed to start work unit: extra params provided but not allowed\n'});
        await check(ctl, ['work', 'submit', 'bogus', '-l', 'x'], {code: 101, stderr: 'ERROR: Failed to start work unit: unknown work type bogus\n'});
        await check(ctl, ['work', 'submit', 'echo', '-l', 'x', '--ttl', '10s'], {
          code: 101,
          stderr: 'ERROR: Failed to start work unit: ttl option is intended for remote work only\n',
        });
      });

      it('a failing unit: -f prints its output, then the failure, exit 1', async () => {
        await check(ctl, ['work', 'submit', 'fail', '-n', '-f'], {code: 1, stdout: 'failing\n', stderr: 'ERROR: Remote unit failed: exit status 3\n\n'});
      });

      it('work cancel and release of a running unit; unknown units', async () => {
        await check(
          ctl,
          ['work', 'submit', 'sleep', '-n', '-a', 'params=30'],
          {stdout: 'Result: Job Started\nUnit ID: <sleeper>\n'},
          {learn: (w, r) => void w.learn(r.stdout, ID, 'sleeper')},
        );
        await check(ctl, (w) => ['work', 'cancel', w.id('sleeper')], {stdout: 'Cancelled:\n(<sleeper>, cancelled)\n'});
        await check(ctl, (w) => ['work', 'list', '--unit_id', w.id('sleeper')], {stdout: listed('sleeper', 'Canceled', 4, 'Canceled', 0, 'sleep')});
        await check(ctl, (w) => ['work', 'cancel', w.id('sleeper')], {stdout: 'Cancelled:\n(<sleeper>, cancelled)\n'});
        await check(ctl, (w) => ['work', 'release', w.id('sleeper')], {stdout: 'Released:\n(<sleeper>, released)\n'});
        await check(ctl, (w) => ['work', 'release', w.id('sleeper')], {code: 1, stdout: 'Released:\n', stderr: 'ERROR: <sleeper>: ERROR: unknown work unit <sleeper>\n'});
        await check(ctl, ['work', 'results', 'nosuch'], {code: 1, stderr: 'ERROR: Failed to get results: unknown work unit nosuch\n'});
        await check(ctl, ['work', 'cancel', 'nosuch'], {code: 1, stdout: 'Cancelled:\n', stderr: 'ERROR: nosuch: ERROR: unknown work unit nosuch\n'});
        await check(ctl, ['work', 'release', 'nosuch'], {code: 1, stdout: 'Released:\n', stderr: 'ERROR: nosuch: ERROR: unknown work unit nosuch\n'});
        await check(ctl, ['work', 'release', '--force', 'nosuch'], {code: 1, stdout: 'Released:\n', stderr: 'ERROR: nosuch: ERROR: unknown work unit nosuch\n'});
        await check(ctl, ['work', 'list', '--unit_id', 'nosuch'], {code: 1, stderr: 'ERROR: unknown work unit nosuch\n'});
      });

      it('work submit --node (remote): -f, --rm, --ttl, results, list on both nodes', async () => {
        await check(ctl, ['work', 'submit', 'echo', '--node', 'bar', '-l', 'remote', '-f'], {stdout: 'remote\n'});
        await check(
          ctl,
          ['work', 'submit', 'echo', '--node', 'bar', '-l', 'remote'],
          {stdout: 'Result: Job Started\nUnit ID: <r1>\n'},
          {learn: (w, r) => void w.learn(r.stdout, ID, 'r1')},
        );
        await check(ctl, (w) => ['work', 'results', w.id('r1')], {stdout: 'remote\n'});
        await Promise.all(worlds.map((w) => w.nameRemote('r1')));
        const remoteExtra = `{
            "Expiration": "0001-01-01T00:00:00Z",
            "LocalCancelled": false,
            "LocalReleased": false,
            "RemoteNode": "bar",
            "RemoteParams": {},
            "RemoteStarted": true,
            "RemoteUnitID": "<r1.remote>",
            "RemoteWorkType": "echo",
            "SignWork": false,
            "TLSClient": ""
        }`;
        await check(ctl, (w) => ['work', 'list', '--unit_id', w.id('r1')], {stdout: listed('r1', 'exit status 0', 2, 'Succeeded', 7, 'remote', remoteExtra)});
        await check(ctl, (w) => ['work', 'list', '--node', 'bar', '--unit_id', w.id('r1.remote')], {stdout: listed('r1.remote', 'exit status 0', 2, 'Succeeded', 7, 'echo')});
        await check(
          ctl,
          ['work', 'submit', 'echo', '--node', 'bar', '-l', 'ttl', '--ttl', '1m', '-f', '--rm'],
          {stdout: 'ttl\n(<ttl>, released)\n'},
          {learn: (w, r) => void w.learn(r.stdout, RELEASED_ID, 'ttl')},
        );
        await check(ctl, (w) => ['work', 'release', w.id('r1')], {stdout: 'Released:\n(<r1>, released)\n'});
        // Releasing the local unit released the remote one too.
        await check(ctl, (w) => ['work', 'list', '--node', 'bar', '--unit_id', w.id('r1.remote')], {code: 1, stderr: 'ERROR: unknown work unit <r1.remote>\n'});
        await check(ctl, ['work', 'list', '--node', 'nosuch'], {code: 1, stderr: 'ERROR: ERROR: INTERNAL_ERROR (local): no route to node\n'});
      });

      it('work submit --node: --signwork to a verifying work type; errors from the remote node; unknown node', async () => {
        await check(
          ctl,
          ['work', 'submit', 'secure', '--node', 'bar', '-l', 'signed', '--signwork', '-f', '--rm'],
          {stdout: 'signed\n(<signed>, released)\n'},
          {learn: (w, r) => void w.learn(r.stdout, RELEASED_ID, 'signed')},
        );
        await check(ctl, ['work', 'submit', 'secure', '--node', 'bar', '-l', 'unsigned'], {
          code: 101,
          stderr: 'ERROR: Remote error: ERROR: could not parse response: ERROR: could not verify signature: signature is empty\n',
        });
        await check(ctl, ['work', 'submit', 'bogus', '--node', 'bar', '-l', 'x'], {
          code: 101,
          stderr: 'ERROR: Remote error: ERROR: could not parse response: ERROR: unknown work type bogus\n',
        });
        await check(ctl, ['work', 'submit', 'echo', '--node', 'bar', '-l', 'x', '-a', 'params=y'], {
          code: 101,
          stderr: 'ERROR: Remote error: ERROR: could not parse response: ERROR: extra params provided but not allowed\n',
        });
        await check(
          ctl,
          ['work', 'submit', 'echo', '--node', 'nosuch', '-l', 'x'],
          {stdout: 'Result: Job Submitted\nUnit ID: <lost>\n'},
          {learn: (w, r) => void w.learn(r.stdout, ID, 'lost')},
        );
        await check(ctl, (w) => ['work', 'release', w.id('lost')], {stdout: 'Released:\n(<lost>, released)\n'});
      });

      it('connect: a line piped to a control service over the mesh (local and remote); dial errors', async () => {
        // receptorctl connect needs a terminal on stdin; the piped line asks for results, after which the service closes.
        await check(ctl, ['work', 'submit', 'echo', '-l', 'piped'], {stdout: 'Result: Job Started\nUnit ID: <p1>\n'}, {learn: (w, r) => void w.learn(r.stdout, ID, 'p1')});
        await check(
          ctl,
          ['connect', 'localhost', 'control'],
          {stdout: 'Streaming results for work unit <p1>\npiped\n\n'},
          {dropGreeting: true, tty: (w) => `work results ${w.id('p1')} 0\n`},
        );
        await check(
          ctl,
          ['work', 'submit', 'echo', '--node', 'bar', '-l', 'far'],
          {stdout: 'Result: Job Started\nUnit ID: <far>\n'},
          {learn: (w, r) => void w.learn(r.stdout, ID, 'far')},
        );
        await check(ctl, (w) => ['work', 'results', w.id('far')], {stdout: 'far\n'});
        await Promise.all(worlds.map((w) => w.nameRemote('far')));
        await check(
          ctl,
          ['connect', 'bar', 'control'],
          {stdout: 'Streaming results for work unit <far.remote>\nfar\n\n'},
          {dropGreeting: true, tty: (w) => `work results ${w.id('far.remote')} 0\n`},
        );
        await check(ctl, ['connect', 'nosuch', 'control'], {code: 1, stderr: 'ERROR: ERROR: INTERNAL_ERROR (local): no route to node\n'});
        await check(ctl, ['connect', 'localhost', 'nosvc'], {code: 1, stderr: 'ERROR: ERROR: INTERNAL_ERROR (local): service unknown\n'});
        await check(ctl, ['connect', 'bar', 'nosvc'], {code: 1, stderr: 'ERROR: ERROR: context canceled\n'});
      });

      it('over tcp:// and tls:// (client certificate, --config/--tls-client); TLS failures', async () => {
        const tcp = (w: World) => `tcp://127.0.0.1:${w.tcpPort}`;
        const tls = (w: World) => `tls://localhost:${w.tlsPort}`;
        const certs = () => ['--rootcas', pki.ca, '--cert', pki.clientCert, '--key', pki.clientKey];
        await check(ctl, ['version'], {stdout: `receptorctl  ${ctl.version}\nreceptor     <version>\n`}, {socket: tcp});
        await check(
          ctl,
          ['work', 'submit', 'echo', '-l', 'over-tcp', '-f', '--rm'],
          {stdout: 'over-tcp\n(<tcp>, released)\n'},
          {socket: tcp, learn: (w, r) => void w.learn(r.stdout, RELEASED_ID, 'tcp')},
        );
        await check(
          ctl,
          ['work', 'submit', 'echo', '-l', 'over-tls', '-f', '--rm'],
          {stdout: 'over-tls\n(<tls>, released)\n'},
          {socket: tls, global: certs, learn: (w, r) => void w.learn(r.stdout, RELEASED_ID, 'tls')},
        );
        const cfg = join(pki.dir, 'receptorctl.yml');
        writeFileSync(cfg, stringify([{'tls-client': {name: 'ctl', rootcas: pki.ca, cert: pki.clientCert, key: pki.clientKey}}]));
        await check(ctl, ['ping', 'bar', '--count', '1'], {stdout: 'Reply from bar in <dur>\n'}, {socket: tls, global: () => ['--config', cfg, '--tls-client', 'ctl']});
        await check(
          ctl,
          ['status'],
          {code: 1, stderr: 'ERROR: [SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required (_ssl.c:<n>)\n'},
          {socket: tls, global: () => ['--rootcas', pki.ca]},
        );
        await check(ctl, ['status'], {code: 1, stderr: 'ERROR: Could not connect to host localhost port <tcp>\n'}, {socket: (w) => `tls://localhost:${w.tcpPort}`, global: certs});
      });

      it('work release --all', async () => {
        await Promise.all(worlds.map((w) => w.nameRest('other')));
        await check(
          ctl,
          ['work', 'release', '--all'],
          {stdout: `Released:\n(<far>, released)\n${'(<other>, released)\n'.repeat(8)}(<p1>, released)\n(<u1>, released)\n`},
          {sortTail: true},
        );
        await check(ctl, ['work', 'list'], {stdout: '{}\n'});
        await check(ctl, ['work', 'release', '--all'], {stdout: 'Released:\n'});
      });

      it('reload: ERRORCODE 3 (non-reloadable item removed / modified), ERRORCODE 4 (bad file)', async () => {
        // Order matters for Go: a "modified or added" refusal leaves Go's bookkeeping dirty
        // (items checked before the new one stay marked as seen) until a reload gets past that
        // check, and a removal right after is then accepted. Removal is checked first, and the
        // modified item is the first one of the file, which leaves nothing marked.
        await withConfig(
          (t) => t.replace(/- work-signing:\n( {4}.*\n)+/, ''),
          () =>
            check(ctl, ['reload'], {
              code: 3,
              stderr: "ERROR: a non-reloadable config action 'work-signing' was removed. Must restart receptor for changes to take effect ERRORCODE 3\n",
            }),
        );
        await withConfig(
          (t) => t.replace(/^- node:\n/, '- node:\n    firewallrules: []\n'),
          () =>
            check(ctl, ['reload'], {
              code: 3,
              stderr: "ERROR: a non-reloadable config action 'node' was modified or added. Must restart receptor for these changes to take effect ERRORCODE 3\n",
            }),
        );
        await withConfig(
          (t) => t + '- bogus-item:\n    x: 1\n',
          () =>
            check(ctl, ['reload'], {
              code: 4,
              stderr: 'ERROR: error loading config file: could not get config type for command bogus-item: unknown config type bogus-item ERRORCODE 4\n',
            }),
        );
        await withConfig(
          (t) => t + '- tcp-peer:\n    address: 127.0.0.1:1\n    bogusfield: 2\n',
          () =>
            check(ctl, ['reload'], {
              code: 4,
              stderr: 'ERROR: error loading config file: field bogusfield not defined for command tcp-peer: unknown field name bogusfield ERRORCODE 4\n',
            }),
        );
      });
    });
  }

  describe('the remote node is gone: cancel pending, release pending, release --force', () => {
    const pids: number[] = [];
    const killAll = (list: number[]) => {
      for (const pid of list) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    };
    after(() => killAll(pids));

    it('answers with the pending forms, then --force releases locally', async function () {
      const ctl = ctls[ctls.length - 1];
      if (!ctl) this.skip();
      await clearUnits();
      await check(
        ctl,
        ['work', 'submit', 'sleep', '--node', 'bar', '-n', '-a', 'params=30'],
        {stdout: 'Result: Job Started\nUnit ID: <gone>\n'},
        {learn: (w, r) => void w.learn(r.stdout, ID, 'gone')},
      );
      await Promise.all(
        worlds.map(async (w) => {
          // Running on bar: note the job's and the runner's PIDs, then stop bar.
          const st = await waitFor(
            async () => {
              const s = JSON.parse(await controlRequest(w.foo.sock, `work status ${w.id('gone')}`, {lines: 1})) as {State: number; ExtraData: {RemoteUnitID: string}};
              return s.State === 1 && s.ExtraData.RemoteUnitID ? s : undefined;
            },
            30_000,
            () => `${w.label}: remote unit running`,
          );
          const remote = JSON.parse(await controlRequest(w.bar.sock, `work status ${st.ExtraData.RemoteUnitID}`, {lines: 1})) as {Detail: string; ExtraData: {Pid?: number}};
          const m = /PID (\d+)/.exec(remote.Detail);
          const mine = [...(m ? [Number(m[1])] : []), ...(remote.ExtraData?.Pid ? [remote.ExtraData.Pid] : [])];
          pids.push(...mine);
          // Stop bar, then end the job it leaves behind (work units outlive their node, and
          // the job holds bar's output pipes open).
          const exited = new Promise<void>((resolve) => (w.bar.running ? w.bar.child!.once('exit', () => resolve()) : resolve()));
          w.bar.signal('SIGTERM');
          await exited;
          killAll(mine);
          await w.bar.stop();
          await waitFor(
            async () => (await meshStatus(w.foo.sock)).RoutingTable?.bar === undefined,
            30_000,
            () => `${w.label}: foo to drop its route to bar`,
          );
        }),
      );
      await check(ctl, (w) => ['work', 'cancel', w.id('gone')], {stdout: 'Cancelled:\n(<gone>, cancel pending)\n'});
      await check(ctl, (w) => ['work', 'release', w.id('gone')], {stdout: 'Released:\n(<gone>, release pending)\n'});
      await check(ctl, (w) => ['work', 'release', '--force', w.id('gone')], {stdout: 'Released:\n(<gone>, released)\n'});
      await check(ctl, (w) => ['work', 'list', '--unit_id', w.id('gone')], {code: 1, stderr: 'ERROR: unknown work unit <gone>\n'});
    });
  });

  describe('reload', () => {
    // Last: a Go node's backends restart, so links drop and come back (ours keep unchanged ones). On bar, whose only backend dials:
    // Go's reload can fail to re-listen on its own port (its listener goroutine reports done
    // before it closes the socket, pkg/backends/utils.go), which is Go's race, not a protocol matter.
    it('succeeds', async () => {
      await Promise.all(worlds.map((w) => (w.bar.running ? undefined : w.bar.start()))); // stopped above
      for (const ctl of ctls) await check(ctl, ['reload'], {stdout: 'Reload successful\n'}, {socket: (w) => w.bar.sock});
    });
  });
});

/**
 * The `Version` receptorctl checks (README, "Versions"): receptorctl warns "different versions"
 * unless the node's Version equals its own package version. Our node reports the Go receptor
 * release we match (the newest receptorctl we test with) by default; RECEPTOR_REPORTED_VERSION or
 * the node item's `reportedversion` make it match an older receptorctl.
 */
describe('interop: the version receptorctl checks', function () {
  this.timeout(120_000);
  const nodes: InteropNode[] = [];
  const dir = tempDir('receptor-interop-version-');
  let ctls: Ctl[] = [];
  const ours = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {version: string}).version;

  before(function () {
    ctls = requireReceptorctl(this);
  });
  after(() => Promise.all(nodes.map((n) => n.stop())));

  async function start(id: string, opts: NodeOptions = {}): Promise<InteropNode> {
    const n = new InteropNode(OURS, id, dir, {items: [{'local-only': {}}], ...opts});
    nodes.push(n);
    return n.start();
  }

  /** `status` and `ping` through receptorctl `ctl`: whether either printed the warning. */
  async function warns(ctl: Ctl, node: InteropNode): Promise<boolean> {
    let warned = false;
    for (const args of [['status'], ['ping', 'localhost', '--count', '1']]) {
      const r = await receptorctl(ctl.bin, node.sock, args);
      expect(r.code, `receptorctl ${ctl.version} ${args.join(' ')}: ${r.stderr}`).to.equal(0);
      warned ||= r.warned;
    }
    return warned;
  }

  it(`by default reports ${GO_RECEPTOR_VERSION} (the newest receptorctl tested) and its own version as Implementation when asked`, async () => {
    const node = await start('plain');
    const st = JSON.parse(await controlRequest(node.sock, '{"command":"status","requested_fields":["Version","Implementation"]}', {lines: 1})) as Record<string, string>;
    expect(st).to.deep.equal({Implementation: `receptor-mesh ${ours}`, Version: GO_RECEPTOR_VERSION});
    // The default is the newest receptorctl of the reference install: no warning from it.
    const newest = ctls.reduce((a, b) => (compareVersions(a.version, b.version) >= 0 ? a : b));
    expect(newest.version, 'GO_RECEPTOR_VERSION follows the newest receptorctl of the reference install').to.equal(GO_RECEPTOR_VERSION);
    for (const ctl of ctls) {
      // The check is live: any other receptorctl release still warns.
      expect(await warns(ctl, node), `receptorctl ${ctl.version} against Version ${GO_RECEPTOR_VERSION}`).to.equal(ctl.version !== GO_RECEPTOR_VERSION);
    }
    // A plain status keeps Go's fields: receptorctl would print any other as "Additional data".
    const r = await receptorctl(newest.bin, node.sock, ['status']);
    expect(r.stdout).to.include(`Version: ${GO_RECEPTOR_VERSION}\n`).and.not.include('Additional data');
    expect(JSON.parse(await controlRequest(node.sock, 'status', {lines: 1}))).to.not.have.property('Implementation');
  });

  it("RECEPTOR_REPORTED_VERSION and the node item's reportedversion quiet an older receptorctl", async () => {
    for (const ctl of ctls.filter((c) => c.version !== GO_RECEPTOR_VERSION)) {
      const byEnv = await start(`env-${ctl.version.replaceAll('.', '-')}`, {env: {RECEPTOR_REPORTED_VERSION: ctl.version}});
      expect(await warns(ctl, byEnv), `receptorctl ${ctl.version}, RECEPTOR_REPORTED_VERSION=${ctl.version}`).to.equal(false);
      // The node item wins over the environment.
      const byItem = await start(`item-${ctl.version.replaceAll('.', '-')}`, {node: {reportedversion: ctl.version}, env: {RECEPTOR_REPORTED_VERSION: '0.0.1'}});
      expect(await warns(ctl, byItem), `receptorctl ${ctl.version}, reportedversion ${ctl.version}`).to.equal(false);
      const r = await receptorctl(ctl.bin, byItem.sock, ['version']);
      expect(r.stdout).to.equal(`receptorctl  ${ctl.version}\nreceptor     ${ctl.version}\n`);
    }
  });
});

/** Orders dotted numeric versions (1.4.9 < 1.6.9 < 1.10.0). */
function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

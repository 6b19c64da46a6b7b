/**
 * AWX's job flow, for real: a control node submits ansible-runner jobs to an execution node
 * the way AWX's controller does (receptorctl's Python API, test/interop/awx_driver.py), and
 * the way an operator does with the CLIs (ansible-runner transmit | receptorctl work submit;
 * receptorctl work results | ansible-runner process). Every mesh shape runs a signed work
 * type (`ansible-runner`, verifysignature: true, as AWX submits with signwork) and an unsigned
 * one (`ansible-runner-unsigned`) side by side.
 */
import {expect} from 'chai';
import {randomUUID} from 'node:crypto';
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs';
import {join} from 'node:path';
import {waitFor} from '../support/cli.js';
import {freePort} from '../support/ports.js';
import {type CertPair, CertTool} from './mesh-support.js';
import {unitDir} from './work-helpers.js';
import {
  count,
  DEADLINE,
  type ProcessedJob,
  execEnv,
  expectAllEvents,
  expectPlaybookEvents,
  LARGE,
  type Load,
  OK_TASKS,
  okPlaybook,
  privateDataDir,
  python,
  SMALL,
  type Tools,
} from './awx-support.js';
import {
  controlRequest,
  goImpl,
  goRefs,
  type Impl,
  InteropNode,
  type Item,
  meshStatus,
  type NodeOptions,
  OURS,
  requireAnsibleRunner,
  requireGo,
  run,
  tempDir,
  waitRoutes,
} from './support.js';

/** The implementation of the hybrid node (ours; RECEPTOR_AWX_HYBRID=go runs it on Go, to check the expectations). */
const HYBRID_IMPL: Impl = process.env.RECEPTOR_AWX_HYBRID === 'go' && goRefs()[0] ? goImpl(goRefs()[0]) : OURS;
const SIGNED = 'ansible-runner';
const UNSIGNED = 'ansible-runner-unsigned';

const FAILING_PLAYBOOK = () => `- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: fine
      debug:
        msg: before the failure
    - name: fails
      command: /bin/false
    - name: never runs
      debug:
        msg: unreachable
`;

/**
 * Runs until cancelled: task `wait` writes its process group (ansible-playbook's) to `pgidFile`,
 * then sleeps.
 */
const sleepingPlaybook = (pgidFile: string) => () => `- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: wait
      shell: ps -o pgid= -p $$ > ${pgidFile} && exec sleep 600
`;

/**
 * Cancelling a unit stops ansible-runner's worker, but ansible-playbook (in its own session)
 * outlives it, with Go's nodes as with ours: the test ends the process group it started.
 */
async function endProcessGroup(pgidFile: string): Promise<void> {
  if (!existsSync(pgidFile)) return;
  const pgid = Number(readFileSync(pgidFile, 'utf8').trim());
  if (!(pgid > 1)) return;
  const alive = () => {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (alive()) process.kill(-pgid, 'SIGKILL');
  await waitFor(
    () => !alive(),
    60_000,
    () => `process group ${pgid} to end`,
  );
}

/** What the tests need of a running mesh: where AWX submits, and where the work runs. */
interface Mesh {
  control: InteropNode;
  exec: InteropNode;
}

/** What every shape shares: the work-signing keys, and the PKI of the TLS shapes. */
interface Setup {
  tools: Tools;
  /** openssl RSA key pair: work-signing on the control node, work-verification on the execution node. */
  keys: {priv: string; pub: string};
  /** One CA; certificates naming the execution node (tls-server) and the control node (tls-client). */
  pki: {ca: CertPair; exec: CertPair; control: CertPair};
}

/** AWX's names: the control node's tls-client, the execution node's tls-server. */
const TLS_CLIENT = 'tlsclient';
const TLS_SERVER = 'tls_server';

interface JobReply extends ProcessedJob {
  connType: string;
  adTime: string | null;
  workStatus: WorkStatus;
  execStatus: WorkStatus;
}
interface WorkStatus {
  State: number;
  StateName: string;
  Detail: string;
  WorkType: string;
  StdoutSize: number;
  ExtraData: {
    RemoteNode?: string;
    RemoteWorkType?: string;
    RemoteUnitID?: string;
    RemoteParams?: Record<string, string>;
    RemoteStarted?: boolean;
    LocalCancelled?: boolean;
    LocalReleased?: boolean;
    SignWork?: boolean;
    TLSClient?: string;
    Expiration?: string;
  } | null;
}

/** The execution node's items: both work types, and with `tls` the control service's TLS server. */
function execItems(setup: Setup, tls: boolean): Item[] {
  const workType = (worktype: string, verifysignature: boolean): Item => ({
    'work-command': {worktype, command: setup.tools.ansibleRunner, params: 'worker', allowruntimeparams: true, verifysignature},
  });
  const {ca, exec} = setup.pki;
  return [
    ...(tls ? [{'tls-server': {name: TLS_SERVER, cert: exec.cert, key: exec.key, clientcas: ca.cert, requireclientcert: true}}] : []),
    {'work-verification': {publickey: setup.keys.pub}},
    workType(SIGNED, true),
    workType(UNSIGNED, false),
  ];
}

/** The control node's items: AWX's work-signing and tls-client. */
function controlItems(setup: Setup): Item[] {
  const {ca, control} = setup.pki;
  return [{'work-signing': {privatekey: setup.keys.priv, tokenexpiration: '1m'}}, {'tls-client': {name: TLS_CLIENT, rootcas: ca.cert, cert: control.cert, key: control.key}}];
}

/** Where a shape starts its nodes. */
interface Place {
  dir: string;
  setup: Setup;
  /** The execution node's control service is a TLS service (ConnType STREAMTLS). */
  tls: boolean;
  /** Every node started, for the suite to stop. */
  all: InteropNode[];
}

/** Starts node `id` (pushed onto `all` first, so that the suite stops it even if it fails to start). */
async function startNode(place: Place, impl: Impl, id: string, opts: NodeOptions): Promise<InteropNode> {
  const node = new InteropNode(impl, id, place.dir, opts);
  place.all.push(node);
  return node.start();
}

/**
 * The control node `awx` (AWX's), then the execution node `exec`, each with a link item; ready
 * once they route to each other and the control node has the execution node's `control`
 * advertisement (what AWX looks up before each submission).
 *
 * The control node starts first, so that the execution node's link is up as it starts: a Go node
 * sends its service advertisements 5 s after start and then every 60 s only, so a control node
 * that joined later would wait up to a minute for them. (Go even drops that first send at times:
 * AddLocalServiceAdvertisement's non-blocking send to its tickrunner finds no receiver yet. The
 * wait here then takes a minute; AWX's find_node_in_mesh retries for about as long.)
 */
async function awxAndExec(place: Place, control: [Impl, Item], exec: [Impl, Item]): Promise<Mesh> {
  const controlNode = await startNode(place, control[0], 'awx', {items: [control[1], ...controlItems(place.setup)]});
  const execNode = await startNode(place, exec[0], 'exec', {
    items: [exec[1], ...execItems(place.setup, place.tls)],
    env: execEnv(place.dir, place.setup.tools),
    controlService: place.tls ? {tls: TLS_SERVER} : {},
  });
  await waitRoutes(controlNode, ['exec'], 60_000);
  await waitRoutes(execNode, ['awx'], 60_000);
  await waitFor(
    async () => (await meshStatus(controlNode.sock)).Advertisements?.some((a) => a.NodeID === 'exec' && a.Service === 'control'),
    90_000,
    () => `${controlNode.describe()} to have the control advertisement of exec`,
  );
  return {control: controlNode, exec: execNode};
}

const listener = (port: number): Item => ({'tcp-listener': {port, bindaddr: '127.0.0.1'}});
const peer = (port: number): Item => ({'tcp-peer': {address: `127.0.0.1:${port}`}});

/** control ⇄ exec over TCP (the control node listens), `controlImpl` and `execImpl` any implementation. */
async function twoNodes(place: Place, controlImpl: Impl, execImpl: Impl): Promise<Mesh> {
  const port = await freePort();
  return awxAndExec(place, [controlImpl, listener(port)], [execImpl, peer(port)]);
}

/** control (ours) → hop (Go) ← exec (ours): the work crosses a Go node. */
async function throughGoHop(place: Place, hopImpl: Impl): Promise<Mesh> {
  const port = await freePort();
  await startNode(place, hopImpl, 'hop', {items: [listener(port)]});
  return awxAndExec(place, [OURS, peer(port)], [OURS, peer(port)]);
}

interface Shape {
  title: string;
  needsGo: boolean;
  /**
   * The execution node's control service over TLS, as AWX deploys it: AWX then submits with its
   * tls-client. These shapes run the cases that open connections to the execution node (submit,
   * cancel, release), not the whole set.
   */
  tls: boolean;
  start(place: Place): Promise<Mesh>;
}

function shapes(): Shape[] {
  const list: Shape[] = [
    {title: 'ours → ours', needsGo: false, tls: false, start: (p) => twoNodes(p, OURS, OURS)},
    {title: 'ours → ours, TLS control service', needsGo: false, tls: true, start: (p) => twoNodes(p, OURS, OURS)},
  ];
  for (const [i, g] of goRefs().entries()) {
    const go = goImpl(g);
    list.push(
      {title: `ours → ${go.label}`, needsGo: true, tls: false, start: (p) => twoNodes(p, OURS, go)},
      {title: `${go.label} → ours`, needsGo: true, tls: false, start: (p) => twoNodes(p, go, OURS)},
    );
    // the hop and TLS with the first Go binary only (run time)
    if (i === 0) {
      list.push(
        {title: `ours → ${go.label} hop → ours`, needsGo: true, tls: false, start: (p) => throughGoHop(p, go)},
        {title: `ours → ${go.label}, TLS control service`, needsGo: true, tls: true, start: (p) => twoNodes(p, OURS, go)},
        {title: `${go.label} → ours, TLS control service`, needsGo: true, tls: true, start: (p) => twoNodes(p, go, OURS)},
      );
    }
  }
  if (goRefs().length === 0) {
    // listed so that the run says what it skipped
    list.push({title: 'ours → go, go → ours, ours → go hop → ours, TLS ours ⇄ go', needsGo: true, tls: false, start: () => Promise.reject(new Error('no Go'))});
  }
  return list;
}

async function workStatus(node: InteropNode, unitId: string): Promise<WorkStatus> {
  return JSON.parse(await controlRequest(node.sock, `work status ${unitId}`, {lines: 1})) as WorkStatus;
}

async function workList(node: InteropNode): Promise<Record<string, WorkStatus>> {
  return JSON.parse(await controlRequest(node.sock, 'work list', {lines: 1})) as Record<string, WorkStatus>;
}

/** For a failure message: the unit on both nodes (status, stdout size on disk) and the nodes' recent logs. */
async function describeUnit(mesh: Mesh, unitId: string): Promise<string> {
  const onNode = async (node: InteropNode, id: string | undefined) => {
    if (!id) return `${node.describe()}: no unit`;
    const status = await controlRequest(node.sock, `work status ${id}`, {lines: 1}).catch((e: Error) => e.message);
    const stdout = join(unitDir(node, id), 'stdout');
    return `${node.describe()} unit ${id}: ${status.trim()}; stdout on disk: ${existsSync(stdout) ? statSync(stdout).size : 'none'}`;
  };
  const control = await onNode(mesh.control, unitId);
  const remote = (await workStatus(mesh.control, unitId).catch(() => undefined))?.ExtraData?.RemoteUnitID;
  const logs = (n: InteropNode) => `${n.describe()} log:\n${(n.stdout + n.stderr).slice(-3000)}`;
  return [control, await onNode(mesh.exec, remote), logs(mesh.control), logs(mesh.exec)].join('\n');
}

/** Release cleaned up both ends: the unit is gone from both nodes' lists and data dirs. */
async function expectReleasedOnBothEnds(mesh: Mesh, unitId: string, remoteUnitId: string): Promise<void> {
  const gone = async (node: InteropNode, id: string) => !existsSync(unitDir(node, id)) && !(id in (await workList(node)));
  await waitFor(
    async () => (await gone(mesh.control, unitId)) && (await gone(mesh.exec, remoteUnitId)),
    60_000,
    () =>
      `unit ${unitId} (remote ${remoteUnitId}) to be gone on both ends: control has dir=${existsSync(unitDir(mesh.control, unitId))}, exec has dir=${existsSync(unitDir(mesh.exec, remoteUnitId))}`,
  );
}

interface JobEvent {
  counter: number;
  event: string;
  stdout?: string;
  event_data?: {task?: string};
}

/** The job events the processor wrote to the artifacts dir, in order. */
function artifactJobEvents(pdd: string, ident: string): JobEvent[] {
  const dir = join(pdd, 'artifacts', ident, 'job_events');
  return readdirSync(dir)
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as JobEvent)
    .sort((a, b) => a.counter - b.counter);
}

function artifactEvents(pdd: string, ident: string): string[] {
  return artifactJobEvents(pdd, ident).map((e) => e.event);
}

/** The playbook's last result (one event with 1..count, one per line) arrived whole. */
function expectCountResult(pdd: string, ident: string, count: number): void {
  const ok = artifactJobEvents(pdd, ident).find((e) => e.event === 'runner_on_ok' && e.event_data?.task === 'show count');
  const numbers = [...(ok?.stdout ?? '').matchAll(/"(\d+)"/g)].map((m) => Number(m[1]));
  expect(numbers.length).to.equal(count);
  expect(numbers.every((n, i) => n === i + 1)).to.equal(true);
}

/** The remote unit's ExtraData as both implementations report it (Go's field order). */
const REMOTE_EXTRA_DATA = [
  'RemoteNode',
  'RemoteWorkType',
  'RemoteParams',
  'RemoteUnitID',
  'RemoteStarted',
  'LocalCancelled',
  'LocalReleased',
  'SignWork',
  'TLSClient',
  'Expiration',
];
/** Go's zero time.Time, the Expiration of a unit submitted without ttl. */
const NO_EXPIRATION = '0001-01-01T00:00:00Z';

describe('interop: AWX job flow (ansible-runner over receptor)', function () {
  this.timeout(DEADLINE * 2);
  let setup: Setup;
  let top: string | undefined;

  before(async function () {
    const tools = requireAnsibleRunner(this);
    top = tempDir('receptor-awx-');
    const keys = {priv: join(top, 'work-private.pem'), pub: join(top, 'work-public.pem')};
    for (const args of [
      ['genrsa', '-out', keys.priv, '2048'],
      ['rsa', '-in', keys.priv, '-pubout', '-out', keys.pub],
    ]) {
      const r = await run('openssl', args);
      if (r.code !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
    }
    const certs = new CertTool(OURS);
    const ca = await certs.ca(top, 'awx-ca');
    const [exec, control] = await Promise.all([certs.issue(top, 'exec', ca, {nodeIds: ['exec']}), certs.issue(top, 'awx', ca, {nodeIds: ['awx']})]);
    setup = {tools, keys, pki: {ca, exec, control}};
  });
  after(() => {
    if (top) rmSync(top, {recursive: true, force: true});
  });

  for (const shape of shapes()) {
    describe(shape.title, function () {
      let mesh: Mesh;
      let meshStarted: number;
      let dir: string;
      let env: Record<string, string>;
      const all: InteropNode[] = [];
      /** The cases that run in every shape; the others only without TLS (see Shape.tls). */
      const full = !shape.tls;

      before(async function () {
        if (shape.needsGo) requireGo(this);
        dir = tempDir('receptor-awx-');
        env = execEnv(join(dir, 'client'), setup.tools);
        meshStarted = Date.now();
        mesh = await shape.start({dir, setup, tls: shape.tls, all});
      });
      after(async () => {
        await Promise.all(all.map((n) => n.stop()));
        if (dir) rmSync(dir, {recursive: true, force: true});
      });

      /** Runs the driver's `sub` against the execution node as AWX submits (`--sign`, its tls-client). */
      const driver = (sub: string, worktype: string, sign: boolean, more: string[] = []) =>
        python(
          setup.tools,
          [sub, '--socket', mesh.control.sock, '--node', mesh.exec.id, '--worktype', worktype, '--tls-client', TLS_CLIENT, ...(sign ? ['--sign'] : []), ...more],
          env,
        ).catch(async (err: Error) => {
          const unit = /submitted unit (\S+)/.exec(err.message)?.[1];
          throw unit ? new Error(`${err.message}\n${await describeUnit(mesh, unit)}`) : err;
        });

      /** The control node's remote unit, as both implementations describe it. */
      const expectRemoteUnit = (status: WorkStatus, worktype: string, sign: boolean, params: string, ttl: boolean) => {
        expect(status.WorkType).to.equal('remote');
        expect(Object.keys(status.ExtraData ?? {})).to.deep.equal(REMOTE_EXTRA_DATA);
        expect(status.ExtraData).to.include({RemoteNode: mesh.exec.id, RemoteWorkType: worktype, RemoteStarted: true, SignWork: sign, TLSClient: shape.tls ? TLS_CLIENT : ''});
        expect(status.ExtraData?.RemoteParams).to.deep.equal({params});
        if (ttl) expect(status.ExtraData?.Expiration).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
        else expect(status.ExtraData?.Expiration).to.equal(NO_EXPIRATION);
      };
      const connType = () => (shape.tls ? 'STREAMTLS' : 'STREAM');
      /** The execution node's advertisement Time, as AWX's heartbeat parses it: a time since the mesh started. */
      const expectAdTime = (adTime: string | null) => {
        const t = Date.parse(adTime ?? '');
        expect(adTime).to.match(/[+-]\d\d:\d\d$/);
        expect(t, adTime ?? '').to.be.within(meshStarted - 60_000, Date.now() + 60_000);
      };

      const job = async (name: string, worktype: string, sign: boolean, playbook: (blobSha1: string) => string, blobBytes?: number) => {
        const pdd = privateDataDir(dir, name, playbook, blobBytes);
        const ident = randomUUID();
        const execPdd = join(dir, 'exec-pdd', name);
        const reply = (await driver('job', worktype, sign, [
          '--pdd',
          pdd,
          '--exec-pdd',
          execPdd,
          '--playbook',
          'main.yml',
          '--ident',
          ident,
          '--exec-socket',
          mesh.exec.sock,
        ])) as JobReply;
        expect(reply.connType).to.equal(connType());
        expectAdTime(reply.adTime);
        expect(reply.result.result).to.equal('Job Started');
        expectRemoteUnit(reply.workStatus, worktype, sign, `--private-data-dir=${execPdd} --delete`, false);
        // the results stream ended after the worker's eof line, once the unit had completed, and
        // the control node's copy of the output is the execution node's
        expect(reply.afterEof).to.equal('');
        expect(reply.execStatus).to.deep.include({
          WorkType: worktype,
          ExtraData: null,
          State: reply.workStatus.State,
          Detail: reply.workStatus.Detail,
          StdoutSize: reply.workStatus.StdoutSize,
        });
        expect(reply.released).to.deep.equal({released: reply.unitid});
        await expectReleasedOnBothEnds(mesh, reply.unitid, reply.workStatus.ExtraData!.RemoteUnitID!);
        return {reply, pdd, ident};
      };

      const expectSuccessfulJob = async (name: string, worktype: string, sign: boolean, load: Load) => {
        const {reply, pdd, ident} = await job(name, worktype, sign, okPlaybook(load.count), load.blobBytes);
        expect(reply.status).to.equal('successful');
        expect(reply.statuses).to.include.members(['starting', 'running', 'successful']);
        expect(reply.artifactStatus).to.equal('successful');
        expect(reply.artifactRc).to.equal('0');
        const names = expectAllEvents(reply.events);
        expect(count(names, 'playbook_on_task_start')).to.equal(OK_TASKS);
        expect(count(names, 'runner_on_ok')).to.equal(OK_TASKS);
        expect(names).to.not.include('runner_on_failed');
        expect(artifactEvents(pdd, ident)).to.deep.equal(names);
        expectCountResult(pdd, ident, load.count);
        expect(reply.stdout).to.include('"said": "interop-ok"');
        expect(reply.workStatus).to.include({StateName: 'Succeeded', Detail: 'exit status 0'});
      };

      it('a signed job runs to the end (receptorctl Python API, as AWX submits; 2 MiB payload, 1 MB event)', async () => {
        await expectSuccessfulJob('signed-ok', SIGNED, true, LARGE);
      });

      if (full) {
        it('four jobs at once, two signed and two unsigned, each to the end', async () => {
          await Promise.all([0, 1, 2, 3].map((i) => expectSuccessfulJob(`parallel-${i}`, i % 2 ? UNSIGNED : SIGNED, i % 2 === 0, SMALL)));
        });

        it('a failing task: status failed, rc 2', async () => {
          const {reply, pdd, ident} = await job('signed-failing', SIGNED, true, FAILING_PLAYBOOK);
          expect(reply.status).to.equal('failed');
          expect(reply.artifactStatus).to.equal('failed');
          expect(reply.artifactRc).to.equal('2');
          const names = expectAllEvents(reply.events);
          expect(count(names, 'runner_on_failed')).to.equal(1);
          expect(count(names, 'playbook_on_task_start')).to.equal(2);
          expect(artifactEvents(pdd, ident)).to.deep.equal(names);
          // the worker exits with the playbook's rc: the unit failed with it
          expect(reply.workStatus).to.include({StateName: 'Failed', Detail: 'exit status 2'});
        });

        it('the CLIs: ansible-runner transmit | receptorctl work submit, receptorctl work results | ansible-runner process', async () => {
          const pdd = privateDataDir(dir, 'cli', okPlaybook(SMALL.count));
          const ident = randomUUID();
          const ar = setup.tools.ansibleRunner;
          const rc = `${setup.tools.receptorctl} --socket ${mesh.control.sock}`;
          const submit = await run(
            'bash',
            [
              '-c',
              `set -o pipefail; ${ar} transmit ${pdd} -p main.yml --ident ${ident} | ${rc} work submit ${SIGNED} --signwork --node ${mesh.exec.id} --payload - -a params=--private-data-dir=${join(dir, 'exec-pdd', 'cli')}`,
            ],
            {env, timeoutMs: DEADLINE},
          );
          expect(submit.code, submit.stderr).to.equal(0);
          const unitId = /Unit ID: (\S+)/.exec(submit.stdout)?.[1];
          expect(unitId, submit.stdout).to.be.a('string');
          const processed = await run('bash', ['-c', `set -o pipefail; ${rc} work results ${unitId} | ${ar} process ${pdd} --ident ${ident}`], {env, timeoutMs: DEADLINE}).catch(
            async (err: Error) => {
              throw new Error(`${err.message}\n${await describeUnit(mesh, unitId!)}`);
            },
          );
          expect(processed.code, processed.stderr).to.equal(0);
          expect(processed.stdout).to.include('"said": "interop-ok"');
          expect(processed.stdout).to.match(/PLAY RECAP/);
          const art = join(pdd, 'artifacts', ident);
          expect(readFileSync(join(art, 'status'), 'utf8').trim()).to.equal('successful');
          expect(readFileSync(join(art, 'rc'), 'utf8').trim()).to.equal('0');
          const names = artifactEvents(pdd, ident);
          expectPlaybookEvents(names);
          expect(count(names, 'runner_on_ok')).to.equal(OK_TASKS);
          expectCountResult(pdd, ident, SMALL.count);
          const status = await workStatus(mesh.control, unitId!);
          const released = await run(setup.tools.receptorctl, ['--socket', mesh.control.sock, 'work', 'release', unitId!], {env});
          expect(released.code, released.stderr).to.equal(0);
          expect(released.stdout).to.equal(`Released:\n(${unitId}, released)\n`);
          await expectReleasedOnBothEnds(mesh, unitId!, status.ExtraData!.RemoteUnitID!);
        });
      }

      it('a job cancelled while it runs (work cancel, as AWX): both units Canceled, then release cleans up both ends', async () => {
        const pgidFile = join(dir, 'cancel.pgid');
        const pdd = privateDataDir(dir, 'cancel', sleepingPlaybook(pgidFile));
        const more = [
          '--pdd',
          pdd,
          '--exec-pdd',
          join(dir, 'exec-pdd', 'cancel'),
          '--playbook',
          'main.yml',
          '--ident',
          randomUUID(),
          '--task',
          'wait',
          '--wait-file',
          pgidFile,
          '--exec-socket',
          mesh.exec.sock,
        ];
        try {
          const reply = (await driver('cancel', SIGNED, true, more)) as {
            unitid: string;
            cancelled: unknown;
            events: string[];
            workStatus: WorkStatus;
            execStatus: WorkStatus;
            released: unknown;
          };
          expect(reply.cancelled).to.deep.equal({cancelled: reply.unitid});
          expect(reply.events).to.include('runner_on_start');
          expect(reply.events).to.not.include('playbook_on_stats');
          expect(reply.workStatus).to.include({StateName: 'Canceled', Detail: 'Canceled', WorkType: 'remote'});
          expect(reply.workStatus.ExtraData).to.include({RemoteStarted: true, LocalCancelled: true, LocalReleased: false, TLSClient: shape.tls ? TLS_CLIENT : ''});
          expect(reply.execStatus).to.include({StateName: 'Canceled', Detail: 'Canceled', WorkType: SIGNED});
          expect(reply.execStatus.StdoutSize).to.equal(reply.workStatus.StdoutSize);
          expect(reply.released).to.deep.equal({released: reply.unitid});
          await expectReleasedOnBothEnds(mesh, reply.unitid, reply.workStatus.ExtraData!.RemoteUnitID!);
        } finally {
          await endProcessGroup(pgidFile);
        }
      });

      for (const [worktype, sign] of [
        [SIGNED, true],
        [UNSIGNED, false],
      ] as const) {
        it(`health check: ansible-runner worker --worker-info (${sign ? 'signed' : 'unsigned'})`, async () => {
          const reply = (await driver('info', worktype, sign)) as {
            connType: string;
            adTime: string;
            unitid: string;
            workStatus: WorkStatus;
            released: unknown;
            stdout: string;
            data: Record<string, unknown>;
          };
          expect(reply.connType).to.equal(connType());
          expectAdTime(reply.adTime);
          expect(reply.workStatus, JSON.stringify(reply)).to.include({StateName: 'Succeeded', Detail: 'exit status 0'});
          expectRemoteUnit(reply.workStatus, worktype, sign, '--worker-info', true);
          expect(reply.data, reply.stdout).to.be.an('object');
          expect(reply.data.errors).to.deep.equal([]);
          expect(reply.data.runner_version).to.match(/^\d+\.\d+/);
          expect(reply.data.mem_in_bytes).to.be.a('number').above(0);
          expect(reply.data.cpu_count).to.be.a('number').at.least(1);
          expect(reply.released).to.deep.equal({released: reply.unitid});
          await expectReleasedOnBothEnds(mesh, reply.unitid, reply.workStatus.ExtraData!.RemoteUnitID!);
        });
      }

      if (full) {
        it("worker cleanup (AWX's removal of stale private data dirs on the execution node)", async () => {
          const stale = join(dir, 'stale');
          for (const d of ['awx_1_aaaa', 'awx_2_bbbb', 'keep']) mkdirSync(join(stale, d), {recursive: true});
          const params = `cleanup --file-pattern=${stale}/awx_*_* --grace-period=0`;
          const reply = (await driver('info', SIGNED, true, ['--params', params])) as {unitid: string; workStatus: WorkStatus; released: unknown; stdout: string};
          expect(reply.workStatus, JSON.stringify(reply)).to.include({StateName: 'Succeeded', Detail: 'exit status 0'});
          expectRemoteUnit(reply.workStatus, SIGNED, true, params, true);
          expect(reply.stdout).to.include('Removed 2 private data dir(s)').and.include('(changed: True)');
          expect(readdirSync(stale)).to.deep.equal(['keep']);
          expect(reply.released).to.deep.equal({released: reply.unitid});
          await expectReleasedOnBothEnds(mesh, reply.unitid, reply.workStatus.ExtraData!.RemoteUnitID!);
        });
      }

      it('the execution node refuses unsigned work for the signed type and signed work for the unsigned one', async () => {
        const refused = async (worktype: string, sign: boolean) => ((await driver('submit', worktype, sign, ['--refused'])) as {error?: string}).error;
        const execUnits = Object.keys(await workList(mesh.exec));
        expect(await refused(SIGNED, false)).to.equal('Remote error: ERROR: could not parse response: ERROR: could not verify signature: signature is empty');
        expect(await refused(UNSIGNED, true)).to.equal('Remote error: ERROR: could not parse response: ERROR: work type did not expect a signature');
        // the control node keeps a failed unit for each, which it releases (nothing to release remotely)
        const failed = Object.entries(await workList(mesh.control)).filter(([, u]) => u.StateName === 'Failed' && !u.ExtraData?.RemoteUnitID);
        expect(failed.map(([, u]) => u.Detail).sort()).to.deep.equal([
          'Error starting worker: could not parse response: ERROR: could not verify signature: signature is empty',
          'Error starting worker: could not parse response: ERROR: work type did not expect a signature',
        ]);
        for (const [id] of failed) expect(JSON.parse(await controlRequest(mesh.control.sock, `work release ${id}`, {lines: 1}))).to.deep.equal({released: id});
        expect(Object.keys(await workList(mesh.exec))).to.deep.equal(execUnits);
      });

      if (full) {
        it("AWX's reapers: cancel and release of a finished job's unit, work list and release of finished health checks; both ends cleaned", async () => {
          const submitted: string[] = [];
          for (const [worktype, sign] of [
            [SIGNED, true],
            [UNSIGNED, false],
            [SIGNED, true],
          ] as const) {
            submitted.push(((await driver('submit', worktype, sign)) as {unitid: string}).unitid);
          }
          const finished = await waitFor(
            async () => {
              const s = await Promise.all(submitted.map((id) => workStatus(mesh.control, id)));
              return s.every((x) => x.StateName === 'Succeeded' && x.ExtraData?.RemoteUnitID) ? s : undefined;
            },
            DEADLINE,
            () => `units ${submitted.join(', ')} to succeed on ${mesh.control.describe()}`,
          );
          for (const [i, s] of finished.entries()) {
            expect(existsSync(unitDir(mesh.exec, s.ExtraData!.RemoteUnitID!)), `exec unit of ${submitted[i]}`).to.equal(true);
          }
          // awx_receptor_workunit_reaper: the unit of a job that is over is cancelled, then released
          const [jobUnit, ...healthChecks] = submitted;
          const reapedJobs = (await python(setup.tools, ['reap-jobs', '--socket', mesh.control.sock, '--units', jobUnit], env)) as Record<
            string,
            {cancelled: unknown; status: WorkStatus; released: unknown}
          >;
          expect(reapedJobs[jobUnit].cancelled).to.deep.equal({cancelled: jobUnit});
          // cancelling a finished unit marks it, and leaves its state alone
          expect(reapedJobs[jobUnit].status).to.include({StateName: 'Succeeded', Detail: 'exit status 0'});
          expect(reapedJobs[jobUnit].status.ExtraData).to.include({LocalCancelled: true, LocalReleased: false});
          expect(reapedJobs[jobUnit].released).to.deep.equal({released: jobUnit});
          // administrative_workunit_reaper: the health checks left
          const reaped = (await python(setup.tools, ['reap', '--socket', mesh.control.sock, '--worktypes', `${SIGNED},${UNSIGNED}`], env)) as {
            list: Record<string, WorkStatus>;
            released: Record<string, unknown>;
          };
          expect(Object.keys(reaped.list)).to.include.members(healthChecks).and.not.include(jobUnit);
          for (const id of healthChecks) {
            expect(reaped.list[id].ExtraData?.RemoteParams).to.deep.equal({params: '--worker-info'});
            expect(reaped.released[id]).to.deep.equal({released: id});
          }
          for (const [i, s] of finished.entries()) await expectReleasedOnBothEnds(mesh, submitted[i], s.ExtraData!.RemoteUnitID!);
        });
      }
    });
  }

  describe("hybrid node: AWX's local work type (node localhost, signwork set)", function () {
    let node: InteropNode;
    let dir: string;
    let env: Record<string, string>;
    const all: InteropNode[] = [];

    before(async function () {
      dir = tempDir('receptor-awx-');
      env = execEnv(join(dir, 'client'), setup.tools);
      // AWX's hybrid config: `local` runs ansible-runner worker with runtime params; work-signing is
      // configured, and AWX asks to sign every submission, also for this node
      node = await startNode({dir, setup, tls: false, all}, HYBRID_IMPL, 'hybrid', {
        items: [
          {'local-only': null},
          {'work-command': {worktype: 'local', command: setup.tools.ansibleRunner, params: 'worker', allowruntimeparams: true}},
          {'work-signing': {privatekey: setup.keys.priv, tokenexpiration: '1m'}},
        ],
        env: execEnv(dir, setup.tools),
      });
    });
    after(async () => {
      await Promise.all(all.map((n) => n.stop()));
      if (dir) rmSync(dir, {recursive: true, force: true});
    });

    const expectLocalUnit = (status: WorkStatus) => {
      expect(status.WorkType).to.equal('local');
      expect(status.ExtraData).to.equal(null);
    };
    const expectReleased = async (unitId: string) => {
      await waitFor(
        async () => !existsSync(unitDir(node, unitId)) && !(unitId in (await workList(node))),
        60_000,
        () => `unit ${unitId} to be gone`,
      );
    };

    it('a job runs to the end', async () => {
      const pdd = privateDataDir(dir, 'local-ok', okPlaybook(SMALL.count));
      const ident = randomUUID();
      const args = [
        'job',
        '--socket',
        node.sock,
        '--worktype',
        'local',
        '--sign',
        '--pdd',
        pdd,
        '--exec-pdd',
        join(dir, 'exec-pdd', 'local-ok'),
        '--playbook',
        'main.yml',
        '--ident',
        ident,
      ];
      const reply = (await python(setup.tools, args, env)) as JobReply;
      expect(reply.result.result).to.equal('Job Started');
      expect(reply.status).to.equal('successful');
      expect(reply.artifactRc).to.equal('0');
      const names = expectAllEvents(reply.events);
      expect(count(names, 'runner_on_ok')).to.equal(OK_TASKS);
      expectCountResult(pdd, ident, SMALL.count);
      expect(reply.afterEof).to.equal('');
      expect(reply.workStatus).to.include({StateName: 'Succeeded', Detail: 'exit status 0'});
      expectLocalUnit(reply.workStatus);
      expect(reply.released).to.deep.equal({released: reply.unitid});
      await expectReleased(reply.unitid);
    });

    it('a job cancelled while it runs: Canceled, then released', async () => {
      const pgidFile = join(dir, 'local-cancel.pgid');
      const pdd = privateDataDir(dir, 'local-cancel', sleepingPlaybook(pgidFile));
      const args = [
        'cancel',
        '--socket',
        node.sock,
        '--worktype',
        'local',
        '--sign',
        '--pdd',
        pdd,
        '--exec-pdd',
        join(dir, 'exec-pdd', 'local-cancel'),
        '--playbook',
        'main.yml',
        '--ident',
        randomUUID(),
        '--task',
        'wait',
        '--wait-file',
        pgidFile,
      ];
      try {
        const reply = (await python(setup.tools, args, env)) as {unitid: string; cancelled: unknown; workStatus: WorkStatus; released: unknown};
        expect(reply.cancelled).to.deep.equal({cancelled: reply.unitid});
        expect(reply.workStatus).to.include({StateName: 'Canceled', Detail: 'Canceled'});
        expectLocalUnit(reply.workStatus);
        expect(reply.released).to.deep.equal({released: reply.unitid});
        await expectReleased(reply.unitid);
      } finally {
        await endProcessGroup(pgidFile);
      }
    });
  });
});

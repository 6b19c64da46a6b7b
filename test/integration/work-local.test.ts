/**
 * Local work units through the control protocol on a real unix socket: command units run by
 * real detached runner processes, payload upload, result streaming, cancel, release,
 * restart of the node, and the spec's error texts.
 */
import {expect} from 'chai';
import {createHash, randomBytes} from 'node:crypto';
import {existsSync, readFileSync, statSync} from 'node:fs';
import net from 'node:net';
import {join} from 'node:path';
import {converse, LineClient} from '../support/control.js';
import {until} from '../support/mesh.js';
import {ask, commandType, readResults, startWorkNode, submitWork, type WorkNode} from '../support/work.js';

const TYPES = [
  commandType('echo', 'cat'),
  commandType('sleep', 'sleep', '30'),
  commandType('fail', 'sh', `-c 'echo out; echo err >&2; exit 3'`),
  commandType('slow', 'sh', `-c 'echo a; sleep 0.3; echo b'`),
  commandType('param', 'echo', '30', {allowRuntimeParams: true}),
  commandType('missing', '/nonexistent/bin'),
];

const submit = submitWork;
const results = readResults;

async function statusOf(sock: string, id: string): Promise<Record<string, unknown>> {
  return JSON.parse(await ask(sock, `work status ${id}`)) as Record<string, unknown>;
}

describe('integration: local work units over the control protocol', function () {
  this.timeout(60_000);
  let foo: WorkNode;

  before(async () => {
    foo = await startWorkNode('foo', {types: TYPES});
  });
  after(async () => {
    await foo.close();
  });

  it('submits a command unit, streams its results and reports Succeeded with the exact status file', async () => {
    const r = await submit(foo.sock, {node: 'localhost', worktype: 'echo'}, 'hello\n');
    expect(r.created).to.match(/^Work unit created with ID [a-zA-Z0-9]{8}\. Send stdin data and EOF\.$/);
    expect(r.reply).to.equal(`{"result":"Job Started","unitid":"${r.id}"}`);
    expect((await results(foo.sock, r.id)).toString()).to.equal('hello\n');
    const st = await waitStatus(foo.sock, r.id, (x) => x.ExtraData === null);
    expect(st).to.deep.equal({Detail: 'exit status 0', ExtraData: null, State: 2, StateName: 'Succeeded', StdoutSize: 6, WorkType: 'echo'});
    const dir = join(foo.dataDir, 'foo', r.id);
    expect(statSync(dir).mode & 0o777).to.equal(0o700);
    expect(statSync(join(foo.dataDir, 'foo')).mode & 0o777).to.equal(0o700);
    for (const f of ['status', 'status.lock', 'stdin', 'stdout']) expect(statSync(join(dir, f)).mode & 0o777, f).to.equal(0o600);
    await until(() => readFileSync(join(dir, 'status'), 'utf8').includes('"ExtraData":null'), 'runner exit recorded');
    expect(readFileSync(join(dir, 'status'), 'utf8')).to.equal('{"State":2,"Detail":"exit status 0","StdoutSize":6,"WorkType":"echo","ExtraData":null}\n');
    expect(readFileSync(join(dir, 'stdin'), 'utf8')).to.equal('hello\n');
    expect(readFileSync(join(dir, 'status.lock'), 'utf8')).to.equal('');
  });

  it('text-form submit; payload bytes in the same write as the request line are payload', async () => {
    const t = await submit(foo.sock, 'work submit localhost echo', 'abc');
    expect(t.reply).to.equal(`{"result":"Job Started","unitid":"${t.id}"}`);
    expect((await results(foo.sock, t.id)).toString()).to.equal('abc');
    const out = await converse(foo.sock, ['{"command":"work","subcommand":"submit","node":"LOCALHOST","worktype":"echo"}\nstatus\nmore\n']);
    const id = /with ID (\w+)\./.exec(out)![1];
    expect((await results(foo.sock, id)).toString()).to.equal('status\nmore\n');
  });

  it('merges stderr into stdout and fails with the Go exit-status detail', async () => {
    const r = await submit(foo.sock, {node: 'localhost', worktype: 'fail'});
    expect((await results(foo.sock, r.id)).toString()).to.equal('out\nerr\n');
    const st = await statusOf(foo.sock, r.id);
    expect(st).to.include({State: 3, StateName: 'Failed', Detail: 'exit status 3', StdoutSize: 8});
  });

  it("an executable that does not exist fails with Go's fork/exec text", async () => {
    const r = await submit(foo.sock, {node: 'localhost', worktype: 'missing'});
    expect((await results(foo.sock, r.id)).length).to.equal(0);
    const st = await statusOf(foo.sock, r.id);
    expect(st).to.include({State: 3, Detail: 'fork/exec /nonexistent/bin: no such file or directory'});
  });

  it('streams output live while the job runs, then ends', async () => {
    const r = await submit(foo.sock, {node: 'localhost', worktype: 'slow'});
    expect((await results(foo.sock, r.id)).toString()).to.equal('a\nb\n');
    expect((await results(foo.sock, r.id, 2)).toString()).to.equal('b\n');
    expect((await results(foo.sock, r.id, 100)).toString()).to.equal('');
    expect((await results(foo.sock, r.id, -1)).toString()).to.equal('');
  });

  it('joins config and runtime params; refuses runtime params when not allowed', async () => {
    const r = await submit(foo.sock, {node: 'localhost', worktype: 'param', params: '1'});
    expect((await results(foo.sock, r.id)).toString()).to.equal('30 1\n');
    await waitStatus(foo.sock, r.id, (x) => x.ExtraData === null);
    const bad = await ask(foo.sock, '{"command":"work","subcommand":"submit","node":"localhost","worktype":"echo","params":"x"}');
    expect(bad).to.equal('ERROR: extra params provided but not allowed');
  });

  it('answers malformed requests with the Go error texts, session continues', async () => {
    const cases: Array<[string, string]> = [
      ['work', 'ERROR: bad command'],
      ['work nope', 'ERROR: bad command'],
      ['work submit localhost', 'ERROR: work submit requires a target node and work type'],
      ['{"command":"work","subcommand":"submit","node":"localhost","worktype":"nope"}', 'ERROR: unknown work type nope'],
      ['{"command":"work","subcommand":"submit","worktype":"echo"}', 'ERROR: field node missing'],
      ['{"command":"work","subcommand":"submit","node":"localhost"}', 'ERROR: field worktype missing'],
      ['{"command":"work","subcommand":"submit","node":"localhost","worktype":"echo","x":1}', 'ERROR: submit parameters must all be strings and x is not'],
      ['{"command":"work","subcommand":"submit","node":"localhost","worktype":"echo","ttl":"1s"}', 'ERROR: ttl option is intended for remote work only'],
      ['{"command":"work"}', 'ERROR: field subcommand missing'],
      ['{"command":"work","subcommand":5}', 'ERROR: field subcommand must be a string'],
      ['work status', 'ERROR: work status requires a unit ID'],
      ['work status a b', 'ERROR: work status does not take parameters after the unit ID'],
      ['work status nosuchunit', 'ERROR: unknown work unit nosuchunit'],
      ['{"command":"work","subcommand":"status"}', 'ERROR: field unitid missing'],
      ['work cancel', 'ERROR: work cancel requires a unit ID'],
      ['work release a b', 'ERROR: work release does not take parameters after the unit ID'],
      ['work force-release', 'ERROR: work force-release requires a unit ID'],
      ['work results', 'ERROR: work results requires a unit ID'],
      ['work results a 1 2', 'ERROR: work results only takes a unit ID and optional start position'],
      ['work results a x', 'ERROR: error converting start position to integer: strconv.ParseInt: parsing "x": invalid syntax'],
      ['{"command":"work","subcommand":"results","unitid":"a"}', 'ERROR: field startpos missing'],
      ['{"command":"work","subcommand":"results","unitid":"a","startpos":"0"}', 'ERROR: field startpos value 0 is not convertible to an int'],
      ['work list nosuchunit', 'ERROR: unknown work unit nosuchunit'],
      ['work list a b', 'ERROR: unknown work unit a'],
      ['{"command":"work","subcommand":"submit","node":"localhost","worktype":"echo","signature":"x"}', 'ERROR: work type did not expect a signature'],
    ];
    const out = await converse(
      foo.sock,
      cases.map(([req]) => req + '\n'),
    );
    expect(out.split('\n').slice(1, -1)).to.deep.equal(cases.map(([, want]) => want));
  });

  it('cancels a running sleep (SIGINT to the runner), keeps the canceled unit, then releases it', async () => {
    const r = await submit(foo.sock, {node: 'localhost', worktype: 'sleep'});
    const running = await waitStatus(foo.sock, r.id, (s) => s.State === 1);
    expect(running.Detail).to.match(/^Running: PID \d+$/);
    const extra = running.ExtraData as {Pid: number; Params: string};
    expect(extra.Params).to.equal('30');
    expect(Number((running.Detail as string).slice(13))).to.not.equal(extra.Pid);
    // A results stream on the unit stays open across the cancel (Canceled is not complete)…
    const stream = new LineClient(foo.sock);
    await stream.line();
    stream.send(`work results ${r.id}\n`);
    expect(await stream.line()).to.equal(`Streaming results for work unit ${r.id}`);
    const closed = new Promise<void>((resolve) => stream.socket.on('close', () => resolve()));
    expect(await ask(foo.sock, `work cancel ${r.id}`)).to.equal(`{"cancelled":"${r.id}"}`);
    expect(await statusOf(foo.sock, r.id)).to.deep.equal({Detail: 'Canceled', ExtraData: null, State: 4, StateName: 'Canceled', StdoutSize: 0, WorkType: 'sleep'});
    expect(() => process.kill(extra.Pid, 0)).to.throw();
    expect(await ask(foo.sock, `work cancel ${r.id}`)).to.equal(`{"cancelled":"${r.id}"}`);
    expect(stream.socket.destroyed).to.equal(false);
    // …and ends when the unit is released; asking again afterwards gets a stable error.
    expect(await ask(foo.sock, `work release ${r.id}`)).to.equal(`{"released":"${r.id}"}`);
    await closed;
    expect(existsSync(join(foo.dataDir, 'foo', r.id))).to.equal(false);
    expect(await ask(foo.sock, `work release ${r.id}`)).to.equal(`ERROR: unknown work unit ${r.id}`);
    expect(await ask(foo.sock, `work status ${r.id}`)).to.equal(`ERROR: unknown work unit ${r.id}`);
    expect(await ask(foo.sock, `work results ${r.id}`)).to.equal(`ERROR: unknown work unit ${r.id}`);
  });

  it('lists units with sorted keys; force-release removes a running unit', async () => {
    const r = await submit(foo.sock, {node: 'localhost', worktype: 'sleep'});
    const list = JSON.parse(await ask(foo.sock, 'work list')) as Record<string, Record<string, unknown>>;
    expect(Object.keys(list)).to.include(r.id);
    expect(Object.keys(list[r.id])).to.deep.equal(['Detail', 'ExtraData', 'State', 'StateName', 'StdoutSize', 'WorkType']);
    const one = JSON.parse(await ask(foo.sock, `{"command":"work","subcommand":"list","unitid":"${r.id}"}`)) as Record<string, unknown>;
    expect(Object.keys(one)).to.deep.equal([r.id]);
    expect(await ask(foo.sock, `work force-release ${r.id}`)).to.equal(`{"released":"${r.id}"}`);
    expect(existsSync(join(foo.dataDir, 'foo', r.id))).to.equal(false);
  });

  it('carries 50 MB of payload in and results out with matching SHA-256', async function () {
    this.timeout(120_000);
    const payload = randomBytes(50 * 1024 * 1024);
    const r = await submit(foo.sock, {node: 'localhost', worktype: 'echo'}, payload);
    expect(r.reply).to.contain('Job Started');
    const got = await results(foo.sock, r.id);
    expect(got.length).to.equal(payload.length);
    expect(createHash('sha256').update(got).digest('hex')).to.equal(createHash('sha256').update(payload).digest('hex'));
    expect(await ask(foo.sock, `work release ${r.id}`)).to.equal(`{"released":"${r.id}"}`);
  });

  it('AWX pattern: status polled concurrently while results stream', async () => {
    const r = await submit(foo.sock, {node: 'localhost', worktype: 'slow'});
    const poll = new LineClient(foo.sock);
    await poll.line();
    const streamed = results(foo.sock, r.id);
    const seen = new Set<string>();
    let done = false;
    void streamed.then(() => (done = true));
    while (!done) {
      poll.send(`work status ${r.id}\n`);
      seen.add((JSON.parse(await poll.line()) as {StateName: string}).StateName);
    }
    poll.close();
    expect((await streamed).toString()).to.equal('a\nb\n');
    expect(seen.has('Running') || seen.has('Pending') || seen.has('Succeeded')).to.equal(true);
  });
});

async function waitStatus(sock: string, id: string, ok: (s: Record<string, unknown>) => boolean, timeoutMs = 15_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await statusOf(sock, id);
    if (ok(s)) return s;
    if (Date.now() > deadline) throw new Error(`status never matched: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('integration: payload tracing (RECEPTOR_PAYLOAD_TRACE_LEVEL)', function () {
  this.timeout(30_000);

  it('logs the connection type, the unit and the payload at debug level; the payload is stored unchanged', async () => {
    const lines: string[] = [];
    const n = await startWorkNode('foo', {types: [commandType('echo', 'cat')], logLines: lines});
    const saved = process.env.RECEPTOR_PAYLOAD_TRACE_LEVEL;
    try {
      process.env.RECEPTOR_PAYLOAD_TRACE_LEVEL = '3';
      const r = await submit(n.sock, {node: 'localhost', worktype: 'echo'}, 'traced\npayload\n');
      expect((await results(n.sock, r.id)).toString()).to.equal('traced\npayload\n');
      const msgs = lines.map((l) => (JSON.parse(l) as {msg: string}).msg);
      expect(msgs).to.include(`PACKET TRACING ENABLED: Reading from unix socket, work unit ${r.id} with a payload of: traced\npayload\n`);
      process.env.RECEPTOR_PAYLOAD_TRACE_LEVEL = '1';
      await submit(n.sock, {node: 'localhost', worktype: 'echo'}, 'x');
      expect(lines.map((l) => (JSON.parse(l) as {msg: string}).msg)).to.include('PACKET TRACING ENABLED: Reading from unix socket');
    } finally {
      if (saved === undefined) delete process.env.RECEPTOR_PAYLOAD_TRACE_LEVEL;
      else process.env.RECEPTOR_PAYLOAD_TRACE_LEVEL = saved;
      await n.close();
    }
  });
});

describe('integration: work units survive a node restart', function () {
  this.timeout(60_000);

  it('a running unit completes after the node restarts; a pending one becomes "Pending at restart"', async () => {
    const a = await startWorkNode('foo', {types: [commandType('nap', 'sh', `-c 'echo start; sleep 1; echo end'`)]});
    const r = await submit(a.sock, {node: 'localhost', worktype: 'nap'});
    await waitStatus(a.sock, r.id, (s) => s.State === 1);
    // A unit left in "Waiting for Input Data": its client never sent EOF.
    const hung = net.connect(a.sock);
    hung.on('error', () => {});
    hung.write('{"command":"work","subcommand":"submit","node":"localhost","worktype":"nap"}\npartial');
    const pendingId = await until(() => a.wc.list().find((u) => u.id !== r.id && u.status().Detail === 'Waiting for Input Data')?.id, 'pending unit');
    await a.close();
    hung.destroy();

    const b = await startWorkNode('foo', {dataDir: a.dataDir, types: [commandType('nap', 'sh', `-c 'echo start; sleep 1; echo end'`)]});
    try {
      expect((await results(b.sock, r.id)).toString()).to.equal('start\nend\n');
      const st = await statusOf(b.sock, r.id);
      expect(st).to.include({State: 2, Detail: 'exit status 0', StdoutSize: 10});
      const p = await statusOf(b.sock, pendingId);
      expect(p).to.include({State: 3, Detail: 'Pending at restart'});
      expect(readFileSync(join(a.dataDir, 'foo', pendingId, 'stdin'), 'utf8')).to.equal('partial');
    } finally {
      await b.close();
    }
  });
});

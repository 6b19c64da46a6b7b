/** The kube-api test server driven by the official client: pods, watch, logs, attach. */
import {expect} from 'chai';
import {PassThrough, Readable} from 'node:stream';
import {ApiException, Log, VersionApi, Watch, type V1Pod} from '@kubernetes/client-node';
import {KubeApiServer, parseRfc3339Ns} from '../../support/kube-api/index.js';
import WebSocket from 'ws';
import {attachWith, clientFor, finished, isRunningReady, podSpec, Sink, until} from './helpers.js';

const TS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z $/;

async function apiError(p: Promise<unknown>): Promise<{code: number; body: Record<string, unknown>}> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(ApiException);
    const e = err as ApiException<string>;
    return {code: e.code, body: JSON.parse(e.body) as Record<string, unknown>};
  }
  throw new Error('expected an API error');
}

describe('kube-api test server: pods', function () {
  this.timeout(30_000);
  let server: KubeApiServer;
  let c: ReturnType<typeof clientFor>;

  beforeEach(async () => {
    server = await KubeApiServer.start();
    c = clientFor(server);
  });
  afterEach(async () => {
    await server.close();
  });

  it('serves /version and discovery', async () => {
    const v = await c.kc.makeApiClient(VersionApi).getCode();
    expect(v.gitVersion).to.equal('v1.29.3');
    const res = await fetch(server.url + '/api/v1');
    const body = (await res.json()) as {resources: Array<{name: string}>};
    expect(body.resources.map((r) => r.name)).to.include.members(['pods', 'pods/log', 'pods/attach']);
  });

  it('creates with generateName, gets, lists by selector, rejects duplicates, deletes', async () => {
    const created = await c.core.createNamespacedPod({namespace: 'ns1', body: podSpec({generateName: 'job-'}, ['sleep', '30'], {labels: {app: 'x'}})});
    const name = created.metadata!.name!;
    expect(name).to.match(/^job-[a-z0-9]{5}$/);
    expect(created.metadata!.uid).to.match(/^[0-9a-f-]{36}$/);
    expect(created.metadata!.resourceVersion).to.match(/^\d+$/);
    expect(created.metadata!.creationTimestamp).to.be.instanceOf(Date);
    expect(created.status!.phase).to.equal('Pending');

    const got = await c.core.readNamespacedPod({name, namespace: 'ns1'});
    expect(got.metadata!.uid).to.equal(created.metadata!.uid);

    await c.core.createNamespacedPod({namespace: 'ns1', body: podSpec('other', ['sleep', '30'])});
    const byName = await c.core.listNamespacedPod({namespace: 'ns1', fieldSelector: `metadata.name=${name}`});
    expect(byName.items.map((p) => p.metadata!.name)).to.deep.equal([name]);
    const byLabel = await c.core.listNamespacedPod({namespace: 'ns1', labelSelector: 'app=x'});
    expect(byLabel.items.map((p) => p.metadata!.name)).to.deep.equal([name]);
    expect((await c.core.listNamespacedPod({namespace: 'ns2'})).items).to.have.length(0);

    const dup = await apiError(c.core.createNamespacedPod({namespace: 'ns1', body: podSpec('other', ['true'])}));
    expect(dup.code).to.equal(409);
    expect(dup.body).to.include({reason: 'AlreadyExists', message: 'pods "other" already exists'});

    await server.waitForPod((p) => p.metadata?.name === name && isRunningReady(p));
    const del = await c.core.deleteNamespacedPod({name, namespace: 'ns1'});
    expect(del.metadata!.deletionTimestamp).to.be.instanceOf(Date);
    await until(async () => (await c.core.listNamespacedPod({namespace: 'ns1', fieldSelector: `metadata.name=${name}`})).items.length === 0, 'pod gone');
    const nf = await apiError(c.core.readNamespacedPod({name, namespace: 'ns1'}));
    expect(nf.code).to.equal(404);
    expect(nf.body).to.include({kind: 'Status', status: 'Failure', reason: 'NotFound', message: `pods "${name}" not found`});
  });

  it('rejects a pod without containers with a 422 Invalid Status', async () => {
    const r = await apiError(c.core.createNamespacedPod({namespace: 'default', body: {metadata: {name: 'bad'}, spec: {containers: []}}}));
    expect(r.code).to.equal(422);
    expect(r.body).to.include({reason: 'Invalid'});
  });

  it('answers bad requests with Status errors and keeps serving', async () => {
    const cases: Array<[string, string, string | undefined, number, RegExp]> = [
      ['POST', '/api/v1/namespaces/d/pods', '{bad json', 400, /^the object provided is unrecognized/],
      [
        'POST',
        '/api/v1/namespaces/d/pods',
        '{"metadata":{"name":"x"},"spec":{"containers":[{"name":"w","image":"i","command":[1]}]}}',
        400,
        /cannot unmarshal number into Go struct field Container\.spec\.containers\.command of type string/,
      ],
      ['POST', '/api/v1/namespaces/d/pods', 'x'.repeat(4 * 1024 * 1024), 413, /^Request entity too large/],
      ['GET', '/api/v1/namespaces/d/pods/%E0%A4%A/log', undefined, 400, /^malformed path/],
      ['GET', '/api/v1/namespaces/d/pods?watch=true&resourceVersion=abc', undefined, 400, /^invalid resource version: abc$/],
      ['GET', '/api/v1/namespaces/d/pods?fieldSelector=foo%3Dbar', undefined, 400, /^"foo" is not a known field selector/],
      ['PUT', '/api/v1/namespaces/d/pods/y', '{}', 405, /does not allow this method/],
      ['GET', '/nothing', undefined, 404, /^the server could not find the requested resource$/],
    ];
    for (const [method, path, body, code, re] of cases) {
      const r = await fetch(server.url + path, {method, body, headers: {'content-type': 'application/json'}});
      const st = (await r.json()) as {kind: string; code: number; message: string};
      expect(r.status, `${method} ${path.slice(0, 50)}`).to.equal(code);
      expect(st.kind).to.equal('Status');
      expect(st.code).to.equal(code);
      expect(st.message).to.match(re);
    }
    expect((await c.core.listNamespacedPod({namespace: 'd'})).items).to.have.length(0);
  });

  it('watches a pod through its life: ADDED, Running and Ready, Succeeded; delete gives MODIFIED then DELETED', async () => {
    const events: Array<{type: string; pod: V1Pod}> = [];
    const list = await c.core.listNamespacedPod({namespace: 'default'});
    const w = new Watch(c.kc);
    let watchDone: unknown = 'open';
    const ctl = await w.watch(
      '/api/v1/namespaces/default/pods',
      {resourceVersion: list.metadata!.resourceVersion, fieldSelector: 'metadata.name=w1', allowWatchBookmarks: true},
      (type, obj: V1Pod) => events.push({type, pod: obj}),
      (err) => (watchDone = err),
    );
    await c.core.createNamespacedPod({namespace: 'default', body: podSpec('w1', ['sh', '-c', 'sleep 0.3; exit 3'])});
    await until(() => events.find((e) => e.type === 'MODIFIED' && e.pod.status?.phase === 'Failed'), 'Failed event');
    expect(events[0].type).to.equal('ADDED');
    await until(() => events.find((e) => e.type === 'BOOKMARK'), 'a BOOKMARK event');
    const running = events.find((e) => e.type === 'MODIFIED' && e.pod.status?.phase === 'Running')!.pod;
    const ready = running.status!.conditions!.find((x) => x.type === 'Ready')!;
    expect(ready.status).to.equal('True');
    expect(running.status!.containerStatuses![0]).to.include({name: 'worker', ready: true, started: true, restartCount: 0});
    expect(running.status!.containerStatuses![0].containerID).to.match(/^containerd:\/\/[0-9a-f]{64}$/);
    const creating = events.find((e) => e.pod.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ContainerCreating');
    expect(creating, 'ContainerCreating seen').to.not.equal(undefined);
    const failed = events.find((e) => e.pod.status?.phase === 'Failed')!.pod;
    const term = failed.status!.containerStatuses![0].state!.terminated!;
    expect(term.exitCode).to.equal(3);
    expect(term.reason).to.equal('Error');
    expect(String(term.finishedAt)).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/); // Watch hands on raw JSON
    // resourceVersions increase
    const rvs = events.filter((e) => e.type !== 'BOOKMARK').map((e) => Number(e.pod.metadata!.resourceVersion));
    expect(rvs).to.deep.equal([...rvs].sort((a, b) => a - b));

    await c.core.deleteNamespacedPod({name: 'w1', namespace: 'default'});
    await until(() => events.find((e) => e.type === 'DELETED'), 'DELETED event');
    expect(
      events.find((e) => e.type === 'MODIFIED' && e.pod.metadata?.deletionTimestamp),
      'deletionTimestamp MODIFIED',
    ).to.not.equal(undefined);
    expect(watchDone, 'the watch stayed open').to.equal('open');
    ctl.abort();
  });

  it('replays the events after a resourceVersion, and ends a watch at timeoutSeconds', async () => {
    await c.core.createNamespacedPod({namespace: 'default', body: podSpec('h1', ['true'])});
    await server.waitForPod((p) => p.status?.phase === 'Succeeded');
    const res = await fetch(`${server.url}/api/v1/namespaces/default/pods?watch=1&resourceVersion=1&timeoutSeconds=1`);
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as {type: string; object: V1Pod});
    expect(lines[0].type).to.equal('ADDED');
    expect(lines.at(-1)!.object.status!.phase).to.equal('Succeeded');
  });

  it('a watch from a resourceVersion older than the kept history gets an ERROR 410 Expired event', async () => {
    await server.close();
    server = await KubeApiServer.start({historyMax: 3});
    c = clientFor(server);
    server.setScenario(() => true, {kind: 'pending'});
    for (const n of ['e1', 'e2', 'e3', 'e4', 'e5']) await c.core.createNamespacedPod({namespace: 'default', body: podSpec(n, ['true'])});
    const res = await fetch(`${server.url}/api/v1/namespaces/default/pods?watch=true&resourceVersion=2`);
    const ev = JSON.parse((await res.text()).trim()) as {type: string; object: {code: number; reason: string; message: string}};
    expect(ev.type).to.equal('ERROR');
    expect(ev.object).to.include({code: 410, reason: 'Expired'});
    expect(ev.object.message).to.match(/^too old resource version: 2 \(\d+\)$/);
    // a label-selected watch sees a pod enter the selection as ADDED
    const lines: string[] = [];
    const w = await fetch(`${server.url}/api/v1/namespaces/default/pods?watch=true&labelSelector=team%3Da`);
    const reader = w.body!.getReader();
    await c.core.createNamespacedPod({namespace: 'default', body: podSpec('sel', ['true'], {labels: {team: 'a'}})});
    while (!lines.some((l) => l.includes('"sel"'))) {
      const {value} = await reader.read();
      lines.push(
        ...Buffer.from(value!)
          .toString()
          .split('\n')
          .filter((l) => l !== ''),
      );
    }
    await reader.cancel();
    const evs = lines.map((l) => JSON.parse(l) as {type: string; object: V1Pod});
    expect(evs.map((e) => [e.type, e.object.metadata!.name])).to.deep.equal([['ADDED', 'sel']]);
  });

  it('stdin without stdinOnce stays open across attach sessions; an attach for stdout gets the output and Success', async () => {
    await c.core.createNamespacedPod({namespace: 'default', body: podSpec('s1', ['sh', '-c', 'while read l; do echo "got $l"; done; echo eof'], {stdin: true})});
    await server.waitForPod(isRunningReady);
    const out = new Sink();
    const watcher = await attachWith(c.kc).attach('default', 's1', 'worker', out, null, null, false);
    let status: unknown = null;
    watcher.on('message', (d: Buffer) => {
      if (d[0] === 3 && d.length > 1) status = JSON.parse(d.subarray(1).toString());
    });
    await attachWith(c.kc).attach('default', 's1', 'worker', null, null, Readable.from([Buffer.from('one\n')]), false);
    await until(() => out.text.includes('got one\n'), 'first line');
    await attachWith(c.kc).attach('default', 's1', 'worker', null, null, Readable.from([Buffer.from('two\n')]), false);
    await until(() => out.text.includes('got two\n'), 'second line');
    expect(server.pods()[0].status!.phase).to.equal('Running');
    // without stdinOnce the end of stdin detaches the session (containerd), the container runs on
    const both = await attachWith(c.kc).attach('default', 's1', 'worker', new Sink(), null, Readable.from([Buffer.from('three\n')]), false);
    let bothStatus: unknown = null;
    both.on('message', (d: Buffer) => {
      if (d[0] === 3 && d.length > 1) bothStatus = JSON.parse(d.subarray(1).toString());
    });
    await until(() => bothStatus, 'the detached session status');
    expect(bothStatus).to.deep.include({status: 'Success'});
    await until(() => out.text.includes('got three\n'), 'third line');
    expect(server.pods()[0].status!.phase).to.equal('Running');
    server.killContainer('default', 's1', 'SIGTERM');
    await until(() => status, 'the stdout session status');
    expect(status).to.deep.include({status: 'Success'});
    expect(out.text).to.equal('got one\ngot two\ngot three\n');
  });

  it('deletes a running pod: SIGTERM, terminated status with 143, then DELETED', async () => {
    await c.core.createNamespacedPod({namespace: 'default', body: podSpec('d1', ['sleep', '30'])});
    await server.waitForPod(isRunningReady);
    const terminated = server.waitForPod((p) => p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode === 143);
    await c.core.deleteNamespacedPod({name: 'd1', namespace: 'default'});
    const t = await terminated;
    expect(t.metadata!.deletionTimestamp).to.be.instanceOf(Date);
    expect(t.status!.phase).to.equal('Failed');
    await until(() => server.pods().length === 0, 'pod removed');
    const seen = server.requests.filter((r) => r.method === 'DELETE');
    expect(seen).to.have.length(1);
  });

  it('logs: waiting text, then follow with timestamps; sinceTime counts from its whole second, as the apiserver forwards it', async () => {
    server.setScenario((p) => p.metadata?.name === 'l1', {kind: 'run', pendingMs: 400});
    await c.core.createNamespacedPod({
      namespace: 'default',
      body: podSpec('l1', ['sh', '-c', 'for i in 1 2 3 4 5; do echo line$i; done; echo err >&2; sleep 1.1; echo last1; echo last2']),
    });
    await server.waitForPod((p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ContainerCreating');
    const early = await fetch(`${server.url}/api/v1/namespaces/default/pods/l1/log?container=worker`);
    expect(early.status).to.equal(400);
    expect(await early.json()).to.include({message: 'container "worker" in pod "l1" is waiting to start: ContainerCreating', reason: 'BadRequest'});

    await server.waitForPod(isRunningReady);
    const sink = new Sink();
    await new Log(c.kc).log('default', 'l1', 'worker', sink, {follow: true, timestamps: true});
    await finished(sink);
    const lines = sink.text.split('\n').filter((l) => l !== '');
    const texts = lines.map((l) => l.slice(31));
    expect(texts).to.deep.equal(['line1', 'line2', 'line3', 'line4', 'line5', 'err', 'last1', 'last2']);
    const stamps = lines.map((l) => l.slice(0, 31));
    for (const s of stamps) expect(s).to.match(TS_RE);
    const ns = stamps.map((s) => parseRfc3339Ns(s.trim())!);
    for (let i = 1; i < ns.length; i++) expect(ns[i] > ns[i - 1], 'strictly increasing').to.equal(true);

    // sinceTime = last2's nanosecond stamp: everything from that second comes back (last1 too when it shares it)
    const sec = (x: bigint): bigint => x / 1_000_000_000n;
    const want = texts.filter((_, i) => sec(ns[i]) >= sec(ns[7]));
    expect(want).to.include('last2');
    expect(want).to.not.include('line1');
    const since = new Sink();
    await new Log(c.kc).log('default', 'l1', 'worker', since, {follow: true, timestamps: true, sinceTime: stamps[7].trim()});
    await finished(since);
    expect(
      since.text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => l.slice(31)),
    ).to.deep.equal(want);

    const plain = await (await fetch(`${server.url}/api/v1/namespaces/default/pods/l1/log?tailLines=2`)).text();
    expect(plain).to.equal('last1\nlast2\n');
    const limited = await (await fetch(`${server.url}/api/v1/namespaces/default/pods/l1/log?limitBytes=8`)).text();
    expect(limited).to.equal('line1\nli');
  });

  for (const protocol of ['v5.channel.k8s.io', 'v4.channel.k8s.io']) {
    it(`attach over ${protocol}: stdin into the container (stdinOnce closes it), stdout copies, Success status`, async () => {
      await c.core.createNamespacedPod({namespace: 'default', body: podSpec('a1', ['sh', '-c', 'cat; echo done-$?'], {stdin: true, stdinOnce: true})});
      await server.waitForPod(isRunningReady);
      const stdin = new PassThrough();
      const out = new Sink();
      const ws = await attachWith(c.kc, [protocol]).attach('default', 'a1', 'worker', out, null, stdin, false);
      expect(ws.protocol).to.equal(protocol);
      let status: unknown = null;
      ws.on('message', (d: Buffer) => {
        if (d[0] === 3 && d.length > 1) status = JSON.parse(d.subarray(1).toString());
      });
      stdin.write('hello\n');
      stdin.end('world\n');
      await server.waitForPod((p) => p.status?.phase === 'Succeeded');
      if (protocol === 'v5.channel.k8s.io') {
        await until(() => status, 'status frame');
        expect(status).to.deep.include({status: 'Success'});
        expect(out.text).to.equal('hello\nworld\ndone-0\n');
      }
      const log = await (await fetch(`${server.url}/api/v1/namespaces/default/pods/a1/log`)).text();
      expect(log).to.equal('hello\nworld\ndone-0\n');
    });
  }

  it('attach frames on the wire: the negotiated protocol, one empty frame on the lowest writable channel, stdout, then the v4 Status', async () => {
    await c.core.createNamespacedPod({namespace: 'default', body: podSpec('raw', ['sh', '-c', 'read x; echo "<$x>"'], {stdin: true, stdinOnce: true})});
    await server.waitForPod(isRunningReady);
    const frames: Buffer[] = [];
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/api/v1/namespaces/default/pods/raw/attach?container=worker&stdin=true&stdout=true`, [
      'bogus',
      'v4.channel.k8s.io',
      'v5.channel.k8s.io',
    ]);
    ws.on('message', (d: Buffer) => frames.push(d));
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    expect(ws.protocol).to.equal('v4.channel.k8s.io');
    ws.send(Buffer.from('\x00hi\n', 'latin1'));
    await new Promise((resolve) => ws.once('close', resolve));
    expect(frames[0]).to.deep.equal(Buffer.from([1]));
    expect(Buffer.concat(frames.filter((f) => f[0] === 1).map((f) => f.subarray(1))).toString()).to.equal('<hi>\n');
    const last = frames.at(-1)!;
    expect(last[0]).to.equal(3);
    expect(JSON.parse(last.subarray(1).toString())).to.deep.equal({metadata: {}, status: 'Success'});
  });

  it('attach refuses an unknown pod with 404 and a plain GET with 400', async () => {
    const ws = attachWith(c.kc).attach('default', 'nope', 'worker', new Sink(), null, null, false);
    let err: unknown = null;
    await ws.catch((e: unknown) => (err = e));
    expect(String((err as {message?: string})?.message ?? err)).to.match(/404/);
  });
});

/** kube-api test server: failure scenarios, TLS + token, exec, and the log stream controls. */
import {expect} from 'chai';
import {createHash, randomBytes} from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import {PassThrough, Readable} from 'node:stream';
import {Exec, Log, Watch, type V1Pod, type V1Status} from '@kubernetes/client-node';
import {KubeApiServer} from '../../support/kube-api/index.js';
import {attachWith, clientFor, finished, HashSink, isRunningReady, podSpec, Sink, until} from './helpers.js';

interface Got {
  status: number;
  body: string;
  /** true: the response ended properly; false: the connection broke mid-body */
  clean: boolean;
}

function get(url: string, opts: {ca?: string; token?: string; onData?: (soFar: string) => void} = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.get(url, {ca: opts.ca, headers: opts.token ? {Authorization: `Bearer ${opts.token}`} : {}}, (res) => {
      const chunks: Buffer[] = [];
      let settled = false;
      const done = (clean: boolean): void => {
        if (settled) return;
        settled = true;
        resolve({status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), clean});
      };
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        opts.onData?.(Buffer.concat(chunks).toString('utf8'));
      });
      res.on('end', () => done(res.complete));
      res.on('aborted', () => done(false));
      res.on('error', () => done(false));
      res.on('close', () => done(res.complete));
    });
    req.on('error', reject);
  });
}

function watchPod(server: KubeApiServer, kc: ReturnType<typeof clientFor>['kc'], name: string): Promise<{events: Array<{type: string; pod: V1Pod}>; stop: () => void}> {
  const events: Array<{type: string; pod: V1Pod}> = [];
  return new Watch(kc)
    .watch(
      '/api/v1/namespaces/default/pods',
      {fieldSelector: `metadata.name=${name}`},
      (type, pod: V1Pod) => events.push({type, pod}),
      () => {},
    )
    .then((ctl) => ({events, stop: () => ctl.abort()}));
}

const waitingOf = (p: V1Pod | undefined): {reason?: string; message?: string} | undefined => p?.status?.containerStatuses?.[0]?.state?.waiting;

describe('kube-api test server: scenarios and controls', function () {
  this.timeout(60_000);
  let server: KubeApiServer;
  let c: ReturnType<typeof clientFor>;

  afterEach(async () => {
    await server?.close();
  });

  describe('scenarios', () => {
    beforeEach(async () => {
      server = await KubeApiServer.start();
      c = clientFor(server);
    });

    it('pending: never scheduled, no conditions, log answers "does not have a host assigned"', async () => {
      server.setScenario((p) => p.metadata?.name === 'p1', {kind: 'pending'});
      await c.core.createNamespacedPod({namespace: 'default', body: podSpec('p1', ['true'])});
      await c.core.createNamespacedPod({namespace: 'default', body: podSpec('p2', ['sleep', '5'])});
      await server.waitForPod((p) => p.metadata?.name === 'p2' && isRunningReady(p));
      const p1 = server.pods().find((p) => p.metadata?.name === 'p1')!;
      expect(p1.status!.phase).to.equal('Pending');
      expect(p1.status!.conditions ?? []).to.have.length(0);
      const r = await get(`${server.url}/api/v1/namespaces/default/pods/p1/log?container=worker`);
      expect(r.status).to.equal(400);
      expect(JSON.parse(r.body)).to.include({message: 'pod p1 does not have a host assigned'});
    });

    it('unschedulable: PodScheduled False, reason Unschedulable, kube-like message', async () => {
      server.setScenario(() => true, {kind: 'unschedulable'});
      await c.core.createNamespacedPod({namespace: 'default', body: podSpec('u1', ['true'])});
      const p = await server.waitForPod((x) => !!x.status?.conditions?.length);
      const cond = p.status!.conditions!.find((x) => x.type === 'PodScheduled')!;
      expect(cond.status).to.equal('False');
      expect(cond.reason).to.equal('Unschedulable');
      expect(cond.message).to.match(/^0\/1 nodes are available: /);
      expect(p.status!.phase).to.equal('Pending');
    });

    it('imagePullError: waiting alternates ErrImagePull and ImagePullBackOff with messages; ContainersReady False', async () => {
      server.setScenario(() => true, {kind: 'imagePullError', cycleMs: 50});
      const w = await watchPod(server, c.kc, 'i1');
      await c.core.createNamespacedPod({namespace: 'default', body: podSpec('i1', ['true'], {image: 'no-such-image'})});
      await until(() => w.events.filter((e) => waitingOf(e.pod)?.reason === 'ImagePullBackOff').length >= 4, 'four ImagePullBackOff events');
      w.stop();
      const reasons = w.events.map((e) => waitingOf(e.pod)?.reason).filter((r) => r === 'ErrImagePull' || r === 'ImagePullBackOff');
      expect(reasons[0]).to.equal('ErrImagePull');
      for (let i = 1; i < reasons.length; i++) expect(reasons[i]).to.not.equal(reasons[i - 1]);
      const pull = w.events.find((e) => waitingOf(e.pod)?.reason === 'ErrImagePull')!.pod;
      expect(waitingOf(pull)!.message).to.contain('docker.io/library/no-such-image:latest');
      const backoff = w.events.find((e) => waitingOf(e.pod)?.reason === 'ImagePullBackOff')!.pod;
      expect(waitingOf(backoff)!.message).to.equal('Back-off pulling image "no-such-image"');
      expect(backoff.status!.conditions!.find((x) => x.type === 'ContainersReady')!.status).to.equal('False');
      const r = await get(`${server.url}/api/v1/namespaces/default/pods/i1/log`);
      expect(JSON.parse(r.body)).to.include({code: 400, message: 'container "worker" in pod "i1" is waiting to start: trying and failing to pull image'});
    });

    it('createContainerError: given reason and message; a missing executable and a missing entrypoint also end there', async () => {
      server.setScenario((p) => p.metadata?.name === 'c1', {kind: 'createContainerError', reason: 'CreateContainerConfigError', message: 'configmap "x" not found'});
      await c.core.createNamespacedPod({namespace: 'default', body: podSpec('c1', ['true'])});
      await c.core.createNamespacedPod({namespace: 'default', body: podSpec('c2', ['/no/such/binary'])});
      await c.core.createNamespacedPod({namespace: 'default', body: {metadata: {name: 'c3'}, spec: {containers: [{name: 'worker', image: 'unknown-image'}]}}});
      const c1 = await server.waitForPod((p) => p.metadata?.name === 'c1' && waitingOf(p)?.reason === 'CreateContainerConfigError');
      expect(waitingOf(c1)!.message).to.equal('configmap "x" not found');
      const c2 = await server.waitForPod((p) => p.metadata?.name === 'c2' && waitingOf(p)?.reason === 'CreateContainerError');
      expect(waitingOf(c2)!.message).to.contain('exec: "/no/such/binary": executable file not found in $PATH');
      const c3 = await server.waitForPod((p) => p.metadata?.name === 'c3' && waitingOf(p)?.reason === 'CreateContainerError');
      expect(waitingOf(c3)!.message).to.contain('executable not found');
      const r = await get(`${server.url}/api/v1/namespaces/default/pods/c2/log`);
      expect(JSON.parse(r.body)).to.include({message: 'container "worker" in pod "c2" is waiting to start: CreateContainerError'});
    });

    it('setEntrypoint: the image runs the mapped argv, with the spec env, in its own cwd', async () => {
      server.setEntrypoint('example/ee', ['sh', '-c', 'echo "$GREETING from $(basename "$PWD" | cut -c1-13)"']);
      await c.core.createNamespacedPod({
        namespace: 'default',
        body: {metadata: {name: 'e1'}, spec: {restartPolicy: 'Never', containers: [{name: 'worker', image: 'example/ee', env: [{name: 'GREETING', value: 'hi'}]}]}},
      });
      const p = await server.waitForPod((x) => x.status?.phase === 'Succeeded');
      const t = p.status!.containerStatuses![0].state!.terminated!;
      expect(t.exitCode).to.equal(0);
      expect(t.reason).to.equal('Completed');
      const r = await get(`${server.url}/api/v1/namespaces/default/pods/e1/log`);
      expect(r.body).to.equal('hi from kube-api-pod-\n');
    });

    it('exec runs a command in the pod and reports a non-zero exit as a Failure Status', async () => {
      await c.core.createNamespacedPod({namespace: 'default', body: podSpec('x1', ['sleep', '30'])});
      await server.waitForPod(isRunningReady);
      const out = new Sink();
      let status: V1Status | null = null;
      await new Exec(c.kc).exec('default', 'x1', 'worker', ['sh', '-c', 'echo out; exit 3'], out, null, null, false, (s) => (status = s));
      await until(() => status, 'exec status');
      expect(status).to.deep.include({status: 'Failure', reason: 'NonZeroExitCode'});
      expect(status!.details!.causes![0]).to.deep.equal({reason: 'ExitCode', message: '3'});
      expect(out.text).to.equal('out\n');
    });

    it('stdinOnce: a second attach session finds stdin closed and ends at once (stdin only)', async () => {
      await c.core.createNamespacedPod({namespace: 'default', body: podSpec('o1', ['sh', '-c', 'cat; sleep 30'], {stdin: true, stdinOnce: true})});
      await server.waitForPod(isRunningReady);
      const first = await attachWith(c.kc).attach('default', 'o1', 'worker', null, null, Readable.from([Buffer.from('x\n')]), false);
      const status1 = await new Promise<unknown>((resolve) => first.on('message', (d: Buffer) => d[0] === 3 && d.length > 1 && resolve(JSON.parse(d.subarray(1).toString()))));
      expect(status1).to.deep.include({status: 'Success'});
      const pending = new PassThrough(); // never ends
      const second = await attachWith(c.kc).attach('default', 'o1', 'worker', null, null, pending, false);
      // the server ends the session by itself (its status can arrive with the handshake, before a listener here)
      await until(() => second.readyState === second.CLOSED, 'the second session to end');
      expect((await get(`${server.url}/api/v1/namespaces/default/pods/o1/log`)).body).to.equal('x\n');
    });

    it('killContainer: the container ends with 128+signal and the pod fails', async () => {
      await c.core.createNamespacedPod({namespace: 'default', body: podSpec('k1', ['sleep', '30'])});
      await server.waitForPod(isRunningReady);
      server.killContainer('default', 'k1', 'SIGKILL');
      const p = await server.waitForPod((x) => x.status?.phase === 'Failed');
      expect(p.status!.containerStatuses![0].state!.terminated!.exitCode).to.equal(137);
    });
  });

  describe('TLS and token', () => {
    it('serves https with the kubeconfig CA and answers 401 without the bearer token', async () => {
      server = await KubeApiServer.start({tls: true, token: 'sekret'});
      expect(server.url).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);
      c = clientFor(server);
      await c.core.createNamespacedPod({namespace: 'default', body: podSpec('t1', ['sh', '-c', 'echo secure'])});
      await server.waitForPod((p) => p.status?.phase === 'Succeeded');
      const sink = new Sink();
      await new Log(c.kc).log('default', 't1', 'worker', sink, {follow: true});
      await finished(sink);
      expect(sink.text).to.equal('secure\n');
      const kc = (await import('yaml')).parse(server.kubeconfig()) as {clusters: Array<{cluster: Record<string, string>}>};
      const ca = Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString();
      const denied = await get(`${server.url}/api/v1/namespaces/default/pods`, {ca});
      expect(denied.status).to.equal(401);
      expect(JSON.parse(denied.body)).to.include({kind: 'Status', reason: 'Unauthorized', code: 401});
      const ok = await get(`${server.url}/api/v1/namespaces/default/pods`, {ca, token: 'sekret'});
      expect(ok.status).to.equal(200);
      // attach over wss with the token
      await c.core.createNamespacedPod({namespace: 'default', body: podSpec('t2', ['cat'], {stdin: true, stdinOnce: true})});
      await server.waitForPod((p) => p.metadata?.name === 't2' && isRunningReady(p));
      await attachWith(c.kc).attach('default', 't2', 'worker', null, null, Readable.from([Buffer.from('over tls\n')]), false);
      await server.waitForPod((p) => p.metadata?.name === 't2' && p.status?.phase === 'Succeeded');
      expect((await get(`${server.url}/api/v1/namespaces/default/pods/t2/log`, {ca, token: 'sekret'})).body).to.equal('over tls\n');
    });
  });

  describe('log stream controls', () => {
    beforeEach(async () => {
      server = await KubeApiServer.start({logLineMax: 10});
      c = clientFor(server);
    });

    it('breakLogStreams destroys an open follow stream mid-way', async () => {
      await c.core.createNamespacedPod({namespace: 'default', body: podSpec('b1', ['sh', '-c', 'i=0; while [ $i -lt 100 ]; do echo line$i; i=$((i+1)); sleep 0.05; done'])});
      await server.waitForPod(isRunningReady);
      let broke = 0;
      const got = await get(`${server.url}/api/v1/namespaces/default/pods/b1/log?follow=true`, {
        onData: (s) => {
          if (broke === 0 && s.includes('line3\n')) broke = server.breakLogStreams('default', 'b1');
        },
      });
      expect(broke).to.equal(1);
      expect(got.clean).to.equal(false);
      expect(got.body).to.not.contain('line99');
    });

    it('breakLogStreamsEvery cuts each stream after that many bytes, possibly mid-line, until cleared', async () => {
      await c.core.createNamespacedPod({namespace: 'default', body: podSpec('b2', ['sh', '-c', 'i=0; while [ $i -lt 50 ]; do echo l$i; i=$((i+1)); done'])});
      await server.waitForPod((p) => p.status?.phase === 'Succeeded');
      server.breakLogStreamsEvery(7);
      for (let i = 0; i < 3; i++) {
        const r = await get(`${server.url}/api/v1/namespaces/default/pods/b2/log`);
        expect(r.clean).to.equal(false);
        expect(r.body).to.equal('l0\nl1\nl');
      }
      server.breakLogStreamsEvery(0);
      const r = await get(`${server.url}/api/v1/namespaces/default/pods/b2/log`);
      expect(r.clean).to.equal(true);
      expect(r.body.split('\n')).to.have.length(51);
    });

    it('rotateLog ends follow streams cleanly after what they had; later reads see only new records', async () => {
      await c.core.createNamespacedPod({namespace: 'default', body: podSpec('r1', ['sh', '-c', 'echo before1; echo before2; read x; echo after; sleep 0.2'], {stdin: true})});
      await server.waitForPod(isRunningReady);
      let rotated = false;
      const first = await get(`${server.url}/api/v1/namespaces/default/pods/r1/log?follow=true`, {
        onData: (s) => {
          if (!rotated && s.includes('before2\n')) {
            rotated = true;
            server.rotateLog('default', 'r1');
          }
        },
      });
      expect(first).to.deep.equal({status: 200, body: 'before1\nbefore2\n', clean: true});
      const empty = await get(`${server.url}/api/v1/namespaces/default/pods/r1/log`);
      expect(empty.body).to.equal('');
      await attachWith(c.kc).attach('default', 'r1', 'worker', null, null, Readable.from([Buffer.from('go\n')]), false);
      await server.waitForPod((p) => p.status?.phase === 'Succeeded');
      expect((await get(`${server.url}/api/v1/namespaces/default/pods/r1/log`)).body).to.equal('after\n');
    });

    it('restartKubelet breaks every log stream and fails log requests with a 500 for a while', async () => {
      await c.core.createNamespacedPod({namespace: 'default', body: podSpec('k2', ['sh', '-c', 'echo a; sleep 30'])});
      await server.waitForPod(isRunningReady);
      let n = -1;
      const got = await get(`${server.url}/api/v1/namespaces/default/pods/k2/log?follow=true`, {
        onData: (s) => {
          if (n < 0 && s.includes('a\n')) n = server.restartKubelet(300);
        },
      });
      expect(n).to.equal(1);
      expect(got.clean).to.equal(false);
      const down = await get(`${server.url}/api/v1/namespaces/default/pods/k2/log`);
      expect(down.status).to.equal(500);
      expect(JSON.parse(down.body).message).to.match(/^Get "https:\/\/127\.0\.0\.1:10250\/containerLogs\/default\/k2\/worker": dial tcp .*connection refused$/);
      const back = await until(async () => ((r) => (r.status === 200 ? r : null))(await get(`${server.url}/api/v1/namespaces/default/pods/k2/log`)), 'kubelet back');
      expect(back.body).to.equal('a\n');
    });

    it('logMaxBytes: the log rotates by itself once it would grow past the size, as kubelet does', async () => {
      await server.close();
      server = await KubeApiServer.start({logMaxBytes: 20});
      c = clientFor(server);
      await c.core.createNamespacedPod({namespace: 'default', body: podSpec('z1', ['sh', '-c', 'echo 123456789; echo abcdefghi; echo ABCDEFGHI; echo end'])});
      await server.waitForPod((p) => p.status?.phase === 'Succeeded');
      expect((await get(`${server.url}/api/v1/namespaces/default/pods/z1/log`)).body).to.equal('ABCDEFGHI\nend\n');
    });

    it('logLineMax: long lines become partial records; kubelet prefixes the timestamp once per line', async () => {
      await c.core.createNamespacedPod({namespace: 'default', body: podSpec('m1', ['sh', '-c', 'echo abcdefghijklmnopqrstuvwxy; printf tail'])});
      await server.waitForPod((p) => p.status?.phase === 'Succeeded');
      expect((await get(`${server.url}/api/v1/namespaces/default/pods/m1/log`)).body).to.equal('abcdefghijklmnopqrstuvwxy\ntail\n');
      const ts = (await get(`${server.url}/api/v1/namespaces/default/pods/m1/log?timestamps=true`)).body;
      expect(ts).to.match(/^\S+Z abcdefghijklmnopqrstuvwxy\n\S+Z tail\n$/);
      // tailLines counts CRI records, as kubelet does: the last two are "uvwxy\n" (F) and "tail\n"
      expect((await get(`${server.url}/api/v1/namespaces/default/pods/m1/log?tailLines=2`)).body).to.equal('uvwxy\ntail\n');
    });

    it('logLineMax with prefixEveryRecord models older kubelets: one timestamp per record', async () => {
      await server.close();
      server = await KubeApiServer.start({logLineMax: 10, prefixEveryRecord: true});
      c = clientFor(server);
      await c.core.createNamespacedPod({namespace: 'default', body: podSpec('m2', ['sh', '-c', 'echo abcdefghijklmnopqrstuvwxy'])});
      await server.waitForPod((p) => p.status?.phase === 'Succeeded');
      const ts = (await get(`${server.url}/api/v1/namespaces/default/pods/m2/log?timestamps=true`)).body;
      expect(ts).to.match(/^\S+Z abcdefghij\S+Z klmnopqrst\S+Z uvwxy\n$/);
    });
  });

  describe('bulk data', () => {
    it('64 MiB through attach stdin -> cat -> log arrives byte for byte (SHA-256)', async function () {
      this.timeout(120_000);
      server = await KubeApiServer.start();
      c = clientFor(server);
      await c.core.createNamespacedPod({namespace: 'default', body: podSpec('big', ['cat'], {stdin: true, stdinOnce: true})});
      await server.waitForPod(isRunningReady);
      const total = 64 * 1024 * 1024;
      const block = 1024 * 1024;
      const want = createHash('sha256');
      async function* payload(): AsyncGenerator<Buffer> {
        for (let off = 0; off < total; off += block) {
          const b = randomBytes(block);
          if (off + block >= total) b[block - 1] = 0x0a; // a last line without "\n" would get one added
          want.update(b);
          yield b;
        }
      }
      const sink = new HashSink();
      const logging = new Log(c.kc).log('default', 'big', 'worker', sink, {follow: true});
      await attachWith(c.kc).attach('default', 'big', 'worker', null, null, Readable.from(payload()), false);
      await logging;
      await finished(sink, 110_000);
      expect(sink.bytes).to.equal(total);
      expect(sink.hash.digest('hex')).to.equal(want.digest('hex'));
      const p = server.pods()[0];
      expect(p.status!.containerStatuses![0].state!.terminated!.exitCode).to.equal(0);
    });
  });
});

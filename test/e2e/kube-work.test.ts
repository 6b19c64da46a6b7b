/**
 * End-to-end: `work-kubernetes` units of a spawned node run "pods" on the Kubernetes API test
 * server (test/support/kube-api/), submitted with `receptor work submit`.
 */
import {expect} from 'chai';
import {createHash, randomBytes} from 'node:crypto';
import {closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync} from 'node:fs';
import {join} from 'node:path';
import {KubeNode, numberedLines, shlexQuote, startKubeNode} from '../support/kube.js';
import {KubeApiServer} from '../support/kube-api/index.js';
import {execFileSync} from 'node:child_process';
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {Daemon, runCli, waitFor} from '../support/cli.js';
import {freePort} from '../support/ports.js';
import type {WorkStatus} from '../../src/core/control/work-client.js';

/** Base64 text lines (the log is line based; kubelet ends a last unterminated line with LF). */
function textPayload(bytes: number): Buffer {
  const raw = randomBytes(Math.ceil((bytes * 3) / 4));
  return Buffer.from(
    raw
      .toString('base64')
      .replace(/(.{76})/g, '$1\n')
      .slice(0, bytes - 1) + '\n',
  );
}

/** A node script printing `line 0` … `line N-1`, `perTick` lines every 10 ms (output spread over time). */
function slowLines(total: number, perTick = 5): string {
  return `let i=0;const t=setInterval(()=>{for(let k=0;k<${perTick}&&i<${total};k++)process.stdout.write('line '+(i++)+'\\n');if(i>=${total})clearInterval(t);},10);`;
}

const done = (s: WorkStatus) => s.State === 2 || s.State === 3;

describe('e2e: work-kubernetes units on the Kubernetes API test server', function () {
  this.timeout(240_000);
  const fx: {api?: KubeApiServer; node?: KubeNode} = {};
  let n: KubeNode;
  let api: KubeApiServer;
  let podFile: string;

  before(async () => {
    n = await startKubeNode(
      {
        workTypes: [
          {worktype: 'kcat', fields: {image: 'test', command: 'cat'}},
          {worktype: 'ksh', fields: {image: 'test', command: 'sh -c', allowruntimeparams: true}},
          {worktype: 'knode', fields: {image: 'test', command: `${process.execPath} -e`, allowruntimeparams: true}},
          {worktype: 'kfail', fields: {image: 'will-fail', command: 'cat', allowruntimeparams: true}},
          {worktype: 'kcmd', fields: {image: 'test', allowruntimecommand: true, allowruntimeauth: true}},
          {worktype: 'ktcp', fields: {image: 'test', command: `${process.execPath} -e`, allowruntimeparams: true, streammethod: 'tcp'}},
          {worktype: 'kruntime', kubeconfig: false, fields: {authmethod: 'runtime', allowruntimeauth: true, allowruntimepod: true, allowruntimeparams: true}},
        ],
      },
      fx,
    );
    api = n.api;
    podFile = join(n.dir, 'pod.yml');
    writeFileSync(
      podFile,
      [
        'apiVersion: v1',
        'kind: Pod',
        'metadata:',
        '  name: awx-job',
        '  labels: {app: awx}',
        'spec:',
        '  containers:',
        '  - name: worker',
        '    image: test',
        '    command: [cat]',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await fx.node?.stop();
    await fx.api?.close();
  });

  it('payload in, output out byte for byte; Succeeded "Finished"; release deletes the pod', async () => {
    const payload = textPayload(3 * 1024 * 1024);
    const file = join(n.dir, 'p3.txt');
    writeFileSync(file, payload);
    const id = await n.submit(['kcat', '--payload', file]);
    const st = await n.waitStatus(id, done);
    expect(st, n.daemon?.stderr.slice(-3000)).to.deep.include({State: 2, StateName: 'Succeeded', Detail: 'Finished', StdoutSize: payload.length, WorkType: 'kcat'});
    const res = await n.work(['results', id]);
    expect(res.code, res.stderr).to.equal(0);
    expect(res.stdout.length).to.equal(payload.length);
    expect(res.stdout === payload.toString()).to.equal(true);
    const pod = n.podName(id);
    expect(pod).to.match(/^kcat-[a-z0-9]{5}$/);
    expect(st.ExtraData).to.deep.equal({Image: 'test', Command: 'cat', Params: '', KubeNamespace: 'default', KubeConfig: '', KubePod: '', PodName: pod});
    expect(n.pod(pod)?.spec?.containers[0]).to.include({name: 'worker', image: 'test', stdin: true, stdinOnce: true});
    expect(n.pod(pod)?.spec?.restartPolicy).to.equal('Never');
    expect(await n.work(['release', id])).to.include({code: 0});
    await waitFor(
      () => !n.pod(pod),
      20_000,
      () => `pod ${pod} deleted`,
    );
  });

  it('64 MiB through stdin and the log: SHA-256 equal', async () => {
    const file = join(n.dir, 'p64.txt');
    const fd = openSync(file, 'w');
    const hash = createHash('sha256');
    let size = 0;
    for (let i = 0; i < 16; i++) {
      const part = textPayload(4 * 1024 * 1024);
      writeSync(fd, part);
      hash.update(part);
      size += part.length;
    }
    closeSync(fd);
    const want = hash.digest('hex');
    const id = await n.submit(['kcat', '--payload', file]);
    const st = await n.waitStatus(id, done, 220_000);
    expect(st, n.daemon?.stderr.slice(-3000)).to.deep.include({State: 2, Detail: 'Finished', StdoutSize: size});
    expect(createHash('sha256').update(n.stdout(id)).digest('hex')).to.equal(want);
    expect(await n.work(['release', id])).to.include({code: 0});
  });

  it('an empty payload skips the attach; the exit code does not change Go\'s "Finished"', async () => {
    const id = await n.submit(['ksh', '-n', '-a', `kube_params=${shlexQuote('echo out; echo err >&2; sleep 3; exit 3')}`]);
    const st = await n.waitStatus(id, done);
    expect(st).to.deep.include({State: 2, Detail: 'Finished'});
    expect(n.stdout(id).toString()).to.equal('out\nerr\n');
    expect(api.requests.some((r) => r.path.endsWith(`/pods/${n.podName(id)}/attach`))).to.equal(false);
    expect(await n.work(['release', id])).to.include({code: 0});
  });

  it('cancel stops the unit and deletes its pod', async () => {
    const id = await n.submit(['ksh', '-n', '-a', `kube_params=${shlexQuote('echo started; sleep 60')}`]);
    await waitFor(
      () => n.stdout(id).toString() === 'started\n',
      30_000,
      () => 'output',
    );
    const pod = n.podName(id);
    expect(n.pod(pod)).to.not.equal(undefined);
    const r = await n.work(['cancel', id]);
    expect(r.code, r.stderr).to.equal(0);
    const st = await n.status(id);
    expect(st).to.deep.include({State: 4, StateName: 'Canceled', Detail: 'Canceled'});
    await waitFor(
      () => !n.pod(pod),
      20_000,
      () => `pod ${pod} deleted`,
    );
    expect(await n.work(['release', id])).to.include({code: 0});
  });

  describe("failures, with Go's state and detail", () => {
    const cases: Array<{name: string; scenario: Parameters<KubeApiServer['setScenario']>[1]; timeout?: string; detail: string}> = [
      {
        name: 'image pull back-off',
        scenario: {kind: 'imagePullError', reason: 'ImagePullBackOff', cycleMs: 100},
        detail: 'Error creating pod: container failed to start, ImagePullBackOff',
      },
      {name: 'unschedulable (pending timeout)', scenario: {kind: 'unschedulable'}, timeout: '2s', detail: 'Error creating pod: timed out waiting for the condition'},
      {
        name: 'container creation error (pending timeout)',
        scenario: {kind: 'createContainerError'},
        timeout: '2s',
        detail: 'Error creating pod: timed out waiting for the condition, CreateContainerError',
      },
      {
        name: 'image pull error (pending timeout)',
        scenario: {kind: 'imagePullError', reason: 'ErrImagePull', cycleMs: 0},
        timeout: '2s',
        detail: 'Error creating pod: timed out waiting for the condition, ErrImagePull',
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const tag = randomBytes(4).toString('hex');
        api.setScenario((p) => p.spec?.containers[0]?.args?.[0] === tag, c.scenario);
        const args = ['kfail', '-l', 'x', '-a', `kube_params=${tag}`];
        if (c.timeout) args.push('-a', `pod_pending_timeout=${c.timeout}`);
        const id = await n.submit(args);
        const st = await n.waitStatus(id, done);
        expect(st).to.deep.include({State: 3, StateName: 'Failed', Detail: c.detail});
        const pod = n.podName(id);
        expect(pod).to.match(/^kfail-/);
        await waitFor(
          () => !n.pod(pod),
          20_000,
          () => `pod ${pod} deleted`,
        );
        expect(await n.work(['release', id])).to.include({code: 0});
      });
    }
  });

  it('a container that fails before the watch: "pod failed to start, exit code N: " (Go\'s text)', async () => {
    const id = await n.submit(['ksh', '-n', '-a', `kube_params=${shlexQuote('echo oops; exit 4')}`]);
    const st = await n.waitStatus(id, done);
    expect(st).to.deep.include({State: 3, Detail: 'Error creating pod: pod failed to start, exit code 4: '});
    const pod = n.podName(id);
    await waitFor(
      () => !n.pod(pod),
      20_000,
      () => `pod ${pod} deleted`,
    );
    expect(await n.work(['release', id])).to.include({code: 0});
  });

  it('a log stream broken 100 times mid-output loses and duplicates no line', async () => {
    const total = 12000;
    const id = await n.submit(['knode', '-n', '-a', `kube_params=${shlexQuote(slowLines(total))}`]);
    await waitFor(
      () => n.stdout(id).length > 0,
      30_000,
      () => 'first output',
    );
    const pod = n.podName(id);
    const logGets = () => api.requests.filter((r) => r.path === `/api/v1/namespaces/default/pods/${pod}/log`).length;
    let breaks = 0;
    while (breaks < 100) {
      const before = logGets();
      // break once this connection carried some output (or the output is complete)
      const size = n.stdout(id).length;
      await waitFor(
        () => n.stdout(id).length > size || n.stdout(id).length >= numberedLines(total).length,
        10_000,
        () => 'more output',
      );
      if (api.breakLogStreams('default', pod) > 0) breaks++;
      await waitFor(
        () => logGets() > before || n.stdout(id).length >= numberedLines(total).length,
        10_000,
        () => 'a reconnect',
      );
      if (n.diskStatus(id).State >= 2) break;
    }
    expect(breaks).to.equal(100);
    const st = await n.waitStatus(id, done);
    expect(st).to.deep.include({State: 2, Detail: 'Finished'});
    const out = n.stdout(id).toString();
    expect(out.length).to.equal(numberedLines(total).length);
    expect(out === numberedLines(total)).to.equal(true);
    expect(await n.work(['release', id])).to.include({code: 0});
  });

  it('streams cut every few KiB (mid-line) resume exactly', async () => {
    const total = 6000;
    // More than one second of timestamped output (~20 KB/s): each connection gets past what sinceTime resends.
    api.breakLogStreamsEvery(45_000);
    try {
      const id = await n.submit(['knode', '-n', '-a', `kube_params=${shlexQuote(slowLines(total))}`]);
      const st = await n.waitStatus(id, done);
      expect(st, n.daemon?.stderr.slice(-2000)).to.deep.include({State: 2, Detail: 'Finished'});
      expect(n.stdout(id).toString() === numberedLines(total)).to.equal(true);
      const pod = n.podName(id);
      expect(api.requests.filter((r) => r.path.endsWith(`/pods/${pod}/log`)).length).to.be.greaterThan(3);
      expect(await n.work(['release', id])).to.include({code: 0});
    } finally {
      api.breakLogStreamsEvery(0);
    }
  });

  it('a log outage of seconds (every stream cut after 1 byte) is waited out, not a failure', async () => {
    const total = 3000;
    const id = await n.submit(['knode', '-n', '-a', `kube_params=${shlexQuote(slowLines(total))}`]);
    await waitFor(
      () => n.stdout(id).length > 0,
      30_000,
      () => 'first output',
    );
    const pod = n.podName(id);
    const gets = () => api.requests.filter((r) => r.path.endsWith(`/pods/${pod}/log`)).length;
    api.breakLogStreamsEvery(1);
    api.breakLogStreams('default', pod);
    const before = gets();
    try {
      // the outage lasts until the node has failed to read the log a few times over
      await waitFor(
        () => gets() - before > 5,
        30_000,
        () => 'reconnect attempts during the outage',
      );
    } finally {
      api.breakLogStreamsEvery(0);
    }
    expect(gets() - before).to.be.greaterThan(5);
    const st = await n.waitStatus(id, done);
    expect(st).to.deep.include({State: 2, Detail: 'Finished'});
    expect(n.stdout(id).toString() === numberedLines(total)).to.equal(true);
    expect(await n.work(['release', id])).to.include({code: 0});
  });

  it('log rotation mid-output loses and duplicates no line', async () => {
    const total = 3000;
    const id = await n.submit(['knode', '-n', '-a', `kube_params=${shlexQuote(slowLines(total))}`]);
    await waitFor(
      () => n.stdout(id).length > 0,
      30_000,
      () => 'first output',
    );
    const pod = n.podName(id);
    for (let i = 0; i < 5; i++) {
      // rotate once the node has read more of this file
      const size = n.stdout(id).length;
      await waitFor(
        () => n.stdout(id).length > size + 3000 || n.pod(pod)?.status?.phase !== 'Running',
        30_000,
        () => 'more output',
      );
      if (n.pod(pod)?.status?.phase !== 'Running') break;
      api.rotateLog('default', pod);
    }
    const st = await n.waitStatus(id, done);
    expect(st).to.deep.include({State: 2, Detail: 'Finished'});
    expect(n.stdout(id).toString() === numberedLines(total)).to.equal(true);
    expect(await n.work(['release', id])).to.include({code: 0});
  });

  it('node restarts mid-job (graceful, then killed) reattach to the pod and lose or duplicate no line', async () => {
    const total = 5000;
    const id = await n.submit(['knode', '-n', '-a', `kube_params=${shlexQuote(slowLines(total))}`]);
    await waitFor(
      () => n.stdout(id).length > 2000,
      30_000,
      () => 'some output',
    );
    const pod = n.podName(id);
    await n.stop('SIGINT');
    const first = n.stdout(id).length;
    expect(n.diskStatus(id)).to.deep.include({State: 1, Detail: 'Pod Running'});
    await n.start();
    await waitFor(
      () => n.stdout(id).length > first + 4000,
      30_000,
      () => 'more output after the restart',
    );
    await n.stop('SIGKILL');
    expect(n.stdout(id).length).to.be.lessThan(numberedLines(total).length);
    await n.start();
    const st = await n.waitStatus(id, done);
    expect(st).to.deep.include({State: 2, Detail: 'Finished'});
    expect(n.podName(id)).to.equal(pod);
    const out = n.stdout(id).toString();
    expect(out.length).to.equal(numberedLines(total).length);
    expect(out === numberedLines(total)).to.equal(true);
    expect(await n.work(['release', id])).to.include({code: 0});
    await waitFor(
      () => !n.pod(pod),
      20_000,
      () => `pod ${pod} deleted`,
    );
  });

  it('a unit still Pending at a node restart fails as in Go, and its pod is deleted (deletepodonrestart)', async () => {
    const tag = randomBytes(4).toString('hex');
    api.setScenario((p) => p.spec?.containers[0]?.args?.[0] === tag, {kind: 'pending'});
    const id = await n.submit(['kfail', '-l', 'x', '-a', `kube_params=${tag}`]);
    await n.waitStatus(id, (s) => s.Detail === 'Pod created');
    const pod = n.podName(id);
    expect(n.pod(pod)).to.not.equal(undefined);
    await n.stop();
    await n.start();
    const st = await n.waitStatus(id, done);
    expect(st).to.deep.include({State: 3, Detail: 'Failed to restart: work unit is not in running state, cannot be restarted'});
    await waitFor(
      () => !n.pod(pod),
      20_000,
      () => `pod ${pod} deleted`,
    );
    expect(await n.work(['release', id])).to.include({code: 0});
  });

  it('runtime auth and pod: the secrets are used, stored, and redacted in status and list', async () => {
    const id = await n.submit([
      'kruntime',
      '-l',
      'hello runtime',
      '-a',
      `secret_kube_config=@${n.kubeconfigPath}`,
      '-a',
      `secret_kube_pod=@${podFile}`,
      '-a',
      'pod_pending_timeout=30s',
    ]);
    const st = await n.waitStatus(id, done);
    expect(st, n.daemon?.stderr.slice(-2000)).to.deep.include({State: 2, Detail: 'Finished'});
    expect(n.stdout(id).toString()).to.equal('hello runtime\n');
    const pod = n.podName(id);
    expect(pod).to.match(/^awx-job-[a-z0-9]{5}$/);
    expect(n.pod(pod)?.metadata?.labels).to.deep.equal({app: 'awx'});
    expect(st.ExtraData).to.deep.equal({Image: '', Command: '', Params: '', KubeNamespace: 'default', KubeConfig: '', KubePod: '', PodName: pod});
    const list = await n.json<Record<string, WorkStatus>>(['list']);
    expect(list[id].ExtraData).to.deep.include({KubeConfig: '', KubePod: ''});
    const onDisk = JSON.parse(readFileSync(join(n.unitDir(id), 'status'), 'utf8')) as {ExtraData: Record<string, string>};
    expect(onDisk.ExtraData.KubeConfig).to.equal(readFileSync(n.kubeconfigPath, 'utf8'));
    expect(onDisk.ExtraData.KubePod).to.equal(readFileSync(podFile, 'utf8'));
    expect(await n.work(['release', id])).to.include({code: 0});
  });

  it('kube_image, kube_command and kube_namespace at submit time (with their permissions)', async () => {
    const id = await n.submit(['kcmd', '-l', 'runtime command', '-a', 'kube_image=other-image', '-a', 'kube_command=cat', '-a', 'kube_namespace=team-a']);
    const st = await n.waitStatus(id, done);
    expect(st, n.daemon?.stderr.slice(-2000)).to.deep.include({State: 2, Detail: 'Finished'});
    expect(n.stdout(id).toString()).to.equal('runtime command\n');
    const pod = n.podName(id);
    expect(st.ExtraData).to.deep.include({Image: 'other-image', Command: 'cat', KubeNamespace: 'team-a', PodName: pod});
    const p = api.pods('team-a').find((x) => x.metadata?.name === pod);
    expect(p?.spec?.containers[0]).to.include({image: 'other-image'});
    expect(p?.spec?.containers[0].command).to.deep.equal(['cat']);
    expect(await n.work(['release', id])).to.include({code: 0});
    await waitFor(
      () => !api.pods('team-a').some((x) => x.metadata?.name === pod),
      20_000,
      () => `pod ${pod} deleted`,
    );
  });

  it("runtime parameters need their permission (Go's texts)", async () => {
    const cases: Array<[string[], string]> = [
      [['kcat', '-a', 'kube_image=other'], 'kube_image provided but not allowed'],
      [['kcat', '-a', 'kube_params=x'], 'kube_params provided but not allowed'],
      [['kcat', '-a', 'secret_kube_pod=x'], 'secret_kube_pod provided but not allowed'],
      [['kcat', '-a', 'secret_kube_config=x'], 'secret_kube_config provided but not allowed'],
      [['kruntime'], 'param secret_kube_config must be provided if AuthMethod=runtime'],
      [
        ['kruntime', '-a', 'secret_kube_config=x', '-a', 'secret_kube_pod=p', '-a', 'kube_params=y'],
        'params kube_command, kube_image, kube_params not compatible with secret_kube_pod',
      ],
      [['ksh', '-a', 'pod_pending_timeout=soon'], 'time: invalid duration "soon"'],
    ];
    for (const [args, msg] of cases) {
      const r = await n.work(['submit', ...args, '-l', 'x']);
      expect(r.code, args.join(' ')).to.not.equal(0);
      expect(r.stderr + r.stdout, args.join(' ')).to.contain(msg);
    }
  });

  it('stream method tcp: the pod connects back for stdin and stdout', async function () {
    const echo = "const s=require('net').connect(+process.env.RECEPTOR_PORT,process.env.RECEPTOR_HOST);s.pipe(s);";
    const id = await n.submit(['ktcp', '-l', 'over tcp', '-a', `kube_params=${shlexQuote(echo)}`]);
    const st = await n.waitStatus(id, done);
    if (st.Detail === 'Error listening: could not determine local address') this.skip();
    expect(st, n.daemon?.stderr.slice(-2000)).to.deep.include({State: 2, Detail: 'Finished', StdoutSize: 9});
    expect(n.stdout(id).toString()).to.equal('over tcp\n');
    const env = n.pod(n.podName(id))?.spec?.containers[0].env?.map((e) => e.name);
    expect(env).to.deep.equal(['RECEPTOR_HOST', 'RECEPTOR_PORT']);
    expect(await n.work(['release', id])).to.include({code: 0});
  });
});

describe('e2e: remote work-kubernetes over the mesh, and signed work', function () {
  this.timeout(120_000);
  const fx: {api?: KubeApiServer; node?: KubeNode} = {};
  const dir = mkdtempSync(join(tmpdir(), 'receptor-kube-mesh-'));
  const ctlSock = join(dir, 'ctl.sock');
  let ctl: Daemon | undefined;

  before(async () => {
    const port = await freePort();
    execFileSync('openssl', ['genrsa', '-out', join(dir, 'priv.pem'), '2048'], {stdio: 'ignore'});
    execFileSync('openssl', ['rsa', '-in', join(dir, 'priv.pem'), '-pubout', '-out', join(dir, 'pub.pem')], {stdio: 'ignore'});
    await startKubeNode(
      {
        nodeId: 'kexec',
        extraItems: ['- tcp-listener:', `    port: ${port}`, '    bindaddr: 127.0.0.1', `- work-verification: {publickey: ${join(dir, 'pub.pem')}}`],
        workTypes: [
          {worktype: 'kcat', fields: {image: 'test', command: 'cat'}},
          {worktype: 'ksecure', fields: {image: 'test', command: 'cat', verifysignature: true}},
        ],
      },
      fx,
    );
    writeFileSync(
      join(dir, 'ctl.yml'),
      [
        '- node:',
        '    id: ctl',
        `    datadir: ${join(dir, 'data')}`,
        '- control-service:',
        '    service: control',
        `    filename: ${ctlSock}`,
        `- tcp-peer: 127.0.0.1:${port}`,
        `- work-signing: {privatekey: ${join(dir, 'priv.pem')}, tokenexpiration: 1m}`,
        '',
      ].join('\n'),
    );
    ctl = new Daemon(['-c', join(dir, 'ctl.yml')]);
    await ctl.waitForLog('Initialization complete');
    await waitFor(
      async () => {
        const r = await runCli(['status', '--json', '--socket', ctlSock]);
        if (r.code !== 0) return false;
        const st = JSON.parse(r.stdout) as {Advertisements?: Array<{NodeID: string; Service: string}>};
        return (st.Advertisements ?? []).some((a) => a.NodeID === 'kexec' && a.Service === 'control');
      },
      30_000,
      () => 'ctl sees kexec',
    );
  });
  after(async () => {
    await ctl?.stop();
    await fx.node?.stop();
    await fx.api?.close();
  });

  const work = (args: string[]) => runCli(['work', ...args, '--socket', ctlSock], {timeoutMs: 60_000});

  it('a control node submits to the node that holds the cluster credentials; release deletes the pod', async () => {
    const payload = numberedLines(20_000, 'remote');
    const file = join(dir, 'payload.txt');
    writeFileSync(file, payload);
    const sub = await work(['submit', 'kcat', '--node', 'kexec', '--payload', file]);
    expect(sub.code, sub.stderr).to.equal(0);
    const id = /^Unit ID: (\S+)$/m.exec(sub.stdout)![1];
    const r = await work(['results', id]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout === payload).to.equal(true);
    const st = JSON.parse((await work(['status', id, '--json'])).stdout) as WorkStatus;
    expect(st).to.deep.include({State: 2, Detail: 'Finished', WorkType: 'remote'});
    const remoteId = (st.ExtraData as {RemoteUnitID: string}).RemoteUnitID;
    const pod = fx.node!.podName(remoteId);
    expect(fx.node!.pod(pod)).to.not.equal(undefined);
    expect(await work(['release', id])).to.include({code: 0});
    await waitFor(
      () => !fx.node!.pod(pod),
      30_000,
      () => `pod ${pod} deleted`,
    );
  });

  it('signed work: accepted with --signwork, refused without it', async () => {
    const ok = await work(['submit', 'ksecure', '--node', 'kexec', '--signwork', '-l', 'signed kube', '-f', '--rm']);
    expect(ok.code, ok.stderr).to.equal(0);
    expect(ok.stdout).to.equal('signed kube\n');
    const bad = await work(['submit', 'ksecure', '--node', 'kexec', '-l', 'x']);
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.contain('could not verify signature: signature is empty');
  });
});

describe('e2e: authmethod incluster (service account files, TLS and a bearer token)', function () {
  this.timeout(60_000);
  let api: KubeApiServer | undefined;
  let node: KubeNode | undefined;

  after(async () => {
    await node?.stop();
    await api?.close();
  });

  it('runs a unit with the service account of the pod our node would run in', async () => {
    api = await KubeApiServer.start({tls: true, token: 'sa-token-123'});
    const dir = mkdtempSync(join(tmpdir(), 'receptor-kube-incluster-'));
    const sa = join(dir, 'root', 'var/run/secrets/kubernetes.io/serviceaccount');
    mkdirSync(sa, {recursive: true});
    const kc = api.kubeconfig();
    const ca = Buffer.from(/certificate-authority-data: (\S+)/.exec(kc)![1], 'base64').toString();
    writeFileSync(join(sa, 'ca.crt'), ca);
    writeFileSync(join(sa, 'token'), 'sa-token-123');
    writeFileSync(join(sa, 'namespace'), 'awx');
    const url = new URL(api.url);
    const sock = join(dir, 'ctl.sock');
    const config = join(dir, 'r.yml');
    writeFileSync(
      config,
      [
        '- node:',
        '    id: inc',
        `    datadir: ${join(dir, 'data')}`,
        '- local-only',
        '- control-service:',
        '    service: control',
        `    filename: ${sock}`,
        '- work-kubernetes: {worktype: kin, authmethod: incluster, namespace: awx, image: test, command: cat}',
        '',
      ].join('\n'),
    );
    node = new KubeNode(api, dir, 'inc', config, sock, '', {
      KUBERNETES_SERVICE_HOST: url.hostname,
      KUBERNETES_SERVICE_PORT: url.port,
      RECEPTOR_KUBE_SA_PREFIX: join(dir, 'root'),
    });
    await node.start();
    const id = await node.submit(['kin', '-l', 'in cluster']);
    const st = await node.waitStatus(id, (s) => s.State >= 2);
    expect(st, node.daemon?.stderr.slice(-2000)).to.deep.include({State: 2, Detail: 'Finished'});
    expect(node.stdout(id).toString()).to.equal('in cluster\n');
    expect(api.pods('awx').map((p) => p.metadata?.name)).to.include(node.podName(id));
    expect(await node.work(['release', id])).to.include({code: 0});
  });
});

/** A node script printing `n` long lines (containerd splits them into partial records), one every 10 ms. */
function longLines(n: number): string {
  return `let i=0;const t=setInterval(()=>{process.stdout.write('long '+i+' '+'x'.repeat(90+(i%70))+'\\n');if(++i>=${n})clearInterval(t);},10);`;
}

function expectedLongLines(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += `long ${i} ${'x'.repeat(90 + (i % 70))}\n`;
  return s;
}

for (const mode of [
  {name: 'kubelet >= 1.27 (one timestamp per line)', prefixEveryRecord: false},
  {name: 'older kubelets (a timestamp on every partial record)', prefixEveryRecord: true},
]) {
  describe(`e2e: long lines split into partial records, ${mode.name}`, function () {
    this.timeout(120_000);
    const fx: {api?: KubeApiServer; node?: KubeNode} = {};
    after(async () => {
      await fx.node?.stop();
      await fx.api?.close();
    });

    it('come out whole, also across broken streams', async () => {
      const n = await startKubeNode(
        {
          api: {logLineMax: 40, prefixEveryRecord: mode.prefixEveryRecord},
          workTypes: [{worktype: 'knode', fields: {image: 'test', command: `${process.execPath} -e`, allowruntimeparams: true}}],
        },
        fx,
      );
      // About 100 lines a second of up to 290 bytes with prefixes: cut every 60 kB (more than a second).
      n.api.breakLogStreamsEvery(60_000);
      const total = 1000;
      const id = await n.submit(['knode', '-n', '-a', `kube_params=${shlexQuote(longLines(total))}`]);
      const st = await n.waitStatus(id, (s) => s.State >= 2);
      expect(st, n.daemon?.stderr.slice(-2000)).to.deep.include({State: 2, Detail: 'Finished'});
      const out = n.stdout(id).toString();
      expect(out.length).to.equal(expectedLongLines(total).length);
      expect(out === expectedLongLines(total)).to.equal(true);
      const gets = n.api.requests.filter((r) => r.path.endsWith(`/pods/${n.podName(id)}/log`));
      expect(gets.length).to.be.greaterThan(1);
      expect(gets.every((r) => new URLSearchParams(r.query).get('timestamps') === 'true')).to.equal(true);
    });
  });
}

describe("e2e: Go's rule for log reconnect support (server version, RECEPTOR_KUBE_SUPPORT_RECONNECT)", function () {
  this.timeout(60_000);
  const fx: {api?: KubeApiServer; node?: KubeNode} = {};
  after(async () => {
    await fx.node?.stop();
    await fx.api?.close();
  });

  it('a v1.22 server gets one plain log stream (no timestamps), as Go reads it', async () => {
    const n = await startKubeNode(
      {api: {version: {major: '1', minor: '22', gitVersion: 'v1.22.17'}}, workTypes: [{worktype: 'kcat', fields: {image: 'test', command: 'cat'}}]},
      fx,
    );
    const id = await n.submit(['kcat', '-l', 'plain stream']);
    const st = await n.waitStatus(id, (s) => s.State >= 2);
    expect(st).to.deep.include({State: 2, Detail: 'Finished'});
    expect(n.stdout(id).toString()).to.equal('plain stream\n');
    const gets = n.api.requests.filter((r) => r.path.endsWith(`/pods/${n.podName(id)}/log`));
    expect(gets.map((r) => new URLSearchParams(r.query).get('timestamps'))).to.deep.equal([null]);
  });
});

/**
 * The test server against the real client-go: Go receptor (reference install, built with its
 * Kubernetes work type) runs work-kubernetes units on it. Cases without stdin need no SPDY.
 */
import {expect} from 'chai';
import {spawn, type ChildProcess} from 'node:child_process';
import {createHash, randomBytes} from 'node:crypto';
import {existsSync, mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {KubeApiServer} from '../../support/kube-api/index.js';
import {ask, readResults, submitWork} from '../../support/work.js';
import {requireGo} from '../../interop/support.js';
import {until} from './helpers.js';

const SPDY_MODULE = join(dirname(fileURLToPath(import.meta.url)), '../../support/kube-api/spdy/index.ts');

interface UnitStatus {
  State: number;
  Detail: string;
  StdoutSize: number;
  ExtraData: {PodName?: string} | null;
}

describe('kube-api test server: Go receptor (client-go) as the client', function () {
  this.timeout(90_000);
  let goBin: string;
  let server: KubeApiServer;
  let dir: string;
  let go: ChildProcess;
  let sock: string;
  let goLog = '';

  before(function () {
    goBin = requireGo(this)[0].bin;
  });

  beforeEach(async () => {
    server = await KubeApiServer.start({tls: true, token: 'go-token'});
    server.setScenario((p) => p.spec?.containers?.[0]?.image === 'pullerror', {kind: 'imagePullError', cycleMs: 100});
    dir = mkdtempSync(join(tmpdir(), 'kapi-go-'));
    const kubeconfig = server.writeKubeconfig(dir, {namespace: 'default'});
    sock = join(dir, 'ctl.sock');
    goLog = '';
    go = spawn(
      goBin,
      [
        '--node',
        `id=gonode`,
        `datadir=${join(dir, 'data')}`,
        '--local-only',
        '--control-service',
        `filename=${sock}`,
        '--work-kubernetes',
        'worktype=kube',
        'authmethod=kubeconfig',
        `kubeconfig=${kubeconfig}`,
        'namespace=default',
        'image=busybox',
        'allowruntimecommand=true',
      ],
      {stdio: ['ignore', 'pipe', 'pipe']},
    );
    go.stdout!.on('data', (d: Buffer) => (goLog += d.toString()));
    go.stderr!.on('data', (d: Buffer) => (goLog += d.toString()));
    // the socket file appears before the control service answers
    await until(
      async () =>
        existsSync(sock) &&
        (await ask(sock, 'work list').then(
          () => true,
          () => false,
        )),
      'Go control service',
    );
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.log(goLog);
    go?.kill('SIGKILL');
    await server?.close();
    rmSync(dir, {recursive: true, force: true});
  });

  // Go's control service can answer before the work type is registered: retry that refusal
  const submit = (params: Record<string, string>, payload?: Buffer): Promise<{id: string}> =>
    until(
      async () =>
        ((r) => (r.id !== '' ? r : r.created.includes('unknown work type') ? null : Promise.reject(new Error(r.created))))(
          await submitWork(sock, {node: 'gonode', worktype: 'kube', ...params}, payload ?? ''),
        ),
      'the kube work type',
    );
  const status = async (id: string): Promise<UnitStatus> => JSON.parse(await ask(sock, `work status ${id}`)) as UnitStatus;
  const final = (id: string): Promise<UnitStatus> => until(async () => ((s) => (s.State >= 2 ? s : null))(await status(id)), `unit ${id} to finish`, 60_000);

  it('a unit without stdin runs the pod, streams its log (timestamps + sinceTime) and finishes; release deletes the pod', async () => {
    const r = await submit({kube_command: "sh -c 'echo hello; sleep 2.5; echo world'"});
    expect(r.id).to.not.equal('');
    const s = await final(r.id);
    expect(s).to.include({State: 2, Detail: 'Finished'});
    expect((await readResults(sock, r.id)).toString()).to.equal('hello\nworld\n');
    const podName = s.ExtraData!.PodName!;
    expect(podName).to.match(/^kube-[a-z0-9]{5}$/);
    // client-go's informer: list then watch from its resourceVersion, with bookmarks
    expect(server.requests.some((q) => q.query.includes('watch=true') && q.query.includes('allowWatchBookmarks=true'))).to.equal(true);
    expect(server.requests.some((q) => q.path.endsWith(`/${podName}/log`) && q.query.includes('timestamps=true'))).to.equal(true);
    await ask(sock, `work release ${r.id}`);
    await until(() => server.pods().length === 0, 'pod deleted on release');
  });

  it("an image that cannot be pulled fails with Go's text after four ImagePullBackOff events", async () => {
    const r = await submit({kube_image: 'pullerror', kube_command: 'true'});
    // Go first fails opening the log (kubelet's waiting text), then sets the pod error
    const s = await until(async () => ((x) => (x.Detail.startsWith('Error creating pod') ? x : null))(await status(r.id)), 'the pod error', 60_000);
    expect(s).to.include({State: 3, Detail: 'Error creating pod: container failed to start, ImagePullBackOff'});
    expect(goLog).to.contain('is waiting to start: trying and failing to pull image');
  });

  it('a container failing before Go watches (phase Failed): Go reports ErrPodFailed with the exit code', async () => {
    const r = await submit({kube_command: "sh -c 'echo oops; exit 4'"});
    // Go cancels the unit (Canceled, pod deleted) before it sets the pod error
    const s = await until(async () => ((x) => (x.Detail.startsWith('Error creating pod') ? x : null))(await status(r.id)), 'the pod error', 60_000);
    expect(s).to.include({State: 3, Detail: 'Error creating pod: pod failed to start, exit code 4: '});
  });

  it('a payload goes through the SPDY attach (client-go) into `cat` and back byte for byte', async function () {
    if (!existsSync(SPDY_MODULE)) {
      console.log('    [skipped] no test/support/kube-api/spdy module on this branch (the "kspdy" helper provides it)');
      this.skip();
    }
    // long lines: Go rewrites its status file for every log line it copies
    const payload = Buffer.from(
      randomBytes(3 * 1024 * 1024)
        .toString('base64')
        .replace(/(.{4000})/g, '$1\n') + '\n',
    );
    const r = await submit({kube_command: 'cat'}, payload);
    const s = await final(r.id);
    expect(s).to.include({State: 2, Detail: 'Finished'});
    const out = await readResults(sock, r.id);
    expect(createHash('sha256').update(out).digest('hex')).to.equal(createHash('sha256').update(payload).digest('hex'));
    expect(server.requests.some((q) => q.method === 'POST' && q.path.endsWith('/attach') && q.query.includes('stdin=true'))).to.equal(true);
  });
});

/**
 * work-kubernetes against the Kubernetes API test server (test/support/kube-api/), Go receptor
 * and ours side by side: the same submissions through the real receptorctl, the same pod
 * scenarios, the same states, details and output. The test server is honest where Go's unit
 * (client-go, SPDY attach, watch, logs) reaches the outcome a real cluster gives it; where the
 * two implementations and the expected outcome disagree, the case fails naming each.
 *
 * Without a Go reference build only our node runs (each case still checks the expected outcome).
 */
import {expect} from 'chai';
import {createHash, randomBytes} from 'node:crypto';
import {appendFileSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {KubeApiServer} from '../support/kube-api/index.js';
import {waitFor} from '../support/cli.js';
import {receptorctl} from './control-world.js';
import {goImpl, goRefs, InteropNode, manifest, OURS, requireReceptorctl, tempDir, type Impl, type Item} from './support.js';
import {cleanUp, receptorctlResults, unitIdOf, waitStatus, type UnitStatus} from './work-helpers.js';

const TERMINAL = new Set(['Succeeded', 'Failed', 'Canceled']);

/** What one unit came to, with pod names made comparable. */
interface Outcome {
  state: string;
  detail: string;
  size: number;
  sha: string;
  podsLeft: number;
}

function sha256(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}

function normalize(detail: string): string {
  // pod names carry 5 random characters (generateName)
  return detail.replace(/\b(k[a-z]+)-[a-z0-9]{5}\b/g, '$1-<pod>');
}

describe('interop: work-kubernetes, Go receptor and ours on the Kubernetes API test server', function () {
  this.timeout(240_000);
  const impls: Impl[] = [...goRefs().slice(0, 1).map(goImpl), OURS].filter((i) => !process.env.KUBE_ONLY || i.kind === process.env.KUBE_ONLY);
  let ctl: string;
  let server: KubeApiServer;
  let dir: string;
  const nodes = new Map<string, InteropNode>();
  let payload: string;
  let payloadSha: string;
  let payloadShaLogged: string;

  before(async function () {
    ctl = requireReceptorctl(this).at(-1)!.bin;
    if (impls.length === 1) console.log(`      (no Go reference build: ${JSON.stringify(manifest().go.find((g) => 'unavailable' in g) ?? {})}; only our node runs)`);
    dir = tempDir('receptor-kube-');
    server = await KubeApiServer.start();
    const kubeconfig = server.writeKubeconfig(dir, {namespace: 'default'});
    const echoJs = join(dir, 'echo.js');
    // the tcp stream method's pod connects back to RECEPTOR_HOST:RECEPTOR_PORT
    writeFileSync(echoJs, "const s = require('net').connect(Number(process.env.RECEPTOR_PORT), process.env.RECEPTOR_HOST); s.pipe(s);\n");
    payload = join(dir, 'payload.txt');
    const text =
      randomBytes(3 << 20)
        .toString('base64')
        .replace(/(.{4000})/g, '$1\n') + 'no newline at the end';
    writeFileSync(payload, text);
    payloadSha = sha256(text);
    payloadShaLogged = sha256(`${text}\n`);
    server.setScenario((p) => p.metadata!.name!.startsWith('kpull-'), {kind: 'imagePullError', cycleMs: 300});
    server.setScenario((p) => p.metadata!.name!.startsWith('ksched-'), {kind: 'unschedulable'});
    server.setScenario((p) => p.metadata!.name!.startsWith('kcreate-'), {
      kind: 'createContainerError',
      message: 'failed to create containerd task: exec: "nope": executable file not found in $PATH',
    });
    const kube = (worktype: string, fields: Record<string, unknown>): Item => ({
      'work-kubernetes': {worktype, authmethod: 'kubeconfig', kubeconfig, namespace: 'default', image: 'busybox', streammethod: 'logger', ...fields},
    });
    const items: Item[] = [
      {'local-only': {}},
      kube('klog', {command: 'cat'}),
      kube('ktcp', {command: `node ${echoJs}`, streammethod: 'tcp'}),
      kube('kexit', {command: 'sh', params: `-c "cat >/dev/null; echo partial output; exit 3"`}),
      kube('kpull', {command: 'cat', allowruntimeparams: true}),
      kube('ksched', {command: 'cat', allowruntimeparams: true}),
      kube('kcreate', {command: 'cat', allowruntimeparams: true}),
      kube('kslow', {command: 'sh', params: '-c "cat >/dev/null; echo started; exec sleep 600"'}),
    ];
    await Promise.all(
      impls.map(async (impl) => {
        const node = new InteropNode(impl, `kube${impl.label.replace(/[^a-z0-9]/gi, '')}`, dir, {items});
        nodes.set(impl.label, node);
        await node.start();
      }),
    );
  });

  after(async () => {
    await cleanUp([...nodes.values()]);
    await server?.close();
  });

  async function submit(node: InteropNode, worktype: string, args: string[] = []): Promise<string> {
    const r = await receptorctl(ctl, node.sock, ['work', 'submit', worktype, '-p', payload, ...args]);
    expect(r.code, `${node.describe()}: receptorctl work submit ${worktype}: ${r.stderr}`).to.equal(0);
    return unitIdOf(r.stdout);
  }

  async function podsOf(prefix: string): Promise<number> {
    return server.pods('default').filter((p) => p.metadata!.name!.startsWith(`${prefix}-`) && !p.metadata!.deletionTimestamp).length;
  }

  /** Runs one unit to its end on every implementation, releases it, and returns each outcome. */
  async function across(worktype: string, args: string[] = [], timeoutMs = 120_000): Promise<Map<string, Outcome>> {
    const out = new Map<string, Outcome>();
    // one implementation at a time: pod counts and scenarios stay attributable
    for (const impl of impls) {
      const node = nodes.get(impl.label)!;
      const id = await submit(node, worktype, args);
      const st: UnitStatus = await waitStatus(node, id, (s) => TERMINAL.has(s.StateName), `${worktype} to end`, timeoutMs);
      const results = receptorctlResults(ctl, node, id, 60_000);
      const r = await results.done;
      const release = await receptorctl(ctl, node.sock, ['work', 'release', id]);
      expect(release.code, `${node.describe()}: release ${id}: ${release.stderr}`).to.equal(0);
      const podsLeft = await waitFor(
        async () => {
          const n = await podsOf(worktype);
          return n === 0 ? 0 : undefined;
        },
        30_000,
        () => `${node.describe()}: the ${worktype} pod to be deleted on release`,
      ).catch(() => -1);
      out.set(impl.label, {state: st.StateName, detail: normalize(st.Detail), size: r.size, sha: r.sha, podsLeft});
      if (process.env.KUBE_SHOW) console.log(impl.label, worktype, JSON.stringify(out.get(impl.label)));
    }
    return out;
  }

  function expectAll(outcomes: Map<string, Outcome>, want: Partial<Outcome>): void {
    for (const [label, o] of outcomes) {
      const shown = `${label}: ${JSON.stringify(o)}`;
      for (const [k, v] of Object.entries(want)) expect(o[k as keyof Outcome], `${shown} (${k})`).to.equal(v);
    }
    const first = [...outcomes.values()][0];
    for (const [label, o] of outcomes) expect({state: o.state, detail: o.detail}, `${label} against ${impls[0].label}`).to.deep.equal({state: first.state, detail: first.detail});
  }

  it('logger stream method: payload in through attach, output back from the log, byte for byte; Succeeded; release deletes the pod', async () => {
    const o = await across('klog');
    // the container log ends each line: the kubelet ends the unterminated last one with a newline
    expectAll(o, {state: 'Succeeded', detail: 'Finished', sha: payloadShaLogged, podsLeft: 0});
  });

  it('64 MiB through receptorctl on our node: payload in, output out, SHA-256 equal', async () => {
    // ours only: Go rewrites its status file for each log line (about 850 lines/s here)
    const node = nodes.get(OURS.label)!;
    const big = join(dir, 'big.txt');
    const hash = createHash('sha256');
    writeFileSync(big, '');
    for (let done = 0; done < 64 << 20; done += 3 << 20) {
      const chunk = randomBytes(3 << 20)
        .toString('base64')
        .slice(0, Math.min(3 << 20, (64 << 20) - done))
        .replace(/(.{4095})/g, '$1\n');
      hash.update(chunk);
      appendFileSync(big, chunk);
    }
    // a last newline: the kubelet would add one
    hash.update('\n');
    appendFileSync(big, '\n');
    const r = await receptorctl(ctl, node.sock, ['work', 'submit', 'klog', '-p', big]);
    expect(r.code, r.stderr).to.equal(0);
    const id = unitIdOf(r.stdout);
    const st = await waitStatus(node, id, (s) => TERMINAL.has(s.StateName), 'the 64 MiB unit to end', 180_000);
    expect(st).to.include({StateName: 'Succeeded', Detail: 'Finished'});
    const out = await receptorctlResults(ctl, node, id, 120_000).done;
    expect(out.size).to.equal(statSync(big).size);
    expect(out.sha).to.equal(hash.digest('hex'));
    expect((await receptorctl(ctl, node.sock, ['work', 'release', id])).code).to.equal(0);
  });

  it('tcp stream method: the pod connects back; payload in and out byte for byte', async () => {
    const o = await across('ktcp');
    expectAll(o, {state: 'Succeeded', detail: 'Finished', sha: payloadSha, podsLeft: 0});
  });

  it('a container that exits 3 after its output: Succeeded, Finished (the logger method reports the end of the stream, as Go does), its output kept', async () => {
    const o = await across('kexit');
    expectAll(o, {state: 'Succeeded', detail: 'Finished', sha: sha256('partial output\n'), podsLeft: 0});
  });

  it('an image that cannot be pulled: Failed, ImagePullBackOff', async () => {
    const o = await across('kpull');
    expectAll(o, {state: 'Failed', detail: 'Error creating pod: container failed to start, ImagePullBackOff', size: 0, podsLeft: 0});
  });

  it('an unschedulable pod: Failed after pod_pending_timeout', async () => {
    const o = await across('ksched', ['-a', 'pod_pending_timeout=4s']);
    expectAll(o, {state: 'Failed', detail: 'Error creating pod: timed out waiting for the condition', size: 0, podsLeft: 0});
  });

  it('a container that cannot be created: Failed, CreateContainerError', async () => {
    const o = await across('kcreate', ['-a', 'pod_pending_timeout=6s']);
    // Go ends this case three ways (all seen from v1.4.9 here): after the timeout it cancels
    // its own context and opens the log stream once more, and those status updates race with
    // "Error creating pod"
    const goEnds = [
      {state: 'Failed', detail: 'Error creating pod: timed out waiting for the condition, CreateContainerError'},
      {
        state: 'Failed',
        detail: 'Error opening log stream for pod default/kcreate-<pod>. Error: container "worker" in pod "kcreate-<pod>" is waiting to start: CreateContainerError',
      },
      {state: 'Canceled', detail: 'Canceled'},
    ];
    for (const [label, out] of o) {
      expect(out, label).to.include({size: 0, podsLeft: 0});
      expect(goEnds, `${label}: ${JSON.stringify(out)}`).to.deep.include({state: out.state, detail: out.detail});
    }
    const ours = o.get(OURS.label);
    if (ours) expect({state: ours.state, detail: ours.detail}).to.deep.equal(goEnds[0]);
  });

  it('cancel while the pod runs: Canceled, the pod is deleted', async () => {
    const states: Record<string, string> = {};
    for (const impl of impls) {
      const node = nodes.get(impl.label)!;
      const id = await submit(node, 'kslow');
      await waitStatus(node, id, (s) => s.StateName === 'Running', 'kslow to run');
      await waitFor(
        async () => (await podsOf('kslow')) === 1 || undefined,
        30_000,
        () => 'the kslow pod',
      );
      const c = await receptorctl(ctl, node.sock, ['work', 'cancel', id]);
      expect(c.code, c.stderr).to.equal(0);
      const st = await waitStatus(node, id, (s) => TERMINAL.has(s.StateName), 'kslow to end');
      states[impl.label] = st.StateName;
      await waitFor(
        async () => (await podsOf('kslow')) === 0 || undefined,
        30_000,
        () => `${node.describe()}: the kslow pod to be deleted on cancel`,
      );
      await receptorctl(ctl, node.sock, ['work', 'release', id]);
    }
    for (const s of Object.values(states)) expect(s).to.equal('Canceled');
  });
});

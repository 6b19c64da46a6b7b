/**
 * A work-kubernetes unit on a real cluster: runs when KUBECONFIG names a reachable cluster and
 * SKIP_KUBE is not set (the upstream convention); otherwise prints one line and skips.
 * KUBE_TEST_IMAGE picks the image (default busybox; it must have `cat`).
 */
import {expect} from 'chai';
import {mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {delimiter, join} from 'node:path';
import {CoreV1Api, KubeConfig, VersionApi} from '@kubernetes/client-node';
import {Daemon, runCli, waitFor} from '../support/cli.js';
import {numberedLines} from '../support/kube.js';
import type {WorkStatus} from '../../src/core/control/work-client.js';

async function reachable(kc: KubeConfig): Promise<string | undefined> {
  try {
    const v = await Promise.race([kc.makeApiClient(VersionApi).getCode(), new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timed out after 10 s')), 10_000))]);
    void v;
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

describe('e2e: work-kubernetes on a real cluster', function () {
  this.timeout(300_000);
  const kubeconfig = (process.env.KUBECONFIG ?? '').split(delimiter).find((p) => p !== '') ?? '';
  let kc: KubeConfig;
  let daemon: Daemon | undefined;

  before(async function () {
    if (process.env.SKIP_KUBE) {
      console.log('    (real-cluster kube tests skipped: SKIP_KUBE is set)');
      this.skip();
    }
    if (kubeconfig === '') {
      console.log('    (real-cluster kube tests skipped: KUBECONFIG does not name a cluster)');
      this.skip();
    }
    kc = new KubeConfig();
    let why: string | undefined;
    try {
      kc.loadFromFile(kubeconfig);
      why = await reachable(kc);
    } catch (err) {
      why = (err as Error).message;
    }
    if (why) {
      console.log(`    (real-cluster kube tests skipped: the cluster in ${kubeconfig} is not reachable: ${why})`);
      this.skip();
    }
  });
  after(async () => {
    await daemon?.stop();
  });

  it('runs a unit: payload in, output out, Succeeded "Finished", release deletes the pod', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'receptor-kube-real-'));
    const sock = join(dir, 'ctl.sock');
    const image = process.env.KUBE_TEST_IMAGE ?? 'busybox';
    writeFileSync(
      join(dir, 'r.yml'),
      [
        '- node:',
        '    id: real',
        `    datadir: ${join(dir, 'data')}`,
        '- local-only',
        '- control-service:',
        '    service: control',
        `    filename: ${sock}`,
        `- work-kubernetes: {worktype: kreal, authmethod: kubeconfig, kubeconfig: ${JSON.stringify(kubeconfig)}, image: ${JSON.stringify(image)}, command: cat, allowruntimeparams: true}`,
        '',
      ].join('\n'),
    );
    daemon = new Daemon(['-c', join(dir, 'r.yml')]);
    await daemon.waitForLog('Initialization complete');
    const payload = numberedLines(50_000, 'real');
    writeFileSync(join(dir, 'p.txt'), payload);
    const sub = await runCli(['work', 'submit', 'kreal', '--payload', join(dir, 'p.txt'), '-a', 'pod_pending_timeout=4m', '--socket', sock]);
    expect(sub.code, sub.stderr).to.equal(0);
    const id = /^Unit ID: (\S+)$/m.exec(sub.stdout)![1];
    const st = await waitFor(
      async () => {
        const r = await runCli(['work', 'status', id, '--json', '--socket', sock]);
        const s = JSON.parse(r.stdout) as WorkStatus;
        return s.State === 2 || s.State === 3 ? s : false;
      },
      280_000,
      () => `unit ${id} to finish`,
    );
    expect(st).to.deep.include({State: 2, Detail: 'Finished'});
    const res = await runCli(['work', 'results', id, '--socket', sock]);
    expect(res.stdout === payload).to.equal(true);
    const {PodName: pod, KubeNamespace: ns} = st.ExtraData as {PodName: string; KubeNamespace: string};
    expect((await runCli(['work', 'release', id, '--socket', sock])).code).to.equal(0);
    const core = kc.makeApiClient(CoreV1Api);
    await waitFor(
      async () => {
        try {
          const p = await core.readNamespacedPod({namespace: ns, name: pod});
          return p.metadata?.deletionTimestamp !== undefined;
        } catch {
          return true;
        }
      },
      60_000,
      () => `pod ${ns}/${pod} deleted`,
    );
  });
});

/**
 * `work-kubernetes` without a cluster: Go's configuration checks, runtime-parameter
 * permissions and ExtraData (secrets redacted), and the failure of a unit whose kubeconfig is
 * unusable. Units that run pods: test/e2e/kube-work.test.ts.
 */
import {expect} from 'chai';
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {kubernetesTypeDef} from '../../src/core/work/kubernetes.js';
import {checkKubernetesConfig, type WorkKubernetesValues} from '../../src/plugins/work-kubernetes/index.js';
import {Daemon, runCli} from '../support/cli.js';
import {ask, startWorkNode, submitWork, type WorkNode} from '../support/work.js';

function values(v: Partial<WorkKubernetesValues>): WorkKubernetesValues {
  return {
    worktype: 'kube',
    namespace: '',
    image: '',
    command: '',
    params: '',
    authmethod: 'incluster',
    kubeconfig: '',
    pod: '',
    allowruntimeauth: false,
    allowruntimecommand: false,
    allowruntimeparams: false,
    allowruntimepod: false,
    deletepodonrestart: true,
    streammethod: 'logger',
    verifysignature: false,
    ...v,
  };
}

describe('work-kubernetes (configuration and parameters)', function () {
  this.timeout(60_000);

  it("checks the configuration with Go's messages", () => {
    const cases: Array<[Partial<WorkKubernetesValues>, string]> = [
      [{authmethod: 'magic'}, 'invalid AuthMethod: magic'],
      [{image: 'x'}, 'must provide namespace when AuthMethod is not kubeconfig'],
      [{namespace: 'ns', image: 'x', kubeconfig: '/k'}, 'can only provide KubeConfig when AuthMethod=kubeconfig'],
      [{authmethod: 'kubeconfig', image: 'x', kubeconfig: '/nonexistent/kubeconfig'}, 'error accessing kubeconfig file: stat /nonexistent/kubeconfig: no such file or directory'],
      [{namespace: 'ns', pod: '/p.yml', image: 'x'}, 'can only provide Pod when Image, Command, and Params are empty'],
      [{namespace: 'ns'}, 'must specify a container image to run'],
      [{namespace: 'ns', image: 'x', streammethod: 'carrier-pigeon'}, 'stream mode must be logger or tcp'],
    ];
    for (const [v, msg] of cases) expect(() => checkKubernetesConfig(values(v)), msg).to.throw(msg);
    // AWX's two types are valid.
    checkKubernetesConfig(values({authmethod: 'runtime', allowruntimeauth: true, allowruntimepod: true, allowruntimeparams: true}));
    checkKubernetesConfig(values({authmethod: 'InCluster', namespace: 'awx', allowruntimeauth: true, allowruntimepod: true, allowruntimeparams: true}));
  });

  it('an AWX-style config with work-kubernetes items loads and the node starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'receptor-kube-'));
    writeFileSync(
      join(dir, 'r.yml'),
      '- node:\n    id: ctl\n- local-only\n- work-kubernetes:\n    worktype: kubernetes-runtime-auth\n    authmethod: runtime\n    allowruntimeauth: true\n    allowruntimepod: true\n    allowruntimeparams: true\n- work-kubernetes:\n    worktype: kubernetes-incluster-auth\n    authmethod: incluster\n    allowruntimeauth: true\n    allowruntimepod: true\n    allowruntimeparams: true\n',
    );
    const r = await runCli(['config', 'check', '-c', join(dir, 'r.yml')]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('work-kubernetes');
    const d = new Daemon(['-c', join(dir, 'r.yml')]);
    try {
      await d.waitForLog('Initialization complete');
    } finally {
      expect((await d.stop()).code).to.equal(0);
    }
    writeFileSync(join(dir, 'bad.yml'), '- node:\n    id: ctl\n- local-only\n- work-kubernetes:\n    worktype: k\n    namespace: ns\n');
    const bad = await runCli(['config', 'check', '-c', join(dir, 'bad.yml')]);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.contain('must specify a container image to run');
  });

  describe('units', () => {
    let n: WorkNode;
    before(async () => {
      n = await startWorkNode('foo', {
        workTypes: [
          kubernetesTypeDef(values({worktype: 'kubernetes-runtime-auth', authmethod: 'runtime', allowruntimeauth: true, allowruntimepod: true, allowruntimeparams: true})),
          kubernetesTypeDef(values({worktype: 'fixed', namespace: 'ns', image: 'busybox', params: 'a'})),
        ],
      });
    });
    after(async () => {
      await n.close();
    });

    it("refuses runtime parameters without their permission, with Go's texts", async () => {
      const cases: Array<[Record<string, string>, string]> = [
        [{worktype: 'fixed', kube_image: 'x'}, 'ERROR: kube_image provided but not allowed'],
        [{worktype: 'fixed', kube_params: 'x'}, 'ERROR: kube_params provided but not allowed'],
        [{worktype: 'fixed', secret_kube_pod: 'x'}, 'ERROR: secret_kube_pod provided but not allowed'],
        [{worktype: 'kubernetes-runtime-auth'}, 'ERROR: param secret_kube_config must be provided if AuthMethod=runtime'],
        [{worktype: 'kubernetes-runtime-auth', secret_kube_config: 'c', pod_pending_timeout: 'soon'}, 'ERROR: time: invalid duration "soon"'],
      ];
      for (const [req, want] of cases) {
        const r = await submitWork(n.sock, {node: 'localhost', ...req});
        expect(r.reply, JSON.stringify(req)).to.equal(want);
      }
    });

    it('stores the AWX submission, redacts the secrets in replies, and fails a start with an unusable kubeconfig', async () => {
      const r = await submitWork(n.sock, {
        node: 'localhost',
        worktype: 'kubernetes-runtime-auth',
        secret_kube_config: 'kubeconfig-text',
        secret_kube_pod: 'pod-yaml',
        pod_pending_timeout: '5m',
      });
      expect(r.reply).to.match(/^ERROR: ./);
      const st = JSON.parse(await ask(n.sock, `work status ${r.id}`)) as Record<string, unknown>;
      expect(st).to.deep.include({State: 3, StateName: 'Failed', Detail: `Error starting worker: ${r.reply.slice('ERROR: '.length)}`, WorkType: 'kubernetes-runtime-auth'});
      expect(st.ExtraData).to.deep.equal({Image: '', Command: '', Params: '', KubeNamespace: '', KubeConfig: '', KubePod: '', PodName: ''});
      const onDisk = JSON.parse(readFileSync(join(n.dataDir, 'foo', r.id, 'status'), 'utf8')) as {ExtraData: Record<string, string>};
      expect(onDisk.ExtraData).to.include({KubeConfig: 'kubeconfig-text', KubePod: 'pod-yaml'});
      expect(await ask(n.sock, `work release ${r.id}`)).to.equal(`{"released":"${r.id}"}`);
    });

    it('the work types are advertised', () => {
      expect(n.wc.advertisedTypes()).to.deep.equal([
        {workType: 'kubernetes-runtime-auth', secure: false},
        {workType: 'fixed', secure: false},
      ]);
    });
  });
});

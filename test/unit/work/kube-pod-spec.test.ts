/** The pod a kubernetes unit creates, and Go's checks on a given pod, with Go's texts. */
import {expect} from 'chai';
import {isCompatibleK8s} from '../../../src/core/work/kubernetes/client.js';
import {buildPod, type KubeExtraData} from '../../../src/core/work/kubernetes/pod-spec.js';

function ked(v: Partial<KubeExtraData>): KubeExtraData {
  return {Image: '', Command: '', Params: '', KubeNamespace: 'ns', KubeConfig: '', KubePod: '', PodName: '', ...v};
}

describe('kubernetes pod spec', () => {
  it("Go's default pod: one worker container with stdin once, no TTY, restart Never", () => {
    const {pod, namespace} = buildPod(ked({Image: 'busybox', Command: 'sh -c "cat; echo done"', Params: "a 'b c'"}), 'kube-');
    expect(namespace).to.equal('ns');
    expect(pod.metadata).to.deep.equal({generateName: 'kube-', namespace: 'ns'});
    expect(pod.spec?.restartPolicy).to.equal('Never');
    expect(pod.spec?.containers).to.deep.equal([
      {name: 'worker', image: 'busybox', command: ['sh', '-c', 'cat; echo done'], args: ['a', 'b c'], stdin: true, stdinOnce: true, tty: false},
    ]);
  });

  it('no command or params leave the image entrypoint alone; env replaces the environment (tcp)', () => {
    const {pod} = buildPod(ked({Image: 'img'}), 'k-', {RECEPTOR_HOST: '10.0.0.1', RECEPTOR_PORT: '4000'});
    const c = pod.spec!.containers[0];
    expect(c.command).to.equal(undefined);
    expect(c.args).to.equal(undefined);
    expect(c.env).to.deep.equal([
      {name: 'RECEPTOR_HOST', value: '10.0.0.1'},
      {name: 'RECEPTOR_PORT', value: '4000'},
    ]);
  });

  it('a user pod: worker forced to stdin once, its name a prefix, its namespace wins', () => {
    const yaml = [
      'apiVersion: v1',
      'kind: Pod',
      'metadata:',
      '  name: awx-job',
      '  namespace: awx',
      '  labels: {app: x}',
      'spec:',
      '  restartPolicy: Always',
      '  containers:',
      '  - name: side',
      '    image: s',
      '  - name: worker',
      '    image: quay.io/ansible/awx-ee',
      '    args: [ansible-runner, worker]',
      '    livenessProbe: {exec: {command: [/bin/true]}}',
    ].join('\n');
    const {pod, namespace} = buildPod(ked({KubePod: yaml}), 'kube-');
    expect(namespace).to.equal('awx');
    expect(pod.metadata?.name).to.equal(undefined);
    expect(pod.metadata?.generateName).to.equal('awx-job-');
    expect(pod.metadata?.namespace).to.equal('awx');
    expect(pod.metadata?.labels).to.deep.equal({app: 'x'});
    expect(pod.spec?.restartPolicy).to.equal('Never');
    const w = pod.spec!.containers[1];
    expect(w).to.include({name: 'worker', stdin: true, stdinOnce: true});
    expect(w.args).to.deep.equal(['ansible-runner', 'worker']);
    expect(w.livenessProbe?.exec?.command).to.deep.equal(['/bin/true']);
    expect(pod.spec!.containers[0].stdin).to.equal(undefined);
  });

  it("Go's texts for a pod it cannot use", () => {
    expect(() => buildPod(ked({KubePod: 'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: w\n    image: x\n'}), 'k-')).to.throw(
      'at least one container must be named worker',
    );
    expect(() => buildPod(ked({KubePod: 'apiVersion: apps/v1\nkind: Deployment\n'}), 'k-')).to.throw('at least one container must be named worker');
    expect(() => buildPod(ked({KubePod: 'apiVersion: v1\nspec: {}\n'}), 'k-')).to.throw("Object 'Kind' is missing in 'apiVersion: v1\nspec: {}\n'");
    expect(() => buildPod(ked({KubePod: 'kind: Pod\n'}), 'k-')).to.throw("Object 'apiVersion' is missing in 'kind: Pod\n'");
    expect(() => buildPod(ked({Image: 'x', Command: 'sh "'}), 'k-')).to.throw('EOF found when expecting closing quote');
  });

  it("Go's server-version rule for log reconnect support", () => {
    expect(isCompatibleK8s('v1.22.17')).to.equal(false);
    expect(isCompatibleK8s('v1.23.13')).to.equal(false);
    expect(isCompatibleK8s('v1.23.14')).to.equal(true);
    expect(isCompatibleK8s('v1.24.8')).to.equal(true);
    expect(isCompatibleK8s('v1.25.3')).to.equal(false);
    expect(isCompatibleK8s('v1.26.0-rc.1')).to.equal(true);
    expect(isCompatibleK8s('v1.29.3+k3s1')).to.equal(true);
    expect(isCompatibleK8s('garbage')).to.equal(false);
  });
});

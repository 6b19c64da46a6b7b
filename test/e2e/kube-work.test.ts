/**
 * End-to-end: `work-kubernetes` units of a spawned node run "pods" on the Kubernetes API test
 * server (test/support/kube-api/), submitted with `receptor work submit`.
 */
import {expect} from 'chai';
import {createHash, randomBytes} from 'node:crypto';
import {createWriteStream, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {once} from 'node:events';
import type {KubeApiServer} from '../support/kube-api/index.js';
import {numberedLines, shlexQuote, startKubeNode, type KubeNode} from '../support/kube.js';
import {waitFor} from '../support/cli.js';

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

describe('e2e: work-kubernetes units on the Kubernetes API test server', function () {
  this.timeout(180_000);
  const fx: {api?: KubeApiServer; node?: KubeNode} = {};
  let n: KubeNode;

  before(async () => {
    n = await startKubeNode(
      {
        workTypes: [
          {worktype: 'kcat', fields: {image: 'test', command: 'cat'}},
          {worktype: 'ksh', fields: {image: 'test', command: 'sh -c', allowruntimeparams: true}},
        ],
      },
      fx,
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
    const st = await n.waitStatus(id, (s) => s.State >= 2);
    expect(st, n.daemon?.stderr.slice(-3000)).to.deep.include({State: 2, StateName: 'Succeeded', Detail: 'Finished', StdoutSize: payload.length, WorkType: 'kcat'});
    const res = await n.work(['results', id]);
    expect(res.code, res.stderr).to.equal(0);
    expect(res.stdout.length).to.equal(payload.length);
    expect(res.stdout === payload.toString()).to.equal(true);
    const pod = n.podName(id);
    expect(pod).to.match(/^kcat-[a-z0-9]{5}$/);
    expect(st.ExtraData).to.deep.equal({Image: 'test', Command: 'cat', Params: '', KubeNamespace: 'default', KubeConfig: '', KubePod: '', PodName: pod});
    expect(n.pod(pod)?.spec?.containers[0]).to.include({name: 'worker', image: 'test', stdin: true, stdinOnce: true});
    expect(await n.work(['release', id])).to.include({code: 0});
    await waitFor(
      () => !n.pod(pod),
      20_000,
      () => `pod ${pod} deleted`,
    );
  });
});

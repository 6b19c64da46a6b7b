/**
 * AWX's container group flow (AWX on Kubernetes, the operator's default): the control node runs
 * a local `kubernetes-runtime-auth` unit whose params carry the pod spec and the credential's
 * kubeconfig (awx_driver.py kubejob, as AWXReceptorJob does), ansible-runner's transmit stream is
 * the payload, the pod runs `ansible-runner worker`, and the results feed ansible-runner's
 * processor. The cluster is the Kubernetes API test server (test/support/kube-api/) over TLS with
 * a bearer token; its "container" runs the real ansible-runner worker on this machine. Go
 * receptor runs the same job when a reference build is present.
 */
import {expect} from 'chai';
import {randomUUID} from 'node:crypto';
import {chmodSync, mkdirSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {waitFor} from '../support/cli.js';
import {KubeApiServer} from '../support/kube-api/index.js';
import {count, execEnv, type ProcessedJob, expectAllEvents, OK_TASKS, okPlaybook, privateDataDir, python, type Tools} from './awx-support.js';
import {goImpl, goRefs, InteropNode, OURS, requireAnsibleRunner, tempDir, type Impl, type Item} from './support.js';
import {cleanUp} from './work-helpers.js';

const IMAGE = 'quay.io/ansible/awx-ee:latest';
const TOKEN = 'awx-container-group-token';

/** The items AWX writes into its control node's receptor.conf (RECEPTOR_CONFIG_STARTER). */
const AWX_KUBE_ITEMS: Item[] = [
  {'local-only': {}},
  {'work-kubernetes': {worktype: 'kubernetes-runtime-auth', authmethod: 'runtime', allowruntimeauth: true, allowruntimepod: true, allowruntimeparams: true}},
  {'work-kubernetes': {worktype: 'kubernetes-incluster-auth', authmethod: 'incluster', allowruntimeauth: true, allowruntimepod: true, allowruntimeparams: true}},
];

interface KubeJobReply extends ProcessedJob {
  workStatus: {StateName: string; Detail: string; WorkType: string; StdoutSize: number};
  listed: {ExtraData: Record<string, string>};
}

describe('interop: AWX container group job (work-kubernetes, ansible-runner worker in a pod)', function () {
  this.timeout(240_000);
  const impls: Impl[] = [...goRefs().slice(0, 1).map(goImpl), OURS];
  let tools: Tools;
  let dir: string;
  let server: KubeApiServer;
  let env: Record<string, string>;
  const nodes: InteropNode[] = [];

  before(async function () {
    tools = requireAnsibleRunner(this);
    dir = tempDir('receptor-awx-kube-');
    server = await KubeApiServer.start({tls: true, token: TOKEN});
    // the EE image's entrypoint: AWX's args name /runner and a bare ansible-runner; this
    // "container" gets its own directory ($HOME, a fresh temp dir) and the installed runner
    const entry = join(dir, 'ee-entrypoint.sh');
    writeFileSync(
      entry,
      [
        '#!/bin/sh',
        'for a do',
        '  shift',
        '  case $a in',
        `    ansible-runner) a=${tools.ansibleRunner} ;;`,
        '    --private-data-dir=/runner) mkdir -p "$HOME/runner"; a="--private-data-dir=$HOME/runner" ;;',
        '  esac',
        '  set -- "$@" "$a"',
        'done',
        `export PATH=${join(tools.ansibleRunner, '..')}:$PATH ANSIBLE_LOCAL_TEMP=$HOME/tmp ANSIBLE_REMOTE_TMP=$HOME/tmp`,
        'exec "$@"',
        '',
      ].join('\n'),
    );
    chmodSync(entry, 0o755);
    server.setEntrypoint(IMAGE, [entry]);
    env = execEnv(join(dir, 'client'), tools);
    for (const impl of impls) {
      const node = new InteropNode(impl, `awx${impl.label.replace(/[^a-z0-9]/gi, '')}`, dir, {items: AWX_KUBE_ITEMS});
      nodes.push(node);
      await node.start();
    }
  });

  after(async () => {
    await cleanUp(nodes);
    await server?.close();
    if (dir) rmSync(dir, {recursive: true, force: true});
  });

  for (const [i, impl] of impls.entries()) {
    it(`a playbook runs in the pod to the end: events, artifacts, Succeeded, the pod deleted on release (${impl.label})`, async () => {
      const node = nodes[i];
      const name = `job-${impl.label}`;
      const pdd = privateDataDir(dir, name, okPlaybook(100));
      mkdirSync(join(pdd, 'env'), {recursive: true});
      const ident = randomUUID();
      const jobId = 40 + i;
      const caFile = join(dir, 'ca.pem');
      writeFileSync(caFile, server.ca!);
      const reply = (await python(
        tools,
        [
          'kubejob',
          ...['--socket', node.sock, '--pdd', pdd, '--playbook', 'main.yml', '--ident', ident],
          ...['--job-id', String(jobId), '--image', IMAGE, '--namespace', 'awx', '--host', server.url, '--token', TOKEN, '--ca', caFile],
        ],
        env,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${node.describe()} log:\n${node.output().slice(-4000)}`);
      })) as KubeJobReply;
      expect(reply.result.result).to.equal('Job Started');
      expect(reply.status, JSON.stringify(reply)).to.equal('successful');
      expect(reply.statuses).to.include.members(['starting', 'running', 'successful']);
      expect(reply.artifactStatus).to.equal('successful');
      expect(reply.artifactRc).to.equal('0');
      // the results stream ended after the worker's eof line, once the unit had completed
      expect(reply.afterEof).to.equal('');
      const names = expectAllEvents(reply.events);
      expect(count(names, 'runner_on_ok')).to.equal(OK_TASKS);
      expect(names).to.not.include('runner_on_failed');
      expect(reply.stdout).to.include('"said": "interop-ok"');
      expect(reply.workStatus).to.include({StateName: 'Succeeded', WorkType: 'kubernetes-runtime-auth'});
      // the secrets AWX passes stay out of replies
      expect(reply.listed.ExtraData.KubeConfig).to.equal('');
      expect(reply.listed.ExtraData.KubePod).to.equal('');
      expect(reply.listed.ExtraData.PodName).to.match(new RegExp(`^automation-job-${jobId}-[a-z0-9]{5}$`));
      expect(reply.released).to.deep.equal({released: reply.unitid});
      // the pod ran in AWX's namespace, and is gone after the release
      expect(server.requests.some((r) => r.method === 'POST' && r.path === '/api/v1/namespaces/awx/pods')).to.equal(true);
      await waitFor(
        () => !server.pods('awx').some((p) => p.metadata!.name!.startsWith(`automation-job-${jobId}-`) && !p.metadata!.deletionTimestamp),
        30_000,
        () => `the pod of job ${jobId} to be deleted on release`,
      );
    });
  }
});

// The Go probe's non-attach subcommands (create, get, delete, logs, watch-until-running) against a
// minimal API stub, so that when the kapi server is checked with the probe, a failure means the
// server and not the probe. Skips (one printed line) without Go or the module cache.
import {expect} from 'chai';
import {spawn} from 'node:child_process';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {buildGoProbe, kubeconfigFor} from '../../support/kube-api/goprobe.js';

interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  body: string;
}

function pod(name: string, phase: string, ready: boolean, rv: string): Record<string, unknown> {
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: {name, namespace: 'default', uid: `uid-${name}`, resourceVersion: rv},
    spec: {containers: [{name: 'worker', image: 'busybox'}]},
    status: {phase, conditions: [{type: 'Ready', status: ready ? 'True' : 'False'}]},
  };
}

function run(bin: string, args: string[]): Promise<{code: number | null; out: string; err: string}> {
  return new Promise((resolve) => {
    const c = spawn(bin, args, {stdio: ['ignore', 'pipe', 'pipe']});
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('close', (code) => resolve({code, out, err}));
  });
}

describe('kube-api Go probe subcommands (client-go v0.29.3) against a minimal API stub', function () {
  this.timeout(300_000);
  let bin: string | null = null;
  let server: http.Server;
  let dir: string;
  let kubeconfig: string;
  const seen: Seen[] = [];

  before(async function () {
    this.timeout(11 * 60_000); // a cold module/build cache compiles client-go (the build gives up at 10 min)
    bin = await buildGoProbe();
    if (!bin) this.skip();
    server = http.createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        seen.push({method: req.method ?? '', path: u.pathname, query: u.searchParams, body});
        const json = (code: number, obj: unknown): void => {
          res.writeHead(code, {'Content-Type': 'application/json'});
          res.end(JSON.stringify(obj));
        };
        const base = '/api/v1/namespaces/default/pods';
        if (req.method === 'POST' && u.pathname === base) {
          const p = JSON.parse(body) as {metadata: {name: string}};
          return json(201, pod(p.metadata.name, 'Pending', false, '1'));
        }
        if (req.method === 'GET' && u.pathname === base && u.searchParams.get('watch') === 'true') {
          res.writeHead(200, {'Content-Type': 'application/json'});
          res.write(JSON.stringify({type: 'MODIFIED', object: pod('p1', 'Running', false, '11')}) + '\n');
          setTimeout(() => res.write(JSON.stringify({type: 'MODIFIED', object: pod('p1', 'Running', true, '12')}) + '\n'), 50);
          return;
        }
        if (req.method === 'GET' && u.pathname === base) {
          return json(200, {kind: 'PodList', apiVersion: 'v1', metadata: {resourceVersion: '10'}, items: [pod('p1', 'Pending', false, '10')]});
        }
        if (req.method === 'GET' && u.pathname === `${base}/p1/log`) {
          res.writeHead(200, {'Content-Type': 'text/plain'});
          res.write('2026-12-07T10:00:00.000000001Z one\n');
          setTimeout(() => res.end('2026-12-07T10:00:00.000000002Z two\n'), 50);
          return;
        }
        if (req.method === 'GET' && u.pathname === `${base}/p1`) return json(200, pod('p1', 'Running', true, '12'));
        if (req.method === 'DELETE' && u.pathname === `${base}/p1`) return json(200, pod('p1', 'Running', true, '13'));
        json(404, {kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `pods "${u.pathname.split('/').pop()}" not found`, reason: 'NotFound', code: 404});
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    dir = mkdtempSync(join(tmpdir(), 'kspdy-probe-'));
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
  after(async () => {
    if (server) await new Promise<void>((r) => server.close(() => r()));
    if (dir) rmSync(dir, {recursive: true, force: true});
  });
  beforeEach(() => void seen.splice(0));

  const args = (...a: string[]): string[] => [...a, '--kubeconfig', kubeconfig, '--namespace', 'default'];

  it('create -f posts the pod and prints what the server returned', async () => {
    const file = join(dir, 'pod.json');
    writeFileSync(file, JSON.stringify({apiVersion: 'v1', kind: 'Pod', metadata: {name: 'p1'}, spec: {containers: [{name: 'worker', image: 'busybox'}]}}));
    const r = await run(bin!, args('create', '-f', file));
    expect(r.err).to.equal('');
    expect(r.code).to.equal(0);
    expect(JSON.parse(r.out)).to.have.nested.property('metadata.uid', 'uid-p1');
    expect(seen[0].method).to.equal('POST');
    expect(JSON.parse(seen[0].body)).to.have.nested.property('spec.containers[0].name', 'worker');
  });

  it('get and delete by name; a missing pod is client-go’s NotFound text', async () => {
    const g = await run(bin!, args('get', '--pod', 'p1'));
    expect(g.code).to.equal(0);
    expect(JSON.parse(g.out)).to.have.nested.property('status.phase', 'Running');
    const d = await run(bin!, args('delete', '--pod', 'p1'));
    expect(d.code).to.equal(0);
    expect(seen.map((s) => s.method)).to.deep.equal(['GET', 'DELETE']);
    const m = await run(bin!, args('get', '--pod', 'nope'));
    expect(m.code).to.equal(1);
    expect(m.err).to.equal('error: pods "nope" not found\n');
  });

  it('logs --follow --timestamps --since-time sends receptor’s query and copies the stream', async () => {
    const r = await run(bin!, args('logs', '--pod', 'p1', '--follow', '--timestamps', '--since-time', '2026-12-07T10:00:00.5Z'));
    expect(r.code).to.equal(0);
    expect(r.out).to.equal('2026-12-07T10:00:00.000000001Z one\n2026-12-07T10:00:00.000000002Z two\n');
    const q = seen[0].query;
    expect(Object.fromEntries(q)).to.deep.equal({container: 'worker', follow: 'true', timestamps: 'true', sinceTime: '2026-12-07T10:00:00Z'});
  });

  it('watch-until-running lists, then watches from the list’s resourceVersion until Ready', async () => {
    const r = await run(bin!, args('watch-until-running', '--pod', 'p1', '--timeout', '20s'));
    expect(r.err).to.equal('');
    expect(r.code).to.equal(0);
    expect(JSON.parse(r.out)).to.have.nested.property('metadata.resourceVersion', '12');
    const list = seen.find((s) => s.query.get('watch') !== 'true')!;
    const watch = seen.find((s) => s.query.get('watch') === 'true')!;
    expect(list.query.get('fieldSelector')).to.equal('metadata.name=p1');
    expect(watch.query.get('fieldSelector')).to.equal('metadata.name=p1');
    expect(watch.query.get('resourceVersion')).to.equal('10');
  });
});

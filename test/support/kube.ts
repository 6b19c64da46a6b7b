/**
 * A node of ours (the spawned CLI) with `work-kubernetes` work types pointed at the Kubernetes
 * API test server (./kube-api/), plus helpers to drive `receptor work` against it.
 */
import {expect} from 'chai';
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {V1Pod} from '@kubernetes/client-node';
import {KubeApiServer, type KubeApiServerOptions} from './kube-api/index.js';
import {Daemon, runCli, waitFor, type CliOptions, type CliResult} from './cli.js';
import type {WorkStatus} from '../../src/core/control/work-client.js';

/** One `work-kubernetes` item; `kubeconfig: true` points it at the test server's kubeconfig file. */
export interface KubeWorkType {
  worktype: string;
  fields?: Record<string, string | boolean>;
  /** Default true for authmethod kubeconfig. */
  kubeconfig?: boolean;
}

export interface KubeNodeOptions {
  nodeId?: string;
  api?: KubeApiServerOptions;
  workTypes: KubeWorkType[];
  /** Extra environment for the node (RECEPTOR_KUBE_*). */
  env?: Record<string, string | undefined>;
  /** More config items (YAML lines). */
  extraItems?: string[];
}

export class KubeNode {
  daemon: Daemon | undefined;

  constructor(
    readonly api: KubeApiServer,
    readonly dir: string,
    readonly nodeId: string,
    readonly config: string,
    readonly sock: string,
    readonly kubeconfigPath: string,
    private readonly env: Record<string, string | undefined>,
  ) {}

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  unitDir(id: string): string {
    return join(this.dataDir, this.nodeId, id);
  }

  /** Starts (or restarts) the node and waits for its control socket. */
  async start(): Promise<void> {
    this.daemon = new Daemon(['-c', this.config], {env: {RECEPTOR_KUBE_RETRY_DELAY_MS: '50', RECEPTOR_KUBE_WATCH_DELAY_MS: '1000', ...this.env}});
    await this.daemon.waitForLog('Initialization complete');
  }

  async stop(sig: NodeJS.Signals = 'SIGINT'): Promise<CliResult | undefined> {
    const d = this.daemon;
    this.daemon = undefined;
    return d?.stop(sig);
  }

  work(args: string[], opts: CliOptions = {}): Promise<CliResult> {
    return runCli(['work', ...args, '--socket', this.sock], {timeoutMs: 120_000, ...opts});
  }

  async json<T>(args: string[], opts: CliOptions = {}): Promise<T> {
    const r = await this.work([...args, '--json'], opts);
    expect(r.code, `work ${args.join(' ')}: ${r.stderr}${r.stdout}`).to.equal(0);
    return JSON.parse(r.stdout) as T;
  }

  status(id: string): Promise<WorkStatus> {
    return this.json<WorkStatus>(['status', id]);
  }

  /** Submits and returns the unit ID (the submission must succeed). */
  async submit(args: string[], opts: CliOptions = {}): Promise<string> {
    const r = await this.work(['submit', ...args], opts);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    const m = /^Unit ID: ([a-zA-Z0-9]+)$/m.exec(r.stdout);
    expect(m, r.stdout).to.not.equal(null);
    return m![1];
  }

  /** Polls the unit's status until `pred` holds. */
  waitStatus(id: string, pred: (s: WorkStatus) => boolean, timeoutMs = 60_000): Promise<WorkStatus> {
    let last: WorkStatus | undefined;
    return waitFor(
      async () => {
        const r = await this.work(['status', id, '--json']);
        if (r.code !== 0) return false;
        last = JSON.parse(r.stdout) as WorkStatus;
        return pred(last) ? last : false;
      },
      timeoutMs,
      () => `unit ${id} status; last: ${JSON.stringify(last)}\nnode stderr: ${this.daemon?.stderr.slice(-4000) ?? ''}`,
    );
  }

  /** The unit's status file (unredacted), read directly: cheaper than `work status` in a loop. */
  diskStatus(id: string): WorkStatus {
    return JSON.parse(readFileSync(join(this.unitDir(id), 'status'), 'utf8')) as WorkStatus;
  }

  /** The unit's stdout file as the node wrote it. */
  stdout(id: string): Buffer {
    try {
      return readFileSync(join(this.unitDir(id), 'stdout'));
    } catch {
      return Buffer.alloc(0);
    }
  }

  /** The pod of a unit (by ExtraData.PodName, read from the unredacted status file). */
  podName(id: string): string {
    const st = JSON.parse(readFileSync(join(this.unitDir(id), 'status'), 'utf8')) as {ExtraData: {PodName: string}};
    return st.ExtraData.PodName;
  }

  pod(name: string): V1Pod | undefined {
    return this.api.pods().find((p) => p.metadata?.name === name);
  }
}

function yamlValue(v: string | boolean): string {
  return typeof v === 'boolean' ? String(v) : JSON.stringify(v);
}

/** Starts the API test server and a node with the given kubernetes work types. */
export async function startKubeNode(opts: KubeNodeOptions, into: {api?: KubeApiServer; node?: KubeNode}): Promise<KubeNode> {
  const dir = mkdtempSync(join(tmpdir(), 'receptor-kube-'));
  const api = await KubeApiServer.start(opts.api ?? {});
  into.api = api;
  const kubeconfigPath = api.writeKubeconfig(dir);
  const nodeId = opts.nodeId ?? 'kn';
  const sock = join(dir, 'ctl.sock');
  const lines = [
    '- node:',
    `    id: ${nodeId}`,
    `    datadir: ${join(dir, 'data')}`,
    '- control-service:',
    '    service: control',
    `    filename: ${sock}`,
    ...(opts.extraItems ?? ['- local-only']),
  ];
  for (const t of opts.workTypes) {
    const fields: Record<string, string | boolean> = {worktype: t.worktype, authmethod: 'kubeconfig', ...t.fields};
    if ((t.kubeconfig ?? String(fields.authmethod).toLowerCase() === 'kubeconfig') && fields.kubeconfig === undefined) fields.kubeconfig = kubeconfigPath;
    lines.push('- work-kubernetes:', ...Object.entries(fields).map(([k, v]) => `    ${k}: ${yamlValue(v)}`));
  }
  const config = join(dir, 'receptor.yml');
  writeFileSync(config, lines.join('\n') + '\n');
  const node = new KubeNode(api, dir, nodeId, config, sock, kubeconfigPath, opts.env ?? {});
  into.node = node;
  await node.start();
  return node;
}

/** `params` text that google/shlex splits back into exactly `words` (single-quoted). */
export function shlexQuote(...words: string[]): string {
  return words.map((w) => `'${w.replace(/'/g, `'"'"'`)}'`).join(' ');
}

/** Lines `prefix N` for N in [0, n), each LF-terminated. */
export function numberedLines(n: number, prefix = 'line'): string {
  let s = '';
  for (let i = 0; i < n; i++) s += `${prefix} ${i}\n`;
  return s;
}

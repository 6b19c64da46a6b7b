/**
 * A `work-kubernetes` unit (workceptor.md §7.3), living as Go's KubeUnit: connect, create
 * the pod, wait for it, attach stdin, stream the log into stdout, finish; cancel and release
 * delete the pod. Improvements on Go: the log is resumed without loss or duplication
 * (log-stream.ts), and a node restart reattaches to the pod and continues stdout from where
 * the file ends.
 */
import {readFileSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import type {V1Pod} from '@kubernetes/client-node';
import {parseDuration} from '../../go/time.js';
import {settings} from '../../settings.js';
import {isComplete, STATE_CANCELED, STATE_FAILED, STATE_PENDING, STATE_RUNNING, STATE_SUCCEEDED, stdoutSize, type StatusRecord} from '../status.js';
import {sleep} from '../remote-jobs.js';
import {WorkUnit, type CancelResult, type ReleaseResult, type StartResult} from '../unit.js';
import {WorkError, type WorkTypeDef, type Workceptor} from '../workceptor.js';
import type {AttachSession} from './attach.js';
import type {KubeConnection} from './client.js';
import type {KubeExtraData} from './pod-spec.js';
import type * as Runtime from './runtime.js';
import type {WorkKubernetesOptions} from './options.js';

export type {WorkKubernetesOptions};

/**
 * The part of the unit that talks to Kubernetes, loaded on the first unit that starts:
 * @kubernetes/client-node takes 1–2 s to load, so the work type registers at once and a node
 * without kubernetes units never pays for it.
 */
let runtime: typeof Runtime | undefined;
let loading: Promise<typeof Runtime> | undefined;
async function loadRuntime(): Promise<typeof Runtime> {
  loading ??= import('./runtime.js').then((m) => (runtime = m));
  return loading;
}
function K(): typeof Runtime {
  if (!runtime) throw new Error('kubernetes runtime used before loadRuntime()');
  return runtime;
}

function joinParams(a: string, b: string): string {
  return a === '' ? b : b === '' ? a : `${a} ${b}`;
}

function readConfigFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reason = e.code === 'ENOENT' ? 'no such file or directory' : e.message;
    throw new WorkError(`could not read ${what}: open ${path}: ${reason}`);
  }
}

export class KubernetesUnit extends WorkUnit {
  private extra: KubeExtraData;
  private readonly auth: string;
  private readonly stream: string;
  private podPendingTimeoutMs = 0;
  private ctl = new AbortController();
  private conn: KubeConnection | undefined;
  /** The pod as created (or found at a restart). */
  private podRef: {namespace: string; name: string} | undefined;
  private attach: AttachSession | undefined;
  private running: Promise<void> | undefined;
  /** Cancel, release or node shutdown: the background work writes no status any more. */
  private stopped = false;
  private sizeTimer: NodeJS.Timeout | undefined;
  private pendingSize = -1;

  constructor(
    wc: Workceptor,
    id: string,
    private readonly cfg: WorkKubernetesOptions,
  ) {
    super(wc, id, cfg.worktype);
    this.auth = cfg.authmethod.toLowerCase();
    this.stream = cfg.streammethod.toLowerCase();
    this.extra = {Image: cfg.image, Command: cfg.command, Params: '', KubeNamespace: cfg.namespace, KubeConfig: '', KubePod: '', PodName: ''};
  }

  /** Go's SetFromParams: each runtime parameter needs its permission. */
  override setParams(p: Record<string, string>): void {
    const c = this.cfg;
    const e = this.extra;
    if (c.pod !== '') e.KubePod = readConfigFile(c.pod, 'pod');
    if (c.kubeconfig !== '') e.KubeConfig = readConfigFile(c.kubeconfig, 'kubeconfig');
    const allowed: Array<[string, boolean]> = [
      ['kube_command', c.allowruntimecommand],
      ['kube_image', c.allowruntimecommand],
      ['kube_params', c.allowruntimeparams],
      ['kube_namespace', c.allowruntimeauth],
      ['secret_kube_config', c.allowruntimeauth],
      ['secret_kube_pod', c.allowruntimepod],
      ['pod_pending_timeout', c.allowruntimeparams],
    ];
    const got = (k: string) => p[k] ?? '';
    for (const [name, ok] of allowed) {
      if (got(name) !== '' && !ok) throw new WorkError(`${name} provided but not allowed`, 'E_WORK_PARAMS');
    }
    if (got('kube_namespace') !== '') e.KubeNamespace = got('kube_namespace');
    if (got('secret_kube_config') !== '') e.KubeConfig = got('secret_kube_config');
    if (this.auth === 'runtime' && e.KubeConfig === '') throw new WorkError('param secret_kube_config must be provided if AuthMethod=runtime', 'E_WORK_PARAMS');
    const userPod = got('secret_kube_pod');
    const userParams = got('kube_params');
    if (userPod !== '' && (userParams !== '' || got('kube_command') !== '' || got('kube_image') !== '')) {
      throw new WorkError('params kube_command, kube_image, kube_params not compatible with secret_kube_pod', 'E_WORK_PARAMS');
    }
    if (got('pod_pending_timeout') !== '') {
      try {
        this.podPendingTimeoutMs = parseDuration(got('pod_pending_timeout'));
      } catch (err) {
        this.logger.error("Failed to parse pod_pending_timeout -- valid examples include '1.5h', '30m', '30m10s'");
        throw new WorkError((err as Error).message, 'E_WORK_PARAMS');
      }
    }
    if (got('kube_command') !== '') e.Command = got('kube_command');
    if (got('kube_image') !== '') e.Image = got('kube_image');
    if (userPod !== '') {
      e.KubePod = userPod;
      e.Image = '';
      e.Command = '';
    } else {
      e.Params = joinParams(c.params, userParams);
    }
  }

  override initialExtraData(): unknown {
    return {...this.extra};
  }

  /** KubeConfig and KubePod are secrets: replies show them empty (the file keeps them). */
  override publicStatus(): StatusRecord {
    const s = this.status();
    const e = s.ExtraData;
    if (e && typeof e === 'object' && !Array.isArray(e)) return {...s, ExtraData: {...(e as Record<string, unknown>), KubeConfig: '', KubePod: ''}};
    return s;
  }

  /** The unredacted ExtraData on disk. */
  private ked(): KubeExtraData {
    const e = (this.readRaw().ExtraData ?? {}) as Partial<KubeExtraData>;
    const str = (v: unknown) => (typeof v === 'string' ? v : '');
    return {
      Image: str(e.Image),
      Command: str(e.Command),
      Params: str(e.Params),
      KubeNamespace: str(e.KubeNamespace),
      KubeConfig: str(e.KubeConfig),
      KubePod: str(e.KubePod),
      PodName: str(e.PodName),
    };
  }

  /** Status writes of the background work: none once stopped or released. */
  private update(state: number, detail: string, size: number): void {
    if (this.stopped || this.released) return;
    this.updateBasic(state, detail, size);
  }

  private connect(): KubeConnection {
    if (this.conn) return this.conn;
    const ked = this.ked();
    let conn: KubeConnection;
    if (this.auth === 'kubeconfig' || this.auth === 'runtime') {
      conn = K().connectKubeconfig(ked.KubeConfig);
      if (ked.KubeNamespace === '') {
        if (conn.namespace === '') throw new Error('could not determine namespace');
        this.updateFull((s) => (s.ExtraData = {...(s.ExtraData as object), KubeNamespace: conn.namespace}));
      }
    } else if (this.auth === 'incluster') {
      conn = K().connectIncluster();
    } else {
      throw new Error(`unknown auth method ${this.auth}`);
    }
    const s = settings();
    this.logger.debug(`RECEPTOR_KUBE_CLIENTSET_QPS: ${s.kubeClientsetQps ?? ''}`);
    this.logger.debug(`RECEPTOR_KUBE_CLIENTSET_BURST: ${s.kubeClientsetBurst ?? ''}`);
    if (s.kubeClientsetRateLimiter) this.logger.debug(`RateLimiter: ${s.kubeClientsetRateLimiter}`);
    this.conn = conn;
    return conn;
  }

  private get retryDelayMs(): number {
    return settings().kubeRetryDelayMs ?? 200;
  }

  async start(): Promise<StartResult> {
    this.updateBasic(STATE_PENDING, 'Connecting to Kubernetes', 0);
    try {
      await loadRuntime();
      this.connect();
    } catch (err) {
      throw new WorkError((err as Error).message);
    }
    this.launch();
    return 'started';
  }

  private launch(): void {
    const run = this.stream === 'tcp' ? this.runTcp() : this.runLogger();
    this.running = run.catch((err: Error) => {
      this.logger.error({err: err.message}, 'kubernetes unit failed');
      this.update(STATE_FAILED, err.message, stdoutSize(this.dir));
    });
  }

  async restart(): Promise<void> {
    const s = this.readRaw();
    if (isComplete(s.State)) return;
    await loadRuntime();
    const ked = this.ked();
    const isTcp = this.stream === 'tcp';
    if (s.State === STATE_RUNNING && !isTcp) {
      this.connect();
      this.launch();
      return;
    }
    if (this.cfg.deletepodonrestart && ked.PodName !== '') {
      try {
        const cp = K().readCheckpoint(this.dir);
        const namespace = cp && cp.pod === ked.PodName ? cp.namespace : ked.KubeNamespace;
        await this.connect().core.deleteNamespacedPod({namespace, name: ked.PodName});
      } catch (err) {
        this.logger.warn(`Pod ${ked.PodName} could not be deleted: ${K().apiErrorText(err)}`);
      }
    }
    throw new Error(isTcp ? 'restart not implemented for streammethod tcp' : 'work unit is not in running state, cannot be restarted');
  }

  /**
   * Creates the pod and waits until it can be attached. Returns 'completed' when it already
   * ran to completion (Go then only reads its log).
   */
  async createPod(env?: Record<string, string>): Promise<'ready' | 'completed'> {
    const conn = this.connect();
    const plan = K().buildPod(this.ked(), `${this.cfg.worktype.toLowerCase()}-`, env);
    const signal = this.ctl.signal;
    let created: V1Pod;
    try {
      created = await conn.core.createNamespacedPod({namespace: plan.namespace, body: plan.pod});
    } catch (err) {
      throw new Error(K().apiErrorText(err));
    }
    const ref = {namespace: created.metadata?.namespace ?? plan.namespace, name: created.metadata?.name ?? ''};
    this.podRef = ref;
    if (signal.aborted) {
      // Canceled while the create was on its way: cancel could not see this pod yet.
      await this.deletePod();
      throw new Error('cancelled');
    }
    writeFileSync(join(this.dir, K().CHECKPOINT_FILE), JSON.stringify({namespace: ref.namespace, pod: ref.name, position: null, offset: 0}), {mode: 0o600});
    if (!this.stopped) {
      this.updateFull((s) => {
        s.State = STATE_PENDING;
        s.Detail = 'Pod created';
        s.StdoutSize = 0;
        s.ExtraData = {...(s.ExtraData as object), PodName: ref.name};
      });
    }
    // Go waits 2 s before watching: a container that exits at once is then seen as ended.
    await sleep(settings().kubeWatchDelayMs ?? 2000, signal);
    const r = await K().waitPodReady(conn, ref.namespace, ref.name, this.podPendingTimeoutMs, signal);
    if (signal.aborted) throw new Error('cancelled');
    if (r.kind === 'ready') return 'ready';
    if (r.kind === 'completed') {
      const t = K().workerTerminated(r.pod);
      if (t && t.exitCode !== 0) throw new Error(`container failed with exit code ${t.exitCode}: ${t.message}`);
      return 'completed';
    }
    if (!r.pod) throw new Error(`did not return an event while watching pod for work unit ${this.id}`);
    // Go cancels the unit here (the pod is deleted), then reports the failure.
    await this.deletePod();
    throw new Error(`${r.message}${K().failureSuffix(r.pod)}`);
  }

  private async deletePod(): Promise<void> {
    const ked = this.ked();
    const ref = this.podRef ?? (ked.PodName !== '' ? {namespace: K().readCheckpoint(this.dir)?.namespace ?? ked.KubeNamespace, name: ked.PodName} : undefined);
    if (!ref) return;
    try {
      await this.connect().core.deleteNamespacedPod({namespace: ref.namespace, name: ref.name});
    } catch (err) {
      this.logger.error(`Error deleting pod ${ref.name}: ${K().apiErrorText(err)}`);
    }
  }

  /** Go's runWorkUsingLogger. */
  private async runLogger(): Promise<void> {
    const signal = this.ctl.signal;
    const ked = this.ked();
    let skipStdin = true;
    if (ked.PodName === '') {
      try {
        if ((await this.createPod()) === 'ready') skipStdin = false;
      } catch (err) {
        if (signal.aborted) return;
        this.update(STATE_FAILED, `Error creating pod: ${(err as Error).message}`, 0);
        return;
      }
    } else {
      const cp = K().readCheckpoint(this.dir);
      const namespace = cp && cp.pod === ked.PodName ? cp.namespace : ked.KubeNamespace;
      if (namespace === '') {
        this.update(STATE_FAILED, `Error creating pod: pod namespace is empty for pod ${ked.PodName}`, 0);
        return;
      }
      let lastErr: unknown;
      for (let retries = 5; retries > 0; retries--) {
        if (signal.aborted) return;
        try {
          await this.connect().core.readNamespacedPod({namespace, name: ked.PodName});
          this.podRef = {namespace, name: ked.PodName};
          break;
        } catch (err) {
          lastErr = err;
          this.logger.warn(`Error getting pod ${namespace}/${ked.PodName}. Will retry ${retries} more times. Retrying: ${K().apiErrorText(err)}`);
          await sleep(this.retryDelayMs, signal);
        }
      }
      if (!this.podRef) {
        this.update(STATE_FAILED, `Error getting pod ${namespace}/${ked.PodName}. Error: ${K().apiErrorText(lastErr)}`, 0);
        return;
      }
    }
    const ref = this.podRef!;
    if (!skipStdin) {
      try {
        if (statSync(this.stdinPath).size === 0) skipStdin = true;
      } catch (err) {
        this.update(STATE_FAILED, `Error opening stdin file: ${(err as Error).message}`, 0);
        return;
      }
    }
    const streams = new AbortController();
    const stopStreams = () => streams.abort();
    signal.addEventListener('abort', stopStreams, {once: true});
    let stdinErr: Error | undefined;
    let stdoutErr: Error | undefined;
    let detailSet = false;
    const stdinTask = (async () => {
      if (skipStdin) {
        this.update(STATE_RUNNING, 'Pod Running', stdoutSize(this.dir));
        return;
      }
      if (!this.stopped) {
        this.updateFull((s) => {
          s.State = STATE_PENDING;
          s.Detail = 'Sending stdin to pod';
        });
      }
      let err: unknown;
      for (let retries = 5; retries > 0; retries--) {
        if (signal.aborted) return;
        let session: AttachSession | undefined;
        try {
          session = await K().attachStdin(this.connect().kc, ref.namespace, ref.name, this.stdinPath, signal);
          this.attach = session;
          await session.done;
          err = undefined;
          break;
        } catch (e) {
          err = e;
          session?.close();
          if (signal.aborted) return;
          this.logger.warn(`Error streaming stdin to pod ${ref.namespace}/${ref.name}. Will retry ${retries} more times. Error: ${(e as Error).message}`);
          // Bytes already in the container cannot be sent twice.
          if (session?.sentAny()) break;
          await sleep(this.retryDelayMs, signal);
        }
      }
      if (err) {
        stdinErr = err as Error;
        this.update(STATE_FAILED, `Error streaming stdin to pod ${ref.namespace}/${ref.name}. Error: ${stdinErr.message}`, stdoutSize(this.dir));
        detailSet = true;
        streams.abort();
        return;
      }
      this.update(STATE_RUNNING, 'Pod Running', stdoutSize(this.dir));
    })();
    const stdoutTask = (async () => {
      let reconnect = false;
      const env = settings().kubeSupportReconnect;
      if (env !== undefined) reconnect = env === 'enabled' || env === 'auto';
      else {
        try {
          reconnect = K().isCompatibleK8s(await K().serverVersion(this.connect().kc));
        } catch {
          this.logger.warn('could not detect Kubernetes server version, will not use reconnect support');
        }
      }
      try {
        await K().streamLogs({
          conn: this.connect(),
          namespace: ref.namespace,
          pod: ref.name,
          unitDir: this.dir,
          logger: this.logger,
          signal: streams.signal,
          reconnect,
          retryDelayMs: this.retryDelayMs,
          giveUpMs: settings().kubeLogGiveUpMs ?? 300_000,
          onOutput: (size) => this.reportSize(size),
        });
      } catch (err) {
        if (streams.signal.aborted) return;
        if (err instanceof K().DetailError) {
          this.update(STATE_FAILED, err.message, 0);
          detailSet = true;
          return;
        }
        stdoutErr = err as Error;
      }
    })();
    await Promise.all([stdinTask, stdoutTask]);
    signal.removeEventListener('abort', stopStreams);
    this.flushSize();
    this.attach?.close();
    if (signal.aborted) return;
    const size = stdoutSize(this.dir);
    if (stdinErr || stdoutErr) {
      const detail = !stdinErr
        ? `Error with pod's stdout: ${stdoutErr!.message}`
        : !stdoutErr
          ? `Error with pod's stdin: ${stdinErr.message}`
          : `Error running pod. stdin: ${stdinErr.message}, stdout: ${stdoutErr.message}`;
      if (!(detailSet && !stdoutErr)) this.update(STATE_FAILED, detail, size);
      return;
    }
    if (detailSet) return;
    if (this.readRaw().State === STATE_RUNNING) this.update(STATE_SUCCEEDED, 'Finished', size);
  }

  private async runTcp(): Promise<void> {
    await K().runWorkUsingTcp({
      unit: this,
      signal: this.ctl.signal,
      createPod: (env) => this.createPod(env),
      update: (state, detail, size) => this.update(state, detail, size),
    });
  }

  /** StdoutSize follows the file, at most ten writes a second. */
  private reportSize(size: number): void {
    this.pendingSize = size;
    if (this.sizeTimer) return;
    this.sizeTimer = setTimeout(() => {
      this.sizeTimer = undefined;
      this.flushSize();
    }, 100);
  }

  private flushSize(): void {
    if (this.sizeTimer) clearTimeout(this.sizeTimer);
    this.sizeTimer = undefined;
    if (this.pendingSize < 0 || this.stopped || this.released) return;
    const size = this.pendingSize;
    this.pendingSize = -1;
    try {
      this.updateFull((s) => (s.StdoutSize = size));
    } catch {
      // unit directory gone
    }
  }

  async cancel(): Promise<CancelResult> {
    await loadRuntime();
    this.ctl.abort();
    this.attach?.close();
    this.updateBasic(STATE_CANCELED, 'Canceled', -1);
    this.stopped = true;
    await this.deletePod();
    if (this.running) await Promise.race([this.running, new Promise((r) => setTimeout(r, 5000))]);
    return 'cancelled';
  }

  async release(force: boolean): Promise<ReleaseResult> {
    return this.releaseLocal(force);
  }

  /** Node shutdown: stop streaming, keep the status (a restart reattaches). */
  override dispose(): void {
    this.stopped = true;
    this.ctl.abort();
    this.attach?.close();
    if (this.sizeTimer) clearTimeout(this.sizeTimer);
    super.dispose();
  }
}

export function kubernetesTypeDef(cfg: WorkKubernetesOptions): WorkTypeDef {
  return {
    name: cfg.worktype,
    verifySignature: cfg.verifysignature,
    advertise: true,
    create: (wc, id) => new KubernetesUnit(wc, id, cfg),
  };
}

/**
 * `work-kubernetes` units (workceptor.md §7.3), without the Kubernetes part: runtime
 * parameters are checked and stored in Go's ExtraData shape (secrets redacted in replies), but
 * starting a unit fails — this node cannot create pods yet.
 */
import {readFileSync} from 'node:fs';
import {parseDuration} from '../go/time.js';
import {STATE_CANCELED, STATE_FAILED, isComplete, type StatusRecord} from './status.js';
import {WorkUnit, type CancelResult, type ReleaseResult, type StartResult} from './unit.js';
import {WorkError, type WorkTypeDef, type Workceptor} from './workceptor.js';

/** The `work-kubernetes` item's fields (config.md §5.10), as this module and its checks read them. */
export interface WorkKubernetesOptions {
  worktype: string;
  namespace: string;
  image: string;
  command: string;
  params: string;
  /** kubeconfig, incluster or runtime (any case). */
  authmethod: string;
  kubeconfig: string;
  pod: string;
  allowruntimeauth: boolean;
  allowruntimecommand: boolean;
  allowruntimeparams: boolean;
  allowruntimepod: boolean;
  deletepodonrestart: boolean;
  /** logger or tcp (any case). */
  streammethod: string;
  verifysignature: boolean;
}

export const KUBERNETES_UNSUPPORTED = 'kubernetes work is not supported by this node yet (receptor-mesh); run this work type on a Go receptor node';

interface KubeExtraData {
  Image: string;
  Command: string;
  Params: string;
  KubeNamespace: string;
  KubeConfig: string;
  KubePod: string;
  PodName: string;
}

function joinParams(a: string, b: string): string {
  return a === '' ? b : b === '' ? a : `${a} ${b}`;
}

function readConfigFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new WorkError(`could not read ${path}: ${(err as Error).message}`);
  }
}

export class KubernetesUnit extends WorkUnit {
  private extra: KubeExtraData;

  constructor(
    wc: Workceptor,
    id: string,
    private readonly cfg: WorkKubernetesOptions,
  ) {
    super(wc, id, cfg.worktype);
    this.extra = {Image: cfg.image, Command: cfg.command, Params: cfg.params, KubeNamespace: cfg.namespace, KubeConfig: '', KubePod: '', PodName: ''};
  }

  /** Go's SetFromParams: each runtime parameter needs its permission. */
  override setParams(p: Record<string, string>): void {
    const c = this.cfg;
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
    const e = this.extra;
    if (got('kube_namespace') !== '') e.KubeNamespace = got('kube_namespace');
    if (got('secret_kube_config') !== '') e.KubeConfig = got('secret_kube_config');
    const auth = c.authmethod.toLowerCase();
    if (auth === 'runtime' && e.KubeConfig === '') throw new WorkError('param secret_kube_config must be provided if AuthMethod=runtime', 'E_WORK_PARAMS');
    const userPod = got('secret_kube_pod');
    let userParams = got('kube_params');
    if (userPod !== '' && (userParams !== '' || got('kube_command') !== '' || got('kube_image') !== '')) {
      throw new WorkError('params kube_command, kube_image, kube_params not compatible with secret_kube_pod');
    }
    if (got('pod_pending_timeout') !== '') {
      try {
        parseDuration(got('pod_pending_timeout'));
      } catch {
        throw new WorkError("failed to parse pod_pending_timeout -- valid examples include '1.5h', '30m', '30m10s'");
      }
    }
    if (got('kube_command') !== '') e.Command = got('kube_command');
    if (got('kube_image') !== '') e.Image = got('kube_image');
    if (userPod !== '') {
      e.KubePod = userPod;
      e.Image = '';
      e.Command = '';
      userParams = '';
    } else if (c.pod !== '') {
      e.KubePod = readConfigFile(c.pod);
    }
    if (auth === 'kubeconfig' && c.kubeconfig !== '') e.KubeConfig = readConfigFile(c.kubeconfig);
    e.Params = joinParams(c.params, userParams);
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

  async start(): Promise<StartResult> {
    throw new WorkError(KUBERNETES_UNSUPPORTED);
  }

  async restart(): Promise<void> {
    if (isComplete(this.readRaw().State)) return;
    this.updateBasic(STATE_FAILED, `Failed to restart: ${KUBERNETES_UNSUPPORTED}`, -1);
  }

  async cancel(): Promise<CancelResult> {
    this.updateBasic(STATE_CANCELED, 'Canceled', -1);
    return 'cancelled';
  }

  async release(force: boolean): Promise<ReleaseResult> {
    return this.releaseLocal(force);
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

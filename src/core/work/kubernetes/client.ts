/**
 * Connecting to the Kubernetes API (Go's connectToKube): the three auth methods, the
 * namespace a kubeconfig implies, and a streaming GET for the endpoints client-node only
 * pipes (the log stream must tell a clean end from a broken connection).
 */
import {existsSync} from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import {homedir} from 'node:os';
import {delimiter, join} from 'node:path';
import {ApiException, CoreV1Api, KubeConfig, VersionApi} from '@kubernetes/client-node';
import {settings} from '../../settings.js';

export interface KubeConnection {
  kc: KubeConfig;
  core: CoreV1Api;
  /** The namespace the config implies (kubeconfig/runtime), '' when it implies none. */
  namespace: string;
}

const SA_ROOT = '/var/run/secrets/kubernetes.io/serviceaccount';

/** clientcmd's default kubeconfig file: the first existing KUBECONFIG entry (else its first), or ~/.kube/config. */
export function defaultKubeconfigPath(): string {
  const env = settings().kubeconfig;
  if (env) {
    const paths = env.split(delimiter).filter((p) => p !== '');
    return paths.find((p) => existsSync(p)) ?? paths[0] ?? '';
  }
  return join(settings().home ?? homedir(), '.kube', 'config');
}

function connection(kc: KubeConfig, namespace: string): KubeConnection {
  return {kc, core: kc.makeApiClient(CoreV1Api), namespace};
}

/** `kubeconfig` and `runtime`: the unit's kubeconfig text, or the default file when it has none. */
export function connectKubeconfig(text: string): KubeConnection {
  const kc = new KubeConfig();
  if (text === '') {
    const file = defaultKubeconfigPath();
    if (!existsSync(file)) throw new Error(`stat ${file}: no such file or directory`);
    kc.loadFromFile(file);
    const ctx = kc.getContextObject(kc.getCurrentContext());
    if (!ctx) throw new Error('could not determine namespace');
    return connection(kc, ctx.namespace ?? '');
  }
  kc.loadFromString(text);
  // clientcmd: the current context's namespace, else "default".
  const ctx = kc.getContextObject(kc.getCurrentContext());
  if (!kc.getCurrentCluster()) throw new Error('invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable');
  return connection(kc, ctx?.namespace || 'default');
}

/** `incluster`: the service account's files (their root injectable for tests) and KUBERNETES_SERVICE_*. */
export function connectIncluster(): KubeConnection {
  const s = settings();
  if (!s.env.KUBERNETES_SERVICE_HOST || !s.env.KUBERNETES_SERVICE_PORT) {
    throw new Error('unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined');
  }
  const prefix = s.kubeServiceAccountPrefix;
  const token = `${prefix}${SA_ROOT}/token`;
  if (!existsSync(token)) throw new Error(`open ${token}: no such file or directory`);
  const kc = new KubeConfig();
  kc.loadFromCluster(prefix);
  return connection(kc, '');
}

/** Go's error text for an API failure: the Status message when the server sent one. */
export function apiErrorText(err: unknown): string {
  if (err instanceof ApiException) {
    const body = err.body as unknown;
    let parsed: unknown = body;
    if (typeof body === 'string') {
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = undefined;
      }
    }
    const msg = (parsed as {message?: unknown} | undefined)?.message;
    if (typeof msg === 'string' && msg !== '') return msg;
    return `the server responded with status ${err.code}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** The HTTP status of an API failure (404 → gone), or undefined. */
export function apiErrorCode(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** The server's version string (`v1.29.3`). */
export async function serverVersion(kc: KubeConfig): Promise<string> {
  const info = await kc.makeApiClient(VersionApi).getCode();
  return info.gitVersion;
}

/** A streaming GET on the API server with the config's credentials and TLS settings. */
export async function streamGet(kc: KubeConfig, path: string, signal: AbortSignal): Promise<http.IncomingMessage> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('No currently active cluster');
  const opts: https.RequestOptions = {method: 'GET', headers: {Accept: '*/*'}};
  await kc.applyToHTTPSOptions(opts);
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, {...opts, signal}, (res) => {
      if (res.statusCode === 200) {
        resolve(res);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < 65536) chunks.push(c);
        size += c.length;
      });
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let msg = text;
        try {
          const st = JSON.parse(text) as {message?: string};
          if (typeof st.message === 'string') msg = st.message;
        } catch {
          // not a Status
        }
        reject(new HttpStatusError(res.statusCode ?? 0, msg));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A non-200 answer, with the Status message as its text (what client-go reports). */
export class HttpStatusError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpStatusError';
  }
}

/** Go's IsCompatibleK8S: the log timestamps fix is in 1.23.14, 1.24.8, 1.25.4 and every 1.26+. */
export function isCompatibleK8s(version: string): boolean {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [minor, patch] = [Number(m[2]), Number(m[3])];
  if (minor === 23) return patch >= 14;
  if (minor === 24) return patch >= 8;
  if (minor === 25) return patch >= 4;
  return minor > 25 || Number(m[1]) > 1;
}

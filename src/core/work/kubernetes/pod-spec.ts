/**
 * The pod a unit creates (Go's createPod, workceptor.md §7.3): Go's default spec, or the
 * user's pod with its `worker` container forced to stdin/stdinOnce, with Go's error texts.
 */
import {loadYaml, type V1Pod} from '@kubernetes/client-node';
import {parse as parseYaml} from 'yaml';
import {shlexSplit} from '../shlex.js';

/** The ExtraData Go persists for a kubernetes unit (struct order). */
export interface KubeExtraData {
  Image: string;
  Command: string;
  Params: string;
  KubeNamespace: string;
  KubeConfig: string;
  KubePod: string;
  PodName: string;
}

export interface PodPlan {
  pod: V1Pod;
  /** Where it is created: the user pod's namespace wins. */
  namespace: string;
}

/** Go decodes the pod with the universal deserializer: kind and apiVersion are required. */
function decodePod(text: string): V1Pod {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new Error(`error converting YAML to JSON: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`Object 'Kind' is missing in '${text}'`);
  const o = raw as Record<string, unknown>;
  if (typeof o.kind !== 'string' || o.kind === '') throw new Error(`Object 'Kind' is missing in '${text}'`);
  if (typeof o.apiVersion !== 'string' || o.apiVersion === '') throw new Error(`Object 'apiVersion' is missing in '${text}'`);
  // Another kind decodes into a different object: the pod stays empty (no worker container).
  if (o.kind !== 'Pod' || o.apiVersion !== 'v1') return {};
  return loadYaml<V1Pod>(text);
}

/**
 * Builds the pod for a unit. `namePrefix` is `<lowercased worktype>-`; `env` (tcp stream
 * method) replaces the first container's environment as Go does.
 */
export function buildPod(ked: KubeExtraData, namePrefix: string, env?: Record<string, string>): PodPlan {
  const command = shlexSplit(ked.Command);
  const args = shlexSplit(ked.Params);
  let namespace = ked.KubeNamespace;
  let pod: V1Pod;
  if (ked.KubePod !== '') {
    pod = decodePod(ked.KubePod);
    const spec = pod.spec ?? {containers: []};
    const worker = (spec.containers ?? []).find((c) => c.name === 'worker');
    if (!worker) throw new Error('at least one container must be named worker');
    worker.stdin = true;
    worker.stdinOnce = true;
    spec.restartPolicy = 'Never';
    const meta = pod.metadata ?? {};
    if (meta.namespace) namespace = meta.namespace;
    if (meta.name) namePrefix = `${meta.name}-`;
    meta.name = undefined;
    meta.generateName = namePrefix;
    meta.namespace = namespace;
    pod = {apiVersion: 'v1', kind: 'Pod', metadata: meta, spec};
  } else {
    pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {generateName: namePrefix, namespace},
      spec: {
        containers: [
          {
            name: 'worker',
            image: ked.Image,
            command: command.length > 0 ? command : undefined,
            args: args.length > 0 ? args : undefined,
            stdin: true,
            stdinOnce: true,
            tty: false,
          },
        ],
        restartPolicy: 'Never',
      },
    };
  }
  const first = pod.spec?.containers[0];
  if (env && first) first.env = Object.entries(env).map(([name, value]) => ({name, value}));
  return {pod, namespace};
}

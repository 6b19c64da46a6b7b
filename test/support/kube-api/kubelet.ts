/**
 * Pod status as the scheduler and kubelet (v1.29, containerd) write it, for one running
 * container per pod. Field names and texts follow the real objects; times are RFC 3339 seconds.
 */
import {randomBytes} from 'node:crypto';
import {rfc3339} from './time.js';

/** A pod as JSON on the wire (the apiserver's view). */
export interface WirePod {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    generateName?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  spec: WireSpec;
  status: WireStatus;
}

export interface WireContainer {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: Array<{name: string; value?: string; valueFrom?: unknown}>;
  stdin?: boolean;
  stdinOnce?: boolean;
  tty?: boolean;
  workingDir?: string;
  [k: string]: unknown;
}

export interface WireSpec {
  containers: WireContainer[];
  restartPolicy?: string;
  nodeName?: string;
  terminationGracePeriodSeconds?: number;
  [k: string]: unknown;
}

export interface WireCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastProbeTime: null;
  lastTransitionTime: string;
  reason?: string;
  message?: string;
}

export interface WireContainerState {
  waiting?: {reason: string; message?: string};
  running?: {startedAt: string};
  terminated?: {exitCode: number; reason: string; message?: string; startedAt?: string; finishedAt: string; containerID?: string};
}

export interface WireContainerStatus {
  name: string;
  state: WireContainerState;
  lastState: WireContainerState;
  ready: boolean;
  restartCount: number;
  image: string;
  imageID: string;
  containerID?: string;
  started: boolean;
}

export interface WireStatus {
  phase?: string;
  conditions?: WireCondition[];
  message?: string;
  reason?: string;
  hostIP?: string;
  hostIPs?: Array<{ip: string}>;
  podIP?: string;
  podIPs?: Array<{ip: string}>;
  startTime?: string;
  containerStatuses?: WireContainerStatus[];
  qosClass?: string;
}

export const NODE_NAME = 'kube-api-test-node';

/** docker.io normalisation as containerd reports `image`. */
export function fullImageName(image: string): string {
  let name = image;
  const lastSlash = name.lastIndexOf('/');
  if (!name.slice(lastSlash + 1).includes(':') && !name.includes('@')) name += ':latest';
  const first = name.split('/')[0];
  if (!name.includes('/')) return `docker.io/library/${name}`;
  if (!first.includes('.') && !first.includes(':') && first !== 'localhost') return `docker.io/${name}`;
  return name;
}

/** Defaults the apiserver fills in on create (the ones clients look at). */
export function applyDefaults(pod: WirePod): void {
  const s = pod.spec;
  s.restartPolicy ??= 'Always';
  s.terminationGracePeriodSeconds ??= 30;
  s.dnsPolicy ??= 'ClusterFirst';
  s.schedulerName ??= 'default-scheduler';
  s.serviceAccountName ??= 'default';
  s.serviceAccount ??= s.serviceAccountName;
  s.securityContext ??= {};
  s.enableServiceLinks ??= true;
  s.preemptionPolicy ??= 'PreemptLowerPriority';
  s.priority ??= 0;
  s.tolerations ??= [
    {key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300},
    {key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300},
  ];
  for (const c of s.containers) {
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    c.resources ??= {};
    if (c.imagePullPolicy === undefined && c.image !== undefined) c.imagePullPolicy = fullImageName(c.image).endsWith(':latest') ? 'Always' : 'IfNotPresent';
  }
  pod.status = {phase: 'Pending', qosClass: 'BestEffort'};
}

export function containerId(): string {
  return 'containerd://' + randomBytes(32).toString('hex');
}

export function imageId(image: string): string {
  const repo = fullImageName(image).replace(/:[^:/]*$/, '');
  return `${repo}@sha256:${randomBytes(32).toString('hex')}`;
}

/** Sets a condition, keeping lastTransitionTime when the status does not change (as kubelet does). */
export function setCondition(st: WireStatus, type: string, status: 'True' | 'False', reason?: string, message?: string): void {
  st.conditions ??= [];
  const old = st.conditions.find((c) => c.type === type);
  const c: WireCondition = {type, status, lastProbeTime: null, lastTransitionTime: old && old.status === status ? old.lastTransitionTime : rfc3339()};
  if (reason !== undefined) c.reason = reason;
  if (message !== undefined) c.message = message;
  if (old) st.conditions[st.conditions.indexOf(old)] = c;
  else st.conditions.push(c);
  // kubelet's order
  const order = ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'];
  st.conditions.sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
}

/** The scheduler bound the pod. */
export function scheduled(pod: WirePod): void {
  pod.spec.nodeName = NODE_NAME;
  setCondition(pod.status, 'PodScheduled', 'True');
}

export function unschedulable(pod: WirePod, message: string): void {
  setCondition(pod.status, 'PodScheduled', 'False', 'Unschedulable', message);
}

/** kubelet's view while no container runs: not ready, every container waiting. */
export function waiting(pod: WirePod, podIP: string, reason: string, message?: string): void {
  const st = pod.status;
  st.hostIP = '127.0.0.1';
  st.hostIPs = [{ip: '127.0.0.1'}];
  st.podIP = podIP;
  st.podIPs = [{ip: podIP}];
  st.startTime ??= rfc3339();
  const names = pod.spec.containers.map((c) => c.name).join(' ');
  setCondition(st, 'Initialized', 'True');
  setCondition(st, 'Ready', 'False', 'ContainersNotReady', `containers with unready status: [${names}]`);
  setCondition(st, 'ContainersReady', 'False', 'ContainersNotReady', `containers with unready status: [${names}]`);
  st.containerStatuses = pod.spec.containers.map((c) => ({
    name: c.name,
    state: {waiting: message === undefined ? {reason} : {reason, message}},
    lastState: {},
    ready: false,
    restartCount: 0,
    image: fullImageName(c.image ?? ''),
    imageID: '',
    started: false,
  }));
}

export function running(pod: WirePod, cid: string, startedAt: string): void {
  const st = pod.status;
  st.phase = 'Running';
  setCondition(st, 'Ready', 'True');
  setCondition(st, 'ContainersReady', 'True');
  st.containerStatuses = pod.spec.containers.map((c) => ({
    name: c.name,
    state: {running: {startedAt}},
    lastState: {},
    ready: true,
    restartCount: 0,
    image: fullImageName(c.image ?? ''),
    imageID: imageId(c.image ?? ''),
    containerID: cid,
    started: true,
  }));
}

export function terminated(pod: WirePod, exitCode: number, startedAt: string, cid: string): void {
  const st = pod.status;
  const ok = exitCode === 0;
  st.phase = ok ? 'Succeeded' : 'Failed';
  const names = pod.spec.containers.map((c) => c.name).join(' ');
  if (ok) {
    setCondition(st, 'Ready', 'False', 'PodCompleted');
    setCondition(st, 'ContainersReady', 'False', 'PodCompleted');
  } else {
    setCondition(st, 'Ready', 'False', 'PodFailed');
    setCondition(st, 'ContainersReady', 'False', 'ContainersNotReady', `containers with unready status: [${names}]`);
  }
  const finishedAt = rfc3339();
  st.containerStatuses = (st.containerStatuses ?? []).map((cs) => ({
    ...cs,
    state: {terminated: {exitCode, reason: ok ? 'Completed' : 'Error', startedAt, finishedAt, containerID: cid}},
    ready: false,
    started: false,
    containerID: cid,
  }));
}

/** Pod IP from a small private range; unique enough for tests. */
export function podIP(n: number): string {
  return `10.244.${(n >> 8) & 255}.${n & 255 || 1}`;
}

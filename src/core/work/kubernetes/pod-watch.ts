/**
 * Waiting for the pod to be attachable (Go's UntilWithSync with podRunningAndReady): a list
 * by name, then a watch from its resourceVersion, relisting when the watch ends; the
 * condition sees every object the informer would.
 */
import {Watch, type V1Pod} from '@kubernetes/client-node';
import type {KubeConnection} from './client.js';
import {sleep} from '../remote-jobs.js';

export const ERR_POD_COMPLETED = 'pod ran to completion';
export const ERR_POD_FAILED = 'pod failed to start';
export const ERR_IMAGE_PULL_BACKOFF = 'container failed to start';
export const ERR_WAIT_TIMEOUT = 'timed out waiting for the condition';

export type ReadyResult = {kind: 'ready'; pod: V1Pod} | {kind: 'completed'; pod: V1Pod} | {kind: 'error'; pod: V1Pod | undefined; message: string};

type Verdict = {done: false} | {done: true; result: ReadyResult};

/** Go's podRunningAndReady: a stateful condition (ImagePullBackOff tolerated 3 times). */
export function podRunningAndReady(): (type: string, pod: V1Pod) => Verdict {
  let backoffRetries = 3;
  return (type, pod) => {
    if (type === 'DELETED') return {done: true, result: {kind: 'error', pod, message: 'pods "" not found'}};
    const st = pod.status ?? {};
    switch (st.phase) {
      case 'Failed':
        return {done: true, result: {kind: 'error', pod, message: ERR_POD_FAILED}};
      case 'Succeeded':
        return {done: true, result: {kind: 'completed', pod}};
      case 'Running':
      case 'Pending':
        for (const c of st.conditions ?? []) {
          if (c.type === 'Ready' && c.status === 'True') return {done: true, result: {kind: 'ready', pod}};
          if (c.type === 'ContainersReady' && c.status === 'False') {
            for (const cs of st.containerStatuses ?? []) {
              if (cs.state?.waiting?.reason === 'ImagePullBackOff') {
                if (backoffRetries === 0) return {done: true, result: {kind: 'error', pod, message: ERR_IMAGE_PULL_BACKOFF}};
                backoffRetries--;
              }
            }
          }
        }
    }
    return {done: false};
  };
}

/**
 * Waits until the pod is ready, completed or failed, the timeout (ms, 0 = none) passes or the
 * signal aborts. `pod` of a timeout is the last object seen (Go's lastEvent).
 */
export async function waitPodReady(conn: KubeConnection, namespace: string, name: string, timeoutMs: number, signal: AbortSignal): Promise<ReadyResult> {
  const cond = podRunningAndReady();
  const fieldSelector = `metadata.name=${name}`;
  const ctl = new AbortController();
  const onAbort = () => ctl.abort();
  signal.addEventListener('abort', onAbort, {once: true});
  const timer = timeoutMs > 0 ? setTimeout(() => ctl.abort(), timeoutMs) : undefined;
  let last: V1Pod | undefined;
  const timedOut = (): ReadyResult => ({kind: 'error', pod: last, message: ERR_WAIT_TIMEOUT});
  try {
    while (!ctl.signal.aborted) {
      let list;
      try {
        list = await conn.core.listNamespacedPod({namespace, fieldSelector});
      } catch (err) {
        if (ctl.signal.aborted) break;
        await sleep(1000, ctl.signal);
        void err;
        continue;
      }
      if (list.items.length === 0 && last) {
        const v = cond('DELETED', last);
        if (v.done) return v.result;
      }
      for (const p of list.items) {
        last = p;
        const v = cond('ADDED', p);
        if (v.done) return v.result;
      }
      const verdict = await new Promise<Verdict>((resolve) => {
        let watchCtl: AbortController | undefined;
        let settled = false;
        const finish = (v: Verdict) => {
          if (settled) return;
          settled = true;
          ctl.signal.removeEventListener('abort', stop);
          watchCtl?.abort();
          resolve(v);
        };
        const stop = () => finish({done: false});
        ctl.signal.addEventListener('abort', stop, {once: true});
        new Watch(conn.kc)
          .watch(
            `/api/v1/namespaces/${namespace}/pods`,
            {fieldSelector, resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true},
            (type, obj: V1Pod) => {
              if (type === 'BOOKMARK' || type === 'ERROR') return;
              last = obj;
              const v = cond(type, obj);
              if (v.done) finish(v);
            },
            () => finish({done: false}),
          )
          .then((c) => {
            watchCtl = c;
            if (settled) c.abort();
          })
          .catch(() => finish({done: false}));
      });
      if (verdict.done) return verdict.result;
      if (!ctl.signal.aborted) await sleep(100, ctl.signal);
    }
    return timedOut();
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

/** Go's suffix for a failure: the waiting reason, or the exit code and message of the single container. */
export function failureSuffix(pod: V1Pod | undefined): string {
  const statuses = pod?.status?.containerStatuses ?? [];
  const [cs] = statuses;
  if (statuses.length !== 1 || !cs) return '';
  if (cs.state?.waiting) return `, ${cs.state.waiting.reason ?? ''}`;
  if (cs.name === 'worker' && cs.state?.terminated && cs.state.terminated.exitCode !== 0) {
    return `, exit code ${cs.state.terminated.exitCode}: ${cs.state.terminated.message ?? ''}`;
  }
  return '';
}

/** The worker container's termination, if it has ended. */
export function workerTerminated(pod: V1Pod): {exitCode: number; message: string} | undefined {
  const cs = (pod.status?.containerStatuses ?? []).find((c) => c.name === 'worker');
  const t = cs?.state?.terminated;
  return t ? {exitCode: t.exitCode, message: t.message ?? ''} : undefined;
}

/** Shared helpers for the kube-api test server tests: official client set-up and stream sinks. */
import {Writable} from 'node:stream';
import {createHash} from 'node:crypto';
import {Attach, CoreV1Api, KubeConfig, type V1Pod} from '@kubernetes/client-node';
import {WebSocketHandler} from '@kubernetes/client-node/dist/web-socket-handler.js';
import WebSocket from 'ws';
import type {KubeApiServer} from '../../support/kube-api/index.js';

export function clientFor(server: KubeApiServer, namespace = 'default'): {kc: KubeConfig; core: CoreV1Api} {
  const kc = new KubeConfig();
  kc.loadFromString(server.kubeconfig({namespace}));
  return {kc, core: kc.makeApiClient(CoreV1Api)};
}

/** Attach offering only the given sub-protocols (client-node offers v5 first by default). */
export function attachWith(kc: KubeConfig, protocols?: string[]): Attach {
  if (!protocols) return new Attach(kc);
  const handler = new WebSocketHandler(kc, (uri: string, _p: string[], opts: WebSocket.ClientOptions) => new WebSocket(uri, protocols, opts) as never);
  return new Attach(kc, handler);
}

export class Sink extends Writable {
  chunks: Buffer[] = [];
  get text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(Buffer.from(chunk));
    cb();
  }
}

export class HashSink extends Writable {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb();
  }
}

/** Resolves when the stream has finished (end() called and flushed). */
export function finished(w: Writable, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (w.writableFinished) return resolve();
    const t = setTimeout(() => reject(new Error('stream did not finish in time')), timeoutMs);
    w.once('finish', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

export async function until<T>(f: () => T | undefined | null | false | Promise<T | undefined | null | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function podSpec(
  name: string | {generateName: string},
  command: string[],
  extra: {stdin?: boolean; stdinOnce?: boolean; image?: string; labels?: Record<string, string>} = {},
): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {...(typeof name === 'string' ? {name} : name), labels: extra.labels},
    spec: {
      restartPolicy: 'Never',
      containers: [{name: 'worker', image: extra.image ?? 'busybox', command, stdin: extra.stdin, stdinOnce: extra.stdinOnce}],
    },
  };
}

export const isRunningReady = (p: V1Pod): boolean => p.status?.phase === 'Running' && !!p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
